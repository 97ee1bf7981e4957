// The Strategy's mechanisms: the catalogue operators keep (add, edit, retire; never delete),
// and the structured part of an NGO's strategy (development vector, goals with mechanisms).
import {
  api, button, busy, can, checkboxGroup, clearDraftValue, dataTable, draftValue, el, errorNotice, field,
  localProblems, notice, randomId, saveDraftValue, select, setFieldError, statusBadge, submitForm, tableWrap,
} from "./core.js";
import { section, showForThisPage } from "./page.js";

const MAX_GOALS = 10;
const MAX_MECHANISMS_PER_GOAL = 5;

// Server details about a strategy's goals, mapped to the field that shows them, in Russian.
export const GOAL_DETAILS = [
  [/^goal (\d+): choose at least one mechanism$/, (m) => `Цель ${m[1]}: выберите хотя бы один механизм Стратегии.`],
  [/^goal (\d+): unknown mechanism (\S+)$/, (m) => `Цель ${m[1]}: механизма «${m[2]}» нет в каталоге.`],
  [/^goal (\d+): mechanism (\S+) is retired/, (m) => `Цель ${m[1]}: механизм «${m[2]}» выведен из каталога, выбрать его заново нельзя.`],
  [/^goal (\d+): a mechanism is named twice$/, (m) => `Цель ${m[1]}: механизм указан дважды.`],
  [/^unknown development vector/, () => "Такого вектора развития нет в списке."],
];

function goalProblem(detail) {
  for (const [pattern, say] of GOAL_DETAILS) {
    const match = pattern.exec(detail || "");
    if (match) return { text: say(match), goal: match[1] ? Number(match[1]) - 1 : null };
  }
  return null;
}

/** The catalogue page: every entry with its task and status; operators add, edit and retire. */
export async function showMechanisms() {
  const show = showForThisPage();
  const reference = await api("content", "/mechanisms/reference");
  const taskOptions = reference.tasks.map((t) => [t.code, t.title]);
  const list = el("div", {});
  const editing = el("div", {});
  const load = async () => {
    const entries = await api("content", "/mechanisms", { query: { include_retired: true } });
    list.replaceChildren(entries.length
      ? tableWrap("Каталог механизмов", dataTable("Механизмы Стратегии государственной национальной политики",
        ["Механизм", "Код", "Задача Стратегии", "Статус", ""],
        entries.map((entry) => [
          entry.title, entry.code, entry.task_title,
          entry.status === "retired" ? statusBadge("выведен", "muted") : statusBadge("действует", "ok"),
          can("operator") ? actions(entry) : "",
        ])))
      : el("p", { text: "Каталог пуст." }));
  };
  const actions = (entry) => {
    const box = el("div", { class: "actions" });
    box.append(button("Изменить", () => {
      editing.replaceChildren(section(`Изменить: ${entry.title}`, editForm(entry, taskOptions, async () => {
        editing.replaceChildren();
        await load();
      })));
      editing.querySelector("input, select, textarea")?.focus();
    }, { class: "secondary small", "aria-label": `Изменить: «${entry.title}»` }));
    if (entry.status !== "retired") {
      const retire = button("Вывести из каталога", () => busy(retire, async () => {
        if (!window.confirm(`Вывести «${entry.title}» из каталога? Стратегии, где он уже выбран, его сохранят.`)) return;
        try {
          await api("content", `/mechanisms/${encodeURIComponent(entry.code)}/retire`, { method: "POST" });
          await load();
        } catch (error) {
          list.prepend(errorNotice(error));
        }
      }), { class: "danger small", "aria-label": `Вывести из каталога: «${entry.title}»` });
      box.append(retire);
    }
    return box;
  };
  const parts = [
    el("p", { class: "meta", text: reference.note }),
    editing,
    section("Каталог", list),
  ];
  if (can("operator")) parts.push(section("Новый механизм", addForm(taskOptions, load)));
  show("Механизмы Стратегии", ...parts);
  await load();
}

function addForm(taskOptions, reload) {
  const form = el("form", { id: "mechanism-new", novalidate: true });
  const status = el("div", { class: "form-status" });
  form.append(
    el("div", { class: "grid" },
      field(form, "code", "Код", el("input", { type: "text", maxlength: "40", autocomplete: "off" }),
        { hint: "Латиницей: строчные буквы, цифры и «_», начиная с буквы (например, youth_forums). Код потом не меняется." }),
      field(form, "task_code", "Задача Стратегии", select(taskOptions, { empty: "— выберите —" }))),
    field(form, "title", "Название механизма", el("textarea", { rows: "2", maxlength: "300" }), { wide: true }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Добавить в каталог" })),
    status);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const added = await submitForm(form, status, async () => {
      const body = { code: value("code"), title: value("title"), task_code: value("task_code") };
      const problems = {};
      if (!/^[a-z][a-z0-9_]{1,39}$/.test(body.code)) problems.code = "Код: латинские строчные буквы, цифры и «_», от 2 до 40 знаков, начиная с буквы.";
      if (body.title.length < 3) problems.title = "Назовите механизм.";
      if (!body.task_code) problems.task_code = "Выберите задачу Стратегии.";
      localProblems(form, problems);
      const key = sessionStorage.getItem("etnik-console-mechanism-key") || randomId();
      sessionStorage.setItem("etnik-console-mechanism-key", key);
      const stored = await api("content", "/mechanisms", { method: "POST", body, idempotencyKey: key });
      sessionStorage.removeItem("etnik-console-mechanism-key");
      return stored;
    }, { detailFields: [[/exists already/, "code"], [/unknown task/, "task_code"]] });
    if (!added) return;
    form.reset();
    status.replaceChildren(notice(`Механизм «${added.title}» добавлен в каталог.`));
    await reload();
  });
  return form;
}

function editForm(entry, taskOptions, done) {
  const form = el("form", { id: `mechanism-${entry.code}`, novalidate: true });
  const status = el("div", { class: "form-status" });
  const title = el("textarea", { rows: "2", maxlength: "300" });
  title.value = entry.title;
  form.append(
    field(form, "title", "Название механизма", title, { wide: true }),
    field(form, "task_code", "Задача Стратегии", select(taskOptions, { value: entry.task_code })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Сохранить" }),
      button("Отмена", () => done(), { class: "secondary" })),
    status);
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const saved = await submitForm(form, status, () => api("content", `/mechanisms/${encodeURIComponent(entry.code)}`, {
      method: "PATCH",
      body: { title: form.elements.title.value.trim(), task_code: form.elements.task_code.value, version: entry.version },
    }), { detailFields: [[/unknown task/, "task_code"]] });
    if (saved) await done();
  });
  return form;
}

/**
 * The vector and goals of a strategy inside its form: returns the node to place and
 * `changes()`, the part of the PATCH body that differs from what is stored ({} if nothing).
 */
export async function strategyStructure(form, strategy, editable, draftKey) {
  const [reference, catalogue] = await Promise.all([
    api("content", "/mechanisms/reference"),
    api("content", "/mechanisms", { query: { include_retired: true } }),
  ]);
  const stored = { vector: strategy.vector || null, goals: strategy.goals || [] };
  const chosenBefore = new Set(stored.goals.flatMap((goal) => goal.mechanisms));
  // Retired entries are offered only where the strategy already chose them.
  const options = catalogue
    .filter((m) => m.status !== "retired" || chosenBefore.has(m.code))
    .map((m) => [m.code, m.status === "retired" ? `${m.title} (выведен из каталога)` : m.title]);
  const draft = editable ? draftValue(draftKey) : null;
  let goals = (draft && draft.goals) || stored.goals.map((g) => ({ text: g.text, mechanisms: [...g.mechanisms] }));
  const keep = () => { if (editable) saveDraftValue(draftKey, { goals }); };

  const vectorKind = select(reference.vectors.map((v) => [v.code, v.title]), { value: stored.vector?.kind || "", empty: "— не выбран —" });
  const vectorText = el("textarea", { rows: "3", maxlength: "2000", readonly: !editable });
  vectorText.value = stored.vector?.text || "";
  vectorKind.disabled = !editable;

  const rows = el("div", { class: "goals" });
  const render = (focusIndex) => {
    rows.replaceChildren(...goals.map((goal, index) => goalRow(goal, index)));
    if (focusIndex !== undefined) rows.querySelector(`[name="goals.${focusIndex}.text"]`)?.focus();
    add.hidden = !editable || goals.length >= MAX_GOALS;
  };
  const goalRow = (goal, index) => {
    const text = el("textarea", { rows: "2", maxlength: "500", readonly: !editable });
    text.value = goal.text;
    const group = checkboxGroup(form, `goals.${index}.mechanisms`, "Механизмы Стратегии для этой цели", options,
      { selected: goal.mechanisms, hint: `От одного до ${MAX_MECHANISMS_PER_GOAL}.`, scroll: true });
    for (const box of group.querySelectorAll("input")) box.disabled = !editable;
    const fieldset = el("fieldset", { class: "group" },
      el("legend", { text: `Цель ${index + 1}` }),
      field(form, `goals.${index}.text`, "Цель", text, { wide: true }),
      group,
      editable ? el("div", { class: "actions" }, button("Удалить цель", () => { goals.splice(index, 1); keep(); render(); },
        { class: "danger small", "aria-label": `Удалить цель ${index + 1}` })) : null);
    const sync = () => {
      goals[index] = {
        text: text.value.trim(),
        mechanisms: Array.from(group.querySelectorAll("input:checked"), (box) => box.value),
      };
      keep();
    };
    fieldset.addEventListener("input", sync);
    fieldset.addEventListener("change", sync);
    return fieldset;
  };
  const add = button("Добавить цель", () => {
    goals.push({ text: "", mechanisms: [] });
    keep();
    render(goals.length - 1);
  }, { class: "secondary" });
  render();

  const node = el("div", { class: "strategy-structure" },
    el("div", { class: "grid" },
      field(form, "vector.kind", "Вектор развития", vectorKind),
      field(form, "vector.text", "Вектор своими словами", vectorText, { wide: true })),
    el("h3", { text: "Цели и механизмы Стратегии государственной национальной политики" }),
    el("p", { class: "error", "data-error-for": "goals" }),
    goals.length || editable ? rows : el("p", { text: "Цели пока не указаны." }),
    el("div", { class: "actions" }, add));

  const changes = () => {
    const body = {};
    const vector = vectorKind.value ? { kind: vectorKind.value, text: vectorText.value.trim() } : null;
    if (JSON.stringify(vector) !== JSON.stringify(stored.vector)) body.vector = vector;
    const wanted = goals.filter((g) => g.text || g.mechanisms.length);
    const problems = {};
    wanted.forEach((goal, index) => {
      if (!goal.text) problems[`goals.${index}.text`] = "Сформулируйте цель.";
      if (!goal.mechanisms.length) problems[`goals.${index}.mechanisms`] = "Выберите хотя бы один механизм Стратегии.";
      else if (goal.mechanisms.length > MAX_MECHANISMS_PER_GOAL) problems[`goals.${index}.mechanisms`] = `Не больше ${MAX_MECHANISMS_PER_GOAL} механизмов на цель.`;
    });
    localProblems(form, problems);
    if (JSON.stringify(wanted) !== JSON.stringify(stored.goals)) body.goals = wanted;
    return body;
  };
  /** Send the save; a refused goal or vector is shown at its field, in Russian. */
  const guard = async (request, status) => {
    try {
      return await request();
    } catch (error) {
      const problem = goalProblem(error && error.detail);
      if (!problem) throw error;
      const name = problem.goal === null ? "vector.kind" : `goals.${problem.goal}.mechanisms`;
      if (!setFieldError(form, name, problem.text)) setFieldError(form, "goals", problem.text);
      form.querySelector(`[name="${CSS.escape(name)}"]`)?.focus();
      status.replaceChildren(notice("Исправьте отмеченные поля.", { problem: true }));
      const placed = new Error("shown at the field");
      placed.local = true;
      throw placed;
    }
  };
  return { node, changes, guard, clearDraft: () => clearDraftValue(draftKey) };
}
