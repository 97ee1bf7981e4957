// Registrations: filtered, paged list with approval and rejection, exports, the waitlist.
import {
  ATTENDANCE, CATEGORIES, REGISTRATION_STATUSES, api, busy, button, can, clearErrors, dataTable, download, el,
  errorNotice, eventOptions, events, fetchAll, field, formatDateTime, notice, put, reference,
  select, showFieldErrors, statusBadge, tableWrap,
} from "./core.js";
import { navigate, section, show, showForThisPage } from "./page.js";

const PAGE_SIZE = 20;
const FILTERS = ["event_id", "status", "federal_district", "region_code", "category"];
const STATUS_KIND = {
  confirmed: "ok", pending_approval: "info", waitlisted: "warn", offered: "warn", rejected: "bad", cancelled: "muted",
};

function hashFor(values, offset = 0) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (values[name]) params.set(name, values[name]);
  if (offset) params.set("offset", String(offset));
  const text = params.toString();
  return `#/registrations${text ? `?${text}` : ""}`;
}

export async function showRegistrations(params) {
  const show = showForThisPage();
  const [allEvents, districts, subjects] = await Promise.all([events(), reference.districts(), reference.subjects()]);
  const titles = new Map(allEvents.map((event) => [event.id, event.title]));
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const chosen = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));

  // Filters live in the address: a reload or a shared link shows the same list.
  const form = el("form", { id: "registrations-filter", class: "filters", novalidate: true });
  form.append(
    field(form, "event_id", "Мероприятие", select(eventOptions(allEvents), { value: chosen.event_id, empty: "Все мероприятия" })),
    field(form, "status", "Статус", select(Object.entries(REGISTRATION_STATUSES), { value: chosen.status, empty: "Все статусы" })),
    field(form, "federal_district", "Федеральный округ", select(districts.map((d) => [d.key, d.key]), { value: chosen.federal_district, empty: "Все округа" })),
    field(form, "region_code", "Регион", select(subjects.map((s) => [s.code, `${s.code} — ${s.name_ru}`]), { value: chosen.region_code, empty: "Все регионы" })),
    field(form, "category", "Категория", select(Object.entries(CATEGORIES), { value: chosen.category, empty: "Все категории" })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Показать" })),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value]));
    navigate(hashFor(values));
  });

  const results = el("div", { class: "results" });
  const pageStatus = el("div", { class: "page-status", tabindex: "-1" });
  const exports = el("div", { class: "actions" });
  const exportStatus = el("div", { role: "status" });
  if (can("operator")) {
    for (const format of ["csv", "xlsx"]) {
      const control = button(`Выгрузить ${format.toUpperCase()}`, () => busy(control, async () => {
        exportStatus.replaceChildren(el("p", { text: "Готовим файл…" }));
        try {
          const file = await download("registration", "/registrations/export", { ...chosen, format }, `registrations.${format}`);
          exportStatus.replaceChildren(el("p", { text: `Файл «${file.name}» скачан.` }));
        } catch (error) {
          exportStatus.replaceChildren(errorNotice(error));
        }
      }), { class: "secondary" });
      exports.append(control);
    }
  }

  const load = async () => {
    results.replaceChildren(el("p", { role: "status", text: "Загружаем регистрации…" }));
    try {
      const page = await api("registration", "/registrations", { query: { ...chosen, limit: PAGE_SIZE, offset } });
      // Each row carries its person's name and email: no look-up per row.
      const people = page.items;
      put(results,
        el("p", { role: "status", text: page.total
          ? `Найдено: ${page.total}. Показаны ${offset + 1}–${offset + page.items.length}.`
          : "По этим условиям регистраций нет." }),
        page.items.length ? registrationsTable(page.items, people, titles, pageStatus, load) : null,
        pager(page.total, offset, chosen),
      );
    } catch (error) {
      results.replaceChildren(errorNotice(error));
    }
  };
  show("Регистрации", form,
    can("operator") ? section("Выгрузка по выбранным условиям", exports, exportStatus) : null,
    pageStatus, results);
  await load();
}

function pager(total, offset, chosen) {
  if (total <= PAGE_SIZE) return null;
  const previous = Math.max(0, offset - PAGE_SIZE);
  const next = offset + PAGE_SIZE;
  return el("nav", { class: "pager", "aria-label": "Страницы списка" },
    offset > 0 ? el("a", { href: hashFor(chosen, previous), text: "← Предыдущие" }) : null,
    el("span", { text: `Страница ${Math.floor(offset / PAGE_SIZE) + 1} из ${Math.ceil(total / PAGE_SIZE)}` }),
    next < total ? el("a", { href: hashFor(chosen, next), text: "Следующие →" }) : null);
}

function who(registration, personData) {
  if (!personData) return el("span", { text: `Участник ${registration.person_id.slice(0, 8)}` });
  return el("span", {}, el("strong", { text: personData.full_name }), el("br"), el("span", { class: "meta", text: personData.email }));
}

function registrationsTable(items, people, titles, pageStatus, reload) {
  const headers = ["Участник", "Мероприятие", "Категория", "Регион", "Статус", "Подана", "Посещение", "Действия"];
  const body = el("tbody");
  items.forEach((registration, index) => {
    const personData = people[index];
    const actions = el("td", { class: "actions-cell" });
    const row = el("tr", { "data-registration-id": registration.id },
      el("th", { scope: "row" }, who(registration, personData)),
      el("td", { text: titles.get(registration.event_id) || registration.event_id }),
      el("td", { text: CATEGORIES[registration.category] || registration.category || "—" }),
      el("td", { text: [registration.region_code, registration.federal_district].filter(Boolean).join(", ") || "—" }),
      el("td", {}, statusBadge(REGISTRATION_STATUSES[registration.status] || registration.status, STATUS_KIND[registration.status] || "muted")),
      el("td", { text: formatDateTime(registration.created_at) }),
      el("td", { text: `${ATTENDANCE[registration.attendance] || registration.attendance}${registration.minutes_attended != null ? `, ${registration.minutes_attended} мин` : ""}` }),
      actions);
    body.append(row);
    const name = personData ? personData.full_name : "участника";
    if (registration.status === "pending_approval" && can("moderator")) {
      const approve = button("Одобрить", () => busy(approve, async () => {
        try {
          const decided = await api("registration", `/registrations/${encodeURIComponent(registration.id)}/approve`, { method: "POST" });
          await reload();
          pageStatus.replaceChildren(notice(decided.status === "confirmed"
            ? `Заявка ${name} одобрена: регистрация подтверждена.`
            : `Заявка ${name} одобрена, но мест нет: участник в листе ожидания.`));
          pageStatus.focus();
        } catch (error) {
          pageStatus.replaceChildren(errorNotice(error));
          pageStatus.focus();
        }
      }), { "aria-label": `Одобрить заявку: ${name}` });
      const reject = button("Отклонить", () => {
        const existing = body.querySelector(`tr[data-reject-for="${registration.id}"]`);
        if (existing) {
          existing.querySelector("textarea").focus();
          return;
        }
        const formRow = rejectRow(registration, name, headers.length, pageStatus, reload, () => reject.focus());
        row.after(formRow);
        formRow.querySelector("textarea").focus();
      }, { class: "danger", "aria-label": `Отклонить заявку: ${name}` });
      actions.append(approve, reject);
    }
  });
  const table = el("table", { class: "registrations" },
    el("caption", { class: "visually-hidden", text: "Регистрации" }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))), body);
  return tableWrap("Регистрации", table);
}

function rejectRow(registration, name, span, pageStatus, reload, onCancel) {
  const form = el("form", { id: `reject-${registration.id}`, class: "inline-form", novalidate: true });
  const reason = el("textarea", { rows: "2", maxlength: "1000", required: true });
  const status = el("div", { class: "form-status" });
  const cancel = button("Не отклонять", () => { row.remove(); onCancel(); }, { class: "secondary" });
  form.append(
    field(form, "reason", `Причина отказа для ${name} (её получит участник)`, reason),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: "Отклонить заявку" }), cancel),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const submit = form.querySelector("button[type=submit]");
    await busy(submit, async () => {
      try {
        await api("registration", `/registrations/${encodeURIComponent(registration.id)}/reject`, {
          method: "POST", body: { reason: reason.value.trim() },
        });
        await reload();
        pageStatus.replaceChildren(notice(`Заявка ${name} отклонена.`));
        pageStatus.focus();
      } catch (error) {
        if (!(error.status === 422 && showFieldErrors(form, error))) status.replaceChildren(errorNotice(error));
      }
    });
  });
  const row = el("tr", { "data-reject-for": registration.id }, el("td", { colspan: String(span) }, form));
  return row;
}

export async function showWaitlist(params) {
  const show = showForThisPage();
  const allEvents = await events();
  const eventId = params.get("event_id") || "";
  const form = el("form", { id: "waitlist-filter", class: "filters" });
  form.append(
    field(form, "event_id", "Мероприятие", select(eventOptions(allEvents), { value: eventId, empty: "— выберите —" })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Показать" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/waitlist?event_id=${encodeURIComponent(form.elements.event_id.value)}`);
  });
  const results = el("div");
  show("Лист ожидания", form, results);
  if (!eventId) {
    results.append(el("p", { text: "Выберите мероприятие." }));
    return;
  }
  results.append(el("p", { role: "status", text: "Загружаем лист ожидания…" }));
  try {
    const [waiting, offered] = await Promise.all(["waitlisted", "offered"].map((status) =>
      fetchAll("registration", "/registrations", { event_id: eventId, status })));
    // The service offers a freed place to the earliest in the list whose quota allows it.
    const queue = [...offered, ...waiting].sort((a, b) =>
      new Date(a.waitlisted_at || a.created_at) - new Date(b.waitlisted_at || b.created_at));
    const people = queue;
    const event = allEvents.find((e) => e.id === eventId);
    put(results,
      event ? el("p", { class: "meta", text: event.capacity ? `Мест занято: ${event.seats_taken} из ${event.capacity}.` : `Без ограничения мест.` }) : null,
      queue.length
        ? tableWrap("Лист ожидания", dataTable(`Лист ожидания: ${queue.length}`,
          ["№", "Участник", "Категория", "В листе с", "Статус"],
          queue.map((registration, index) => [
            String(index + 1),
            who(registration, people[index]),
            CATEGORIES[registration.category] || registration.category || "—",
            formatDateTime(registration.waitlisted_at || registration.created_at),
            REGISTRATION_STATUSES[registration.status],
          ])))
        : el("p", { role: "status", text: "В листе ожидания никого нет." }),
    );
  } catch (error) {
    results.replaceChildren(errorNotice(error));
  }
}
