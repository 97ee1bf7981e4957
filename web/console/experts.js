// The roster of experts: add a person of the directory as an expert (field, regions, short
// biography, photo), assign experts to events as speaker, moderator or facilitator, and follow
// each assignment's travel (dates and status) for the in-person strategic session.
import {
  api, button, can, dataTable, el, errorNotice, eventOptions, events, field, formatDate, localProblems, notice,
  randomId, reference, select, statusBadge, submitForm, tableWrap,
} from "./core.js";
import { section, showForThisPage } from "./page.js";

export const ROLES = { speaker: "Спикер", moderator: "Модератор", facilitator: "Фасилитатор" };
export const TRAVEL = {
  invited: "Приглашён",
  confirmed: "Подтвердил участие",
  declined: "Отказался",
  travel_booked: "Билеты куплены",
  arrived: "Прибыл",
};
// The registration service's state machine: where each status may go next.
const NEXT = {
  invited: ["confirmed", "declined"],
  confirmed: ["travel_booked", "declined"],
  travel_booked: ["arrived", "declined"],
  declined: ["invited"],
  arrived: [],
};
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];

/** The roster, the assignments with their travel and, for operators, the forms that change them. */
export async function showExperts() {
  const show = showForThisPage();
  const [allEvents, subjects] = await Promise.all([events().catch(() => []), reference.subjects().catch(() => [])]);
  const titles = new Map(allEvents.map((event) => [event.id, event.title]));
  const regionNames = new Map(subjects.map((s) => [s.code, s.name_ru]));
  const roster = el("div", {});
  const travel = el("div", {});
  const assigning = can("operator") ? assignForm(allEvents, () => load()) : null;
  const load = async () => {
    const experts = await api("registration", "/experts", { query: { limit: 500 } });
    roster.replaceChildren(experts.length
      ? tableWrap("Эксперты", dataTable("Реестр экспертов", ["ФИО", "Область экспертизы", "Регионы", "Публикация", "Назначений", ""],
        experts.map((expert) => [
          expert.full_name,
          expert.field_of_expertise,
          expert.region_codes.map((code) => regionNames.get(code) || code).join(", ") || "—",
          expert.publication_consent ? statusBadge("согласие есть", "ok") : statusBadge("не публикуется", "muted"),
          String(expert.assignments.length),
          can("operator") ? button("Убрать из реестра", async () => {
            if (!window.confirm(`Убрать ${expert.full_name} из реестра экспертов? Назначения будут сняты.`)) return;
            await act(roster, () => api("registration", `/experts/${encodeURIComponent(expert.id)}`, { method: "DELETE" }), load);
          }, { class: "danger small", "aria-label": `Убрать ${expert.full_name} из реестра` }) : "",
        ])))
      : el("p", { text: "В реестре пока нет экспертов." }));
    const rows = experts.flatMap((expert) => expert.assignments.map((assignment) => ({ expert, assignment })));
    travel.replaceChildren(rows.length
      ? tableWrap("Назначения", dataTable("Назначения и поездки", ["Эксперт", "Мероприятие", "Роль", "Приезд", "Отъезд", "Статус", ""],
        rows.map(({ expert, assignment }) => [
          expert.full_name,
          titles.get(assignment.event_id) || assignment.event_id,
          ROLES[assignment.role] || assignment.role,
          assignment.arrival_on ? formatDate(assignment.arrival_on, { timeZone: "UTC" }) : "—",
          assignment.departure_on ? formatDate(assignment.departure_on, { timeZone: "UTC" }) : "—",
          TRAVEL[assignment.travel_status] || assignment.travel_status,
          can("operator") ? assignmentActions(expert, assignment, load) : "",
        ])))
      : el("p", { text: "Назначений пока нет." }));
    if (assigning) assigning.setExperts(experts);
  };
  const parts = [section("Реестр экспертов", roster), section("Назначения и поездки", travel)];
  if (can("operator")) {
    parts.unshift(section("Новый эксперт", rosterForm(subjects, load)));
    parts.splice(2, 0, section("Назначить на мероприятие", assigning.form));
  }
  show("Эксперты", ...parts);
  await load();
}

async function act(place, action, reload) {
  try {
    await action();
    await reload();
  } catch (error) {
    place.prepend(errorNotice(error));
  }
}

function assignmentActions(expert, assignment, reload) {
  const url = `/experts/${encodeURIComponent(expert.id)}/assignments/${encodeURIComponent(assignment.assignment_id)}`;
  const box = el("div", { class: "actions" });
  const next = NEXT[assignment.travel_status] || [];
  if (next.length) {
    const status = select(next.map((key) => [key, TRAVEL[key]]), { empty: "— новый статус —" });
    status.setAttribute("aria-label", `Новый статус: ${expert.full_name}`);
    box.append(status, button("Сохранить", () => status.value && act(box, () => api("registration", url, {
      method: "PATCH", body: { travel_status: status.value },
    }), reload), { class: "small" }));
  }
  box.append(button("Снять", () => act(box, () => api("registration", url, { method: "DELETE" }), reload),
    { class: "danger small", "aria-label": `Снять назначение: ${expert.full_name}` }));
  return box;
}

function rosterForm(subjects, reload) {
  const form = el("form", { id: "expert", novalidate: true });
  const status = el("div", { class: "form-status" });
  const regions = select(subjects.map((s) => [s.code, `${s.code} — ${s.name_ru}`]));
  regions.multiple = true;
  regions.size = 6;
  const photo = el("input", { type: "file", accept: PHOTO_TYPES.join(",") });
  form.append(
    el("div", { class: "grid" },
      field(form, "email", "Электронная почта эксперта", el("input", { type: "email", maxlength: "320" }),
        { hint: "Человек должен быть в базе: зарегистрирован на мероприятие или добавлен оператором." }),
      field(form, "field_of_expertise", "Область экспертизы", el("input", { type: "text", maxlength: "300" }))),
    field(form, "region_codes", "Регионы работы", regions, { hint: "Можно выбрать несколько (Ctrl или ⌘)." }),
    field(form, "bio", "Краткая биография", el("textarea", { rows: "3", maxlength: "2000" }),
      { wide: true, hint: "Показывается на портале, только пока эксперт согласен на публикацию." }),
    field(form, "photo", "Фотография (JPEG, PNG или WebP до 1 МБ)", photo),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Добавить в реестр" })),
    status);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const file = photo.files[0];
    const created = await submitForm(form, status, async () => {
      const problems = {};
      if (!value("email")) problems.email = "Укажите адрес эксперта.";
      if (value("field_of_expertise").length < 2) problems.field_of_expertise = "Укажите область экспертизы.";
      if (file && !PHOTO_TYPES.includes(file.type)) problems.photo = "Фотография — JPEG, PNG или WebP.";
      if (file && file.size > 1_000_000) problems.photo = "Фотография больше 1 МБ.";
      localProblems(form, problems);
      const [found] = await api("registration", "/people", { query: { email: value("email"), limit: 1 } });
      if (!found) localProblems(form, { email: "Такого человека нет в базе." });
      const body = {
        person_id: found.id,
        field_of_expertise: value("field_of_expertise"),
        region_codes: Array.from(regions.selectedOptions, (o) => o.value),
      };
      if (value("bio")) body.bio = value("bio");
      return api("registration", "/experts", { method: "POST", body, idempotencyKey: randomId() });
    }, {
      detailFields: [[/already on the roster|unknown person|erased/, "email"], [/federal subject/, "region_codes"]],
    });
    if (!created) return;
    let message = `${created.full_name} — в реестре экспертов.`;
    if (file) {
      try {
        await api("registration", `/experts/${encodeURIComponent(created.id)}/photo`, {
          method: "PUT", body: file, headers: { "Content-Type": file.type },
        });
        message += " Фотография сохранена.";
      } catch (error) {
        status.replaceChildren(errorNotice(error));
        message += " Фотография не сохранена — загрузите её заново.";
      }
    }
    form.reset();
    status.replaceChildren(notice(message));
    await reload();
  });
  return form;
}

/** The assignment form, built once; its list of experts follows the roster as it reloads. */
function assignForm(allEvents, reload) {
  const form = el("form", { id: "expert-assignment", novalidate: true });
  const status = el("div", { class: "form-status" });
  const expertSelect = select([], { empty: "— выберите —" });
  const setExperts = (experts) => {
    const chosen = expertSelect.value;
    expertSelect.replaceChildren(el("option", { value: "", text: "— выберите —" }),
      ...experts.map((e) => el("option", { value: e.id, text: e.full_name })));
    expertSelect.value = experts.some((e) => e.id === chosen) ? chosen : "";
  };
  form.append(
    el("div", { class: "grid" },
      field(form, "expert_id", "Эксперт", expertSelect),
      field(form, "event_id", "Мероприятие", select(eventOptions(allEvents), { empty: "— выберите —" })),
      field(form, "role", "Роль", select(Object.entries(ROLES), { empty: "— выберите —" })),
      field(form, "arrival_on", "Дата приезда", el("input", { type: "date" })),
      field(form, "departure_on", "Дата отъезда", el("input", { type: "date" }))),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Назначить" })),
    status);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const stored = await submitForm(form, status, async () => {
      const problems = {};
      for (const [name, text] of [["expert_id", "Выберите эксперта."], ["event_id", "Выберите мероприятие."], ["role", "Выберите роль."]]) {
        if (!value(name)) problems[name] = text;
      }
      if (value("arrival_on") && value("departure_on") && value("departure_on") < value("arrival_on")) {
        problems.departure_on = "Отъезд не может быть раньше приезда.";
      }
      localProblems(form, problems);
      const body = { event_id: value("event_id"), role: value("role") };
      if (value("arrival_on")) body.arrival_on = value("arrival_on");
      if (value("departure_on")) body.departure_on = value("departure_on");
      return api("registration", `/experts/${encodeURIComponent(value("expert_id"))}/assignments`, {
        method: "POST", body, idempotencyKey: randomId(),
      });
    }, {
      detailFields: [
        [/already assigned/, "role"], [/unknown event/, "event_id"], [/unknown expert/, "expert_id"],
        [/^arrival_on/, "arrival_on"], [/^departure_on/, "departure_on"],
      ],
    });
    if (!stored) return;
    status.replaceChildren(notice(`Назначение сохранено: ${stored.full_name}.`));
    await reload();
  });
  return { form, setExperts };
}
