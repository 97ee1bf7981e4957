// The EtNik operator console: sign-in, navigation by role and the hash router.
import {
  ROLE_LABELS, api, button, can, clearErrors, el, errorNotice, field, forget, keepDraft, localProblems, notice,
  session, submitForm, whenSessionExpires,
} from "./core.js";
import { showEventForm, showEvents, showQuestions } from "./events.js";
import { showSurvey } from "./surveys.js";
import { showPartnerships } from "./partnerships.js";
import { showInternships } from "./internships.js";
import { showExperts } from "./experts.js";
import { showMechanisms } from "./mechanisms.js";
import { showRegistrations, showWaitlist } from "./registrations.js";
import { showAttendanceImport, showCheckIn } from "./checkin.js";
import { showCampaigns } from "./campaigns.js";
import { showMaterial, showMaterialForm, showMaterials, showMedia, showStrategies } from "./materials.js";
import { showDashboard } from "./dashboard.js";
import { flashNext, leavePage, navigate, show } from "./page.js";

// Sections, who may open them, and what the navigation calls them.
const SECTIONS = [
  { path: "events", label: "Мероприятия", roles: ["operator", "moderator"] },
  { path: "registrations", label: "Регистрации", roles: ["operator", "moderator"] },
  { path: "check-in", label: "Отметка на входе", roles: ["check_in"] },
  { path: "attendance", label: "Онлайн-посещаемость", roles: ["operator", "check_in"] },
  { path: "campaigns", label: "Приглашения", roles: ["operator"] },
  { path: "materials", label: "Материалы", roles: ["operator", "moderator"] },
  { path: "media", label: "Публикации в СМИ", roles: ["operator", "moderator"] },
  { path: "strategies", label: "Стратегии НКО", roles: ["operator", "moderator"] },
  { path: "mechanisms", label: "Механизмы Стратегии", roles: ["operator", "moderator"] },
  { path: "partnerships", label: "Партнёрства", roles: ["operator", "moderator"] },
  { path: "internships", label: "Стажировки", roles: ["operator", "moderator"] },
  { path: "experts", label: "Эксперты", roles: ["operator", "moderator"] },
  { path: "dashboard", label: "Сводка и отчёт", roles: ["operator", "moderator"] },
];

const main = document.getElementById("main");

function renderChrome() {
  const nav = document.getElementById("nav");
  const account = document.getElementById("account");
  const current = session.get();
  if (!current) {
    nav.replaceChildren();
    account.replaceChildren();
    return;
  }
  const active = (location.hash.match(/^#\/([a-z-]+)/) || [])[1] || "";
  const allowed = SECTIONS.filter((s) => can(...s.roles));
  const activeSection = allowed.find((section) => section.path === active);
  const list = el("ul", { id: "nav-list" }, ...allowed.map((section) => el("li", {},
    el("a", { href: `#/${section.path}`, text: section.label, "aria-current": section.path === active ? "page" : null }))));
  // Shown only on narrow screens (CSS); the list stays in the page for wide ones.
  const toggle = button(`Меню${activeSection ? `: ${activeSection.label}` : ""}`, () => {
    const open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }, { class: "menu-toggle secondary", "aria-expanded": "false", "aria-controls": "nav-list" });
  nav.classList.remove("open");
  nav.replaceChildren(toggle, list);
  const roles = current.roles.map((role) => ROLE_LABELS[role] || role).join(", ");
  account.replaceChildren(
    el("p", { class: "who" }, el("span", { text: current.email || "Оператор" }), el("span", { class: "roles", text: roles })),
    button("Выйти", signOut, { class: "secondary small" }),
  );
}

async function signOut() {
  const current = session.get();
  // Forgotten here first: a reload during the call below cannot bring the session back.
  session.clear({ drafts: true });
  forget("");
  if (current && current.refresh_token) {
    // The refresh token is revoked on the server; the access token simply expires.
    await api("registration", "/auth/sign-out", { method: "POST", body: { refresh_token: current.refresh_token }, anonymous: true })
      .catch(() => null);
  }
  flashNext("Вы вышли из пульта.");
  navigate("#/sign-in");
}

function showSignIn(message) {
  renderChrome();
  const form = el("form", { id: "sign-in", novalidate: true, class: "card narrow" });
  const email = el("input", { type: "email", autocomplete: "username", required: true });
  const password = el("input", { type: "password", autocomplete: "current-password", required: true });
  const status = el("div", { class: "form-status" });
  form.append(
    field(form, "email", "Электронная почта", email),
    field(form, "password", "Пароль", password),
    el("button", { type: "submit", text: "Войти" }),
    status,
  );
  // Only the email is kept as a draft (formValues never reads a password).
  const draft = keepDraft(form, "sign-in");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tokens = await submitForm(form, status, async () => {
      const problems = {};
      if (!/^[^@\s]+@[^@\s]+$/.test(email.value.trim())) problems.email = "Введите адрес электронной почты, например operator@etnik.ru.";
      if (!password.value) problems.password = "Введите пароль.";
      localProblems(form, problems);
      return api("registration", "/auth/token", {
        method: "POST", anonymous: true, body: { email: email.value.trim(), password: password.value },
      });
    });
    if (!tokens) {
      password.value = "";
      return;
    }
    draft.clear();
    const saved = session.save(tokens, email.value.trim());
    forget("");
    if (!saved.roles.length) {
      session.clear();
      status.replaceChildren(notice("У этой учётной записи нет ролей пульта. Обратитесь к администратору.", { problem: true }));
      return;
    }
    const target = sessionStorage.getItem("etnik-console-return");
    sessionStorage.removeItem("etnik-console-return");
    // The sign-in form may have been shown at the very address asked for: navigate reloads it.
    navigate(target && target !== "#/sign-in" ? target : `#/${firstSection()}`);
  });
  show("Вход в пульт оператора",
    message ? notice(message, { problem: true }) : null,
    el("p", { text: "Пульт для организаторов программы «ЭтНик: стратегия в практике». Участники входят на портале по ссылке из письма." }),
    form);
  clearErrors(form);
  email.focus();
}

function firstSection() {
  const allowed = SECTIONS.find((section) => can(...section.roles));
  return allowed ? allowed.path : "events";
}

whenSessionExpires(() => {
  leavePage();
  session.clear();
  sessionStorage.setItem("etnik-console-return", location.hash);
  showSignIn("Сеанс истёк. Войдите снова — введённые данные сохранены.");
});

const ROUTES = [
  [/^#\/events$/, () => showEvents()],
  [/^#\/events\/new$/, () => showEventForm(null)],
  [/^#\/events\/([\w-]+)\/edit$/, (m) => showEventForm(m[1])],
  [/^#\/events\/([\w-]+)\/form$/, (m) => showQuestions(m[1])],
  [/^#\/events\/([\w-]+)\/survey$/, (m) => showSurvey(m[1])],
  [/^#\/registrations(\?.*)?$/, (m) => showRegistrations(new URLSearchParams((m[1] || "").slice(1)))],
  [/^#\/waitlist(\?.*)?$/, (m) => showWaitlist(new URLSearchParams((m[1] || "").slice(1)))],
  [/^#\/check-in(\?.*)?$/, (m) => showCheckIn(new URLSearchParams((m[1] || "").slice(1)))],
  [/^#\/attendance(\?.*)?$/, (m) => showAttendanceImport(new URLSearchParams((m[1] || "").slice(1)))],
  [/^#\/campaigns$/, () => showCampaigns()],
  [/^#\/partnerships$/, () => showPartnerships()],
  [/^#\/internships$/, () => showInternships("")],
  [/^#\/internships\/([\w-]+)$/, (m) => showInternships(m[1])],
  [/^#\/experts$/, () => showExperts()],
  [/^#\/mechanisms$/, () => showMechanisms()],
  [/^#\/materials$/, () => showMaterials()],
  [/^#\/materials\/new$/, () => showMaterialForm()],
  [/^#\/materials\/([\w-]+)$/, (m) => showMaterial(m[1])],
  [/^#\/media$/, () => showMedia()],
  [/^#\/strategies(\?.*)?$/, (m) => showStrategies(new URLSearchParams((m[1] || "").slice(1)))],
  [/^#\/dashboard$/, () => showDashboard()],
];

async function route() {
  leavePage();
  const hash = location.hash || "";
  if (!session.get()) {
    if (hash && hash !== "#/sign-in") sessionStorage.setItem("etnik-console-return", hash);
    showSignIn();
    return;
  }
  if (hash === "" || hash === "#/" || hash === "#/sign-in") {
    location.replace(`#/${firstSection()}`);
    return;
  }
  renderChrome();
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) {
    show("Страница не найдена", el("p", {}, el("a", { href: `#/${firstSection()}`, text: "Перейти в пульт" })));
    return;
  }
  try {
    await found[1](found[0].exec(hash));
  } catch (error) {
    console.error(error);
    show("Не удалось открыть раздел", errorNotice(error), el("p", {}, button("Повторить", route)));
  }
}

// The skip link targets #main, which the router would take for a page: focus it directly.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
route();
