// Shared pieces of the operator console: DOM helpers, the session, API calls, errors, forms.
// The gateway's Content-Security-Policy forbids inline scripts and eval: everything is built
// with DOM calls and listeners attached here.

export const API = {
  registration: "/api/registration",
  notification: "/api/notification",
  content: "/api/content",
  reporting: "/api/reporting",
};

// --- DOM ------------------------------------------------------------------------------------

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false && child !== ""));
  return node;
}

/** Replace a node's children, skipping the empty ones (null would show as the text "null"). */
export function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false && child !== ""));
  return node;
}

export function button(text, onClick, attributes = {}) {
  const node = el("button", { type: "button", ...attributes, text });
  node.addEventListener("click", onClick);
  return node;
}

let uniqueCounter = 0;
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

export function randomId() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Outside a secure context randomUUID is missing; getRandomValues is still there.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Run an action while its button shows it is busy; a double click cannot send twice. */
export async function busy(control, action) {
  if (control.disabled) return undefined;
  control.disabled = true;
  control.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    control.disabled = false;
    control.removeAttribute("aria-busy");
  }
}

// --- Labels ---------------------------------------------------------------------------------

export const ROLE_LABELS = {
  admin: "администратор",
  operator: "оператор",
  moderator: "модератор",
  check_in: "регистратор на входе",
};

export const EVENT_STATUSES = {
  draft: "Черновик",
  published: "Опубликовано",
  registration_open: "Регистрация открыта",
  closed: "Регистрация закрыта",
  completed: "Завершено",
  cancelled: "Отменено",
};

export const FORMATS = { in_person: "Очно", online: "Онлайн", hybrid: "Очно и онлайн" };

export const CATEGORIES = {
  ngo_leader: "Руководитель НКО",
  ngo_activist: "Активист НКО",
  expert: "Эксперт",
  government_official: "Представитель органа власти",
  media: "Представитель СМИ",
  other: "Другое",
};

export const REGISTRATION_STATUSES = {
  confirmed: "Подтверждена",
  pending_approval: "На рассмотрении",
  waitlisted: "В листе ожидания",
  offered: "Предложено место",
  rejected: "Отклонена",
  cancelled: "Отменена",
};

export const ATTENDANCE = {
  registered: "Не отмечен",
  attended: "Присутствовал(а)",
  no_show: "Не явился(ась)",
};

export const ORGANISATION_KINDS = {
  ngo: "СО НКО",
  national_cultural_autonomy: "Национально-культурная автономия",
  authority: "Орган власти",
  media: "СМИ",
  other: "Другое",
};

// --- Time -----------------------------------------------------------------------------------

export function formatDate(iso, options = {}) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("ru-RU", { day: "numeric", month: "long", year: "numeric", ...options }).format(new Date(iso));
}

export function formatDateTime(iso, timeZone) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("ru-RU", {
    timeZone, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

/** The UTC offset of a zone at an instant, in minutes (Москва: 180). */
export function offsetMinutes(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  const value = Object.fromEntries(parts.map((part) => [part.type, Number(part.value)]));
  const asUtc = Date.UTC(value.year, value.month - 1, value.day, value.hour % 24, value.minute, value.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

export function zoneLabel(timeZone) {
  const minutes = offsetMinutes(new Date(), timeZone);
  const sign = minutes >= 0 ? "+" : "−";
  const hours = Math.floor(Math.abs(minutes) / 60);
  const rest = Math.abs(minutes) % 60;
  return `${timeZone} (UTC${sign}${hours}${rest ? ":" + String(rest).padStart(2, "0") : ""})`;
}

/** "2026-03-01T14:00" on the wall clock of a zone → the instant, as ISO 8601 in UTC. */
export function zonedToUtc(local, timeZone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || "");
  if (!match) return null;
  const [, y, m, d, h, mi] = match.map(Number);
  const guess = Date.UTC(y, m - 1, d, h, mi);
  const first = offsetMinutes(new Date(guess), timeZone);
  let instant = guess - first * 60000;
  // Near a DST change the offset at the guess may differ from the offset at the answer.
  const second = offsetMinutes(new Date(instant), timeZone);
  if (second !== first) instant = guess - second * 60000;
  return new Date(instant).toISOString();
}

/** An instant → the value of a datetime-local input on the wall clock of a zone. */
export function utcToZoned(iso, timeZone) {
  if (!iso) return "";
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).formatToParts(new Date(iso));
  const v = Object.fromEntries(parts.map((part) => [part.type, part.value]));
  return `${v.year}-${v.month}-${v.day}T${v.hour === "24" ? "00" : v.hour}:${v.minute}`;
}

export function eventWhen(event) {
  const local = formatDateTime(event.starts_at, event.timezone);
  if (event.timezone === "Europe/Moscow") return `${local} МСК`;
  const moscow = new Intl.DateTimeFormat("ru-RU", { timeZone: "Europe/Moscow", hour: "2-digit", minute: "2-digit" })
    .format(new Date(event.starts_at));
  return `${local} (${event.timezone}) · ${moscow} МСК`;
}

// --- Session --------------------------------------------------------------------------------

const SESSION_KEY = "etnik-console-session";
const DRAFT_PREFIX = "etnik-console-draft:";

function decodeClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(tokens, email) {
    // The claims are read only to decide what to show; the services verify every request.
    const claims = decodeClaims(tokens.access_token);
    const previous = this.get() || {};
    const value = {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token || previous.refresh_token || null,
      expires_at: Date.now() + (Number(tokens.expires_in) || 300) * 1000,
      roles: Array.isArray(claims.roles) ? claims.roles : [],
      subject: claims.sub || "",
      email: email || previous.email || "",
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
    return value;
  },
  clear({ drafts = false } = {}) {
    sessionStorage.removeItem(SESSION_KEY);
    if (drafts) {
      for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
    }
  },
};

/** Whether the signed-in account holds one of the roles (admin holds every role). */
export function can(...roles) {
  const held = (session.get() || {}).roles || [];
  return held.includes("admin") || roles.some((role) => held.includes(role));
}

let onExpired = () => {};
export function whenSessionExpires(handler) {
  onExpired = handler;
}

let refreshing = null;
/** Renew the tokens once, however many requests find them stale at the same time. */
async function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const current = session.get();
      if (!current || !current.refresh_token) return "refused";
      try {
        const response = await fetch(`${API.registration}/auth/refresh`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-Request-ID": randomId() },
          body: JSON.stringify({ refresh_token: current.refresh_token }),
        });
        if (!response.ok) return response.status >= 500 ? "offline" : "refused";
        session.save(await response.json());
        return "ok";
      } catch {
        return "offline";
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// --- API ------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor({ status = 0, detail = "", errors = [], requestId = "", network = false }) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.errors = errors;
    this.requestId = requestId;
    this.network = network;
  }
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    params.set(name, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Call a service through the gateway with the operator's token.
 * Returns the parsed JSON (or the Response with raw: true); throws ApiError otherwise.
 */
export async function api(service, path, options = {}) {
  const { method = "GET", body, query, headers = {}, raw = false, idempotencyKey, anonymous = false } = options;
  const url = withQuery(API[service] + path, query);
  // Our own request id: the gateway keeps it, so even a lost answer has an id to quote.
  const requestId = randomId();
  const send = async () => {
    const sent = { Accept: "application/json", "X-Request-ID": requestId, ...headers };
    if (!anonymous) {
      let current = session.get();
      if (current && current.expires_at - Date.now() < 30000) {
        await refresh();
        current = session.get();
      }
      if (current) sent.Authorization = `Bearer ${current.access_token}`;
    }
    if (idempotencyKey) sent["Idempotency-Key"] = idempotencyKey;
    let payload = body;
    if (body !== undefined && !(body instanceof Blob)) {
      sent["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method, headers: sent, body: payload });
  };
  let response;
  try {
    response = await send();
    if (response.status === 401 && !anonymous && session.get()) {
      const renewed = await refresh();
      if (renewed === "ok") response = await send();
      else if (renewed === "refused") {
        onExpired();
        throw new ApiError({ status: 401, requestId, detail: "session expired" });
      }
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError({ network: true, requestId });
  }
  const answeredId = response.headers.get("X-Request-ID") || requestId;
  if (!response.ok) {
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = {};
    }
    throw new ApiError({
      status: response.status,
      detail: typeof data.detail === "string" ? data.detail : "",
      errors: Array.isArray(data.errors) ? data.errors : [],
      requestId: answeredId,
    });
  }
  if (raw) return response;
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    throw new ApiError({ status: response.status, requestId: answeredId, detail: "unreadable answer" });
  }
}

/** Every page of a list endpoint that takes limit and offset and answers a list or {items}. */
export async function fetchAll(service, path, query = {}, { pageSize = 500, max = 5000 } = {}) {
  const rows = [];
  for (let offset = 0; offset < max; offset += pageSize) {
    const page = await api(service, path, { query: { ...query, limit: pageSize, offset } });
    const items = Array.isArray(page) ? page : page.items || [];
    rows.push(...items);
    const total = Array.isArray(page) ? null : page.total;
    if (items.length < pageSize || (total !== null && rows.length >= total)) break;
  }
  return rows;
}

/** Fetch a file with the operator's token and hand it to the browser as a download. */
export async function download(service, path, query, fallbackName) {
  const response = await api(service, path, { query, raw: true, headers: { Accept: "*/*" } });
  const blob = await response.blob();
  const name = filenameOf(response.headers.get("Content-Disposition")) || fallbackName;
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, class: "visually-hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { name, size: blob.size };
}

function filenameOf(disposition) {
  if (!disposition) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded) {
    try {
      return decodeURIComponent(encoded[1].trim());
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1].trim() : null;
}

// --- Errors in Russian ----------------------------------------------------------------------

const S = (status) => EVENT_STATUSES[status] || REGISTRATION_STATUSES[status] || status;

// What the services say (English, for logs and API users) → what an operator reads.
// Experts' roles and travel statuses, as the server's reasons name them.
const EXPERT_ROLES = { speaker: "спикер", moderator: "модератор", facilitator: "фасилитатор" };
const EXPERT_TRAVEL = {
  invited: "приглашён", confirmed: "подтвердил участие", declined: "отказался", travel_booked: "билеты куплены", arrived: "прибыл",
};
const DETAILS = [
  [/^a partnership needs at least two parties$/, () => "У партнёрства должно быть не меньше двух сторон."],
  [/^party (\d+): unknown organisation/, (m) => `Сторона ${m[1]}: такой организации нет в базе.`],
  [/^party (\d+): this party is already named$/, (m) => `Сторона ${m[1]} уже указана.`],
  [/^formed_on is in the future/, () => "Дата соглашения ещё не наступила: партнёрство записывают, когда оно сложилось."],
  [/^federal_district is needed/, () => "Укажите федеральный округ: его не дают ни мероприятие, ни регион НКО."],
  // The roster of experts (experts.js).
  [/already on the roster/, () => "Этот человек уже в реестре экспертов."],
  [/^the expert is already assigned as (\w+)/, (m) => `Эксперт уже назначен на это мероприятие в роли «${EXPERT_ROLES[m[1]] || m[1]}».`],
  [/^unknown federal subject code/, () => "Такого региона нет в справочнике."],
  [/^departure_on is before arrival_on$/, () => "Отъезд не может быть раньше приезда."],
  [/^arrival_on is more than (\d+) days before/, (m) => `Приезд — не раньше чем за ${m[1]} дней до мероприятия.`],
  [/^departure_on is more than (\d+) days after/, (m) => `Отъезд — не позже чем через ${m[1]} дней после мероприятия.`],
  [/^arrival_on is after the event ends/, () => "Приезд позже окончания мероприятия."],
  [/^departure_on is before the event starts/, () => "Отъезд раньше начала мероприятия."],
  [/^travel status cannot go from (\w+) to (\w+)/, (m) => `Статус поездки нельзя сменить с «${EXPERT_TRAVEL[m[1]] || m[1]}» на «${EXPERT_TRAVEL[m[2]] || m[2]}». Обновите страницу.`],
  [/^unknown expert$/, () => "Эксперт не найден: возможно, его убрали из реестра."],
  [/^unknown assignment$/, () => "Назначение не найдено: возможно, его уже сняли."],
  [/^a photo is /, () => "Фотография — файл JPEG, PNG или WebP."],
  [/^the photo is over/, () => "Фотография больше 1 МБ."],
  [/^wrong email or password$/, () => "Неверная электронная почта или пароль."],
  [/^unknown event( \S+)?$/, () => "Мероприятие не найдено."],
  [/an event in status (\w+) cannot become (\w+)/, (m) => `Мероприятие в состоянии «${S(m[1])}» нельзя перевести в «${S(m[2])}». Обновите список.`],
  [/a (\w+) event can no longer change/, () => "Завершённое или отменённое мероприятие изменить нельзя."],
  [/a (\w+) registration cannot be approved/, (m) => `Заявку в состоянии «${S(m[1])}» одобрить нельзя. Обновите список.`],
  [/a (\w+) registration cannot be rejected/, (m) => `Заявку в состоянии «${S(m[1])}» отклонить нельзя. Обновите список.`],
  [/a (\w+) registration cannot be cancelled/, (m) => `Регистрацию в состоянии «${S(m[1])}» отменить нельзя.`],
  [/^no registration for this event has this code$/, () => "Регистрации с таким кодом на это мероприятие нет. Проверьте код и выбранное мероприятие."],
  [/^this registration is (\w+), not confirmed$/, (m) => `Регистрация не подтверждена (${S(m[1]).toLowerCase()}): отметить участника нельзя.`],
  [/^not a check-in code$/, () => "Это не код участника: код состоит из латинских букв и цифр, как на билете."],
  [/^unknown programme/, () => "Такой программы нет."],
  [/has no track/, () => "В этой программе нет такого направления."],
  [/^unknown region code/, () => "Такого региона нет в справочнике."],
  [/^unknown federal district/, () => "Такого федерального округа нет в справочнике."],
  [/^the audience is over (\d+)/, (m) => `Аудитория больше ${m[1]} человек: сузьте её.`],
  [/^registration (\S+) is not for this event$/, (m) => `Регистрация ${m[1]} относится к другому мероприятию.`],
  [/^registration (\S+) is not confirmed$/, (m) => `Регистрация ${m[1]} не подтверждена: посещение не записано.`],
  [/changed meanwhile|decided meanwhile/, () => "Пока вы работали, данные изменил кто-то ещё. Обновите страницу — введённое сохранено."],
  [/retry shortly$/, () => "Сервис занят. Повторите через несколько секунд."],
  [/^this URL is already registered/, () => "Эта публикация уже учтена."],
  [/^a reviewer may not approve a material they wrote or edited$/, () => "Нельзя одобрить материал, который вы сами создали или правили: его одобряет другой модератор."],
  [/^cannot (\w+) a material that is (\w+)/, () => "Это действие сейчас недоступно для материала. Обновите страницу."],
  [/^a material in review cannot be changed/, () => "Материал на проверке менять нельзя: сначала его нужно вернуть на доработку."],
  [/^an archived material cannot be changed$/, () => "Материал в архиве менять нельзя."],
  [/^files may be at most (\d+) bytes$/, (m) => `Файл слишком большой: не больше ${Math.floor(Number(m[1]) / 1048576)} МБ.`],
  [/^files of type .* are not accepted/, () => "Такой тип файла не принимается: загрузите PDF, документ, таблицу, презентацию, изображение или видео."],
  [/^the file is empty$/, () => "Файл пустой."],
  [/^this material has no file$/, () => "У материала пока нет файла."],
  [/^participants-only material must name its event_id$/, () => "Для материала «только участникам» выберите мероприятие."],
  [/^unknown material/, () => "Материал не найден."],
  [/^this organisation already has a strategy$/, () => "У этой организации стратегия уже есть."],
  [/^this organisation has no strategy yet$/, () => "У этой организации ещё нет стратегии."],
  [/^unknown organisation/, () => "Организация не найдена."],
  [/^unknown (registration|person)$/, () => "Запись не найдена."],
  [/^this action needs another role$/, () => "Для этого действия у вашей учётной записи нет прав."],
  [/^no campaign/, () => "Кампания не найдена."],
  [/^certificates are issued once the event is completed/, () => "Сертификаты выдаются после завершения мероприятия, когда посещаемость уже подведена."],
  // 503 while a reporting replica reads the event streams after a start.
  [/^the report is not ready yet: (\d+) of (\d+) events read/, (m) =>
    `Статистика готовится: прочитано ${Number(m[1]).toLocaleString("ru-RU")} из ${Number(m[2]).toLocaleString("ru-RU")} событий. Повторите через минуту.`],
];

export function translateDetail(detail) {
  for (const [pattern, say] of DETAILS) {
    const match = pattern.exec(detail || "");
    if (match) return say(match);
  }
  return null;
}

/** One Russian sentence for any failure; 5xx and the unknown carry the request id. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return { text: "Что-то пошло не так. Обновите страницу — введённые данные сохранены.", requestId: "" };
  if (error.network) {
    return { text: "Нет связи с сервером. Введённые данные сохранены — повторите, когда связь появится.", requestId: error.requestId };
  }
  if (error.status >= 500) {
    // A few 503s say what is going on (a report still being prepared); the rest say little.
    const text = translateDetail(error.detail)
      || "Сервис временно недоступен. Введённые данные сохранены — попробуйте ещё раз через минуту.";
    return { text, requestId: error.requestId };
  }
  const known = translateDetail(error.detail);
  if (known) return { text: known, requestId: "" };
  const byStatus = {
    400: "Запрос не принят. Проверьте введённые данные.",
    401: "Сеанс истёк. Войдите снова — введённые данные сохранены.",
    403: "Для этого действия у вашей учётной записи нет прав.",
    404: "Не найдено. Возможно, запись удалена — обновите страницу.",
    409: "Действие сейчас невозможно: данные изменились. Обновите страницу.",
    413: "Слишком большой объём данных.",
    415: "Такой тип файла не принимается.",
    422: "Проверьте отмеченные поля.",
    429: "Слишком много запросов. Подождите несколько секунд и повторите.",
  };
  return { text: byStatus[error.status] || "Запрос не выполнен.", requestId: byStatus[error.status] ? "" : error.requestId };
}

export function notice(text, { problem = false, requestId = "", role } = {}) {
  const node = el("div", { class: problem ? "notice problem" : "notice", role: role || (problem ? "alert" : "status") },
    el("p", { text }));
  if (requestId) node.append(el("p", { class: "request-id" }, "Код запроса для службы поддержки: ", el("code", { text: requestId })));
  return node;
}

export function errorNotice(error) {
  const { text, requestId } = describeError(error);
  return notice(text, { problem: true, requestId });
}

// --- Forms ----------------------------------------------------------------------------------

function controlId(form, name) {
  return `${form.id || "form"}-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** A labelled field: the label, the control, an optional hint and the place for its error. */
export function field(form, name, labelText, control, { hint, wide = false } = {}) {
  const id = controlId(form, name);
  control.id = id;
  if (!control.name) control.name = name;
  const error = el("p", { class: "error", id: `${id}-error`, "data-error-for": name });
  const described = [`${id}-error`];
  const box = el("div", { class: wide ? "field wide" : "field" }, el("label", { for: id, text: labelText }));
  if (hint) {
    box.append(el("p", { class: "hint", id: `${id}-hint`, text: hint }));
    described.unshift(`${id}-hint`);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  box.append(control, error);
  return box;
}

export function checkbox(form, name, labelText, { checked = false, hint } = {}) {
  const id = controlId(form, name);
  const input = el("input", { type: "checkbox", id, name, checked });
  const error = el("p", { class: "error", id: `${id}-error`, "data-error-for": name });
  input.setAttribute("aria-describedby", `${id}-error`);
  return el("div", { class: "field" },
    el("div", { class: "check" }, input, el("label", { for: id, text: labelText })),
    hint ? el("p", { class: "hint", text: hint }) : null, error);
}

/** A group of checkboxes sharing a name (an API list), in a fieldset with a legend. */
export function checkboxGroup(form, name, legend, options, { selected = [], hint, scroll = false } = {}) {
  const error = el("p", { class: "error", id: `${controlId(form, name)}-error`, "data-error-for": name });
  const boxes = options.map(([value, text]) => {
    const id = controlId(form, `${name}-${value}`);
    return el("div", { class: "check" },
      el("input", { type: "checkbox", id, name, value, checked: selected.includes(value), "aria-describedby": error.id }),
      el("label", { for: id, text }));
  });
  return el("fieldset", { class: scroll ? "group scroll" : "group", "aria-describedby": error.id },
    el("legend", { text: legend }), hint ? el("p", { class: "hint", text: hint }) : null,
    el("div", { class: "options" }, ...boxes), error);
}

export function select(options, { value = "", empty } = {}) {
  const node = el("select", {});
  if (empty !== undefined) node.append(el("option", { value: "", text: empty }));
  for (const [optionValue, text] of options) node.append(el("option", { value: optionValue, text }));
  node.value = value ?? "";
  return node;
}

export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    // Files cannot be kept, and a password never goes to storage.
    if (!control.name || control.disabled || ["file", "password"].includes(control.type) || control.tagName === "BUTTON") continue;
    if (control.type === "checkbox") {
      const group = form.querySelectorAll(`input[type=checkbox][name="${CSS.escape(control.name)}"]`);
      if (group.length > 1 || control.value !== "on") {
        values[control.name] = values[control.name] || [];
        if (control.checked) values[control.name].push(control.value);
      } else values[control.name] = control.checked;
    } else if (control.multiple) values[control.name] = Array.from(control.selectedOptions, (o) => o.value);
    else values[control.name] = control.value.trim();
  }
  return values;
}

function restoreValues(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const controls = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    for (const control of controls) {
      if (control.type === "file") continue;
      if (control.type === "checkbox") control.checked = Array.isArray(value) ? value.includes(control.value) : Boolean(value);
      else if (control.multiple) for (const option of control.options) option.selected = value.includes(option.value);
      else control.value = value;
    }
  }
}

/** Keep what is typed in sessionStorage, so a lost connection or an expired session loses nothing. */
export function keepDraft(form, key) {
  const storageKey = DRAFT_PREFIX + key;
  const saved = sessionStorage.getItem(storageKey);
  if (saved) {
    try {
      restoreValues(form, JSON.parse(saved));
    } catch {
      sessionStorage.removeItem(storageKey);
    }
  }
  const save = () => sessionStorage.setItem(storageKey, JSON.stringify(formValues(form)));
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  return {
    restored: Boolean(saved),
    save,
    clear: () => sessionStorage.removeItem(storageKey),
  };
}

export function draftValue(key) {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT_PREFIX + key) || "null");
  } catch {
    return null;
  }
}

export function saveDraftValue(key, value) {
  sessionStorage.setItem(DRAFT_PREFIX + key, JSON.stringify(value));
}

export function clearDraftValue(key) {
  sessionStorage.removeItem(DRAFT_PREFIX + key);
}

export function setFieldError(form, name, message) {
  const error = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  if (!error) return false;
  error.textContent = message || "";
  const controls = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
  for (const control of controls) {
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }
  return true;
}

export function clearErrors(form) {
  for (const error of form.querySelectorAll("[data-error-for]")) error.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

const NUMBER = /(-?\d+(?:\.\d+)?)/;

function russianReason(problem, name) {
  const reason = String(problem.reason || "");
  const type = String(problem.type || "");
  const number = (NUMBER.exec(reason) || [])[1];
  const known = translateDetail(reason.replace(/^Value error, /, ""));
  if (/online link must be an http/.test(reason)) return "Ссылка должна быть веб-адресом вида https://…";
  if (/unknown IANA time zone/.test(reason)) return "Такого часового пояса нет: выберите из списка.";
  if (/ends_at must be after starts_at/.test(reason)) return "Окончание должно быть позже начала.";
  if (/registration_closes_at must be after registration_opens_at/.test(reason)) return "Регистрация должна закрываться позже, чем открывается.";
  if (/choice question needs at least two options/.test(reason)) return "Для вопроса с выбором укажите не меньше двух вариантов, каждый с новой строки.";
  if (/question keys must be unique/.test(reason)) return "Ключи вопросов повторяются: у каждого вопроса свой ключ.";
  if (/video material needs video_url/.test(reason)) return "Для видео укажите ссылку на него.";
  if (/the period ends/.test(reason)) return "Конец периода раньше его начала.";
  if (/left_at must be after joined_at/.test(reason)) return "Время выхода должно быть позже времени входа.";
  if (/unknown sections/.test(reason)) return "В стратегии нет такого раздела.";
  if (known) return known;
  switch (type) {
    case "missing": return "Заполните это поле.";
    case "string_too_short": return `Слишком коротко: нужно не меньше ${number} символов.`;
    case "string_too_long": return `Слишком длинно: не больше ${number} символов.`;
    case "too_short": return "Укажите хотя бы одно значение.";
    case "too_long": return "Слишком много значений.";
    case "greater_than_equal": return `Введите число не меньше ${number}.`;
    case "greater_than": return `Введите число больше ${number}.`;
    case "less_than_equal": return `Введите число не больше ${number}.`;
    case "less_than": return `Введите число меньше ${number}.`;
    case "int_parsing": case "int_type": case "int_from_float": return "Введите целое число.";
    case "float_parsing": case "float_type": return "Введите число.";
    case "bool_parsing": case "bool_type": return "Выберите «да» или «нет».";
    case "datetime_parsing": case "datetime_from_date_parsing": case "datetime_type": return "Укажите дату и время.";
    case "timezone_aware": return "Укажите дату и время с часовым поясом.";
    case "date_parsing": case "date_from_datetime_parsing": case "date_type": return "Укажите дату.";
    case "enum": case "literal_error": return "Выберите значение из списка.";
    case "url_parsing": case "url_scheme": case "url_type": return "Укажите веб-адрес вида https://…";
    case "extra_forbidden": return "Это поле здесь не принимается.";
    case "string_pattern_mismatch":
      if (/region_code/.test(name)) return "Код региона — две цифры, например 41.";
      if (/key$/.test(name)) return "Ключ: строчные латинские буквы, цифры и «_», начиная с буквы (например, experience).";
      return "Значение не в том формате.";
    default: return "Проверьте это поле.";
  }
}

// Model-level errors name no field: the field is in the message.
const FIELDS_IN_REASONS = [
  [/ends_at must be after/, "ends_at"],
  [/registration_closes_at must be after/, "registration_closes_at"],
  [/video material needs video_url/, "video_url"],
  [/the period ends/, "end"],
  [/question keys must be unique/, "questions"],
];

/**
 * Show a refused request next to its fields: a 422's errors by field, or a detail the form
 * maps to a field. Returns whether anything was placed at a field.
 */
export function showFieldErrors(form, error, { detailFields = [] } = {}) {
  let shown = false;
  let first = null;
  const place = (path, message) => {
    const segments = path.split(".").filter((part) => part !== "");
    if (["body", "query", "path"].includes(segments[0])) segments.shift();
    // The most specific field the form has: quotas.media, then quotas.
    for (let length = segments.length; length > 0; length -= 1) {
      const name = segments.slice(0, length).join(".");
      if (setFieldError(form, name, message)) {
        shown = true;
        first = first || form.querySelector(`[name="${CSS.escape(name)}"]`);
        return true;
      }
    }
    return false;
  };
  for (const problem of error.errors || []) {
    let path = String(problem.field || "");
    if (!path || path === "body") {
      const hit = FIELDS_IN_REASONS.find(([pattern]) => pattern.test(problem.reason || ""));
      if (hit) path = hit[1];
    }
    place(path, russianReason(problem, path));
  }
  if (!shown && error.detail) {
    for (const [pattern, name] of detailFields) {
      if (pattern.test(error.detail)) {
        place(name, translateDetail(error.detail) || russianReason({ reason: error.detail, type: "value_error" }, name));
        break;
      }
    }
  }
  if (first) first.focus();
  return shown;
}

/**
 * Submit a form through an action; field errors go next to fields, anything else into the
 * form's status area. Returns the action's result, or undefined when it failed.
 */
export async function submitForm(form, status, action, options = {}) {
  clearErrors(form);
  status.replaceChildren();
  const submit = form.querySelector("button[type=submit]");
  try {
    return await busy(submit || el("button"), action);
  } catch (error) {
    if (!(error instanceof ApiError)) {
      // A local check that failed has already shown its message.
      if (error && error.local) return undefined;
      console.error(error);
    }
    const placed = error instanceof ApiError && [400, 409, 422].includes(error.status) && showFieldErrors(form, error, options);
    if (placed) {
      status.replaceChildren(notice("Исправьте отмеченные поля.", { problem: true }));
    } else status.replaceChildren(errorNotice(error));
    return undefined;
  }
}

/** A failed local check: shown at the fields, then the submit stops quietly. */
export function localProblems(form, problems) {
  const names = Object.keys(problems);
  if (!names.length) return;
  for (const [name, message] of Object.entries(problems)) setFieldError(form, name, message);
  const first = form.querySelector(`[name="${CSS.escape(names[0])}"]`);
  if (first) first.focus();
  const error = new Error("local check");
  error.local = true;
  throw error;
}

// --- Shared loaders (cached for the page's life) --------------------------------------------

const cache = new Map();
/** One request for data many pages use; kept for maxAge, dropped at once if it failed. */
export function cached(key, load, maxAge = Infinity) {
  const entry = cache.get(key);
  if (entry && Date.now() - entry.at < maxAge) return entry.promise;
  const promise = load().catch((error) => { cache.delete(key); throw error; });
  cache.set(key, { promise, at: Date.now() });
  return promise;
}
export function forget(prefix) {
  for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
}

export const reference = {
  districts: () => cached("districts", () => api("registration", "/reference/districts", { anonymous: true })),
  subjects: () => cached("subjects", () => api("registration", "/reference/subjects", { anonymous: true })),
  programmes: () => cached("programmes", () => api("registration", "/programmes", { anonymous: true })),
};

/** Events the account may see: every event for staff, the public list for check-in staff. */
export function events() {
  // Other operators add events too: a list older than a minute is asked for again.
  return cached("events", () => (can("operator", "moderator")
    ? fetchAll("registration", "/operator/events")
    : fetchAll("registration", "/events", {}, { pageSize: 500 })), 60000);
}

export function eventOptions(list, { statuses } = {}) {
  return list
    .filter((event) => !statuses || statuses.includes(event.status))
    .map((event) => [event.id, `${event.title} — ${formatDateTime(event.starts_at, event.timezone)}`]);
}

/** A person's name and email for staff lists; null when the account may not read people. */
export function person(personId) {
  if (!can("operator", "moderator")) return Promise.resolve(null);
  // Kept for a few minutes, and forgotten with the session at sign-out.
  return cached(`person:${personId}`, () => api("registration", `/people/${encodeURIComponent(personId)}`).catch(() => null), 300000);
}

/** Run async work over items, a few at a time (the gateway limits requests per second). */
export async function inBatches(items, size, work) {
  const results = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  }
  return results;
}

export function statusBadge(text, kind) {
  return el("span", { class: `badge badge-${kind}`, text });
}

export function tableWrap(label, table) {
  // Wide tables scroll on a phone; the region is focusable so the keyboard can scroll it.
  return el("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: "0" }, table);
}

export function dataTable(caption, headers, rows) {
  return el("table", {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map((cell, index) => (index === 0
      ? el("th", { scope: "row" }, cell)
      : el("td", {}, cell)))))));
}
