// The portal's words in Russian (the default) and English, and the language switch's state.
// Every string the portal itself shows comes from here; what the services send (event titles,
// question labels, consent texts, materials) is shown as it was written.
"use strict";

const LANGUAGE_KEY = "etnik-language";
const LANGUAGES = ["ru", "en"];
// Intl locales: British English keeps the 24-hour clock the rest of the programme uses.
const LOCALES = { ru: "ru-RU", en: "en-GB" };

const plural = (language, count, forms) =>
  forms[new Intl.PluralRules(LOCALES[language]).select(count)] || forms.other;

const MESSAGES = {
  ru: {
    "site.name": "ЭтНик: стратегия в практике",
    "site.tagline": "Всероссийская программа для этнокультурных некоммерческих организаций",
    "site.page": (p) => `${p.title} — ЭтНик`,
    "skip": "К содержанию",
    "nav.label": "Разделы",
    "nav.events": "Мероприятия",
    "nav.materials": "Материалы",
    "nav.mine": "Мои регистрации",
    "footer.times": "Время указано по московскому времени и по времени вашего часового пояса.",
    "footer.console": "Вход для организаторов",
    "loading": "Загружаем…",
    "language.switch": "English",
    "language.switchCode": "en",

    "time.both": (p) => `${p.date}, ${p.moscow} МСК / ${p.local}${p.localDate ? ` (${p.localDate})` : ""} по вашему времени`,
    "time.moscow": (p) => `${p.date}, ${p.moscow} МСК`,

    "format.in_person": "очно",
    "format.online": "онлайн",
    "format.hybrid": "очно и онлайн",
    "district.ЦФО": "ЦФО",
    "district.СЗФО": "СЗФО",
    "district.ЮФО": "ЮФО",
    "district.СКФО": "СКФО",
    "district.ПФО": "ПФО",
    "district.УФО": "УФО",
    "district.СФО": "СФО",
    "district.ДФО": "ДФО",

    "events.heading": "Ближайшие мероприятия",
    "events.filters": "Отбор мероприятий",
    "events.filterTrack": "Направление",
    "events.filterDistrict": "Федеральный округ",
    "events.all": "Все",
    "events.count": ({ count }) => `Мероприятий: ${count}`,
    "track.in_person_session": "Очная стратегическая сессия",
    "track.online_sessions": "Стратегические онлайн-сессии по округам",
    "track.internships": "Стажировки для лидеров",
    "track.field_programmes": "Выездные бизнес-программы",
    "track.other": "Другие мероприятия",
    "events.none": "Пока нет открытых мероприятий.",
    "events.failed": "Не удалось загрузить мероприятия. Обновите страницу чуть позже.",
    "event.back": "← Все мероприятия",
    "event.calendar": "Добавить в календарь",
    "event.registration": "Регистрация",
    "event.invited": "Вы регистрируетесь по персональному приглашению.",
    "event.closed": "Регистрация на это мероприятие сейчас закрыта.",
    "event.notFound": "Мероприятие не найдено.",
    "event.formFailed": "Не удалось загрузить форму регистрации. Обновите страницу чуть позже.",
    "event.retry": "Загрузить ещё раз",

    "category.ngo_leader": "Руководитель НКО",
    "category.ngo_activist": "Активист НКО",
    "category.expert": "Эксперт",
    "category.government_official": "Представитель органа власти",
    "category.media": "Представитель СМИ",
    "category.other": "Другое",

    "form.requiredNote": "Поля, отмеченные звёздочкой (*), обязательны.",
    "form.required": "(обязательно)",
    "form.fullName": "Фамилия, имя, отчество",
    "form.email": "Электронная почта",
    "form.emailHint": "На этот адрес придёт подтверждение.",
    "form.category": "Кого вы представляете",
    "form.choose": "— выберите —",
    "form.questions": "Вопросы организаторов",
    "form.questionsLanguage": "",
    "form.yes": "Да",
    "form.no": "Нет",
    "form.chooseAny": "Можно выбрать несколько вариантов.",
    "form.consentHeading": "Согласие на обработку персональных данных",
    "form.publicationHeading": "Согласие на публикацию",
    "form.consentVersion": (p) => `Редакция ${p.version}`,
    "form.consentLanguage": "",
    "form.consentPersonal": "Я согласен(на) на обработку моих персональных данных на условиях этого текста (152-ФЗ).",
    "form.consentPublication": "Я согласен(на) на публикацию на условиях этого текста (необязательно).",
    "form.submit": "Зарегистрироваться",
    "form.sending": "Отправляем…",

    "field.full_name": "Укажите фамилию, имя и отчество (не короче 3 символов).",
    "field.email": "Проверьте адрес электронной почты: он должен быть вида name@example.ru.",
    "field.category": "Выберите, кого вы представляете.",
    "field.consent_personal_data": "Без согласия на обработку персональных данных зарегистрироваться нельзя.",
    "field.invalid": "Проверьте это поле.",
    "answer.required": "Ответьте на этот вопрос: он обязательный.",
    "answer.option": "Выберите один из предложенных вариантов.",
    "answer.tooLong": (p) => `Ответ слишком длинный: не больше ${p.max} символов.`,
    "answer.invalid": "Проверьте ответ на этот вопрос.",
    "form.problems": (p) => plural("ru", p.count, {
      one: `В форме ${p.count} ошибка: она указана рядом с полем.`,
      few: `В форме ${p.count} ошибки: они указаны рядом с полями.`,
      other: `В форме ${p.count} ошибок: они указаны рядом с полями.`,
    }),

    "result.confirmed": "Регистрация подтверждена. Письмо с подтверждением отправлено на вашу почту.",
    "result.waitlisted": "Все места заняты: вы в листе ожидания. Мы напишем, как только место освободится.",
    "result.pending": "Заявка получена. Организаторы рассмотрят её и сообщат решение письмом.",
    "problem.server": "Сервис временно недоступен. Ваши данные сохранены — попробуйте ещё раз через минуту.",
    "problem.refused": (p) => `Не удалось зарегистрироваться: ${p.reason}`,
    "problem.offline": "Нет связи с сервером. Введённые данные сохранены — отправьте форму ещё раз, когда связь появится.",
    "problem.formChanged": "Организаторы изменили форму регистрации. Проверьте ответы и отправьте форму ещё раз.",
    "problem.consentChanged": "Текст согласия обновился. Прочитайте его и подтвердите согласие ещё раз.",
    "reason.unknown event": "мероприятие не найдено.",
    "reason.registration for this event is not open": "регистрация на это мероприятие не открыта.",
    "reason.registration for this event has closed": "регистрация на это мероприятие завершена.",
    "reason.registration for this event has not opened yet": "регистрация на это мероприятие ещё не началась.",
    "reason.this email belongs to erased data; use another address": "данные с этим адресом были удалены по просьбе владельца; укажите другой адрес.",
    "reason.too many registrations at this moment; retry shortly": "сейчас регистрируется очень много людей; отправьте форму ещё раз через минуту.",
    "reason.this invitation has expired": "срок действия приглашения истёк.",
    "reason.this invitation has already been used": "по этому приглашению уже зарегистрировались.",
    "reason.this person is being registered right now; retry shortly": "регистрация с этим адресом уже идёт; отправьте форму ещё раз через минуту.",
    "reason.invitation": "приглашение недействительно или уже использовано.",
    "reason.other": "проверьте введённые данные и попробуйте ещё раз.",

    "materials.heading": "Материалы программы",
    "materials.intro": "Методические сборники, рекомендации, презентации и записи сессий программы.",
    "materials.searchLabel": "Поиск по материалам",
    "materials.searchHint": "Слова можно писать в любой форме: «стратегия», «стратегии», «стратегией».",
    "materials.kind": "Тип материала",
    "materials.allKinds": "Все типы",
    "materials.search": "Найти",
    "materials.found": (p) => plural("ru", p.count, {
      one: `Найден ${p.count} материал`,
      few: `Найдено ${p.count} материала`,
      other: `Найдено ${p.count} материалов`,
    }),
    "materials.shown": (p) => `Показано ${p.shown} из ${p.total}.`,
    "materials.none": "Ничего не найдено. Попробуйте другие слова или уберите фильтр.",
    "materials.empty": "Материалов пока нет.",
    "materials.failed": "Не удалось загрузить материалы. Попробуйте ещё раз чуть позже.",
    "materials.more": "Показать ещё",
    "materials.download": (p) => `Скачать «${p.name}» (${p.size})`,
    "materials.watch": "Смотреть видео",
    "materials.published": (p) => `Опубликовано ${p.date}`,
    "materials.authors": (p) => `Авторы: ${p.names}`,
    "kind.methodological_collection": "Методический сборник",
    "kind.recommendation": "Рекомендации",
    "kind.presentation": "Презентация",
    "kind.agenda": "Повестка",
    "kind.session_recording": "Запись сессии",
    "kind.video": "Видео",
    "kind.ngo_strategy": "Стратегия развития НКО",
    "kind.other": "Материал",

    "signIn.title": "Вход",
    "signIn.heading": "Вход для участников",
    "signIn.email": "Электронная почта, указанная при регистрации",
    "signIn.submit": "Получить ссылку для входа",
    "signIn.sent": "Если этот адрес зарегистрирован, мы отправили на него ссылку для входа. Она действует недолго и только один раз.",
    "signIn.failed": "Не удалось отправить ссылку. Попробуйте ещё раз через минуту.",
    "signIn.offline": "Нет связи с сервером. Попробуйте ещё раз.",
    "signIn.expired": "Ссылка для входа устарела или уже использована. Запросите новую.",
    "signIn.linkOffline": "Нет связи с сервером. Откройте ссылку из письма ещё раз чуть позже.",
    "mine.heading": "Мои регистрации",
    "mine.sessionExpired": "Сеанс истёк. Войдите ещё раз.",
    "mine.failed": "Не удалось загрузить регистрации. Обновите страницу чуть позже.",
    "mine.event": "Мероприятие",
    "mine.status": (p) => `Статус: ${p.status}`,
    "mine.none": "У вас пока нет регистраций.",
    "mine.cancel": "Отменить регистрацию",
    "mine.confirmCancel": "Отменить регистрацию? Ваше место перейдёт следующему в листе ожидания.",
    "mine.cancelFailed": "Не удалось отменить. Попробуйте ещё раз.",
    "mine.signOut": "Выйти",
    "status.confirmed": "Подтверждена",
    "status.waitlisted": "В листе ожидания",
    "status.pending_approval": "На рассмотрении",
    "status.rejected": "Отклонена",
    "status.cancelled": "Отменена",
    "status.offered": "Вам предложено место",
  },

  en: {
    "site.name": "EtNik: Strategy in Practice",
    "site.tagline": "A nationwide programme for ethnocultural non-profit organisations",
    "site.page": (p) => `${p.title} — EtNik`,
    "skip": "Skip to content",
    "nav.label": "Sections",
    "nav.events": "Events",
    "nav.materials": "Materials",
    "nav.mine": "My registrations",
    "footer.times": "Times are given in Moscow time and in your own time zone.",
    "footer.console": "Organisers' sign-in",
    "loading": "Loading…",
    "language.switch": "Русский",
    "language.switchCode": "ru",

    "time.both": (p) => `${p.date}, ${p.moscow} Moscow time / ${p.local}${p.localDate ? ` (${p.localDate})` : ""} your time`,
    "time.moscow": (p) => `${p.date}, ${p.moscow} Moscow time`,

    "format.in_person": "in person",
    "format.online": "online",
    "format.hybrid": "in person and online",
    "district.ЦФО": "Central Federal District",
    "district.СЗФО": "Northwestern Federal District",
    "district.ЮФО": "Southern Federal District",
    "district.СКФО": "North Caucasian Federal District",
    "district.ПФО": "Volga Federal District",
    "district.УФО": "Ural Federal District",
    "district.СФО": "Siberian Federal District",
    "district.ДФО": "Far Eastern Federal District",

    "events.heading": "Upcoming events",
    "events.filters": "Filter events",
    "events.filterTrack": "Track",
    "events.filterDistrict": "Federal district",
    "events.all": "All",
    "events.count": ({ count }) => `Events: ${count}`,
    "track.in_person_session": "In-person strategic session",
    "track.online_sessions": "Online strategic sessions by federal district",
    "track.internships": "Internships for leaders",
    "track.field_programmes": "Field business programmes",
    "track.other": "Other events",
    "events.none": "There are no open events yet.",
    "events.failed": "Could not load the events. Please reload the page a little later.",
    "event.back": "← All events",
    "event.calendar": "Add to calendar",
    "event.registration": "Registration",
    "event.invited": "You are registering with a personal invitation.",
    "event.closed": "Registration for this event is closed at the moment.",
    "event.notFound": "Event not found.",
    "event.formFailed": "Could not load the registration form. Please reload the page a little later.",
    "event.retry": "Load again",

    "category.ngo_leader": "NGO leader",
    "category.ngo_activist": "NGO activist",
    "category.expert": "Expert",
    "category.government_official": "Government official",
    "category.media": "Media",
    "category.other": "Other",

    "form.requiredNote": "Fields marked with an asterisk (*) are required.",
    "form.required": "(required)",
    "form.fullName": "Full name (surname, first name, patronymic)",
    "form.email": "Email",
    "form.emailHint": "The confirmation will be sent to this address.",
    "form.category": "Whom you represent",
    "form.choose": "— choose —",
    "form.questions": "Questions from the organisers",
    "form.questionsLanguage": "The organisers ask these questions in Russian; you may answer in English.",
    "form.yes": "Yes",
    "form.no": "No",
    "form.chooseAny": "You may choose several options.",
    "form.consentHeading": "Consent to the processing of personal data",
    "form.publicationHeading": "Consent to publication",
    "form.consentVersion": (p) => `Version ${p.version}`,
    "form.consentLanguage": "The binding text of this consent is in Russian:",
    "form.consentPersonal": "I consent to the processing of my personal data on the terms of this text (Federal Law 152-FZ).",
    "form.consentPublication": "I consent to publication on the terms of this text (optional).",
    "form.submit": "Register",
    "form.sending": "Sending…",

    "field.full_name": "Please give your full name (at least 3 characters).",
    "field.email": "Please check the email address: it should look like name@example.com.",
    "field.category": "Please choose whom you represent.",
    "field.consent_personal_data": "You cannot register without consenting to the processing of personal data.",
    "field.invalid": "Please check this field.",
    "answer.required": "Please answer this question: it is required.",
    "answer.option": "Please choose one of the options offered.",
    "answer.tooLong": (p) => `The answer is too long: ${p.max} characters at most.`,
    "answer.invalid": "Please check your answer to this question.",
    "form.problems": (p) => plural("en", p.count, {
      one: `The form has ${p.count} problem, shown next to its field.`,
      other: `The form has ${p.count} problems, shown next to their fields.`,
    }),

    "result.confirmed": "Your registration is confirmed. A confirmation email has been sent to you.",
    "result.waitlisted": "All places are taken: you are on the waiting list. We will write as soon as a place is free.",
    "result.pending": "Application received. The organisers will review it and tell you their decision by email.",
    "problem.server": "The service is temporarily unavailable. What you typed is kept — please try again in a minute.",
    "problem.refused": (p) => `Could not register: ${p.reason}`,
    "problem.offline": "No connection to the server. What you typed is kept — send the form again once you are back online.",
    "problem.formChanged": "The organisers have changed the registration form. Please check your answers and send the form again.",
    "problem.consentChanged": "The consent text has been updated. Please read it and give your consent again.",
    "reason.unknown event": "the event was not found.",
    "reason.registration for this event is not open": "registration for this event is not open.",
    "reason.registration for this event has closed": "registration for this event has closed.",
    "reason.registration for this event has not opened yet": "registration for this event has not opened yet.",
    "reason.this email belongs to erased data; use another address": "the data under this address was erased at its owner's request; please use another address.",
    "reason.too many registrations at this moment; retry shortly": "very many people are registering right now; please send the form again in a minute.",
    "reason.this invitation has expired": "the invitation has expired.",
    "reason.this invitation has already been used": "this invitation has been used already.",
    "reason.this person is being registered right now; retry shortly": "a registration with this address is in progress; please send the form again in a minute.",
    "reason.invitation": "the invitation is not valid or has been used already.",
    "reason.other": "please check what you entered and try again.",

    "materials.heading": "Programme materials",
    "materials.intro": "Methodological collections, recommendations, presentations and session recordings of the programme. Most are in Russian.",
    "materials.searchLabel": "Search the materials",
    "materials.searchHint": "Words may be in any grammatical form: «стратегия», «стратегии», «стратегией».",
    "materials.kind": "Type of material",
    "materials.allKinds": "All types",
    "materials.search": "Search",
    "materials.found": (p) => plural("en", p.count, {
      one: `${p.count} material found`,
      other: `${p.count} materials found`,
    }),
    "materials.shown": (p) => `Showing ${p.shown} of ${p.total}.`,
    "materials.none": "Nothing found. Try other words or remove the filter.",
    "materials.empty": "There are no materials yet.",
    "materials.failed": "Could not load the materials. Please try again a little later.",
    "materials.more": "Show more",
    "materials.download": (p) => `Download “${p.name}” (${p.size})`,
    "materials.watch": "Watch the video",
    "materials.published": (p) => `Published ${p.date}`,
    "materials.authors": (p) => `Authors: ${p.names}`,
    "kind.methodological_collection": "Methodological collection",
    "kind.recommendation": "Recommendations",
    "kind.presentation": "Presentation",
    "kind.agenda": "Agenda",
    "kind.session_recording": "Session recording",
    "kind.video": "Video",
    "kind.ngo_strategy": "NGO development strategy",
    "kind.other": "Material",

    "signIn.title": "Sign in",
    "signIn.heading": "Sign in for participants",
    "signIn.email": "The email you registered with",
    "signIn.submit": "Send me a sign-in link",
    "signIn.sent": "If this address is registered, we have sent a sign-in link to it. The link works for a short time and only once.",
    "signIn.failed": "Could not send the link. Please try again in a minute.",
    "signIn.offline": "No connection to the server. Please try again.",
    "signIn.expired": "This sign-in link has expired or has been used already. Please ask for a new one.",
    "signIn.linkOffline": "No connection to the server. Open the link from the email again a little later.",
    "mine.heading": "My registrations",
    "mine.sessionExpired": "Your session has expired. Please sign in again.",
    "mine.failed": "Could not load your registrations. Please reload the page a little later.",
    "mine.event": "Event",
    "mine.status": (p) => `Status: ${p.status}`,
    "mine.none": "You have no registrations yet.",
    "mine.cancel": "Cancel registration",
    "mine.confirmCancel": "Cancel the registration? Your place will go to the next person on the waiting list.",
    "mine.cancelFailed": "Could not cancel. Please try again.",
    "mine.signOut": "Sign out",
    "status.confirmed": "Confirmed",
    "status.waitlisted": "On the waiting list",
    "status.pending_approval": "Under review",
    "status.rejected": "Rejected",
    "status.cancelled": "Cancelled",
    "status.offered": "A place is offered to you",
  },
};

function storedLanguage() {
  try {
    const stored = localStorage.getItem(LANGUAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : "ru";
  } catch {
    return "ru";  // storage refused (private mode): Russian, as for a first visit
  }
}

let currentLanguage = storedLanguage();

/** The chosen language: "ru" or "en". */
function language() {
  return currentLanguage;
}

/** The Intl locale of the chosen language. */
function locale() {
  return LOCALES[currentLanguage];
}

/** A message in the chosen language; Russian when English lacks it; the key if both do. */
function t(key, params = {}) {
  const entry = MESSAGES[currentLanguage][key] ?? MESSAGES.ru[key];
  if (entry === undefined) return key;
  return typeof entry === "function" ? entry(params) : entry;
}

/** Whether a message exists (for texts known only for some values, such as server reasons). */
function hasMessage(key) {
  return key in MESSAGES[currentLanguage];
}

/** Put the chosen language on the page's fixed parts: <html lang>, title, [data-i18n]. */
function translatePage() {
  document.documentElement.lang = currentLanguage;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  const button = document.getElementById("language-switch");
  if (button) {
    button.textContent = t("language.switch");
    button.lang = t("language.switchCode");  // read out in the language it names
  }
}

/** Choose a language, remember it, and translate the fixed parts of the page. */
function setLanguage(next) {
  if (!LANGUAGES.includes(next)) return;
  currentLanguage = next;
  try { localStorage.setItem(LANGUAGE_KEY, next); } catch { /* kept for this page only */ }
  translatePage();
}
