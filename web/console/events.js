// Events: the list with lifecycle actions, the create/edit form and the custom questions.
import {
  ApiError, CATEGORIES, EVENT_STATUSES, FORMATS, api, busy, button, can, checkbox, clearDraftValue, draftValue, el,
  errorNotice, eventWhen, events, field, forget, keepDraft, localProblems, notice, randomId, reference,
  saveDraftValue, select, statusBadge, submitForm, utcToZoned, zoneLabel, zonedToUtc,
} from "./core.js";
import { flashNext, navigate, section, show, showForThisPage } from "./page.js";

// Mirrors the registration service's lifecycle: which actions each status allows.
const ACTIONS = {
  draft: ["publish", "cancel"],
  published: ["open-registration", "cancel"],
  registration_open: ["close-registration", "cancel"],
  closed: ["open-registration", "complete", "cancel"],
  completed: [],
  cancelled: [],
};
const ACTION_LABELS = {
  publish: "Опубликовать",
  "open-registration": "Открыть регистрацию",
  "close-registration": "Закрыть регистрацию",
  complete: "Завершить",
  cancel: "Отменить мероприятие",
};
const CONFIRM = {
  cancel: "Отменить мероприятие? Участники получат уведомление, вернуть мероприятие будет нельзя.",
  complete: "Завершить мероприятие? Подтверждённые участники без отметки о посещении будут записаны как неявившиеся.",
};
const STATUS_KIND = {
  draft: "muted", published: "info", registration_open: "ok", closed: "warn", completed: "muted", cancelled: "bad",
};

export async function showEvents() {
  const show = showForThisPage();
  const filter = select(Object.entries(EVENT_STATUSES), { empty: "Все состояния" });
  const filterForm = el("form", { id: "events-filter", class: "filters" });
  filterForm.append(field(filterForm, "status", "Состояние", filter));
  const list = el("div", { class: "event-list" });
  const pageStatus = el("div", { class: "page-status", tabindex: "-1" });
  const load = async () => {
    list.replaceChildren(el("p", { role: "status", text: "Загружаем мероприятия…" }));
    try {
      forget("events");
      const all = await events();
      const shown = all.filter((event) => !filter.value || event.status === filter.value);
      list.replaceChildren(shown.length
        ? el("ul", { class: "cards" }, ...shown.map((event) => eventCard(event, load, pageStatus)))
        : el("p", { text: "Мероприятий нет." }));
    } catch (error) {
      list.replaceChildren(errorNotice(error));
    }
  };
  filter.addEventListener("change", load);
  show("Мероприятия",
    can("operator") ? el("p", {}, el("a", { class: "button", href: "#/events/new", text: "Новое мероприятие" })) : null,
    filterForm, pageStatus, list);
  await load();
}

function eventCard(event, reload, pageStatus) {
  const status = el("div", { class: "card-status", role: "status" });
  const facts = [
    FORMATS[event.format],
    event.federal_district,
    event.venue,
    event.capacity ? `мест занято: ${event.seats_taken} из ${event.capacity}` : `зарегистрировано: ${event.seats_taken}`,
    event.requires_approval ? "заявки одобряет модератор" : null,
    event.invitation_only ? "только по приглашениям" : null,
  ].filter(Boolean).join(" · ");
  const actions = el("div", { class: "actions" });
  if (can("operator")) {
    for (const action of ACTIONS[event.status] || []) {
      const control = button(ACTION_LABELS[action], () => busy(control, async () => {
        if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
        status.replaceChildren();
        try {
          const moved = await api("registration", `/events/${encodeURIComponent(event.id)}/${action}`, { method: "POST" });
          await reload();
          // The button is gone with the old list: focus moves to what happened.
          pageStatus.replaceChildren(notice(`«${event.title}»: ${EVENT_STATUSES[moved.status].toLowerCase()}.`));
          pageStatus.focus();
        } catch (error) {
          status.replaceChildren(errorNotice(error));
        }
      }), { class: action === "cancel" ? "danger" : "" });
      actions.append(control);
    }
    if (event.status === "completed") actions.append(certificatesButton(event, status));
  }
  const links = el("p", { class: "links" },
    can("operator") && !["completed", "cancelled"].includes(event.status)
      ? el("a", { href: `#/events/${event.id}/edit`, text: "Изменить" }) : null,
    can("operator") ? el("a", { href: `#/events/${event.id}/form`, text: "Вопросы анкеты" }) : null,
    can("operator") && event.status !== "cancelled"
      ? el("a", { href: `#/events/${event.id}/survey`, text: "Опрос после мероприятия" }) : null,
    el("a", { href: `#/registrations?event_id=${event.id}`, text: "Регистрации" }),
    el("a", { href: `#/waitlist?event_id=${event.id}`, text: "Лист ожидания" }),
  );
  return el("li", { class: "card", "data-event-id": event.id },
    el("h2", { text: event.title }),
    el("p", {}, statusBadge(EVENT_STATUSES[event.status] || event.status, STATUS_KIND[event.status] || "muted"),
      event.demo ? statusBadge("демо", "muted") : null),
    el("p", { class: "when", text: eventWhen(event) }),
    el("p", { class: "meta", text: facts }),
    actions, links, status);
}

/** Issue participation certificates to everyone who attended a completed event; the counts. */
function certificatesButton(event, status) {
  const control = button("Выдать сертификаты", () => busy(control, async () => {
    status.replaceChildren();
    const url = `/events/${encodeURIComponent(event.id)}/certificates`;
    try {
      let outcome;
      try {
        outcome = await api("registration", url, { method: "POST", body: {} });
      } catch (error) {
        // An event longer than a working day has no default number of hours: the operator gives it.
        if (!(error instanceof ApiError) || !/lasts longer than/.test(error.detail || "")) throw error;
        const given = window.prompt("Мероприятие длится дольше 12 часов. Сколько часов указать в сертификатах? (кратно 0,5)");
        if (!given) return;
        const hours = Number(given.trim().replace(",", "."));
        if (!(hours > 0 && hours <= 500 && Number.isInteger(hours * 2))) {
          status.replaceChildren(notice("Часы указываются числом, кратным 0,5, от 0,5 до 500.", { problem: true }));
          return;
        }
        outcome = await api("registration", url, { method: "POST", body: { hours } });
      }
      const parts = [
        `выдано ${outcome.issued}`,
        `уже были выданы ${outcome.already_issued}`,
        outcome.skipped_erased ? `не выданы из-за удалённых данных ${outcome.skipped_erased}` : null,
      ].filter(Boolean).join(", ");
      status.replaceChildren(notice(`Сертификаты: посетили ${outcome.attended}; ${parts}. Участники получат письмо со ссылкой.`));
    } catch (error) {
      status.replaceChildren(errorNotice(error));
    }
  }));
  return control;
}

async function zoneOptions() {
  const subjects = await reference.subjects().catch(() => []);
  const zones = new Set(["Europe/Moscow", ...subjects.map((s) => s.iana_timezone).filter(Boolean)]);
  return Array.from(zones)
    .sort((a, b) => offsetOf(a) - offsetOf(b) || a.localeCompare(b))
    .map((zone) => [zone, zoneLabel(zone)]);
}

function offsetOf(zone) {
  const label = zoneLabel(zone);
  const match = /UTC([+−])(\d+)(?::(\d+))?/.exec(label);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] || 0);
  return match[1] === "−" ? -minutes : minutes;
}

const DATETIME_FIELDS = ["starts_at", "ends_at", "registration_opens_at", "registration_closes_at"];

export async function showEventForm(eventId) {
  const show = showForThisPage();
  const [programmes, districts, subjects, zones, existing] = await Promise.all([
    reference.programmes().catch(() => []),
    reference.districts(),
    reference.subjects(),
    zoneOptions(),
    eventId ? events().then((all) => all.find((event) => event.id === eventId)) : Promise.resolve(null),
  ]);
  if (eventId && !existing) {
    show("Мероприятие не найдено", el("p", {}, el("a", { href: "#/events", text: "← К мероприятиям" })));
    return;
  }
  const form = el("form", { id: eventId ? "event-edit" : "event-new", novalidate: true });
  const status = el("div", { class: "form-status" });
  const programme = select(programmes.map((p) => [p.id, p.title]), { value: existing?.programme_id || "etnik" });
  const track = el("select", {});
  const fillTracks = () => {
    const chosen = programmes.find((p) => p.id === programme.value);
    const current = track.value || existing?.track || "";
    track.replaceChildren(el("option", { value: "", text: "— без направления —" }),
      ...(chosen ? chosen.tracks : []).map((t) => el("option", { value: t.id, text: t.title })));
    track.value = current;
  };
  programme.addEventListener("change", fillTracks);
  fillTracks();
  const zone = select(zones, { value: existing?.timezone || "Europe/Moscow" });
  const at = (name) => el("input", { type: "datetime-local", value: existing ? utcToZoned(existing[name], existing.timezone) : "" });
  const quotas = el("fieldset", { class: "group" }, el("legend", { text: "Квоты по категориям участников" }),
    el("p", { class: "hint", text: "Сколько мест может занять категория; пусто — без ограничения. Квоты в сумме могут превышать число мест." }),
    el("div", { class: "grid" }, ...Object.entries(CATEGORIES).map(([key, label]) => field(form, `quotas.${key}`, label,
      el("input", { type: "number", min: "0", inputmode: "numeric", value: existing?.quotas?.[key] ?? "" })))));
  form.append(
    field(form, "title", "Название", el("input", { type: "text", value: existing?.title || "", required: true, maxlength: "300" }), { wide: true }),
    el("div", { class: "grid" },
      field(form, "programme_id", "Программа", programme),
      field(form, "track", "Направление", track),
      field(form, "format", "Формат", select(Object.entries(FORMATS), { value: existing?.format || "", empty: "— выберите —" })),
      field(form, "capacity", "Число мест", el("input", { type: "number", min: "1", inputmode: "numeric", value: existing?.capacity ?? "" }),
        { hint: "Пусто — без ограничения." }),
    ),
    field(form, "venue", "Место проведения (для очного формата)", el("input", { type: "text", value: existing?.venue || "", maxlength: "500" }), { wide: true }),
    field(form, "online_link", "Ссылка на трансляцию (для онлайн-формата)", el("input", { type: "url", inputmode: "url", placeholder: "https://telemost.yandex.ru/…" }),
      { wide: true, hint: existing ? "Ссылку видят только подтверждённые участники. Оставьте пустым, чтобы не менять." : "VK Видео, Яндекс Телемост, МТС Линк, Zoom или другой адрес https://. Её увидят только подтверждённые участники." }),
    el("div", { class: "grid" },
      field(form, "federal_district", "Федеральный округ", select(districts.map((d) => [d.key, `${d.key} — ${d.name_ru}`]), { value: existing?.federal_district || "", empty: "— не указан —" })),
      field(form, "region_code", "Регион", select(subjects.map((s) => [s.code, `${s.code} — ${s.name_ru}`]), { value: existing?.region_code || "", empty: "— не указан —" }),
        { hint: "Округ определится по региону, если не выбран." }),
    ),
    el("fieldset", { class: "group" }, el("legend", { text: "Время проведения" }),
      el("div", { class: "grid" },
        field(form, "starts_at", "Начало", at("starts_at")),
        field(form, "ends_at", "Окончание", at("ends_at")),
        field(form, "timezone", "Часовой пояс мероприятия", zone, { hint: "Время начала и окончания — по этому поясу. Участники увидят и своё время." }),
      )),
    el("fieldset", { class: "group" }, el("legend", { text: "Окно регистрации (по часовому поясу мероприятия)" }),
      el("div", { class: "grid" },
        field(form, "registration_opens_at", "Регистрация открывается", at("registration_opens_at"), { hint: "Пусто — сразу после открытия." }),
        field(form, "registration_closes_at", "Регистрация закрывается", at("registration_closes_at"), { hint: "Пусто — до закрытия вручную." }),
      )),
    quotas,
    checkbox(form, "requires_approval", "Заявки одобряет модератор", { checked: Boolean(existing?.requires_approval) }),
    checkbox(form, "invitation_only", "Только по приглашениям (в открытом списке не показывается)", { checked: Boolean(existing?.invitation_only) }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: existing ? "Сохранить изменения" : "Создать черновик" }),
      el("a", { href: "#/events", text: "Отмена" })),
    status,
  );
  const draftKey = existing ? `event-edit-${existing.id}` : "event-new";
  const draft = keepDraft(form, draftKey);
  if (draft.restored) status.append(notice("Восстановлены несохранённые данные этой формы."));
  fillTracks();
  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    const result = await submitForm(form, status, async () => {
      const body = eventBody(form, existing);
      if (existing) {
        return api("registration", `/events/${encodeURIComponent(existing.id)}`, { method: "PATCH", body });
      }
      // One key per attempt of this draft: a retry after a lost answer cannot create twice.
      const keyName = `${draftKey}-key`;
      const key = draftValue(keyName) || randomId();
      saveDraftValue(keyName, key);
      const created = await api("registration", "/events", { method: "POST", body, idempotencyKey: key });
      clearDraftValue(keyName);
      return created;
    }, { detailFields: [[/track/, "track"], [/programme/, "programme_id"], [/region code/, "region_code"], [/federal district/, "federal_district"], [/ends_at/, "ends_at"], [/registration_closes_at/, "registration_closes_at"]] });
    if (!result) return;
    draft.clear();
    forget("events");
    flashNext(existing ? `Изменения в «${result.title}» сохранены.` : `Черновик «${result.title}» создан. Опубликуйте его, когда всё готово.`);
    navigate("#/events");
  });
  show(existing ? `Изменить: ${existing.title}` : "Новое мероприятие",
    el("p", {}, el("a", { href: "#/events", text: "← К мероприятиям" })), form);
}

function eventBody(form, existing) {
  const value = (name) => form.elements[name].value.trim();
  const problems = {};
  const zone = value("timezone");
  const body = {
    title: value("title"),
    programme_id: value("programme_id") || null,
    track: value("track") || null,
    format: value("format"),
    venue: value("venue") || null,
    federal_district: value("federal_district") || null,
    region_code: value("region_code") || null,
    capacity: value("capacity") === "" ? null : Number(value("capacity")),
    timezone: zone,
    requires_approval: form.elements.requires_approval.checked,
    invitation_only: form.elements.invitation_only.checked,
    quotas: {},
  };
  const link = value("online_link");
  if (link) body.online_link = link;
  for (const name of DATETIME_FIELDS) {
    const raw = value(name);
    body[name] = raw ? zonedToUtc(raw, zone) : null;
  }
  for (const key of Object.keys(CATEGORIES)) {
    const raw = value(`quotas.${key}`);
    if (raw !== "") body.quotas[key] = Number(raw);
  }
  // Only what the server cannot tell better: an empty required field.
  if (!body.title) problems.title = "Введите название мероприятия.";
  if (!body.format) problems.format = "Выберите формат.";
  if (!body.starts_at) problems.starts_at = "Укажите дату и время начала.";
  if (!body.ends_at) problems.ends_at = "Укажите дату и время окончания.";
  localProblems(form, problems);
  if (!existing) {
    for (const name of Object.keys(body)) if (body[name] === null) delete body[name];
    return body;
  }
  // An edit sends only what changed.
  const changed = {};
  for (const [name, next] of Object.entries(body)) {
    const before = existing[name] ?? null;
    const same = DATETIME_FIELDS.includes(name)
      ? (before && next ? new Date(before).getTime() === new Date(next).getTime() : before === next)
      : JSON.stringify(before ?? (name === "quotas" ? {} : null)) === JSON.stringify(next);
    if (!same) changed[name] = next;
  }
  return changed;
}

// --- Custom questions -------------------------------------------------------------------------

const KINDS = [["text", "Текст"], ["choice", "Один вариант из списка"], ["multi_choice", "Несколько вариантов"], ["boolean", "Да или нет"]];

export async function showQuestions(eventId) {
  const show = showForThisPage();
  const [all, current] = await Promise.all([
    events(),
    api("registration", `/operator/events/${encodeURIComponent(eventId)}/form`),
  ]);
  const event = all.find((e) => e.id === eventId);
  const draftKey = `questions-${eventId}`;
  const saved = draftValue(draftKey);
  let questions = saved || current.questions.map((q) => ({ ...q, options: (q.options || []).join("\n") }));
  const form = el("form", { id: "questions", novalidate: true });
  const rows = el("div", { class: "questions" });
  const status = el("div", { class: "form-status" });
  const keep = () => saveDraftValue(draftKey, questions);

  const render = (focusIndex) => {
    rows.replaceChildren(...questions.map((question, index) => questionRow(form, question, index)));
    if (!questions.length) rows.append(el("p", { text: "Вопросов нет: анкета состоит из стандартных полей." }));
    if (focusIndex !== undefined) {
      const target = rows.querySelector(`[name="questions.${focusIndex}.label"]`);
      if (target) target.focus();
    }
  };
  const questionRow = (parent, question, index) => {
    const kind = select(KINDS, { value: question.kind || "text" });
    const options = el("textarea", { rows: "3" });
    options.value = question.options || "";
    const toggleOptions = () => { options.disabled = !["choice", "multi_choice"].includes(kind.value); };
    kind.addEventListener("change", toggleOptions);
    toggleOptions();
    const key = el("input", { type: "text", value: question.key || "", autocomplete: "off", spellcheck: "false" });
    const label = el("input", { type: "text", value: question.label || "" });
    const required = checkbox(parent, `questions.${index}.required`, "Обязательный вопрос", { checked: Boolean(question.required) });
    const sync = () => {
      questions[index] = {
        key: key.value.trim(), label: label.value.trim(), kind: kind.value,
        required: required.querySelector("input").checked, options: options.value,
      };
      keep();
    };
    const move = (delta) => {
      const target = index + delta;
      if (target < 0 || target >= questions.length) return;
      [questions[index], questions[target]] = [questions[target], questions[index]];
      keep();
      render(target);
    };
    const fieldset = el("fieldset", { class: "group question" },
      el("legend", { text: `Вопрос ${index + 1}` }),
      el("div", { class: "grid" },
        field(parent, `questions.${index}.label`, "Текст вопроса", label),
        field(parent, `questions.${index}.key`, "Ключ (латиницей)", key, { hint: "Имя ответа в выгрузке, например experience." }),
        field(parent, `questions.${index}.kind`, "Тип ответа", kind),
      ),
      field(parent, `questions.${index}.options`, "Варианты ответа (каждый с новой строки)", options, { wide: true }),
      required,
      el("p", { class: "error", "data-error-for": `questions.${index}` }),
      el("div", { class: "actions" },
        button("Выше", () => move(-1), { class: "secondary small", disabled: index === 0, "aria-label": `Переместить вопрос ${index + 1} выше` }),
        button("Ниже", () => move(1), { class: "secondary small", disabled: index === questions.length - 1, "aria-label": `Переместить вопрос ${index + 1} ниже` }),
        button("Удалить", () => { questions.splice(index, 1); keep(); render(Math.max(0, index - 1)); },
          { class: "danger small", "aria-label": `Удалить вопрос ${index + 1}` })),
    );
    fieldset.addEventListener("input", sync);
    fieldset.addEventListener("change", sync);
    return fieldset;
  };
  render();
  form.append(
    el("p", { class: "hint", text: `Текущая версия анкеты: ${current.version}. Сохранение создаёт новую версию; уже поданные ответы сохраняют свою.` }),
    rows,
    el("p", { class: "error", "data-error-for": "questions" }),
    el("div", { class: "actions" },
      button("Добавить вопрос", () => {
        questions.push({ key: "", label: "", kind: "text", required: false, options: "" });
        keep();
        render(questions.length - 1);
      }, { class: "secondary" }),
      el("button", { type: "submit", text: "Сохранить анкету" })),
    status,
  );
  if (saved) status.append(notice("Восстановлены несохранённые изменения анкеты."));
  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    const result = await submitForm(form, status, () => {
      const body = {
        questions: questions.map((q) => ({
          key: q.key, label: q.label, kind: q.kind, required: Boolean(q.required),
          options: ["choice", "multi_choice"].includes(q.kind) ? String(q.options || "").split("\n").map((o) => o.trim()).filter(Boolean) : [],
        })),
      };
      const problems = {};
      body.questions.forEach((q, index) => {
        if (!q.label) problems[`questions.${index}.label`] = "Введите текст вопроса.";
        if (!q.key) problems[`questions.${index}.key`] = "Введите ключ латиницей, например experience.";
      });
      localProblems(form, problems);
      return api("registration", `/events/${encodeURIComponent(eventId)}/form`, { method: "PUT", body });
    });
    if (!result) return;
    clearDraftValue(draftKey);
    questions = result.questions.map((q) => ({ ...q, options: (q.options || []).join("\n") }));
    render();
    status.replaceChildren(notice(`Анкета сохранена: версия ${result.version}.`));
  });
  show(`Вопросы анкеты${event ? `: ${event.title}` : ""}`,
    el("p", {}, el("a", { href: "#/events", text: "← К мероприятиям" })),
    section("Дополнительные вопросы регистрации", form));
}
