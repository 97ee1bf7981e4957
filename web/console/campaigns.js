// Invitation campaigns: choose an event and an audience, then watch the sending live.
import {
  CATEGORIES, ORGANISATION_KINDS, api, checkboxGroup, el, errorNotice, eventOptions, events, field, formatDateTime,
  keepDraft, localProblems, notice, reference, select, submitForm,
} from "./core.js";
import { onLeave, section, show, showForThisPage } from "./page.js";

const POLL_MS = 3000;
const RECENT = 10;

export async function showCampaigns() {
  const show = showForThisPage();
  const [allEvents, districts, subjects] = await Promise.all([events(), reference.districts(), reference.subjects()]);
  const invitable = allEvents.filter((event) => ["published", "registration_open"].includes(event.status));
  const titles = new Map(allEvents.map((event) => [event.id, event.title]));
  const form = el("form", { id: "campaign", novalidate: true });
  const status = el("div", { class: "form-status" });
  const bySubjectDistrict = new Map();
  for (const subject of subjects) {
    const key = subject.federal_district || "—";
    if (!bySubjectDistrict.has(key)) bySubjectDistrict.set(key, []);
    bySubjectDistrict.get(key).push([subject.code, `${subject.code} — ${subject.name_ru}`]);
  }
  form.append(
    field(form, "event_id", "Мероприятие", select(eventOptions(invitable), { empty: "— выберите —" }),
      { hint: "Приглашать можно на опубликованные мероприятия и мероприятия с открытой регистрацией." }),
    el("p", { class: "hint", text: "Аудитория — люди из базы, подходящие под все выбранные условия. Не выбрано ничего в группе — группа не ограничивает. Кто уже приглашён на это мероприятие, второго приглашения не получит." }),
    checkboxGroup(form, "federal_districts", "Федеральные округа", districts.map((d) => [d.key, `${d.key} — ${d.name_ru}`])),
    checkboxGroup(form, "region_codes", "Регионы", subjects.map((s) => [s.code, `${s.code} — ${s.name_ru}`]), { scroll: true }),
    checkboxGroup(form, "categories", "Категории участников", Object.entries(CATEGORIES),
      { hint: "«Эксперт» — и зарегистрированные как эксперты, и все из реестра экспертов." }),
    checkboxGroup(form, "organisation_kinds", "Типы организаций", Object.entries(ORGANISATION_KINDS)),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Разослать приглашения" })),
    status,
  );
  const draft = keepDraft(form, "campaign");
  const progressList = el("div", { class: "campaigns" });
  const pollers = new Set();
  onLeave(() => { for (const stop of pollers) stop(); });

  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    const values = Object.fromEntries(["federal_districts", "region_codes", "categories", "organisation_kinds"]
      .map((name) => [name, Array.from(form.querySelectorAll(`input[name=${name}]:checked`), (box) => box.value)]));
    const campaign = await submitForm(form, status, () => {
      const eventId = form.elements.event_id.value;
      localProblems(form, eventId ? {} : { event_id: "Выберите мероприятие." });
      const everyone = Object.values(values).every((list) => !list.length);
      if (everyone && !window.confirm("Условия не выбраны: приглашения получат все люди из базы. Продолжить?")) {
        const stop = new Error("cancelled");
        stop.local = true;
        throw stop;
      }
      return api("registration", "/invitation-campaigns", { method: "POST", body: { event_id: eventId, ...values } });
    });
    if (!campaign) return;
    draft.clear();
    status.replaceChildren(notice(campaign.invitations
      ? `Кампания создана: приглашений — ${campaign.invitations}. Ход рассылки ниже.`
      : "Кампания создана, но под условия не подошёл никто, кто ещё не приглашён."));
    progressList.prepend(progressCard(campaign, titles, pollers));
  });

  show("Приглашения",
    section("Новая кампания приглашений", form),
    section("Ход рассылки", el("p", { class: "hint", text: "Письма не уходят ночью (с 22:00 до 08:00 по времени получателя) и ждут утра. Данные обновляются каждые несколько секунд." }), progressList));
  // The latest campaigns of every operator, so a campaign started elsewhere can be watched too;
  // loaded after the page is shown, so the form is there at once.
  try {
    const recent = await api("registration", "/invitation-campaigns", { query: { limit: RECENT } });
    // Left meanwhile: no cards, so no polling that nothing would stop.
    if (!progressList.isConnected) return;
    const shown = new Set(Array.from(progressList.children, (card) => card.dataset.campaignId));
    for (const campaign of recent) {
      if (!shown.has(campaign.id)) progressList.append(progressCard(campaign, titles, pollers));
    }
  } catch (error) {
    progressList.append(errorNotice(error));
  }
}

function progressCard(campaign, titles, pollers) {
  const bar = el("progress", { max: "1", value: "0", "aria-label": "Доля обработанных приглашений" });
  const numbers = el("dl", { class: "numbers" });
  const state = el("p", { class: "state", role: "status" });
  const problem = el("div");
  const card = el("article", { class: "card campaign", "data-campaign-id": campaign.id },
    el("h3", { text: `${titles.get(campaign.event_id) || "Мероприятие"} — ${formatDateTime(campaign.created_at)}` }),
    el("p", { class: "meta", text: `Приглашений выпущено: ${campaign.invitations}` }),
    bar, numbers, state, problem);
  let timer = null;
  let lastState = "";
  const stop = () => { clearTimeout(timer); timer = null; pollers.delete(stop); };
  const poll = async () => {
    try {
      const progress = await api("notification", `/campaigns/${encodeURIComponent(campaign.id)}`);
      problem.replaceChildren();
      const done = progress.sent + progress.failed + progress.dropped;
      const total = Math.max(progress.total, campaign.invitations);
      bar.max = String(Math.max(total, 1));
      bar.value = String(done);
      numbers.replaceChildren(...[
        ["Всего", total], ["Отправлено", progress.sent], ["Не доставлено", progress.failed],
        ["Не отправлено (отписка)", progress.dropped], ["Ожидают отправки", Math.max(total - done, progress.remaining)],
      ].flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: String(value) })]));
      const finished = done >= total;
      // Announced only when it changes: a screen reader is not read numbers every 3 seconds.
      const text = finished ? "Рассылка завершена." : "Рассылка идёт…";
      if (text !== lastState) {
        state.textContent = text;
        lastState = text;
      }
      if (finished) {
        stop();
        return;
      }
    } catch (error) {
      problem.replaceChildren(errorNotice(error));
    }
    timer = setTimeout(poll, POLL_MS);
  };
  pollers.add(stop);
  poll();
  return card;
}
