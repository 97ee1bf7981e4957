// Check-in at the door (typed code or QR by camera) and the import of online attendance.
import {
  ApiError, api, busy, button, can, clearErrors, dataTable, el, errorNotice, eventOptions, events, fetchAll, field,
  inBatches, keepDraft, notice, person, select, setFieldError, showFieldErrors, tableWrap,
} from "./core.js";
import { navigate, onLeave, section, show, showForThisPage } from "./page.js";
import { QrScanner } from "./scanner.js";

const OPEN_STATUSES = ["published", "registration_open", "closed"];

export async function showCheckIn(params) {
  const show = showForThisPage();
  const allEvents = await events();
  const usable = allEvents.filter((event) => OPEN_STATUSES.includes(event.status));
  const eventId = params.get("event_id") || (usable.length === 1 ? usable[0].id : "");
  const picker = el("form", { id: "check-in-event", class: "filters" });
  const eventSelect = select(eventOptions(usable), { value: eventId, empty: "— выберите —" });
  picker.append(field(picker, "event_id", "Мероприятие", eventSelect));
  eventSelect.addEventListener("change", () => navigate(`#/check-in?event_id=${encodeURIComponent(eventSelect.value)}`));
  if (!eventId) {
    show("Отметка на входе", picker, el("p", { text: "Выберите мероприятие, на котором отмечаете участников." }));
    return;
  }

  const log = el("ol", { class: "check-log", "aria-label": "Отмеченные в этом сеансе" });
  const result = el("div", { class: "check-result", role: "status", "aria-live": "assertive" });
  const checkIn = async (value) => {
    try {
      const response = await api("registration", `/events/${encodeURIComponent(eventId)}/check-in`, {
        method: "POST", body: { code: value }, raw: true,
      });
      const attendance = await response.json();
      // Both answers are 200: a header tells a repeated scan from the first one.
      const again = response.headers.get("X-Already-Checked-In") === "true";
      const name = await participantName(attendance.registration_id);
      const text = again ? `${name}: уже отмечен(а) ранее.` : `${name}: отмечен(а). Проходите!`;
      result.replaceChildren(notice(text));
      log.prepend(el("li", { text: `${new Date().toLocaleTimeString("ru-RU")} — ${text}` }));
      return true;
    } catch (error) {
      result.replaceChildren(errorNotice(error));
      return false;
    }
  };

  const form = el("form", { id: "check-in-code", novalidate: true });
  const code = el("input", {
    type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", inputmode: "text", required: true,
  });
  form.append(
    field(form, "code", "Код участника", code, { hint: "Восемь латинских букв и цифр с билета или из письма; дефисы и пробелы можно не вводить." }),
    el("button", { type: "submit", text: "Отметить" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = code.value.trim();
    if (value.length < 4) {
      setFieldError(form, "code", "Введите код с билета: не меньше 4 символов.");
      code.focus();
      return;
    }
    await busy(form.querySelector("button[type=submit]"), async () => {
      if (await checkIn(value)) code.value = "";
      code.focus();
    });
  });

  const video = el("video", { class: "camera", playsinline: true, muted: true, "aria-label": "Изображение с камеры" });
  const cameraStatus = el("p", { class: "camera-status", role: "status" });
  const scanner = new QrScanner(video, async (value) => {
    cameraStatus.textContent = "QR-код распознан, отмечаем…";
    await checkIn(value);
    cameraStatus.textContent = "Камера включена: наведите её на QR-код на билете.";
  });
  const start = button("Включить камеру", () => busy(start, async () => {
    cameraStatus.textContent = "Включаем камеру…";
    try {
      await scanner.start();
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      cameraStatus.textContent = "Камера включена: наведите её на QR-код на билете.";
      stop.focus();
    } catch (error) {
      cameraStatus.textContent = cameraProblem(error);
    }
  }), { class: "secondary" });
  const stop = button("Выключить камеру", () => {
    scanner.stop();
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
    cameraStatus.textContent = "Камера выключена.";
    start.focus();
  }, { class: "secondary", hidden: true });
  video.hidden = true;
  onLeave(() => scanner.stop());

  const event = allEvents.find((e) => e.id === eventId);
  show("Отметка на входе", picker,
    event ? el("p", { class: "meta", text: `${event.title}` }) : null,
    result,
    section("По коду с билета", form),
    section("По QR-коду камерой", el("p", { class: "hint", text: "Нужен доступ к камере. Если камера недоступна, введите код вручную." }),
      el("div", { class: "actions" }, start, stop), cameraStatus, video),
    section("Отмечены в этом сеансе", log));
  code.focus();
}

function cameraProblem(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "Доступ к камере запрещён. Разрешите его в настройках браузера или введите код вручную.";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "Камера не найдена. Введите код вручную.";
  if (name === "NotReadableError") return "Камера занята другим приложением. Закройте его или введите код вручную.";
  if (name === "NoDecoder") return "Распознавание QR-кодов в этом браузере недоступно. Введите код вручную.";
  if (name === "NoCamera") return "Браузер не даёт доступа к камере (нужно защищённое соединение). Введите код вручную.";
  return "Не удалось включить камеру. Введите код вручную.";
}

async function participantName(registrationId) {
  try {
    const registration = await api("registration", `/registrations/${encodeURIComponent(registrationId)}`);
    const found = await person(registration.person_id);
    return found ? found.full_name : "Участник";
  } catch {
    return "Участник";
  }
}

// --- Online attendance ----------------------------------------------------------------------

const EXAMPLE_CSV = "email;joined_at;left_at\nivanova@example.org;2026-03-01T14:02:00+03:00;2026-03-01T16:55:00+03:00";

export async function showAttendanceImport(params) {
  const show = showForThisPage();
  const allEvents = await events();
  const usable = allEvents.filter((event) => ["registration_open", "closed", "completed", "published"].includes(event.status));
  const eventId = params.get("event_id") || "";
  const form = el("form", { id: "attendance-import", novalidate: true });
  const eventSelect = select(eventOptions(usable), { value: eventId, empty: "— выберите —" });
  const file = el("input", { type: "file", accept: ".csv,.json,.txt,text/csv,application/json" });
  const text = el("textarea", { rows: "6", spellcheck: "false", placeholder: EXAMPLE_CSV });
  const status = el("div", { class: "form-status" });
  const preview = el("div");
  form.append(
    field(form, "event_id", "Мероприятие", eventSelect),
    field(form, "file", "Файл выгрузки видеоплатформы (CSV или JSON)", file),
    field(form, "text", "Или вставьте данные", text, {
      wide: true,
      hint: "Колонки: registration_id или email; затем joined_at и left_at (вход и выход, ISO 8601) или minutes (минуты присутствия). Разделитель — запятая или точка с запятой.",
    }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Загрузить посещаемость" })),
    status);
  const draft = keepDraft(form, "attendance-import");
  file.addEventListener("change", async () => {
    if (file.files[0]) {
      text.value = await file.files[0].text();
      draft.save();
    }
  });
  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    preview.replaceChildren();
    const event = usable.find((e) => e.id === eventSelect.value);
    if (!event) {
      setFieldError(form, "event_id", "Выберите мероприятие.");
      eventSelect.focus();
      return;
    }
    let records;
    try {
      records = parseAttendance(text.value);
    } catch (problem) {
      setFieldError(form, "text", problem.message);
      text.focus();
      return;
    }
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const sessions = await toSessions(records, event);
        if (!sessions.length) throw new Error("Во всех строках ноль минут: записывать нечего.");
        const results = [];
        // The service takes at most 5000 records at once.
        for (let start = 0; start < sessions.length; start += 5000) {
          results.push(...(await api("registration", `/events/${encodeURIComponent(event.id)}/attendance/online`, {
            method: "POST", body: { sessions: sessions.slice(start, start + 5000) },
          })));
        }
        draft.clear();
        const attended = results.filter((r) => r.attendance === "attended").length;
        status.replaceChildren(notice(`Загружено записей: ${sessions.length}. Участников: ${results.length}, засчитано присутствие: ${attended}, не засчитано: ${results.length - attended}.`));
        preview.replaceChildren(tableWrap("Результат загрузки", dataTable("Посещаемость по регистрациям",
          ["Регистрация", "Минут", "Итог"],
          results.map((r) => [r.registration_id, String(r.minutes_attended ?? "—"), r.attendance === "attended" ? "Присутствовал(а)" : "Не засчитано"]))));
      } catch (error) {
        if (error instanceof ApiError && error.status === 422 && showFieldErrors(form, error)) return;
        status.replaceChildren(error instanceof ApiError ? errorNotice(error) : notice(error.message, { problem: true }));
      }
    });
  });

  const finalise = can("operator") ? button("Записать неявки", () => busy(finalise, async () => {
    const event = usable.find((e) => e.id === eventSelect.value);
    if (!event) {
      setFieldError(form, "event_id", "Выберите мероприятие.");
      eventSelect.focus();
      return;
    }
    if (!window.confirm("Подтверждённые участники без отметки о посещении будут записаны как неявившиеся. Продолжить?")) return;
    try {
      const answer = await api("registration", `/events/${encodeURIComponent(event.id)}/attendance/finalise`, { method: "POST" });
      finaliseStatus.replaceChildren(notice(`Записано неявок: ${answer.no_shows}.`));
    } catch (error) {
      finaliseStatus.replaceChildren(errorNotice(error));
    }
  }), { class: "secondary" }) : null;
  const finaliseStatus = el("div");
  show("Онлайн-посещаемость",
    section("Импорт входов и выходов", el("p", { class: "hint", text: "Записи о входе и выходе из трансляции пересчитываются в минуты присутствия; повторная загрузка тех же записей ничего не удваивает. Строка с минутами считается присутствием с начала мероприятия." }), form, preview),
    finalise ? section("После мероприятия", finalise, finaliseStatus) : null);
}

/** Rows of a CSV (comma or semicolon, with a header) or JSON export, as plain objects. */
export function parseAttendance(source) {
  const input = source.trim();
  if (!input) throw new Error("Нет данных: выберите файл или вставьте строки.");
  if (input.startsWith("[") || input.startsWith("{")) {
    let parsed;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new Error("Это не JSON: проверьте скобки и кавычки.");
    }
    const rows = Array.isArray(parsed) ? parsed : parsed.sessions;
    if (!Array.isArray(rows) || !rows.length) throw new Error("В JSON нет записей: нужен список или поле sessions.");
    return rows.map((row, index) => checkRow(row, index + 1));
  }
  const lines = input.split(/\r?\n/).filter((line) => line.trim());
  const separator = (lines[0].match(/;/g) || []).length >= (lines[0].match(/,/g) || []).length ? ";" : ",";
  const header = lines[0].split(separator).map((name) => name.trim().toLowerCase().replace(/^"|"$/g, ""));
  if (lines.length < 2) throw new Error("Под заголовком нет строк с данными.");
  return lines.slice(1).map((line, index) => {
    const cells = line.split(separator).map((cell) => cell.trim().replace(/^"|"$/g, ""));
    return checkRow(Object.fromEntries(header.map((name, i) => [name, cells[i] || ""])), index + 2);
  });
}

function checkRow(row, line) {
  const who = row.registration_id || row.email;
  if (!who) throw new Error(`Строка ${line}: нет registration_id или email.`);
  const minutes = row.minutes !== undefined && row.minutes !== "" ? Number(row.minutes) : null;
  if (minutes !== null && !(Number.isInteger(minutes) && minutes >= 0)) throw new Error(`Строка ${line}: minutes — целое число минут.`);
  if (minutes === null) {
    for (const name of ["joined_at", "left_at"]) {
      if (!row[name] || Number.isNaN(Date.parse(row[name]))) throw new Error(`Строка ${line}: ${name} — дата и время, например 2026-03-01T14:02:00+03:00.`);
    }
    if (Date.parse(row.left_at) <= Date.parse(row.joined_at)) throw new Error(`Строка ${line}: выход должен быть позже входа.`);
  }
  return {
    registration_id: row.registration_id || null, email: row.email ? String(row.email).toLowerCase() : null,
    joined_at: row.joined_at || null, left_at: row.left_at || null, minutes,
  };
}

async function toSessions(records, event) {
  const byEmail = new Map();
  const emails = [...new Set(records.filter((r) => !r.registration_id).map((r) => r.email))];
  if (emails.length) {
    if (!can("operator", "moderator")) throw new Error("Сопоставлять по email может только оператор: укажите registration_id.");
    // A person's registration for this event, through their person id.
    const registrations = await fetchAll("registration", "/registrations", { event_id: event.id, status: "confirmed" });
    const byPerson = new Map(registrations.map((r) => [r.person_id, r.id]));
    const people = await inBatches(emails, 5, (email) => api("registration", "/people", { query: { email } }).catch(() => []));
    emails.forEach((email, index) => {
      const found = (people[index] || [])[0];
      if (found && byPerson.has(found.id)) byEmail.set(email, byPerson.get(found.id));
    });
    const missing = emails.filter((email) => !byEmail.has(email));
    if (missing.length) throw new Error(`Нет подтверждённой регистрации на это мероприятие для: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` и ещё ${missing.length - 5}` : ""}.`);
  }
  const start = new Date(event.starts_at).getTime();
  // Zero minutes is no presence at all: nothing to record.
  return records.filter((record) => record.minutes !== 0).map((record) => {
    const registrationId = record.registration_id || byEmail.get(record.email);
    if (record.minutes !== null) {
      return { registration_id: registrationId, joined_at: new Date(start).toISOString(), left_at: new Date(start + record.minutes * 60000).toISOString() };
    }
    return { registration_id: registrationId, joined_at: new Date(record.joined_at).toISOString(), left_at: new Date(record.left_at).toISOString() };
  });
}
