// Internships and field business programmes: the host, schedule, places and selection of an
// event; the applications to review (approve, or reject with a reason the applicant is told);
// the decisions' audit; each participant's outcome.
import {
  ATTENDANCE, REGISTRATION_STATUSES, api, busy, button, can, dataTable, el, errorNotice, events, fetchAll, field,
  formatDate, formatDateTime, localProblems, notice, reference, select, statusBadge, submitForm, tableWrap,
} from "./core.js";
import { navigate, section, showForThisPage } from "./page.js";

// Days of the schedule are calendar dates: shown as such, whatever the browser's zone.
const UTC = { timeZone: "UTC" };
const KINDS = { internship: "Стажировка", field_programme: "Выездная бизнес-программа" };
const STATUS_KIND = { confirmed: "ok", pending_approval: "info", rejected: "bad", cancelled: "muted", waitlisted: "warn" };

// The registration service's reasons, in Russian (the schedule's reasons name the day and item).
const REASONS = [
  [/^unknown host organisation/, () => "Принимающей организации нет в базе."],
  [/^day (\d+) \(([\d-]+)\): outside the event's dates ([\d-]+) to ([\d-]+)/, (m) => `День ${m[1]} (${m[2]}) вне дат мероприятия: ${m[3]} — ${m[4]}.`],
  [/^day (\d+) \(([\d-]+)\), item (\d+): ends at ([\d:]+), not after it starts at ([\d:]+)/, (m) => `День ${m[1]} (${m[2]}), пункт ${m[3]}: окончание ${m[4]} не позже начала ${m[5]}.`],
  [/^day (\d+) \(([\d-]+)\), item (\d+): times are HH:MM/, (m) => `День ${m[1]} (${m[2]}), пункт ${m[3]}: время — ЧЧ:ММ, от 00:00 до 23:59.`],
  [/^day (\d+) \(([\d-]+)\): items (\d+) and (\d+) overlap/, (m) => `День ${m[1]} (${m[2]}): пункты ${m[3]} и ${m[4]} пересекаются по времени.`],
  [/^day (\d+) \(([\d-]+)\): this date is already in the schedule/, (m) => `День ${m[1]} (${m[2]}): эта дата уже есть в программе.`],
  [/^day (\d+) \(([\d-]+)\): a day needs at least one item/, (m) => `День ${m[1]} (${m[2]}): добавьте хотя бы один пункт.`],
  [/^(\d+) places are taken already/, (m) => `Уже одобрено участников: ${m[1]}. Мест не может быть меньше.`],
  [/^all (\d+) places are taken/, (m) => `Все места (${m[1]}) заняты: отклоните заявку или добавьте мест.`],
  [/^a (\w+) registration cannot be (approved|rejected)/, () => "По этой заявке решение уже принято. Обновите страницу."],
  [/^hours: at most (\d+)/, (m) => `Часов не больше ${m[1]} за даты мероприятия.`],
  [/^hours: a completed internship has its hours/, () => "Для завершившего укажите число часов больше нуля."],
  [/^an outcome is recorded only for an approved participant/, () => "Итог записывается только для одобренного участника."],
  [/marked as not attended/, () => "Участник отмечен как не пришедший: итога нет."],
  [/^the outcome changed meanwhile/, () => "Итог уже изменил другой оператор. Обновите страницу."],
  [/not an internship or a field business programme/, () => "Это мероприятие не стажировка и не выездная программа."],
];

function russian(detail) {
  return String(detail || "").split("; ").map((part) => {
    for (const [pattern, say] of REASONS) {
      const match = pattern.exec(part);
      if (match) return say(match);
    }
    return part;
  }).join(" ");
}

function problem(error) {
  if (error && typeof error.detail === "string" && error.status < 500) {
    return notice(russian(error.detail), { problem: true });
  }
  return errorNotice(error);
}

/** The events of internship and field-programme tracks, by the programme's track kinds. */
async function practiceEvents() {
  const [all, programmes] = await Promise.all([events(), reference.programmes()]);
  const kinds = new Map();
  for (const programme of programmes) {
    for (const track of programme.tracks || []) if (KINDS[track.kind]) kinds.set(track.id, track.kind);
  }
  return all.filter((event) => kinds.has(event.track)).map((event) => ({ ...event, kind: kinds.get(event.track) }));
}

/** The list of internships, or one internship's page. */
export async function showInternships(eventId) {
  const show = showForThisPage();
  const practices = await practiceEvents();
  const chooser = el("form", { id: "internship-choice", class: "filters" });
  chooser.append(
    field(chooser, "event_id", "Стажировка или выездная программа",
      select(practices.map((e) => [e.id, `${KINDS[e.kind]}: ${e.title} — ${formatDate(e.starts_at)}`]),
        { value: eventId || "", empty: "— выберите —" })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Открыть" })));
  chooser.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    navigate(`#/internships/${encodeURIComponent(chooser.elements.event_id.value)}`);
  });
  if (!eventId) {
    show("Стажировки и выездные программы", chooser,
      practices.length ? null : el("p", { text: "Мероприятий на треках стажировок и выездных программ пока нет." }));
    return;
  }
  const event = practices.find((e) => e.id === eventId);
  if (!event) {
    show("Стажировки и выездные программы", chooser, notice("Это мероприятие не стажировка и не выездная программа.", { problem: true }));
    return;
  }
  const pageStatus = el("div", { class: "page-status", tabindex: "-1" });
  const detailsBox = el("div");
  const applicationsBox = el("div");
  const decisionsBox = el("div");
  const outcomesBox = el("div");
  const reload = async () => {
    const [details, applications, decisions] = await Promise.all([
      api("registration", `/operator/events/${encodeURIComponent(eventId)}/internship`).catch((error) => (error.status === 404 ? null : Promise.reject(error))),
      api("registration", `/events/${encodeURIComponent(eventId)}/internship/applications`),
      api("registration", `/events/${encodeURIComponent(eventId)}/internship/decisions`),
    ]);
    detailsBox.replaceChildren(await detailsSection(event, details, pageStatus, reload));
    applicationsBox.replaceChildren(applicationsSection(applications, details, pageStatus, reload));
    decisionsBox.replaceChildren(decisionsSection(decisions));
    outcomesBox.replaceChildren(outcomesSection(applications, pageStatus, reload));
  };
  show(`${KINDS[event.kind]}: ${event.title}`, chooser, pageStatus, detailsBox, applicationsBox, decisionsBox, outcomesBox);
  await reload();
}

function scheduleText(details) {
  if (!details) return "";
  return details.schedule.flatMap((day) => day.items.map((item) =>
    `${day.date} ${item.starts}-${item.ends} ${item.title}${item.place ? `; ${item.place}` : ""}`)).join("\n");
}

/** "ГГГГ-ММ-ДД ЧЧ:ММ-ЧЧ:ММ Название; Место" per line, grouped by day in the order given. */
function parseSchedule(text) {
  const days = new Map();
  const problems = [];
  text.split("\n").map((line) => line.trim()).filter(Boolean).forEach((line, index) => {
    const match = /^(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})\s+([^;]+?)(?:;\s*(.+))?$/.exec(line);
    if (!match) {
      problems.push(`Строка ${index + 1}: ожидается «ГГГГ-ММ-ДД ЧЧ:ММ-ЧЧ:ММ Название; Место».`);
      return;
    }
    const [, date, starts, ends, title, place] = match;
    if (!days.has(date)) days.set(date, []);
    days.get(date).push({ starts, ends, title: title.trim(), ...(place ? { place: place.trim() } : {}) });
  });
  return { schedule: [...days].map(([date, items]) => ({ date, items })), problems };
}

async function detailsSection(event, details, pageStatus, reload) {
  const parts = [];
  if (details) {
    parts.push(el("p", {},
      el("strong", { text: "Принимающая организация: " }), details.host_name, el("br"),
      el("strong", { text: "Даты: " }), `${formatDate(details.starts_on, UTC)} — ${formatDate(details.ends_on, UTC)}`,
      ` (время — ${details.timezone})`, el("br"),
      el("strong", { text: "Места: " }), `${details.places_taken} из ${details.places} заняты`, el("br"),
      el("strong", { text: "Отбор заявок: " }), details.selection ? "да, решает модератор" : "нет"));
    parts.push(...details.schedule.map((day) => tableWrap(`Программа ${day.date}`,
      dataTable(`Программа на ${formatDate(day.date, UTC)}`, ["Время", "Пункт", "Место"],
        day.items.map((item) => [`${item.starts}–${item.ends}`, item.title, item.place || "—"])))));
  } else parts.push(el("p", { text: "Принимающая организация и программа ещё не заданы." }));
  if (can("operator")) parts.push(await detailsForm(event, details, pageStatus, reload));
  return section("Программа и места", ...parts);
}

async function detailsForm(event, details, pageStatus, reload) {
  const organisations = await fetchAll("registration", "/organisations");
  const form = el("form", { id: "internship-details", novalidate: true });
  const status = el("div", { class: "form-status" });
  const places = el("input", { type: "number", min: "1", max: "10000", value: String(details?.places ?? event.capacity ?? "") });
  const selection = el("input", { type: "checkbox", checked: details ? details.selection : true });
  const selectionId = "internship-details-selection";
  selection.id = selectionId;
  selection.name = "selection";
  form.append(
    el("div", { class: "grid" },
      field(form, "host_organisation_id", "Принимающая организация",
        select(organisations.map((o) => [o.id, o.name]), { value: details?.host_organisation_id || "", empty: "— выберите —" })),
      field(form, "places", "Число мест", places)),
    el("div", { class: "field" }, el("div", { class: "check" }, selection,
      el("label", { for: selectionId, text: "Заявки проходят отбор (решает модератор)" }))),
    field(form, "schedule", "Программа по дням", el("textarea", { rows: "8", value: scheduleText(details) }), {
      wide: true,
      hint: `Каждый пункт — строка «ГГГГ-ММ-ДД ЧЧ:ММ-ЧЧ:ММ Название; Место», время — ${event.timezone}.`,
    }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Сохранить программу" })),
    status);
  form.elements.schedule.value = scheduleText(details);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const saved = await submitForm(form, status, async () => {
      const { schedule, problems } = parseSchedule(form.elements.schedule.value);
      const local = {};
      if (!form.elements.host_organisation_id.value) local.host_organisation_id = "Выберите принимающую организацию.";
      if (!(Number(places.value) >= 1)) local.places = "Укажите число мест.";
      if (problems.length) local.schedule = problems.join(" ");
      else if (!schedule.length) local.schedule = "Добавьте хотя бы один пункт программы.";
      localProblems(form, local);
      try {
        return await api("registration", `/events/${encodeURIComponent(event.id)}/internship`, {
          method: "PUT",
          body: {
            host_organisation_id: form.elements.host_organisation_id.value,
            places: Number(places.value),
            selection: selection.checked,
            schedule,
          },
        });
      } catch (error) {
        if (error.status === 409 || (error.status === 422 && typeof error.detail === "string")) {
          status.replaceChildren(problem(error));
          const quiet = new Error("shown");
          quiet.local = true;
          throw quiet;
        }
        throw error;
      }
    });
    if (!saved) return;
    await reload();
    pageStatus.replaceChildren(notice("Программа сохранена."));
    pageStatus.focus();
  });
  return form;
}

function applicationsSection(applications, details, pageStatus, reload) {
  const headers = ["Заявитель", "Мотивация и ответы", "Подана", "Статус", "Действия"];
  const body = el("tbody");
  for (const application of applications) {
    const name = application.full_name || "участник";
    const actions = el("td", { class: "actions-cell" });
    const answers = Object.entries(application.answers || {}).map(([key, value]) =>
      el("p", { text: `${key}: ${Array.isArray(value) ? value.join(", ") : String(value)}` }));
    const row = el("tr", { "data-application": application.registration_id },
      el("th", { scope: "row" }, el("strong", { text: name }), el("br"), el("span", { class: "meta", text: application.email || "" })),
      el("td", {}, ...(answers.length ? answers : ["—"])),
      el("td", { text: formatDateTime(application.created_at) }),
      el("td", {}, statusBadge(REGISTRATION_STATUSES[application.status] || application.status, STATUS_KIND[application.status] || "muted"),
        application.rejection_reason ? el("p", { class: "meta", text: `Причина: ${application.rejection_reason}` }) : null),
      actions);
    body.append(row);
    if (application.status !== "pending_approval" || !can("moderator")) continue;
    const approve = button("Одобрить", () => busy(approve, async () => {
      try {
        await api("registration", `/registrations/${encodeURIComponent(application.registration_id)}/approve`, { method: "POST" });
        await reload();
        pageStatus.replaceChildren(notice(`Заявка: ${name} — одобрена. Участник получит письмо.`));
      } catch (error) {
        pageStatus.replaceChildren(problem(error));
      }
      pageStatus.focus();
    }), { "aria-label": `Одобрить заявку: ${name}` });
    const reject = button("Отклонить", () => {
      if (row.nextSibling?.dataset?.rejectFor === application.registration_id) return;
      row.after(rejectRow(application, name, headers.length, pageStatus, reload));
      row.nextSibling.querySelector("textarea").focus();
    }, { class: "danger", "aria-label": `Отклонить заявку: ${name}` });
    actions.append(approve, reject);
  }
  const free = details ? `Свободно мест: ${Math.max(0, details.places - details.places_taken)} из ${details.places}.` : "";
  return section("Заявки",
    el("p", { text: free }),
    applications.length
      ? tableWrap("Таблица заявок", el("table", {}, el("caption", { text: "Заявки в порядке поступления" }),
        el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))), body))
      : el("p", { text: "Заявок пока нет." }));
}

function rejectRow(application, name, span, pageStatus, reload) {
  const form = el("form", { id: `internship-reject-${application.registration_id}`, class: "inline-form", novalidate: true });
  const reason = el("textarea", { rows: "2", maxlength: "1000", required: true });
  const status = el("div", { class: "form-status" });
  const row = el("tr", { "data-reject-for": application.registration_id }, el("td", { colspan: String(span) }, form));
  form.append(
    field(form, "reason", `Причина отказа для: ${name} (её получит заявитель)`, reason),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: "Отклонить заявку" }),
      button("Не отклонять", () => row.remove(), { class: "secondary" })),
    status);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const done = await submitForm(form, status, async () => {
      if (reason.value.trim().length < 3) localProblems(form, { reason: "Укажите причину отказа (не короче 3 символов)." });
      return api("registration", `/registrations/${encodeURIComponent(application.registration_id)}/reject`, {
        method: "POST", body: { reason: reason.value.trim() },
      });
    });
    if (!done) return;
    await reload();
    pageStatus.replaceChildren(notice(`Заявка: ${name} — отклонена. Заявитель получит письмо с причиной.`));
    pageStatus.focus();
  });
  return row;
}

function decisionsSection(decisions) {
  return section("Журнал решений",
    decisions.length
      ? tableWrap("Таблица решений", dataTable("Решения по заявкам, новые сверху", ["Когда", "Заявитель", "Решение", "Причина", "Кто решил"],
        decisions.map((d) => [
          formatDateTime(d.decided_at), d.full_name || "—",
          d.decision === "approved" ? statusBadge("одобрена", "ok") : statusBadge("отклонена", "bad"),
          d.reason || "—", d.decided_by_email || d.decided_by || "—",
        ])))
      : el("p", { text: "Решений пока нет." }));
}

function outcomesSection(applications, pageStatus, reload) {
  const participants = applications.filter((a) => a.status === "confirmed" || a.outcome);
  if (!participants.length) return section("Итоги участников", el("p", { text: "Одобренных участников пока нет." }));
  return section("Итоги участников",
    el("p", { class: "hint", text: "Итог записывается для одобренных участников, пришедших на стажировку (или пока посещаемость не отмечена)." }),
    ...participants.map((participant) => outcomeForm(participant, pageStatus, reload)));
}

function outcomeForm(participant, pageStatus, reload) {
  const id = participant.registration_id;
  const outcome = participant.outcome || {};
  const form = el("form", { id: `outcome-${id}`, class: "group", novalidate: true });
  const status = el("div", { class: "form-status" });
  const completed = el("input", { type: "checkbox", id: `outcome-${id}-completed`, name: "completed", checked: Boolean(outcome.completed) });
  const attendance = ATTENDANCE[participant.attendance] || participant.attendance;
  form.append(
    el("h3", { text: `${participant.full_name || "Участник"} — ${attendance}${outcome.version ? `, итог записан (версия ${outcome.version})` : ""}` }),
    el("div", { class: "field" }, el("div", { class: "check" }, completed,
      el("label", { for: completed.id, text: "Завершил(а) стажировку" }))),
    el("div", { class: "grid" },
      field(form, "hours", "Часов", el("input", { type: "number", min: "0", step: "0.5", value: outcome.hours != null ? String(outcome.hours) : "" })),
      field(form, "content_material_id", "Файл результата (id материала, можно не указывать)", el("input", { type: "text", maxlength: "64", value: outcome.content_material_id || "" }))),
    field(form, "result", "Результат (проект, план)", el("textarea", { rows: "3", maxlength: "4000" }), { wide: true }),
    can("operator") ? el("div", { class: "actions" }, el("button", { type: "submit", text: outcome.version ? "Исправить итог" : "Записать итог" })) : null,
    status);
  form.elements.result.value = outcome.result || "";
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const saved = await submitForm(form, status, async () => {
      const hours = Number(form.elements.hours.value);
      const result = form.elements.result.value.trim();
      const local = {};
      if (form.elements.hours.value === "" || !(hours >= 0)) local.hours = "Укажите число часов.";
      if (result.length < 3) local.result = "Опишите результат (не короче 3 символов).";
      localProblems(form, local);
      try {
        return await api("registration", `/registrations/${encodeURIComponent(id)}/internship-outcome`, {
          method: "PUT",
          body: {
            completed: completed.checked, hours, result,
            content_material_id: form.elements.content_material_id.value.trim() || null,
            version: outcome.version || 0,
          },
        });
      } catch (error) {
        if ([409, 422].includes(error.status) && typeof error.detail === "string") {
          status.replaceChildren(problem(error));
          const quiet = new Error("shown");
          quiet.local = true;
          throw quiet;
        }
        throw error;
      }
    });
    if (!saved) return;
    await reload();
    pageStatus.replaceChildren(notice(`Итог записан: ${participant.full_name || "участник"}, ${saved.hours} ч.`));
    pageStatus.focus();
  });
  return form;
}
