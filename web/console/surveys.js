// Post-event feedback: the operator's survey editor, the invitation to answer and the counted answers.
import {
  ApiError, api, busy, button, checkbox, clearDraftValue, draftValue, el, errorNotice, events, field,
  localProblems, notice, saveDraftValue, select, submitForm,
} from "./core.js";
import { section, showForThisPage } from "./page.js";

const KINDS = [["rating", "Оценка от 1 до 5"], ["text", "Свободный ответ"]];
// What a new survey starts from: the two questions almost every organiser asks.
const STARTER = [
  { id: "overall", kind: "rating", label: "Насколько полезным было мероприятие?", required: true },
  { id: "comment", kind: "text", label: "Что стоит изменить в следующий раз?", required: false },
];

/** The survey of one event: questions (a new version on each save), sending, and the answers so far. */
export async function showSurvey(eventId) {
  const show = showForThisPage();
  const path = `/events/${encodeURIComponent(eventId)}/survey`;
  const [all, current, feedback] = await Promise.all([
    events(),
    api("registration", path).catch((error) => {
      if (error instanceof ApiError && error.status === 404) return null;  // no survey yet
      throw error;
    }),
    api("reporting", "/feedback", { query: { event_id: eventId } }).catch(() => null),
  ]);
  const event = all.find((e) => e.id === eventId);
  const draftKey = `survey-${eventId}`;
  const saved = draftValue(draftKey);
  let questions = saved || (current ? current.questions.map((q) => ({ ...q })) : STARTER.map((q) => ({ ...q })));
  const form = el("form", { id: "survey", novalidate: true });
  const rows = el("div", { class: "questions" });
  const status = el("div", { class: "form-status" });
  const keep = () => saveDraftValue(draftKey, questions);

  const render = (focusIndex) => {
    rows.replaceChildren(...questions.map((question, index) => questionRow(question, index)));
    if (!questions.length) rows.append(el("p", { text: "Вопросов нет: добавьте хотя бы один." }));
    if (focusIndex !== undefined) {
      const target = rows.querySelector(`[name="questions.${focusIndex}.label"]`);
      if (target) target.focus();
    }
  };
  const questionRow = (question, index) => {
    const kind = select(KINDS, { value: question.kind || "rating" });
    const id = el("input", { type: "text", value: question.id || "", autocomplete: "off", spellcheck: "false", maxlength: "40" });
    const label = el("input", { type: "text", value: question.label || "", maxlength: "500" });
    const required = checkbox(form, `questions.${index}.required`, "Обязательный вопрос", { checked: Boolean(question.required) });
    const sync = () => {
      questions[index] = {
        id: id.value.trim(), label: label.value.trim(), kind: kind.value,
        required: required.querySelector("input").checked,
      };
      keep();
    };
    const fieldset = el("fieldset", { class: "group question" },
      el("legend", { text: `Вопрос ${index + 1}` }),
      el("div", { class: "grid" },
        field(form, `questions.${index}.label`, "Текст вопроса", label),
        field(form, `questions.${index}.id`, "Ключ вопроса (латиницей)", id, { hint: "Сохраняется между версиями, например overall." }),
        field(form, `questions.${index}.kind`, "Тип ответа", kind),
      ),
      required,
      el("p", { class: "error", "data-error-for": `questions.${index}` }),
      el("div", { class: "actions" },
        button("Удалить", () => { questions.splice(index, 1); keep(); render(Math.max(0, index - 1)); },
          { class: "danger small", "aria-label": `Удалить вопрос ${index + 1}` })),
    );
    fieldset.addEventListener("input", sync);
    fieldset.addEventListener("change", sync);
    return fieldset;
  };
  render();
  form.append(
    el("p", { class: "hint", text: current
      ? `Текущая версия опроса: ${current.version}. Сохранение создаёт новую версию; уже данные ответы сохраняют свою.`
      : "У мероприятия пока нет опроса. Ответы анонимны: в отчёте видны только оценки и тексты, без имён." }),
    rows,
    el("p", { class: "error", "data-error-for": "questions" }),
    el("div", { class: "actions" },
      button("Добавить вопрос", () => {
        questions.push({ id: "", label: "", kind: "rating", required: false });
        keep();
        render(questions.length - 1);
      }, { class: "secondary" }),
      el("button", { type: "submit", text: "Сохранить опрос" })),
    status,
  );
  if (saved) status.append(notice("Восстановлены несохранённые изменения опроса."));
  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    const result = await submitForm(form, status, () => {
      const body = { questions: questions.map((q) => ({ id: q.id, kind: q.kind, label: q.label, required: Boolean(q.required) })) };
      const problems = {};
      if (!body.questions.length) problems.questions = "Добавьте хотя бы один вопрос.";
      const seen = new Set();
      body.questions.forEach((q, index) => {
        if (!q.label) problems[`questions.${index}.label`] = "Введите текст вопроса.";
        if (!/^[a-z][a-z0-9_]{0,39}$/.test(q.id)) {
          problems[`questions.${index}.id`] = "Ключ: латинские строчные буквы, цифры и _, начиная с буквы.";
        } else if (seen.has(q.id)) {
          problems[`questions.${index}.id`] = "Такой ключ уже есть в опросе.";
        }
        seen.add(q.id);
      });
      localProblems(form, problems);
      return api("registration", path, { method: "PUT", body });
    });
    if (!result) return;
    clearDraftValue(draftKey);
    questions = result.questions.map((q) => ({ ...q }));
    render();
    status.replaceChildren(notice(event?.status === "completed"
      ? `Опрос сохранён: версия ${result.version}. Посетившие мероприятие получат приглашение ответить.`
      : `Опрос сохранён: версия ${result.version}. Посетившие получат его после завершения мероприятия.`));
  });

  const sendStatus = el("div", { class: "form-status" });
  const send = button("Разослать приглашения ответить", () => busy(send, async () => {
    sendStatus.replaceChildren();
    try {
      const sent = await api("registration", `${path}/send`, { method: "POST" });
      sendStatus.replaceChildren(notice(sent.invited
        ? `Приглашения отправлены: ${sent.invited}.`
        : "Новых адресатов нет: все посетившие уже получили приглашение."));
    } catch (error) {
      sendStatus.replaceChildren(errorNotice(error));
    }
  }), { class: "secondary" });

  show(`Опрос после мероприятия${event ? `: ${event.title}` : ""}`,
    el("p", {}, el("a", { href: "#/events", text: "← К мероприятиям" })),
    section("Вопросы опроса", form),
    event?.status === "completed"
      ? section("Рассылка", el("p", { class: "hint", text: "Тем, чьё посещение отмечено позже завершения. Никто не получит приглашение дважды." }), send, sendStatus)
      : null,
    section("Ответы", answersView(feedback)));
}

/** The answers counted by reporting for this event: means, distributions and comments, anonymous. */
function answersView(feedback) {
  const summary = feedback?.by_event?.[0];
  if (!summary) return el("p", { text: "Ответов пока нет." });
  const parts = [el("p", { text: `Ответов: ${summary.answers}.` })];
  for (const rating of summary.ratings) {
    const spread = Object.entries(rating.distribution).map(([score, count]) => `${score}: ${count}`).join(", ");
    parts.push(el("p", {}, el("strong", { text: rating.label }), ` — средняя оценка ${String(rating.mean).replace(".", ",")} (${spread})`));
  }
  for (const comment of summary.comments) {
    parts.push(el("h3", { text: comment.label }), el("ul", {}, ...comment.texts.map((text) => el("li", { text }))));
  }
  return el("div", { class: "answers" }, ...parts);
}
