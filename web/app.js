// The EtNik portal: upcoming events, an event page and its registration form, the programme's
// published materials, a participant's own registrations, and the page that the link in every
// message about a registration opens; in Russian or English (i18n.js).
// No build step and no inline scripts (the gateway's Content-Security-Policy forbids them).
"use strict";

const API = "/api/registration";
const CONTENT_API = "/api/content";
const CATEGORIES = ["ngo_leader", "ngo_activist", "expert", "government_official", "media", "other"];
const MATERIAL_KINDS = ["methodological_collection", "recommendation", "presentation", "agenda",
  "session_recording", "video", "ngo_strategy", "other"];
const MATERIALS_PAGE = 8;
const SUMMARY_CHARS = 280;
const TEXT_ANSWER_MAX = 2000;  // the registration service's limit for a text answer
const CHOICES_AS_RADIOS = 6;   // more options than this come as a drop-down list
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
// The organisers write their questions and consent texts in Russian.
const SERVER_TEXT_LANGUAGE = "ru";
const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

class HttpError extends Error {
  constructor(status, detail = null) {
    super(`HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null && child !== ""));
  return node;
}

/** Text written in another language than the page's, marked so screen readers read it right. */
function foreign(text, lang) {
  return lang && lang !== language() ? el("span", { lang, text }) : text;
}

// --- Times -----------------------------------------------------------------------------------

function format(iso, timeZone, options) {
  return new Intl.DateTimeFormat(locale(), { timeZone, ...options }).format(new Date(iso));
}

const DAY = { day: "numeric", month: "long", year: "numeric" };
const CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

/** The date and time in Moscow, and in the visitor's zone (or the one given) when it differs. */
function describeTime(iso, zone = visitorZone) {
  const date = format(iso, "Europe/Moscow", DAY);
  const moscow = format(iso, "Europe/Moscow", CLOCK);
  const local = format(iso, zone, CLOCK);
  if (moscow === local) return t("time.moscow", { date, moscow });
  // Far east of Moscow an evening session is already the next morning.
  const localDay = format(iso, zone, DAY);
  const localDate = localDay === date ? "" : format(iso, zone, { day: "numeric", month: "long" });
  return t("time.both", { date, moscow, local, localDate });
}

/** A time zone the browser knows, or the visitor's own. */
function knownZone(zone) {
  if (typeof zone !== "string" || !zone) return visitorZone;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return visitorZone;
  }
}

// --- Page frame ------------------------------------------------------------------------------

let moveFocus = true;  // false while the same page is redrawn in another language

function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.filter((child) => child !== undefined && child !== null && child !== ""));
  if (!moveFocus) { moveFocus = true; return; }
  // Screen readers start at the new content; the page itself starts at the top.
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// Every route() starts a new view; a page still loading for an older one must not paint over it
// (a slow event list would otherwise replace the materials page the visitor went on to).
let currentView = 0;

function showFor(view, ...children) {
  if (view === currentView) show(...children);
}

function alertNotice(text) {
  return el("p", { class: "notice problem", role: "alert", text });
}

async function getJson(path, headers = {}) {
  const response = await fetch(path, { headers: { Accept: "application/json", ...headers } });
  if (!response.ok) throw new HttpError(response.status, (await response.json().catch(() => ({}))).detail ?? null);
  return response.json();
}

function eventMeta(event) {
  return [
    event.format ? t(`format.${event.format}`) : "",
    event.federal_district ? t(`district.${event.federal_district}`) : "",
  ].filter(Boolean).join(" · ");
}

// --- Events ----------------------------------------------------------------------------------

const TRACK_ORDER = ["in_person_session", "online_sessions", "internships", "field_programmes"];

/** A track's name: translated for the programme's own tracks, as the organisers wrote it otherwise. */
function trackLabel(trackId, tracks) {
  if (hasMessage(`track.${trackId}`)) return { text: t(`track.${trackId}`) };
  const known = tracks.find((track) => track.id === trackId);
  return known ? { text: known.title, lang: "ru" } : { text: t("track.other") };
}

function trackName(trackId, tracks) {
  const label = trackLabel(trackId, tracks);
  return foreign(label.text, label.lang);
}

function filterSelect(name, label, options, chosen) {
  const select = el("select", { id: `filter-${name}`, name },
    el("option", { value: "", text: t("events.all") }),
    ...options.map(([value, text]) => el("option", { value, text, selected: value === chosen })));
  return el("p", { class: "filter" }, el("label", { for: `filter-${name}`, text: label }), select);
}

async function showEvents(hashQuery = new URLSearchParams()) {
  const view = currentView;
  document.title = t("site.name");
  const chosen = { track: hashQuery.get("track") || "", district: hashQuery.get("district") || "" };
  try {
    const query = new URLSearchParams({ limit: "200" });
    if (chosen.track) query.set("track", chosen.track);
    if (chosen.district) query.set("federal_district", chosen.district);
    const [events, programmes, districts] = await Promise.all([
      getJson(`${API}/events?${query}`),
      getJson(`${API}/programmes`).catch(() => []),
      getJson(`${API}/reference/districts`).catch(() => []),
    ]);
    const tracks = programmes.flatMap((programme) => programme.tracks || []);
    const now = Date.now();
    // Upcoming: whatever has not ended yet, soonest first (the service sorts by start).
    const upcoming = events.filter((event) => new Date(event.ends_at).getTime() >= now);
    const filters = el("form", { class: "filters", role: "search", "aria-label": t("events.filters") },
      filterSelect("track", t("events.filterTrack"),
        tracks.map((track) => [track.id, trackLabel(track.id, tracks).text]),
        chosen.track),
      filterSelect("district", t("events.filterDistrict"),
        districts.map((district) => [district.key, t(`district.${district.key}`)]), chosen.district));
    filters.addEventListener("change", () => {
      const next = new URLSearchParams();
      if (filters.elements.track.value) next.set("track", filters.elements.track.value);
      if (filters.elements.district.value) next.set("district", filters.elements.district.value);
      location.hash = next.toString() ? `#/?${next}` : "#/";
    });
    filters.addEventListener("submit", (submitEvent) => submitEvent.preventDefault());
    const byTrack = new Map();
    for (const event of upcoming) {
      const key = event.track || "";
      if (!byTrack.has(key)) byTrack.set(key, []);
      byTrack.get(key).push(event);
    }
    const order = [...byTrack.keys()].sort((a, b) =>
      (TRACK_ORDER.indexOf(a) + 1 || 99) - (TRACK_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
    const groups = order.map((trackId) => el("section", { class: "track" },
      el("h2", {}, trackName(trackId, tracks)),
      el("ul", { class: "events" }, ...byTrack.get(trackId).map((event) =>
        el("li", {},
          el("h3", {}, el("a", { href: `#/event/${event.id}`, text: event.title })),
          el("p", { class: "when", text: describeTime(event.starts_at) }),
          el("p", { class: "meta", text: eventMeta(event) }),
        )))));
    showFor(view, el("h1", { text: t("events.heading") }), filters,
      el("p", { role: "status", class: "count", text: t("events.count", { count: upcoming.length }) }),
      ...(groups.length ? groups : [el("p", { text: t("events.none") })]));
  } catch {
    showFor(view, alertNotice(t("events.failed")));
  }
}

function calendarFile(event) {
  const stamp = (iso) => new Date(iso).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const text = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//EtNik Platform//Portal//RU", "BEGIN:VEVENT",
    `UID:${event.id}@etnik`, `DTSTAMP:${stamp(new Date().toISOString())}`, `DTSTART:${stamp(event.starts_at)}`,
    `DTEND:${stamp(event.ends_at)}`, `SUMMARY:${event.title.replace(/[,;]/g, "\\$&")}`, "END:VEVENT", "END:VCALENDAR"].join("\r\n");
  return URL.createObjectURL(new Blob([text], { type: "text/calendar" }));
}

async function showEvent(id, invitationToken, notice) {
  const view = currentView;
  // An event open by invitation only is shown to the holder of the invitation link alone.
  const invited = invitationToken ? `?invitation=${encodeURIComponent(invitationToken)}` : "";
  let event;
  try {
    event = await getJson(`${API}/events/${encodeURIComponent(id)}${invited}`);
  } catch (error) {
    const invitationRefused = invitationToken && error instanceof HttpError && typeof error.detail === "string"
      && error.detail.startsWith("this invitation");
    showFor(view, alertNotice(invitationRefused ? reasonText(error.detail)
      : error instanceof HttpError && error.status === 404 ? t("event.notFound") : t("events.failed")),
      el("p", {}, el("a", { href: "#/", text: t("event.back") })));
    return;
  }
  document.title = t("site.page", { title: event.title });
  const open = event.status === "registration_open";
  const card = el("section", { class: "card", "aria-labelledby": "form-title" },
    el("h2", { id: "form-title", text: t("event.registration") }),
    invitationToken ? el("p", { class: "notice", text: t("event.invited") }) : "");
  if (open || invitationToken) {
    try {
      const [formSpec, personal, publication] = await Promise.all([
        getJson(`${API}/events/${encodeURIComponent(id)}/form${invited}`),
        getJson(`${API}/consent-texts/personal_data`),
        // Without its text the publication consent is not offered (the form works without it).
        getJson(`${API}/consent-texts/publication`).catch(() => null),
      ]);
      card.append(registrationForm(event, invitationToken, formSpec, { personal, publication }, notice));
    } catch {
      const retry = el("button", { type: "button", class: "secondary", text: t("event.retry") });
      retry.addEventListener("click", () => route());
      card.append(alertNotice(t("event.formFailed")), retry);
    }
  } else {
    card.append(el("p", { text: t("event.closed") }));
  }
  showFor(view,
    el("p", {}, el("a", { href: "#/", text: t("event.back") })),
    el("h1", { text: event.title }),
    el("p", { class: "when", text: describeTime(event.starts_at) }),
    el("p", { class: "meta", text: eventMeta(event) }),
    el("p", {}, el("a", { href: calendarFile(event), download: "event.ics", text: t("event.calendar") })),
    eventExperts(id),
    eventSchedule(event, invited),
    card,
  );
}

// Tracks of the default programme whose events are internships or field programmes.
const PRACTICE_TRACKS = ["internships", "field_programmes"];

/** An internship's host, places and day-by-day schedule; nothing for other events. */
function eventSchedule(event, invited) {
  const section = el("section", { class: "schedule", "aria-labelledby": "schedule-title", hidden: true });
  if (!PRACTICE_TRACKS.includes(event.track)) return section;
  getJson(`${API}/events/${encodeURIComponent(event.id)}/internship${invited}`).then((details) => {
    const day = (iso) => new Intl.DateTimeFormat(locale(),
      { day: "numeric", month: "long", weekday: "long", timeZone: "UTC" }).format(new Date(iso));
    section.append(
      el("h2", { id: "schedule-title", text: t("event.schedule") }),
      el("p", {}, t("event.host", { name: "" }), foreign(details.host_name, SERVER_TEXT_LANGUAGE)),
      el("p", { class: "meta", text: `${t("event.places", { places: details.places })}. ${details.selection ? t("event.selection") : ""}` }),
      el("p", { class: "meta", text: t("event.scheduleZone", { zone: details.timezone }) }),
      ...details.schedule.map((scheduleDay) => el("div", { class: "schedule-day" },
        el("h3", { text: day(scheduleDay.date) }),
        el("table", {},
          el("thead", {}, el("tr", {}, ...["event.scheduleTime", "event.scheduleItem", "event.schedulePlace"]
            .map((key) => el("th", { scope: "col", text: t(key) })))),
          el("tbody", {}, ...scheduleDay.items.map((item) => el("tr", {},
            el("td", { text: `${item.starts}–${item.ends}` }),
            el("td", {}, foreign(item.title, SERVER_TEXT_LANGUAGE)),
            el("td", {}, item.place ? foreign(item.place, SERVER_TEXT_LANGUAGE) : "—"))))))));
    section.hidden = false;
  }).catch(() => {});  // the event page stands without its schedule
  return section;
}

/** The event's experts who consent to publication; nothing at all when there are none. */
function eventExperts(eventId) {
  const section = el("section", { class: "experts", "aria-labelledby": "experts-title", hidden: true });
  getJson(`${API}/events/${encodeURIComponent(eventId)}/experts`).then((experts) => {
    if (!experts.length) return;
    section.append(
      el("h2", { id: "experts-title", text: t("event.experts") }),
      el("ul", { class: "materials" }, ...experts.map((expert) => el("li", { class: "expert" },
        expert.photo_url ? el("img", { src: expert.photo_url, alt: t("expert.photo", { name: expert.full_name }), width: "96", height: "96", loading: "lazy" }) : "",
        el("h3", {}, foreign(expert.full_name, SERVER_TEXT_LANGUAGE)),
        el("p", { class: "meta" }, expert.roles.map((role) => t(`expert.role.${role}`)).join(", "), " · ",
          foreign(expert.field_of_expertise, SERVER_TEXT_LANGUAGE)),
        expert.bio ? el("p", {}, foreign(expert.bio, SERVER_TEXT_LANGUAGE)) : ""))));
    section.hidden = false;
  }).catch(() => {});  // the event page stands without its experts
  return section;
}

// --- The registration form -------------------------------------------------------------------

function requiredMark() {
  return [el("span", { class: "required", "aria-hidden": "true", text: " *" }),
    el("span", { class: "visually-hidden", text: ` ${t("form.required")}` })];
}

function errorSlot(id) {
  return el("p", { class: "error", id: `${id}-error`, "aria-live": "polite" });
}

function describedBy(...ids) {
  return ids.filter(Boolean).join(" ");
}

/** A labelled control with its hint and the place for its error. */
function field(id, labelText, control, { hint, required, lang } = {}) {
  control.setAttribute("aria-describedby", describedBy(hint && `${id}-hint`, `${id}-error`));
  if (required) control.setAttribute("required", "");
  const box = el("div", { class: "field" },
    el("label", { for: id }, foreign(labelText, lang), ...(required ? requiredMark() : [])), control);
  if (hint) box.append(el("p", { class: "meta", id: `${id}-hint`, text: hint }));
  box.append(errorSlot(id));
  return box;
}

/** Radio buttons or checkboxes under one legend, with its hint and the place for its error. */
function group(id, legendText, type, options, { hint, required, lang } = {}) {
  const inputs = options.map(([value, text], index) => {
    const input = el("input", { type, id: `${id}-${index}`, name: id, value });
    if (required && type === "radio") input.setAttribute("required", "");
    return el("div", { class: "check" }, input, el("label", { for: `${id}-${index}` }, foreign(text, lang)));
  });
  return el("fieldset", { class: "group", id, "aria-describedby": describedBy(hint && `${id}-hint`, `${id}-error`) },
    el("legend", {}, foreign(legendText, lang), ...(required ? requiredMark() : [])),
    hint ? el("p", { class: "meta", id: `${id}-hint`, text: hint }) : "",
    ...inputs,
    errorSlot(id));
}

function checkbox(id, labelText, describedByText, { required } = {}) {
  const input = el("input", { type: "checkbox", id, name: id, required,
    "aria-describedby": describedBy(describedByText, `${id}-error`) });
  return el("div", {}, el("div", { class: "check" }, input,
    el("label", { for: id }, labelText, ...(required ? requiredMark() : []))), errorSlot(id));
}

const questionId = (question) => `q-${question.key}`;

function questionField(question) {
  const id = questionId(question);
  const options = { required: Boolean(question.required), lang: SERVER_TEXT_LANGUAGE };
  const choices = (question.options || []).map((option) => [option, option]);
  switch (question.kind) {
    case "text":
      return field(id, question.label,
        el("textarea", { id, name: id, rows: "3", maxlength: String(question.max_length || TEXT_ANSWER_MAX) }), options);
    case "boolean":
      return group(id, question.label, "radio", [["true", t("form.yes")], ["false", t("form.no")]],
        { required: options.required, lang: options.lang });
    case "choice":
      if (choices.length > CHOICES_AS_RADIOS) {
        return field(id, question.label, el("select", { id, name: id },
          el("option", { value: "", text: t("form.choose") }),
          ...choices.map(([value]) => el("option", { value, lang: SERVER_TEXT_LANGUAGE, text: value }))), options);
      }
      return group(id, question.label, "radio", choices, options);
    case "multi_choice":
      return group(id, question.label, "checkbox", choices, { ...options, hint: t("form.chooseAny") });
    default:
      return null;  // a kind this portal does not know yet
  }
}

function controlsOf(form, id) {
  const named = form.querySelectorAll(`[name="${id}"]`);
  if (named.length) return [...named];
  const single = document.getElementById(id);
  return single ? [single] : [];
}

function answerOf(form, question) {
  const id = questionId(question);
  const controls = controlsOf(form, id);
  if (!controls.length) return null;
  if (question.kind === "multi_choice") return controls.filter((c) => c.checked).map((c) => c.value);
  if (controls[0].type === "radio") {
    const chosen = controls.find((c) => c.checked);
    if (!chosen) return null;
    return question.kind === "boolean" ? chosen.value === "true" : chosen.value;
  }
  const value = question.kind === "text" ? controls[0].value.trim() : controls[0].value;
  return value === "" ? null : value;
}

function restoreAnswer(form, question, value) {
  const controls = controlsOf(form, questionId(question));
  if (!controls.length || value === null || value === undefined) return;
  if (controls[0].type === "radio" || controls[0].type === "checkbox") {
    const chosen = Array.isArray(value) ? value.map(String) : [String(value)];
    for (const control of controls) control.checked = chosen.includes(control.value);
  } else {
    controls[0].value = String(value);
  }
}

const isAnswered = (value) => !(value === null || value === "" || (Array.isArray(value) && !value.length));

function registrationForm(event, invitationToken, formSpec, consents, notice) {
  const draftKey = `etnik-registration-draft-${event.id}`;
  const questions = (formSpec.questions || []).filter((question) => questionField(question) !== null);
  const { personal, publication } = consents;
  const category = el("select", { id: "category", name: "category" },
    el("option", { value: "", text: t("form.choose") }),
    ...CATEGORIES.map((value) => el("option", { value, text: t(`category.${value}`) })));
  const questionsBlock = questions.length
    ? el("fieldset", { class: "questions" },
      el("legend", { text: t("form.questions") }),
      t("form.questionsLanguage") ? el("p", { class: "meta", text: t("form.questionsLanguage") }) : "",
      ...questions.map(questionField))
    : "";
  const consentText = (id, heading, text) => el("div", { class: "consent", id, role: "group", "aria-labelledby": `${id}-heading` },
    el("h3", { id: `${id}-heading`, text: heading }),
    el("p", { class: "meta", text: t("form.consentVersion", { version: text.version }) }),
    t("form.consentLanguage") ? el("p", { class: "meta", text: t("form.consentLanguage") }) : "",
    el("p", { class: "consent-text", id: `${id}-body`, lang: SERVER_TEXT_LANGUAGE, text: text.text }));
  const form = el("form", { novalidate: true, "data-form-version": String(formSpec.version) },
    notice ? alertNotice(notice) : "",
    el("p", { class: "meta", text: t("form.requiredNote") }),
    field("full_name", t("form.fullName"), el("input", { type: "text", id: "full_name", name: "full_name", autocomplete: "name" }),
      { required: true }),
    field("email", t("form.email"), el("input", { type: "email", id: "email", name: "email", autocomplete: "email" }),
      { required: true, hint: t("form.emailHint") }),
    field("category", t("form.category"), category, { required: true }),
    questionsBlock,
    consentText("consent-personal", t("form.consentHeading"), personal),
    checkbox("consent_personal_data", t("form.consentPersonal"), "consent-personal-body", { required: true }),
    publication ? consentText("consent-publication", t("form.publicationHeading"), publication) : "",
    publication ? checkbox("consent_publication", t("form.consentPublication"), "consent-publication-body") : "",
    el("button", { type: "submit", text: t("form.submit") }),
    el("div", { id: "form-status", role: "status", "aria-live": "polite" }),
  );
  const context = { event, draftKey, questions, personal, publication, invitationToken };

  // What was typed survives a lost connection or a reload; a consent counts only for the text
  // it was given to, so a tick is not restored once that text has changed.
  const saved = readDraft(draftKey);
  for (const name of ["full_name", "email", "category"]) {
    if (typeof saved[name] === "string") form.elements[name].value = saved[name];
  }
  form.elements.consent_personal_data.checked =
    Boolean(saved.consent_personal_data) && saved.consent_version === personal.version;
  if (publication) {
    form.elements.consent_publication.checked =
      Boolean(saved.consent_publication) && saved.publication_version === publication.version;
  }
  for (const question of questions) restoreAnswer(form, question, (saved.answers || {})[question.key]);

  const keep = () => saveDraft(draftKey, draftOf(form, context));
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  form.addEventListener("submit", (submit) => { submit.preventDefault(); send(form, context); });
  return form;
}

function readDraft(key) {
  try {
    const value = JSON.parse(localStorage.getItem(key) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function saveDraft(key, draft) {
  try { localStorage.setItem(key, JSON.stringify(draft)); } catch { /* storage full or refused */ }
}

function draftOf(form, context) {
  const answers = {};
  for (const question of context.questions) answers[question.key] = answerOf(form, question);
  return {
    full_name: form.elements.full_name.value,
    email: form.elements.email.value,
    category: form.elements.category.value,
    consent_personal_data: form.elements.consent_personal_data.checked,
    consent_version: context.personal.version,
    consent_publication: Boolean(form.elements.consent_publication && form.elements.consent_publication.checked),
    publication_version: context.publication ? context.publication.version : null,
    answers,
  };
}

function requestBody(form, context) {
  const answers = {};
  for (const question of context.questions) {
    const value = answerOf(form, question);
    if (isAnswered(value)) answers[question.key] = value;
  }
  const body = {
    full_name: form.elements.full_name.value.trim(),
    email: form.elements.email.value.trim(),
    category: form.elements.category.value,
    consent_personal_data: form.elements.consent_personal_data.checked,
    consent_version: context.personal.version,
    consent_publication: Boolean(form.elements.consent_publication && form.elements.consent_publication.checked),
    form_version: Number(form.dataset.formVersion),
    answers,
    locale: language(),
  };
  if (visitorZone && visitorZone.includes("/")) body.timezone = visitorZone;
  if (context.invitationToken) body.invitation_token = context.invitationToken;
  return body;
}

function setError(form, id, message) {
  const slot = document.getElementById(`${id}-error`);
  if (!slot) return false;
  slot.textContent = message || "";
  for (const control of controlsOf(form, id)) {
    if (message) control.setAttribute("aria-invalid", "true"); else control.removeAttribute("aria-invalid");
  }
  return true;
}

function checkLocally(body, context) {
  const problems = {};
  if (body.full_name.length < 3) problems.full_name = t("field.full_name");
  if (!EMAIL.test(body.email)) problems.email = t("field.email");
  if (!body.category) problems.category = t("field.category");
  for (const question of context.questions) {
    const value = body.answers[question.key];
    if (question.required && !isAnswered(value ?? null)) problems[questionId(question)] = t("answer.required");
    else if (typeof value === "string" && value.length > TEXT_ANSWER_MAX) {
      problems[questionId(question)] = t("answer.tooLong", { max: TEXT_ANSWER_MAX });
    }
  }
  if (!body.consent_personal_data) problems.consent_personal_data = t("field.consent_personal_data");
  return problems;
}

function showProblems(form, problems) {
  const ids = Object.keys(problems);
  for (const id of ids) setError(form, id, problems[id]);
  const status = document.getElementById("form-status");
  status.replaceChildren(el("p", { class: "error", text: t("form.problems", { count: ids.length }) }));
  const first = controlsOf(form, ids[0])[0];
  if (first) first.focus();
}

function clearProblems(form, context) {
  for (const id of ["full_name", "email", "category", "consent_personal_data", "consent_publication",
    ...context.questions.map(questionId)]) setError(form, id, "");
  document.getElementById("form-status").replaceChildren();
}

/** The registration service's reasons are English for developers: the portal says its own. */
function reasonText(detail) {
  const key = `reason.${detail}`;
  if (typeof detail === "string" && hasMessage(key)) return t(key);
  if (typeof detail === "string" && detail.startsWith("this invitation")) return t("reason.invitation");
  return t("reason.other");
}

/** «answers: key: problem; key: problem» from the service, as the problems of those fields. */
function answerProblems(detail, context) {
  const problems = {};
  const byKey = new Map(context.questions.map((question) => [question.key, question]));
  for (const part of detail.replace(/^answers:\s*/, "").split(";")) {
    const match = part.trim().match(/^([a-z][a-z0-9_]*):\s*(.*)$/);
    if (!match) continue;
    const question = byKey.get(match[1]);
    if (!question) return null;  // the form changed under the visitor
    const problem = match[2];
    problems[questionId(question)] = problem === "an answer is required" ? t("answer.required")
      : /options/.test(problem) ? t("answer.option")
        : problem === "too long" ? t("answer.tooLong", { max: TEXT_ANSWER_MAX })
          : t("answer.invalid");
  }
  return problems;
}

function forgetAttempt(context) {
  sessionStorage.removeItem(`${context.draftKey}-key`);
}

async function send(form, context) {
  const status = document.getElementById("form-status");
  const button = form.querySelector("button[type=submit]");
  const body = requestBody(form, context);
  saveDraft(context.draftKey, draftOf(form, context));
  clearProblems(form, context);
  const problems = checkLocally(body, context);
  if (Object.keys(problems).length) { showProblems(form, problems); return; }
  // One key per attempt of this form: a retry after a lost answer cannot register twice.
  const key = sessionStorage.getItem(`${context.draftKey}-key`) || crypto.randomUUID();
  sessionStorage.setItem(`${context.draftKey}-key`, key);
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(`${API}/events/${context.event.id}/registrations`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      localStorage.removeItem(context.draftKey);
      sessionStorage.removeItem(`etnik-invitation-${context.event.id}`);
      forgetAttempt(context);
      const text = answer.status === "waitlisted" ? t("result.waitlisted")
        : answer.status === "pending_approval" ? t("result.pending")
          : answer.status === "confirmed" || !answer.status ? t("result.confirmed")
            : t("mine.status", { status: t(`status.${answer.status}`) });
      form.replaceWith(el("p", { class: "notice", role: "alert", text }));
      return;
    }
    forgetAttempt(context);
    const detail = typeof answer.detail === "string" ? answer.detail : "";
    if (response.status === 409 && detail.startsWith("the form changed")) {
      showEvent(context.event.id, context.invitationToken, t("problem.formChanged"));
      return;
    }
    if (response.status === 409 && detail.startsWith("the consent text changed")) {
      showEvent(context.event.id, context.invitationToken, t("problem.consentChanged"));
      return;
    }
    let found = {};
    if (response.status === 422 && detail.startsWith("answers:")) {
      const problemsOfAnswers = answerProblems(detail, context);
      if (problemsOfAnswers === null) {
        showEvent(context.event.id, context.invitationToken, t("problem.formChanged"));
        return;
      }
      found = problemsOfAnswers;
    } else if (response.status === 422 && detail.startsWith("consent to personal-data")) {
      found = { consent_personal_data: t("field.consent_personal_data") };
    }
    for (const error of Array.isArray(answer.errors) ? answer.errors : []) {
      const name = String(error.field || "").split(".")[0];
      if (document.getElementById(`${name}-error`)) {
        found[name] = hasMessage(`field.${name}`) ? t(`field.${name}`) : t("field.invalid");
      }
    }
    if (Object.keys(found).length) { showProblems(form, found); return; }
    status.replaceChildren(alertNotice(response.status >= 500 ? t("problem.server")
      : t("problem.refused", { reason: reasonText(detail) })));
  } catch {
    status.replaceChildren(alertNotice(t("problem.offline")));
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

// --- Materials -------------------------------------------------------------------------------

let focusResults = false;  // a search was just asked for: its results get the focus

function fileSize(bytes) {
  const [unit, value] = bytes >= 1024 * 1024 ? ["megabyte", bytes / (1024 * 1024)]
    : bytes >= 1024 ? ["kilobyte", bytes / 1024] : ["byte", bytes];
  return new Intl.NumberFormat(locale(), { style: "unit", unit, maximumFractionDigits: 1 }).format(value);
}

function fileType(file) {
  const extension = (file.filename.match(/\.([A-Za-z0-9]{1,5})$/) || [])[1];
  return extension ? extension.toUpperCase() : "";
}

function summary(text) {
  const clean = text.replace(/\s+/g, " ").trim();
  if (clean.length <= SUMMARY_CHARS) return clean;
  const cut = clean.slice(0, SUMMARY_CHARS);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), SUMMARY_CHARS / 2)).replace(/[\s.,;:!?…-]+$/, "")}…`;
}

function materialItem(material) {
  const lang = material.language || undefined;
  const details = [
    t(`kind.${material.kind}`),
    material.published_at ? t("materials.published", { date: format(material.published_at, visitorZone, DAY) }) : "",
  ].filter(Boolean).join(" · ");
  const authors = (material.authors || []).map((author) => author.name).filter(Boolean);
  const item = el("li", {},
    el("h2", { tabindex: "-1", lang, text: material.title }),
    el("p", { class: "meta", text: details }),
    material.description ? el("p", { class: "summary", lang, text: summary(material.description) }) : "",
    authors.length ? el("p", { class: "meta" }, t("materials.authors", {
      names: new Intl.ListFormat(locale(), { type: "conjunction" }).format(authors),
    })) : "");
  const actions = el("p", { class: "actions" });
  if (material.file) {
    const size = [fileType(material.file), fileSize(material.file.size)].filter(Boolean).join(", ");
    actions.append(el("a", {
      class: "download",
      href: `${CONTENT_API}/materials/${encodeURIComponent(material.id)}/file`,
      download: material.file.filename,
      text: t("materials.download", { name: material.file.filename, size }),
    }));
  }
  if (material.file && material.file.content_type.startsWith("video/")) item.append(videoPlayer(material));
  if (material.video_url && /^https?:\/\//.test(material.video_url)) {
    actions.append(el("a", { href: material.video_url, rel: "noopener noreferrer", target: "_blank",
      text: t("materials.watch") }));
  }
  if (actions.childNodes.length) item.append(actions);
  return item;
}

// A material's own video: subtitle tracks per language, a chapter list that seeks, and one
// view reported per playback (the content service counts it once per viewer and window).
const VIEWER_KEY = "etnik-viewer";

function viewerKey() {
  // A random key, not derived from anything about the visitor: it only tells repeats apart.
  let key = localStorage.getItem(VIEWER_KEY);
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(key || "")) {
    key = crypto.randomUUID().replaceAll("-", "");
    try { localStorage.setItem(VIEWER_KEY, key); } catch { /* refused: a key for this page only */ }
  }
  return key;
}

function clockText(seconds) {
  const whole = Math.floor(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor(whole / 60) % 60, whole % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function videoPlayer(material) {
  const base = `${CONTENT_API}/materials/${encodeURIComponent(material.id)}`;
  const video = el("video", { controls: true, preload: "metadata", src: `${base}/file`,
    "aria-label": t("video.label", { title: material.title }) });
  for (const track of material.subtitles || []) {
    video.append(el("track", { kind: "subtitles", srclang: track.language, label: track.label,
      src: `${base}/subtitles/${encodeURIComponent(track.language)}.vtt` }));
  }
  const chapters = material.chapters || [];
  if (chapters.length) {
    video.append(el("track", { kind: "chapters", srclang: material.language || "ru",
      label: t("video.chapters"), src: `${base}/chapters.vtt` }));
  }
  let reported = false;
  video.addEventListener("play", () => {
    if (reported) return;
    reported = true;
    fetch(`${base}/views`, { method: "POST", body: JSON.stringify({ viewer: viewerKey() }),
      headers: { "Content-Type": "application/json", ...(authorised() || {}) } }).catch(() => {});
  });
  video.addEventListener("ended", () => { reported = false; });  // watching again is a new playback
  const figure = el("figure", { class: "video" }, video);
  if (chapters.length) {
    const list = el("ol", { class: "chapters" }, ...chapters.map((chapter) => {
      const seek = el("button", { type: "button", class: "secondary", lang: material.language || undefined,
        text: `${clockText(chapter.start_s)} ${chapter.title}` });
      seek.addEventListener("click", () => {
        video.currentTime = chapter.start_s;
        video.play().catch(() => { /* the browser may refuse to play without a gesture */ });
      });
      return el("li", {}, seek);
    }));
    figure.append(el("figcaption", {}, el("h3", { text: t("video.chapters") }), list));
  }
  return figure;
}

function materialsQuery(params, offset) {
  const query = new URLSearchParams({ limit: String(MATERIALS_PAGE), offset: String(offset) });
  if (params.q) query.set("q", params.q);
  if (params.kind) query.set("kind", params.kind);
  return `${CONTENT_API}/materials?${query}`;
}

async function showMaterials(hashQuery) {
  const view = currentView;
  document.title = t("site.page", { title: t("nav.materials") });
  const params = { q: (hashQuery.get("q") || "").slice(0, 200), kind: hashQuery.get("kind") || "" };
  if (!MATERIAL_KINDS.includes(params.kind)) params.kind = "";
  const input = el("input", { type: "search", id: "materials-q", name: "q", maxlength: "200",
    autocomplete: "off", "aria-describedby": "materials-q-hint" });
  input.value = params.q;
  const kind = el("select", { id: "materials-kind", name: "kind" },
    el("option", { value: "", text: t("materials.allKinds") }),
    ...MATERIAL_KINDS.map((value) => el("option", { value, text: t(`kind.${value}`) })));
  kind.value = params.kind;
  const search = el("form", { class: "search", role: "search" },
    el("div", { class: "field" }, el("label", { for: "materials-q", text: t("materials.searchLabel") }), input,
      el("p", { class: "meta", id: "materials-q-hint", text: t("materials.searchHint") })),
    el("div", { class: "field" }, el("label", { for: "materials-kind", text: t("materials.kind") }), kind),
    el("button", { type: "submit", text: t("materials.search") }));
  search.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const next = new URLSearchParams();
    if (input.value.trim()) next.set("q", input.value.trim());
    if (kind.value) next.set("kind", kind.value);
    const hash = next.toString() ? `#/materials?${next}` : "#/materials";
    focusResults = true;
    if (location.hash === hash) route(); else location.hash = hash;
  });

  const count = el("p", { id: "materials-count", class: "count", tabindex: "-1", role: "status", text: t("loading") });
  const list = el("ul", { class: "materials" });
  const more = el("button", { type: "button", class: "secondary", hidden: true, text: t("materials.more") });
  const problem = el("div", {});
  let shown = 0;

  async function load() {
    more.disabled = true;
    problem.replaceChildren();
    try {
      const page = await getJson(materialsQuery(params, shown));
      const items = page.items.map(materialItem);
      list.append(...items);
      shown += items.length;
      count.textContent = page.total === 0
        ? (params.q || params.kind ? t("materials.none") : t("materials.empty"))
        : `${t("materials.found", { count: page.total })}. ${shown < page.total ? t("materials.shown", { shown, total: page.total }) : ""}`.trim();
      more.hidden = shown >= page.total || items.length === 0;
      return items;
    } catch {
      if (!shown) count.textContent = "";
      problem.replaceChildren(alertNotice(t("materials.failed")));
      return [];
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", async () => {
    const added = await load();
    if (added.length) added[0].querySelector("h2").focus();
  });

  showFor(view, el("h1", { text: t("materials.heading") }),
    el("p", { text: t("materials.intro") }),
    search,
    el("section", { class: "results", "aria-labelledby": "materials-count" }, count, problem, list, more));
  const searched = focusResults;
  focusResults = false;
  await load();
  if (searched) {
    // After a search, reading goes on from its outcome: the count, or what went wrong.
    const outcome = count.textContent ? count : problem.querySelector("[role=alert]");
    if (outcome) { outcome.setAttribute("tabindex", "-1"); outcome.focus(); }
  }
}

// --- Participants: sign-in and their registrations -------------------------------------------

const ACCESS_TOKEN = "etnik-access-token";

function authorised() {
  const token = sessionStorage.getItem(ACCESS_TOKEN);
  return token ? { Authorization: `Bearer ${token}` } : null;
}

function showSignIn(note) {
  document.title = t("site.page", { title: t("signIn.title") });
  const email = el("input", { type: "email", id: "sign-in-email", name: "sign-in-email", autocomplete: "email" });
  const status = el("div", { role: "status", "aria-live": "polite" });
  const form = el("form", { novalidate: true },
    field("sign-in-email", t("signIn.email"), email, { required: true }),
    el("button", { type: "submit", text: t("signIn.submit") }), status);
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const address = email.value.trim();
    if (!EMAIL.test(address)) {
      setError(form, "sign-in-email", t("field.email"));
      email.focus();
      return;
    }
    setError(form, "sign-in-email", "");
    try {
      const response = await fetch(`${API}/auth/sign-in-link`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: address }),
      });
      status.replaceChildren(el("p", { class: response.ok ? "notice" : "notice problem", role: "alert",
        text: response.ok ? t("signIn.sent") : t("signIn.failed") }));
    } catch {
      status.replaceChildren(alertNotice(t("signIn.offline")));
    }
  });
  show(el("h1", { text: t("signIn.heading") }), note ? alertNotice(note) : "", form);
}

async function signInWithLink(token) {
  history.replaceState(null, "", "/#/me");  // the one-time token leaves the address bar at once
  try {
    const response = await fetch(`${API}/auth/sign-in`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
    });
    if (!response.ok) {
      showSignIn(t("signIn.expired"));
      return;
    }
    sessionStorage.setItem(ACCESS_TOKEN, (await response.json()).access_token);
    showMine();
  } catch {
    showSignIn(t("signIn.linkOffline"));
  }
}

async function showMine() {
  const view = currentView;
  document.title = t("site.page", { title: t("mine.heading") });
  const headers = authorised();
  if (!headers) { showSignIn(); return; }
  let response;
  try {
    response = await fetch(`${API}/me/registrations`, { headers });
  } catch {
    response = null;
  }
  if (response && response.status === 401) {
    sessionStorage.removeItem(ACCESS_TOKEN);
    showSignIn(t("mine.sessionExpired"));
    return;
  }
  if (!response || !response.ok) {
    showFor(view, alertNotice(t("mine.failed")));
    return;
  }
  const registrations = await response.json();
  // Certificates are optional here: without them the list still shows.
  const certificates = await getJson(`${API}/me/certificates`, headers).catch(() => []);
  const certified = new Map(certificates.map((certificate) => [certificate.registration_id, certificate]));
  const items = await Promise.all(registrations.map(async (registration) => {
    const event = await getJson(`${API}/events/${registration.event_id}`).catch(() => null);
    const item = el("li", {},
      el("h2", { text: event ? event.title : t("mine.event") }),
      event ? el("p", { class: "when", text: describeTime(event.starts_at) }) : "",
      el("p", { class: "meta", text: t("mine.status", { status: t(`status.${registration.status}`) }) }));
    if (certified.has(registration.id)) item.append(certificateDownload(registration.id, headers));
    if (!["cancelled", "rejected"].includes(registration.status)) {
      const cancel = el("button", { type: "button", class: "secondary", text: t("mine.cancel") });
      cancel.addEventListener("click", async () => {
        if (!confirm(t("mine.confirmCancel"))) return;
        cancel.disabled = true;
        const answer = await fetch(`${API}/registrations/${registration.id}/cancel`, {
          method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: "{}",
        }).catch(() => null);
        if (answer && answer.ok) showMine();
        else { cancel.disabled = false; item.append(el("p", { class: "error", role: "alert", text: t("mine.cancelFailed") })); }
      });
      item.append(cancel);
    }
    return item;
  }));
  const consents = await myConsents(headers);
  const signOut = el("button", { type: "button", class: "secondary", text: t("mine.signOut") });
  signOut.addEventListener("click", () => { sessionStorage.removeItem(ACCESS_TOKEN); location.hash = "#/"; });
  showFor(view, el("h1", { text: t("mine.heading") }), consents,
    items.length ? el("ul", { class: "registrations" }, ...items) : el("p", { text: t("mine.none") }),
    personalDataExport(headers), signOut);
}

/** The participant's export of what every service holds about them, as JSON or a PDF. */
function personalDataExport(headers) {
  const status = el("div", { "aria-live": "polite" });
  const button = (format, label) => {
    const download = el("button", { type: "button", class: "secondary", text: label });
    download.addEventListener("click", async () => {
      download.disabled = true;
      status.replaceChildren();
      try {
        const response = await fetch(`${API}/me/export${format === "pdf" ? ".pdf" : ""}`, { headers });
        if (!response.ok) throw new HttpError(response.status);
        const blob = await response.blob();
        // A service that did not answer is named in the export itself; say so here too.
        if (format === "json" && JSON.parse(await blob.text()).complete === false) {
          status.replaceChildren(alertNotice(t("export.incomplete")));
        }
        const url = URL.createObjectURL(blob);
        const save = el("a", { href: url, download: `etnik-personal-data.${format}` });
        document.body.append(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      } catch {
        status.replaceChildren(alertNotice(t("export.failed")));
      } finally {
        download.disabled = false;
      }
    });
    return download;
  };
  return el("section", { class: "personal-data", "aria-labelledby": "personal-data-heading" },
    el("h2", { id: "personal-data-heading", text: t("export.heading") }),
    el("p", { text: t("export.about") }),
    button("json", t("export.json")), " ", button("pdf", t("export.pdf")), status);
}

/** The participant's consents: a newer text to accept (unticked, shown in full), and the
 * publication consent, which can be withdrawn on its own. Nothing when they cannot be read. */
async function myConsents(headers) {
  const states = await getJson(`${API}/me/consents?locale=${SERVER_TEXT_LANGUAGE}`, headers).catch(() => null);
  if (!states) return "";
  const byScope = Object.fromEntries(states.map((state) => [state.scope, state]));
  const parts = states.filter((state) => state.needs_acceptance && state.current).map((state) => consentUpdate(state, headers));
  const publication = byScope.publication;
  if (publication) parts.push(publicationConsent(publication, headers));
  return el("section", { class: "consents", "aria-labelledby": "consents-heading" },
    el("h2", { id: "consents-heading", text: t("consents.heading") }), ...parts);
}

/** A newer version of a consent text that the participant is asked to accept. */
function consentUpdate(state, headers) {
  const id = `consent-update-${state.scope}`;
  const { version, text } = state.current;
  const form = el("form", { class: "consent", novalidate: true, "aria-labelledby": `${id}-heading` },
    el("h3", { id: `${id}-heading`, text: t(`consents.updateHeading.${state.scope}`) }),
    el("p", { text: t("consents.updateAbout", { accepted: state.accepted_version || "—", version }) }),
    el("p", { class: "consent-text", id: `${id}-body`, lang: SERVER_TEXT_LANGUAGE, text }),
    checkbox(`${id}-accept`, t("consents.accept", { version }), `${id}-body`, { required: true }),
    el("button", { type: "submit", text: t("consents.acceptSubmit") }));
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const box = form.elements[`${id}-accept`];
    if (!box.checked) {
      setError(form, `${id}-accept`, t("consents.tickFirst"));
      box.focus();
      return;
    }
    setError(form, `${id}-accept`, "");
    const answer = await fetch(`${API}/me/consents`, {
      method: "POST", headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ action: "accept", scope: state.scope, version }),
    }).catch(() => null);
    if (answer && (answer.ok || answer.status === 409)) showMine();  // 409: a newer text again
    else setError(form, `${id}-accept`, t("consents.failed"));
  });
  return form;
}

/** The publication consent: given (with a way to withdraw it alone) or not given. */
function publicationConsent(state, headers) {
  const block = el("div", { class: "consent-publication" }, el("h3", { text: t("form.publicationHeading") }));
  if (!state.accepted_version) {
    block.append(el("p", { text: state.withdrawn_at
      ? t("consents.publicationWithdrawn", { date: format(state.withdrawn_at, visitorZone, { dateStyle: "long" }) })
      : t("consents.publicationNotGiven") }));
    return block;
  }
  const problem = el("div", { "aria-live": "polite" });
  const withdraw = el("button", { type: "button", class: "secondary", text: t("consents.withdraw") });
  withdraw.addEventListener("click", async () => {
    if (!confirm(t("consents.confirmWithdraw"))) return;
    withdraw.disabled = true;
    const answer = await fetch(`${API}/me/consents`, {
      method: "POST", headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ action: "withdraw", scope: "publication" }),
    }).catch(() => null);
    if (answer && answer.ok) showMine();
    else { withdraw.disabled = false; problem.replaceChildren(alertNotice(t("consents.failed"))); }
  });
  block.append(el("p", { text: t("consents.publicationGiven", { version: state.accepted_version }) }), withdraw, problem);
  return block;
}

/** A signed-in participant's certificate: fetched with their token (a plain link has none). */
function certificateDownload(registrationId, headers) {
  const problem = el("div", { "aria-live": "polite" });
  const download = el("button", { type: "button", class: "secondary", text: t("certificate.download") });
  download.addEventListener("click", async () => {
    download.disabled = true;
    problem.replaceChildren();
    try {
      const response = await fetch(`${API}/registrations/${encodeURIComponent(registrationId)}/certificate.pdf`, { headers });
      if (!response.ok) throw new HttpError(response.status);
      const url = URL.createObjectURL(await response.blob());
      const save = el("a", { href: url, download: "etnik-certificate.pdf" });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch {
      problem.replaceChildren(alertNotice(t("certificate.downloadFailed")));
    } finally {
      download.disabled = false;
    }
  });
  return el("div", { class: "certificate" }, download, problem);
}

// --- Certificates: the public verification page ---------------------------------------------

// The address printed on every certificate is /certificates/<code>: the code is public, and the
// service says whether it is one (422) and whether it is known (404).
async function showVerification(code) {
  const view = currentView;
  document.title = t("site.page", { title: t("verify.heading") });
  const input = el("input", { type: "text", id: "certificate-code", name: "certificate-code", value: code || "",
    autocomplete: "off", spellcheck: "false", autocapitalize: "characters" });
  const form = el("form", { novalidate: true },
    field("certificate-code", t("verify.code"), input, { hint: t("verify.codeHint"), required: true }),
    el("button", { type: "submit", text: t("verify.submit") }));
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const typed = input.value.trim();
    if (typed) location.hash = `#/certificate/${encodeURIComponent(typed)}`;
  });
  const heading = [el("h1", { text: t("verify.heading") }), el("p", { text: t("verify.intro") })];
  if (!code) { showFor(view, ...heading, form); return; }
  let outcome;
  try {
    const response = await fetch(`${API}/certificates/${encodeURIComponent(code)}`, { headers: { Accept: "application/json" } });
    outcome = response.ok ? certificateFacts(await response.json())
      : [alertNotice(response.status === 404 ? t("verify.notFound")
        : response.status === 422 ? t("verify.malformed") : t("verify.failed"))];
  } catch {
    outcome = [alertNotice(t("verify.failed"))];
  }
  showFor(view, ...heading, el("section", { class: "card" }, ...outcome), form);
}

function certificateFacts(certificate) {
  const facts = el("dl", { class: "facts" });
  const fact = (term, value, lang) => facts.append(el("div", {}, el("dt", { text: term }), el("dd", {}, foreign(value, lang))));
  if (certificate.name_withheld) fact(t("verify.name"), t("verify.nameWithheld"));
  else fact(t("verify.name"), certificate.full_name, SERVER_TEXT_LANGUAGE);
  fact(t("verify.event"), certificate.event_title, SERVER_TEXT_LANGUAGE);
  fact(t("verify.programme"), certificate.programme_title, SERVER_TEXT_LANGUAGE);
  const day = (date) => format(`${date}T12:00:00Z`, "UTC", DAY);
  fact(t("verify.date"), certificate.event_end_date
    ? `${day(certificate.event_date)} – ${day(certificate.event_end_date)}` : day(certificate.event_date));
  const hoursText = new Intl.NumberFormat(locale()).format(certificate.hours);
  fact(t("verify.hours"), t("verify.hoursValue", { hours: certificate.hours, text: hoursText }));
  fact(t("verify.issuedAt"), format(certificate.issued_at, "Europe/Moscow", DAY));
  return [el("p", { class: "notice", role: "status", text: t("verify.valid", { code: certificate.code }) }), facts];
}

// --- A registration managed through the link in its messages ---------------------------------

// The link in every message about a registration: /registrations/manage?token=<signed token>.
// The token is kept for this tab only, out of the address bar and the history, as a key is.
const MANAGE_TOKEN = "etnik-manage-token";
const ACTIVE_STATUSES = ["confirmed", "waitlisted", "pending_approval", "offered"];
const ONLINE_FORMATS = ["online", "hybrid"];
const IN_PERSON_FORMATS = ["in_person", "hybrid"];

const byLink = (path, token) => `${API}/registrations/by-link${path}?token=${encodeURIComponent(token)}`;

async function detailOf(response) {
  const body = await response.json().catch(() => ({}));
  return typeof body.detail === "string" ? body.detail : "";
}

/** The page for a link that opens nothing: why, and where to go instead. */
function showLinkProblem(view, status) {
  const text = status === 410 ? t("manage.linkExpired")
    : status === 404 ? t("manage.notFound")
      : status === "missing" ? t("manage.noToken")
        : t("manage.linkInvalid");
  showFor(view, el("h1", { text: t("manage.heading") }), alertNotice(text),
    el("p", {}, t("manage.signInHint"), " ", el("a", { href: "#/sign-in", text: t("manage.signIn") })));
}

async function showManage(outcome = {}) {
  const view = currentView;
  document.title = t("site.page", { title: t("manage.heading") });
  const token = sessionStorage.getItem(MANAGE_TOKEN);
  if (!token) { showLinkProblem(view, "missing"); return; }
  let response;
  try {
    response = await fetch(byLink("", token), { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch {
    response = null;
  }
  if (response && [400, 403, 404, 410, 422].includes(response.status)) {
    showLinkProblem(view, response.status);
    return;
  }
  const registration = response && response.ok ? await response.json().catch(() => null) : null;
  if (!registration) {
    const retry = el("button", { type: "button", class: "secondary", text: t("event.retry") });
    retry.addEventListener("click", () => route());
    showFor(view, el("h1", { text: t("manage.heading") }),
      alertNotice(response ? t("manage.failed") : t("manage.offline")), retry);
    return;
  }
  // Issued after a completed event; none (404) or unreachable simply shows no card.
  const certificate = await fetch(byLink("/certificate", token), { headers: { Accept: "application/json" }, cache: "no-store" })
    .then((answer) => (answer.ok ? answer.json() : null)).catch(() => null);
  const parts = manageView(registration, token, outcome);
  if (certificate) parts.splice(parts.length - 1, 0, certificateCard(certificate, token));
  showFor(view, ...parts);
}

function certificateCard(certificate, token) {
  return el("section", { class: "card", "aria-labelledby": "manage-certificate" },
    el("h2", { id: "manage-certificate", text: t("certificate.heading") }),
    el("p", { text: t("certificate.issued") }),
    el("p", {}, t("certificate.code"), " ", el("strong", { class: "code", text: certificate.code })),
    el("p", { class: "actions" },
      el("a", { class: "download", href: byLink("/certificate.pdf", token), download: true, text: t("certificate.download") }),
      el("a", { href: `#/certificate/${encodeURIComponent(certificate.code)}`, text: t("certificate.verifyPage") })));
}

function outcomeNotice(outcome) {
  if (!outcome.text) return "";
  return outcome.problem ? alertNotice(outcome.text) : el("p", { class: "notice", role: "status", text: outcome.text });
}

function manageView(registration, token, outcome) {
  const zone = knownZone(registration.participant_timezone);
  const eventCancelled = registration.event_status === "cancelled";
  const details = el("dl", { class: "facts" });
  const fact = (term, value, lang) => {
    if (value) details.append(el("div", {}, el("dt", { text: term }), el("dd", {}, foreign(value, lang))));
  };
  fact(t("manage.format"), registration.event_format ? t(`format.${registration.event_format}`) : "");
  if (IN_PERSON_FORMATS.includes(registration.event_format)) {
    fact(t("manage.venue"), registration.venue, SERVER_TEXT_LANGUAGE);
  }
  fact(t("manage.district"), registration.federal_district ? t(`district.${registration.federal_district}`) : "");
  const event = el("section", { class: "card", "aria-labelledby": "manage-event" },
    el("h2", { id: "manage-event" }, foreign(registration.event_title, SERVER_TEXT_LANGUAGE)),
    el("p", { class: "when", text: describeTime(registration.starts_at, zone) }),
    details.childNodes.length ? details : "",
    eventCancelled ? alertNotice(t("manage.eventCancelled")) : "");
  const lapsed = registration.status === "offered" && offerLapsed(registration, outcome);
  const state = el("section", { class: "card", "aria-labelledby": "manage-status" },
    el("h2", { id: "manage-status", text: t("manage.statusHeading") }),
    el("p", { class: "status", text: lapsed ? t("manage.lapsed") : t(`status.${registration.status}`) }),
    ...statusDetails(registration, token, zone, outcome));
  const parts = [
    el("p", {}, el("a", { href: "#/", text: t("event.back") })),
    el("h1", { text: t("manage.heading") }),
    outcomeNotice(outcome),
    event,
    state,
  ];
  if (ACTIVE_STATUSES.includes(registration.status) && !eventCancelled && !lapsed) {
    parts.push(manageActions(registration, token));
  }
  parts.push(el("p", { class: "meta" }, t("manage.allMine"), " ", el("a", { href: "#/me", text: t("nav.mine") })));
  return parts;
}

function offerLapsed(registration, outcome) {
  const expires = registration.offer_expires_at ? new Date(registration.offer_expires_at).getTime() : Infinity;
  return Boolean(outcome.offerLapsed) || expires <= Date.now();
}

function statusDetails(registration, token, zone, outcome) {
  const deadline = registration.offer_expires_at ? describeTime(registration.offer_expires_at, zone) : "";
  const lapsed = () => alertNotice(deadline ? t("manage.offerExpired", { deadline }) : t("manage.offerExpiredPlain"));
  switch (registration.status) {
    case "confirmed":
      return [el("p", { text: t("manage.confirmed") }), ...attending(registration, token)];
    case "waitlisted":
      return [el("p", { text: t("manage.waitlisted") }),
        registration.waitlist_position
          ? el("p", { class: "position", text: t("manage.position", { position: registration.waitlist_position }) }) : ""];
    case "pending_approval":
      return [el("p", { text: t("manage.pending") })];
    case "rejected":
      return [el("p", { text: t("manage.rejected") }),
        registration.rejection_reason
          ? el("p", {}, t("manage.reason"), " ", foreign(registration.rejection_reason, SERVER_TEXT_LANGUAGE)) : ""];
    case "offered": {
      if (offerLapsed(registration, outcome)) return [lapsed()];
      const problem = el("div", { "aria-live": "polite" });
      const accept = el("button", { type: "button", text: t("manage.accept") });
      accept.addEventListener("click", () => acceptOffer(token, accept, problem));
      return [el("p", { text: t("manage.offered", { deadline }) }), accept, problem];
    }
    case "cancelled":
      if (registration.cancelled_by === "system" && registration.offer_expires_at) return [lapsed()];
      if (registration.cancelled_by === "operator") return [el("p", { text: t("manage.cancelledByOperator") })];
      if (registration.cancelled_by === "owner" && registration.cancelled_at) {
        return [el("p", { text: t("manage.cancelledByOwner", { date: format(registration.cancelled_at, zone, DAY) }) })];
      }
      return [el("p", { text: t("manage.cancelledPlain") })];
    default:
      return [];
  }
}

/** What a confirmed participant needs to attend: the session link, the ticket for the door. */
function attending(registration, token) {
  if (registration.event_status === "cancelled") return [];
  const needs = [];
  if (ONLINE_FORMATS.includes(registration.event_format)) {
    needs.push(registration.online_link && /^https?:\/\//.test(registration.online_link)
      ? el("p", {}, t("manage.onlineLink"), " ",
        el("a", { href: registration.online_link, rel: "noopener noreferrer", class: "session-link",
          text: registration.online_link }))
      : el("p", { text: t("manage.linkLater") }));
  }
  if (IN_PERSON_FORMATS.includes(registration.event_format) && registration.check_in_code) {
    needs.push(...ticket(registration, token));
  }
  return needs.length ? [el("h3", { text: t("manage.attend") }), ...needs] : [];
}

/** The ticket for the door: the QR code the organisers scan, the code as text, the PDF. */
function ticket(registration, token) {
  const qr = el("img", { class: "qr", src: byLink("/qr.svg", token), alt: t("manage.qrAlt") });
  // Without the image (offline, refused) the code as text still gets the participant in.
  qr.addEventListener("error", () => qr.remove());
  return [
    el("figure", { class: "ticket" }, qr,
      el("figcaption", {}, t("manage.code"), " ", el("strong", { class: "code", text: registration.check_in_code }))),
    el("p", { class: "meta", text: t("manage.codeHint") }),
    el("p", {}, el("a", { class: "download", href: byLink("/ticket.pdf", token), download: true, text: t("manage.ticket") })),
  ];
}

async function acceptOffer(token, button, problem) {
  button.disabled = true;
  problem.replaceChildren();
  let response;
  try {
    response = await fetch(byLink("/accept-offer", token), { method: "POST", headers: { Accept: "application/json" } });
  } catch {
    response = null;
  }
  if (response && response.ok) { showManage({ text: t("manage.accepted") }); return; }
  const detail = response ? await detailOf(response) : "";
  if (response && response.status === 410 && detail === "the offer has expired") {
    // The service's clock decides, not the browser's: the offer is shown as lapsed.
    showManage({ offerLapsed: true });
    return;
  }
  if (response && response.status === 409) { showManage({ text: t("manage.offerGone"), problem: true }); return; }
  if (response && [403, 404, 410].includes(response.status)) { showLinkProblem(currentView, response.status); return; }
  button.disabled = false;
  problem.replaceChildren(alertNotice(response ? t("manage.actionFailed") : t("manage.offline")));
}

function manageActions(registration, token) {
  const calendar = el("a", { class: "download", href: byLink("/calendar.ics", token), download: true,
    text: t("manage.calendar") });
  const cancel = el("button", { type: "button", class: "secondary", "aria-expanded": "false",
    "aria-controls": "cancel-confirmation", text: t("manage.cancel") });
  const confirmation = el("div", { class: "confirmation", id: "cancel-confirmation", hidden: true });
  const close = () => {
    confirmation.hidden = true;
    confirmation.replaceChildren();
    cancel.setAttribute("aria-expanded", "false");
    cancel.focus();
  };
  cancel.addEventListener("click", () => {
    if (!confirmation.hidden) return;
    const question = el("p", { id: "cancel-question", tabindex: "-1",
      text: t("manage.confirmCancel", { title: registration.event_title }) });
    const yes = el("button", { type: "button", class: "danger", text: t("manage.confirmYes") });
    const no = el("button", { type: "button", class: "secondary", text: t("manage.confirmNo") });
    const problem = el("div", { "aria-live": "polite" });
    no.addEventListener("click", close);
    yes.addEventListener("click", () => cancelByLink(token, [yes, no], problem));
    confirmation.replaceChildren(el("div", { role: "group", "aria-labelledby": "cancel-question" },
      question, el("p", { class: "actions" }, yes, no), problem));
    confirmation.hidden = false;
    cancel.setAttribute("aria-expanded", "true");
    question.focus();
  });
  confirmation.addEventListener("keydown", (key) => { if (key.key === "Escape") close(); });
  return el("section", { class: "card", "aria-labelledby": "manage-actions" },
    el("h2", { id: "manage-actions", text: t("manage.actions") }),
    el("p", { class: "actions" }, calendar, cancel),
    confirmation);
}

async function cancelByLink(token, buttons, problem) {
  for (const button of buttons) button.disabled = true;
  problem.replaceChildren();
  let response;
  try {
    response = await fetch(byLink("/cancel", token), {
      method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json" }, body: "{}",
    });
  } catch {
    response = null;
  }
  if (response && response.ok) { showManage({ text: t("manage.cancelled") }); return; }
  if (response && response.status === 409) { showManage({ text: t("manage.cancelRefused"), problem: true }); return; }
  if (response && [403, 404, 410].includes(response.status)) { showLinkProblem(currentView, response.status); return; }
  for (const button of buttons) button.disabled = false;
  problem.replaceChildren(alertNotice(response ? t("manage.actionFailed") : t("manage.offline")));
}

// --- The feedback survey, through the link in the invitation sent after an event -------------

// The invitation's link: /registrations/survey?token=<the registration's signed owner token>.
// Kept for this tab only, out of the address bar and the history, as the management link is.
const SURVEY_TOKEN = "etnik-survey-token";
const RATINGS = ["1", "2", "3", "4", "5"];

/** Why the survey cannot be opened or answered, in the page's language; null if unknown. */
async function surveyProblem(response) {
  const detail = await detailOf(response);
  if (response.status === 403) {
    return detail.startsWith("only participants who attended") ? t("survey.notAttended") : t("manage.linkInvalid");
  }
  if (response.status === 409) {
    if (detail.startsWith("this survey has already been answered")) return t("survey.alreadyAnswered");
    return detail.startsWith("the survey has changed") ? t("survey.changed") : t("survey.notYet");
  }
  if (response.status === 404) return t("survey.notFound");
  if (response.status === 410) return t("manage.linkExpired");
  if (response.status === 400 || response.status === 422) return t("survey.invalid");
  return null;
}

async function showSurvey() {
  const view = currentView;
  document.title = t("site.page", { title: t("survey.heading") });
  const heading = el("h1", { text: t("survey.heading") });
  const token = sessionStorage.getItem(SURVEY_TOKEN);
  if (!token) { showFor(view, heading, alertNotice(t("manage.noToken"))); return; }
  let response;
  try {
    response = await fetch(byLink("/survey", token), { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch {
    response = null;
  }
  const survey = response && response.ok ? await response.json().catch(() => null) : null;
  if (!survey) {
    const problem = response ? await surveyProblem(response) : t("manage.offline");
    showFor(view, heading, alertNotice(problem || t("survey.loadFailed")));
    return;
  }
  const about = el("p", { class: "meta" }, foreign(survey.event_title, SERVER_TEXT_LANGUAGE), " · ",
    format(survey.starts_at, "Europe/Moscow", DAY));
  if (survey.answered) {
    showFor(view, heading, about, el("p", { class: "notice", role: "status", text: t("survey.alreadyAnswered") }));
    return;
  }
  showFor(view, heading, about, el("p", { text: t("survey.intro") }), surveyForm(survey, token));
}

/** One control per question: five choices for a rating, a text box for free text. */
function surveyQuestion(question) {
  const id = `survey-${question.id}`;
  const options = { required: Boolean(question.required), lang: SERVER_TEXT_LANGUAGE };
  if (question.kind === "rating") {
    return group(id, question.label, "radio", RATINGS.map((value) => [value, value]),
      { ...options, hint: t("survey.ratingHint") });
  }
  const box = el("textarea", { id, name: id, rows: 4, maxlength: TEXT_ANSWER_MAX });
  return field(id, question.label, box, { ...options, hint: t("survey.textHint", { max: TEXT_ANSWER_MAX }) });
}

function surveyForm(survey, token) {
  const outcome = el("div", { "aria-live": "polite" });
  const submit = el("button", { type: "submit", text: t("survey.submit") });
  const form = el("form", { class: "survey" },
    el("fieldset", { class: "questions" }, ...survey.questions.map(surveyQuestion)), submit, outcome);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const answers = {};
    for (const question of survey.questions) {
      const id = `survey-${question.id}`;
      if (question.kind === "rating") {
        const chosen = form.querySelector(`input[name="${id}"]:checked`);
        if (chosen) answers[question.id] = Number(chosen.value);
      } else {
        const text = form.elements[id].value.trim();
        if (text) answers[question.id] = text;
      }
    }
    submit.disabled = true;
    let response;
    try {
      response = await fetch(byLink("/survey", token), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ answers, version: survey.version }),
      });
    } catch {
      response = null;
    }
    if (response && response.status === 201) {
      form.replaceWith(el("p", { class: "notice", role: "status", text: t("survey.thanks") }));
      return;
    }
    const problem = response ? await surveyProblem(response) : t("manage.offline");
    if (response && response.status === 409 && problem === t("survey.alreadyAnswered")) {
      form.replaceWith(el("p", { class: "notice", role: "status", text: problem }));
      return;
    }
    submit.disabled = false;
    outcome.replaceChildren(alertNotice(problem || t("survey.failed")));
  });
  return form;
}

// --- Routing and the language switch ---------------------------------------------------------

function markCurrentSection(section) {
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route() {
  currentView += 1;
  const query = new URLSearchParams(location.search);
  // Links from emails arrive as real paths: /sign-in?token=… and /events/<id>/register?invitation=….
  if (location.pathname === "/sign-in" && query.get("token")) { signInWithLink(query.get("token")); return; }
  if (location.pathname === "/registrations/manage") {
    if (query.get("token")) sessionStorage.setItem(MANAGE_TOKEN, query.get("token"));
    else sessionStorage.removeItem(MANAGE_TOKEN);  // an older link's must not stand in for it
    history.replaceState(null, "", "/#/manage");
  }
  if (location.pathname === "/registrations/survey") {
    if (query.get("token")) sessionStorage.setItem(SURVEY_TOKEN, query.get("token"));
    else sessionStorage.removeItem(SURVEY_TOKEN);
    history.replaceState(null, "", "/#/survey");
  }
  const printed = location.pathname.match(/^\/certificates\/([^/]+)$/);
  if (printed) history.replaceState(null, "", `/#/certificate/${printed[1]}`);
  const invited = location.pathname.match(/^\/events\/([A-Za-z0-9_-]+)\/register$/);
  if (invited && query.get("invitation")) {
    // Kept for this tab only, and out of the address bar, which other pages would inherit.
    sessionStorage.setItem(`etnik-invitation-${invited[1]}`, query.get("invitation"));
    history.replaceState(null, "", `/#/event/${invited[1]}`);
  }
  const match = location.hash.match(/^#\/event\/([A-Za-z0-9_-]+)$/);
  const materials = location.hash.match(/^#\/materials(?:\?(.*))?$/);
  const verification = location.hash.match(/^#\/certificates?(?:\/([^/]*))?$/);
  if (match) {
    markCurrentSection("#/");
    showEvent(match[1], sessionStorage.getItem(`etnik-invitation-${match[1]}`));
  } else if (materials) {
    markCurrentSection("#/materials");
    showMaterials(new URLSearchParams(materials[1] || ""));
  } else if (location.hash === "#/me") {
    markCurrentSection("#/me");
    showMine();
  } else if (location.hash === "#/manage") {
    markCurrentSection("");
    showManage();
  } else if (verification) {
    markCurrentSection("");
    let code = verification[1] || "";
    try { code = decodeURIComponent(code); } catch { /* shown as typed: the service refuses it */ }
    showVerification(code);
  } else if (location.hash === "#/survey") {
    markCurrentSection("");
    showSurvey();
  } else if (location.hash === "#/sign-in") {
    markCurrentSection("#/me");
    showSignIn();
  } else {
    markCurrentSection("#/");
    const listQuery = location.hash.match(/^#\/\?(.*)$/);
    showEvents(new URLSearchParams(listQuery ? listQuery[1] : ""));
  }
}

function switchLanguage() {
  setLanguage(language() === "ru" ? "en" : "ru");
  // The same page again in the new language; the focus stays on the switch.
  moveFocus = false;
  route();
}

function start() {
  translatePage();
  document.getElementById("language-switch").addEventListener("click", switchLanguage);
  // The skip link must not change the address: "#main" would be routed as a page.
  document.querySelector(".skip").addEventListener("click", (click) => {
    click.preventDefault();
    document.getElementById("main").focus();
  });
  route();
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", start);
