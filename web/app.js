// The EtNik portal: upcoming events, an event page and its registration form.
// No build step and no inline scripts (the gateway's Content-Security-Policy forbids them).
"use strict";

const API = "/api/registration";
const FORMATS = { in_person: "очно", online: "онлайн", hybrid: "очно и онлайн" };
const CATEGORIES = [
  ["ngo_leader", "Руководитель НКО"],
  ["ngo_activist", "Активист НКО"],
  ["expert", "Эксперт"],
  ["government_official", "Представитель органа власти"],
  ["media", "Представитель СМИ"],
  ["other", "Другое"],
];
// What a person reads next to a field the server refused, by the field's name.
const FIELD_MESSAGES = {
  full_name: "Укажите фамилию, имя и отчество (не короче 3 символов).",
  email: "Проверьте адрес электронной почты: он должен быть вида name@example.ru.",
  category: "Выберите, кого вы представляете.",
  consent_personal_data: "Без согласия на обработку персональных данных зарегистрироваться нельзя.",
};
const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function format(iso, timeZone, options) {
  return new Intl.DateTimeFormat("ru-RU", { timeZone, ...options }).format(new Date(iso));
}

function describeTime(iso) {
  const date = format(iso, "Europe/Moscow", { day: "numeric", month: "long", year: "numeric" });
  const moscow = format(iso, "Europe/Moscow", { hour: "2-digit", minute: "2-digit" });
  const local = format(iso, visitorZone, { hour: "2-digit", minute: "2-digit" });
  return moscow === local ? `${date}, ${moscow} МСК` : `${date}, ${moscow} МСК / ${local} по вашему времени`;
}

function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  // Screen readers start at the new content; the page itself starts at the top.
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

async function showEvents() {
  document.title = "ЭтНик: стратегия в практике";
  try {
    const events = await getJson(`${API}/events?limit=100`);
    const items = events.map((event) =>
      el("li", {},
        el("h2", {}, el("a", { href: `#/event/${event.id}`, text: event.title })),
        el("p", { class: "when", text: describeTime(event.starts_at) }),
        el("p", { class: "meta", text: [FORMATS[event.format], event.federal_district].filter(Boolean).join(" · ") }),
      ));
    show(el("h1", { text: "Ближайшие мероприятия" }),
      items.length ? el("ul", { class: "events" }, ...items)
        : el("p", { text: "Пока нет открытых мероприятий." }));
  } catch {
    show(el("p", { class: "notice problem", role: "alert",
      text: "Не удалось загрузить мероприятия. Обновите страницу чуть позже." }));
  }
}

function calendarFile(event) {
  const stamp = (iso) => new Date(iso).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const text = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//EtNik Platform//Portal//RU", "BEGIN:VEVENT",
    `UID:${event.id}@etnik`, `DTSTAMP:${stamp(new Date().toISOString())}`, `DTSTART:${stamp(event.starts_at)}`,
    `DTEND:${stamp(event.ends_at)}`, `SUMMARY:${event.title.replace(/[,;]/g, "\\$&")}`, "END:VEVENT", "END:VCALENDAR"].join("\r\n");
  return URL.createObjectURL(new Blob([text], { type: "text/calendar" }));
}

function field(name, labelText, control, hint) {
  const error = el("p", { class: "error", id: `${name}-error`, "aria-live": "polite" });
  control.setAttribute("aria-describedby", `${name}-error`);
  const box = el("div", { class: "field" }, el("label", { for: name, text: labelText }), control);
  if (hint) box.append(el("p", { class: "meta", text: hint }));
  box.append(error);
  return box;
}

function checkbox(name, labelText) {
  const input = el("input", { type: "checkbox", id: name, name });
  const error = el("p", { class: "error", id: `${name}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", `${name}-error`);
  return el("div", {}, el("div", { class: "check" }, input, el("label", { for: name, text: labelText })), error);
}

function registrationForm(event, invitationToken) {
  const draftKey = `etnik-registration-draft-${event.id}`;
  const category = el("select", { id: "category", name: "category", required: "" },
    el("option", { value: "", text: "— выберите —" }),
    ...CATEGORIES.map(([value, label]) => el("option", { value, text: label })));
  const form = el("form", { novalidate: "" },
    field("full_name", "Фамилия, имя, отчество", el("input", { type: "text", id: "full_name", name: "full_name", autocomplete: "name", required: "" })),
    field("email", "Электронная почта", el("input", { type: "email", id: "email", name: "email", autocomplete: "email", required: "" }),
      "На этот адрес придёт подтверждение."),
    field("category", "Кого вы представляете", category),
    checkbox("consent_personal_data", "Я согласен(на) на обработку моих персональных данных для участия в программе (152-ФЗ)."),
    checkbox("consent_publication", "Я согласен(на) на публикацию моих фото- и видеоизображений в материалах программы (необязательно)."),
    el("button", { type: "submit", text: "Зарегистрироваться" }),
    el("div", { id: "form-status", role: "status", "aria-live": "polite" }),
  );
  // What was typed survives a lost connection or a reload.
  const saved = JSON.parse(localStorage.getItem(draftKey) || "{}");
  for (const [name, value] of Object.entries(saved)) {
    const input = form.elements[name];
    if (!input) continue;
    if (input.type === "checkbox") input.checked = Boolean(value); else input.value = value;
  }
  form.addEventListener("input", () => localStorage.setItem(draftKey, JSON.stringify(values(form))));
  form.addEventListener("submit", (submit) => { submit.preventDefault(); send(form, event, draftKey); });
  if (invitationToken) form.dataset.invitation = invitationToken;
  return form;
}

function values(form) {
  return {
    full_name: form.elements.full_name.value.trim(),
    email: form.elements.email.value.trim(),
    category: form.elements.category.value,
    consent_personal_data: form.elements.consent_personal_data.checked,
    consent_publication: form.elements.consent_publication.checked,
  };
}

function setError(form, name, message) {
  const input = form.elements[name];
  const error = document.getElementById(`${name}-error`);
  if (!input || !error) return false;
  error.textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  return true;
}

function checkLocally(form, body) {
  const problems = {};
  if (body.full_name.length < 3) problems.full_name = FIELD_MESSAGES.full_name;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email)) problems.email = FIELD_MESSAGES.email;
  if (!body.category) problems.category = FIELD_MESSAGES.category;
  if (!body.consent_personal_data) problems.consent_personal_data = FIELD_MESSAGES.consent_personal_data;
  return problems;
}

async function send(form, event, draftKey) {
  const status = document.getElementById("form-status");
  const button = form.querySelector("button");
  const body = { ...values(form), timezone: visitorZone };
  if (form.dataset.invitation) body.invitation_token = form.dataset.invitation;
  for (const name of Object.keys(FIELD_MESSAGES)) setError(form, name, "");
  const problems = checkLocally(form, body);
  if (Object.keys(problems).length) {
    for (const [name, message] of Object.entries(problems)) setError(form, name, message);
    form.elements[Object.keys(problems)[0]].focus();
    return;
  }
  if (!(body.timezone || "").includes("/")) delete body.timezone;
  // One key per attempt of this form: a retry after a lost answer cannot register twice.
  const key = sessionStorage.getItem(draftKey + "-key") || crypto.randomUUID();
  sessionStorage.setItem(draftKey + "-key", key);
  button.disabled = true;
  status.replaceChildren();
  try {
    const response = await fetch(`${API}/events/${event.id}/registrations`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      localStorage.removeItem(draftKey);
      sessionStorage.removeItem(`etnik-invitation-${event.id}`);
      sessionStorage.removeItem(draftKey + "-key");
      const text = answer.status === "waitlisted"
        ? "Все места заняты: вы в листе ожидания. Мы напишем, как только место освободится."
        : answer.status === "pending_approval"
          ? "Заявка получена. Организаторы рассмотрят её и сообщат решение письмом."
          : "Регистрация подтверждена. Письмо с подтверждением отправлено на вашу почту.";
      form.replaceWith(el("p", { class: "notice", role: "alert", text }));
      return;
    }
    sessionStorage.removeItem(draftKey + "-key");
    let shown = false;
    for (const error of answer.errors || []) {
      const name = String(error.field || "").split(".").pop();
      shown = setError(form, name, FIELD_MESSAGES[name] || "Проверьте это поле.") || shown;
    }
    if (!shown) {
      status.replaceChildren(el("p", { class: "notice problem", role: "alert",
        text: response.status >= 500 ? "Сервис временно недоступен. Ваши данные сохранены — попробуйте ещё раз через минуту."
          : `Не удалось зарегистрироваться: ${translate(answer.detail)}` }));
    }
  } catch {
    status.replaceChildren(el("p", { class: "notice problem", role: "alert",
      text: "Нет связи с сервером. Введённые данные сохранены — отправьте форму ещё раз, когда связь появится." }));
  } finally {
    button.disabled = false;
  }
}

function translate(detail) {
  const known = {
    "unknown event": "мероприятие не найдено.",
    "registration for this event is not open": "регистрация на это мероприятие не открыта.",
    "registration for this event has closed": "регистрация на это мероприятие завершена.",
    "registration for this event has not opened yet": "регистрация на это мероприятие ещё не началась.",
  };
  return known[detail] || "проверьте введённые данные и попробуйте ещё раз.";
}

async function showEvent(id, invitationToken) {
  try {
    const event = await getJson(`${API}/events/${encodeURIComponent(id)}`);
    document.title = `${event.title} — ЭтНик`;
    const calendar = el("a", { href: calendarFile(event), download: "event.ics", text: "Добавить в календарь" });
    const open = event.status === "registration_open";
    show(
      el("p", {}, el("a", { href: "#/", text: "← Все мероприятия" })),
      el("h1", { text: event.title }),
      el("p", { class: "when", text: describeTime(event.starts_at) }),
      el("p", { class: "meta", text: [FORMATS[event.format], event.federal_district].filter(Boolean).join(" · ") }),
      el("p", {}, calendar),
      el("section", { class: "card", "aria-labelledby": "form-title" },
        el("h2", { id: "form-title", text: "Регистрация" }),
        invitationToken ? el("p", { class: "notice", text: "Вы регистрируетесь по персональному приглашению." }) : "",
        open || invitationToken ? registrationForm(event, invitationToken)
          : el("p", { text: "Регистрация на это мероприятие сейчас закрыта." })),
    );
  } catch {
    show(el("p", { class: "notice problem", role: "alert", text: "Мероприятие не найдено." }),
      el("p", {}, el("a", { href: "#/", text: "← Все мероприятия" })));
  }
}

const STATUSES = {
  confirmed: "Подтверждена",
  waitlisted: "В листе ожидания",
  pending_approval: "На рассмотрении",
  rejected: "Отклонена",
  cancelled: "Отменена",
  offered: "Вам предложено место",
};
const ACCESS_TOKEN = "etnik-access-token";

function authorised() {
  const token = sessionStorage.getItem(ACCESS_TOKEN);
  return token ? { Authorization: `Bearer ${token}` } : null;
}

function showSignIn(note) {
  document.title = "Вход — ЭтНик";
  const email = el("input", { type: "email", id: "sign-in-email", name: "email", autocomplete: "email", required: "" });
  const status = el("div", { role: "status", "aria-live": "polite" });
  const form = el("form", { novalidate: "" },
    field("sign-in-email", "Электронная почта, указанная при регистрации", email),
    el("button", { type: "submit", text: "Получить ссылку для входа" }), status);
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const address = email.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) {
      setError(form, "sign-in-email", FIELD_MESSAGES.email);
      return;
    }
    setError(form, "sign-in-email", "");
    try {
      const response = await fetch(`${API}/auth/sign-in-link`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: address }),
      });
      status.replaceChildren(el("p", { class: response.ok ? "notice" : "notice problem", role: "alert",
        text: response.ok ? "Если этот адрес зарегистрирован, мы отправили на него ссылку для входа. Она действует недолго и только один раз."
          : "Не удалось отправить ссылку. Попробуйте ещё раз через минуту." }));
    } catch {
      status.replaceChildren(el("p", { class: "notice problem", role: "alert", text: "Нет связи с сервером. Попробуйте ещё раз." }));
    }
  });
  show(el("h1", { text: "Вход для участников" }),
    note ? el("p", { class: "notice problem", role: "alert", text: note }) : "", form);
}

async function signInWithLink(token) {
  history.replaceState(null, "", "/#/me");  // the one-time token leaves the address bar at once
  try {
    const response = await fetch(`${API}/auth/sign-in`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
    });
    if (!response.ok) {
      showSignIn("Ссылка для входа устарела или уже использована. Запросите новую.");
      return;
    }
    sessionStorage.setItem(ACCESS_TOKEN, (await response.json()).access_token);
    showMine();
  } catch {
    showSignIn("Нет связи с сервером. Откройте ссылку из письма ещё раз чуть позже.");
  }
}

async function showMine() {
  document.title = "Мои регистрации — ЭтНик";
  const headers = authorised();
  if (!headers) { showSignIn(); return; }
  const response = await fetch(`${API}/me/registrations`, { headers });
  if (response.status === 401) {
    sessionStorage.removeItem(ACCESS_TOKEN);
    showSignIn("Сеанс истёк. Войдите ещё раз.");
    return;
  }
  if (!response.ok) {
    show(el("p", { class: "notice problem", role: "alert", text: "Не удалось загрузить регистрации. Обновите страницу чуть позже." }));
    return;
  }
  const registrations = await response.json();
  const items = await Promise.all(registrations.map(async (registration) => {
    const event = await getJson(`${API}/events/${registration.event_id}`).catch(() => null);
    const item = el("li", {},
      el("h2", { text: event ? event.title : "Мероприятие" }),
      event ? el("p", { class: "when", text: describeTime(event.starts_at) }) : "",
      el("p", { class: "meta", text: `Статус: ${STATUSES[registration.status] || registration.status}` }));
    if (!["cancelled", "rejected"].includes(registration.status)) {
      const cancel = el("button", { type: "button", class: "secondary", text: "Отменить регистрацию" });
      cancel.addEventListener("click", async () => {
        if (!confirm("Отменить регистрацию? Ваше место перейдёт следующему в листе ожидания.")) return;
        cancel.disabled = true;
        const answer = await fetch(`${API}/registrations/${registration.id}/cancel`, {
          method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: "{}",
        }).catch(() => null);
        if (answer && answer.ok) showMine();
        else { cancel.disabled = false; item.append(el("p", { class: "error", role: "alert", text: "Не удалось отменить. Попробуйте ещё раз." })); }
      });
      item.append(cancel);
    }
    return item;
  }));
  const signOut = el("button", { type: "button", class: "secondary", text: "Выйти" });
  signOut.addEventListener("click", () => { sessionStorage.removeItem(ACCESS_TOKEN); location.hash = "#/"; });
  show(el("h1", { text: "Мои регистрации" }),
    items.length ? el("ul", { class: "registrations" }, ...items) : el("p", { text: "У вас пока нет регистраций." }),
    signOut);
}

function route() {
  const query = new URLSearchParams(location.search);
  // Links from emails arrive as real paths: /sign-in?token=… and /events/<id>/register?invitation=….
  if (location.pathname === "/sign-in" && query.get("token")) { signInWithLink(query.get("token")); return; }
  const invited = location.pathname.match(/^\/events\/([A-Za-z0-9_-]+)\/register$/);
  if (invited && query.get("invitation")) {
    // Kept for this tab only, and out of the address bar, which other pages would inherit.
    sessionStorage.setItem(`etnik-invitation-${invited[1]}`, query.get("invitation"));
    history.replaceState(null, "", `/#/event/${invited[1]}`);
  }
  const match = location.hash.match(/^#\/event\/([A-Za-z0-9_-]+)$/);
  if (match) showEvent(match[1], sessionStorage.getItem(`etnik-invitation-${match[1]}`));
  else if (location.hash === "#/me") showMine();
  else if (location.hash === "#/sign-in") showSignIn();
  else showEvents();
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
