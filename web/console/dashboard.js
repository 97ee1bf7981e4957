// The dashboard: participants by district and category, registrations per day, messages by
// kind, attendance, and the grant report's exports.
import {
  CATEGORIES, REGISTRATION_STATUSES, api, busy, button, clearErrors, download, el, errorNotice, eventOptions, events,
  field, keepDraft, notice, reference, select, setFieldError, showFieldErrors,
} from "./core.js";
import { barChart, dayChart } from "./charts.js";
import { SECTORS } from "./partnerships.js";
import { section, show, showForThisPage } from "./page.js";

const UNKNOWN = "не указано";
// The notification service's message kinds (its templates), as operators call them.
const MESSAGE_KINDS = {
  invitation: "Приглашения",
  registration_confirmed: "Подтверждения регистрации",
  registration_waitlisted: "Лист ожидания",
  registration_received: "Заявка получена",
  registration_rejected: "Заявка отклонена",
  registration_cancelled: "Отмена регистрации",
  registration_offered: "Освободилось место",
  event_reminder: "Напоминания",
  event_changed: "Изменения мероприятия",
  event_cancelled: "Отмена мероприятия",
  sign_in_link: "Ссылки для входа",
};

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export async function showDashboard() {
  const show = showForThisPage();
  const [allEvents, districts] = await Promise.all([events().catch(() => []), reference.districts().catch(() => [])]);
  const titles = new Map(allEvents.map((event) => [event.id, event.title]));
  const districtNames = new Map(districts.map((d) => [d.key, d.name_ru]));

  const filters = el("form", { id: "dashboard-filter", class: "filters", novalidate: true });
  filters.append(
    field(filters, "start", "С даты", el("input", { type: "date" })),
    field(filters, "end", "По дату", el("input", { type: "date" })),
    field(filters, "district", "Федеральный округ", select(districts.map((d) => [d.key, d.key]), { empty: "Все округа" })),
    field(filters, "event_id", "Мероприятие", select(eventOptions(allEvents), { empty: "Все мероприятия" })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Показать" })));
  keepDraft(filters, "dashboard-filter");
  const totals = el("div", { class: "totals" });
  const charts = el("div", { class: "charts" });
  const status = el("div", { class: "form-status" });

  const load = async () => {
    clearErrors(filters);
    status.replaceChildren();
    charts.replaceChildren(el("p", { role: "status", text: "Считаем…" }));
    const query = Object.fromEntries(["start", "end", "district", "event_id"].map((name) => [name, filters.elements[name].value]));
    try {
      const [byDistrict, byCategory, byEvent, perDay, counts, messages, partnerships, experts] = await Promise.all([
        api("reporting", "/dashboard/breakdown", { query: { ...query, by: "district" } }),
        api("reporting", "/dashboard/breakdown", { query: { ...query, by: "category" } }),
        api("reporting", "/dashboard/breakdown", { query: { ...query, by: "event" } }),
        api("reporting", "/dashboard/registrations-per-day", { query }),
        api("reporting", "/stats/registrations", { query: { event_id: query.event_id } }),
        api("reporting", "/stats/notifications", { query: { start: query.start, end: query.end } }),
        api("reporting", "/dashboard/partnerships", { query: { start: query.start, end: query.end, district: query.district } }),
        api("reporting", "/dashboard/experts", { query }),
      ]);
      totals.replaceChildren(el("dl", { class: "numbers" }, ...[
        ["Регистраций всего", counts.total],
        ...Object.entries(counts.by_status).map(([key, value]) => [REGISTRATION_STATUSES[key] || key, value]),
        ["Писем отправлено", messages.sent], ["Писем не доставлено", messages.failed],
        ["Партнёрств заключено", partnerships.formed], ["Из них межсекторных", partnerships.cross_sector],
        ["Экспертов на мероприятиях", experts.experts],
      ].flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: String(value) })])));
      const label = (key, names) => (key === "unknown" ? UNKNOWN : names(key));
      charts.replaceChildren(
        barChart({
          title: "Участники по федеральным округам",
          series: ["Участники", "Регистрации"],
          rows: byDistrict.rows.map((r) => ({ label: label(r.key, (k) => (districtNames.get(k) ? `${k} — ${districtNames.get(k)}` : k)), values: [r.participants, r.registrations] })),
        }),
        barChart({
          title: "Участники по категориям",
          series: ["Участники", "Регистрации"],
          rows: byCategory.rows.map((r) => ({ label: label(r.key, (k) => CATEGORIES[k] || k), values: [r.participants, r.registrations] })),
        }),
        dayChart({
          title: "Регистрации по дням",
          label: "Регистрации",
          rows: perDay.series.map((r) => ({ day: r.day, value: r.registrations })),
        }),
        barChart({
          title: "Письма по видам",
          series: ["Отправлено", "Не доставлено"],
          rows: Object.entries(messages.by_kind)
            .map(([kind, outcome]) => ({ label: MESSAGE_KINDS[kind] || kind, values: [outcome.sent, outcome.failed] })),
          empty: "Писем за выбранный период нет.",
        }),
        barChart({
          title: "Посещаемость по мероприятиям",
          series: ["Присутствовали", "Не явились"],
          rows: byEvent.rows.filter((r) => r.attended || r.no_shows)
            .map((r) => ({ label: label(r.key, (k) => titles.get(k) || k), values: [r.attended, r.no_shows] })),
          empty: "Отметок о посещении пока нет.",
        }),
        barChart({
          title: "Партнёрства по сочетанию секторов",
          series: ["Партнёрства"],
          rows: Object.entries(partnerships.by_sector_pair).map(([pair, count]) => ({
            label: pair.split("–").map((sector) => SECTORS[sector] || sector).join(" – "), values: [count],
          })),
          empty: "Партнёрств за выбранный период нет.",
        }),
      );
    } catch (error) {
      charts.replaceChildren();
      if (!(error.status === 422 && showFieldErrors(filters, error))) status.replaceChildren(errorNotice(error));
    }
  };
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(); });

  show("Сводка и отчёт", section("Показатели", filters, status, totals, charts), grantReport());
  await load();
}

function grantReport() {
  const form = el("form", { id: "grant-report", novalidate: true });
  const today = new Date();
  const start = el("input", { type: "date", value: `${today.getUTCFullYear()}-01-01` });
  const end = el("input", { type: "date", value: isoDay(today) });
  const status = el("div", { class: "form-status" });
  const buttons = el("div", { class: "actions" });
  form.append(el("div", { class: "grid" },
    field(form, "start", "Начало отчётного периода", start),
    field(form, "end", "Конец отчётного периода", end)), buttons, status);
  keepDraft(form, "grant-report");
  form.addEventListener("submit", (event) => event.preventDefault());
  for (const [format, text] of [["xlsx", "Скачать XLSX"], ["csv", "Скачать CSV"], ["pdf", "Скачать PDF"]]) {
    const control = button(text, () => busy(control, async () => {
      clearErrors(form);
      status.replaceChildren();
      const problems = {};
      if (!start.value) problems.start = "Укажите первый день периода.";
      if (!end.value) problems.end = "Укажите последний день периода.";
      if (start.value && end.value && end.value < start.value) problems.end = "Конец периода раньше его начала.";
      if (Object.keys(problems).length) {
        for (const [name, message] of Object.entries(problems)) setFieldError(form, name, message);
        form.elements[Object.keys(problems)[0]].focus();
        return;
      }
      status.replaceChildren(el("p", { text: "Готовим отчёт…" }));
      try {
        const file = await download("reporting", "/reports/grant/export", { start: start.value, end: end.value, format },
          `etnik-grant-report-${start.value}-${end.value}.${format}`);
        status.replaceChildren(notice(`Отчёт «${file.name}» скачан.`));
      } catch (error) {
        if (error.status === 422 && showFieldErrors(form, error)) status.replaceChildren();
        else status.replaceChildren(errorNotice(error));
      }
    }), { class: format === "xlsx" ? "" : "secondary" });
    buttons.append(control);
  }
  return section("Отчёт для Фонда", el("p", { class: "hint", text: "Отчёт по гранту за период: участники, мероприятия, посещаемость, уведомления и качественные результаты." }), form);
}
