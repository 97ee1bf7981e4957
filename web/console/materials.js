// Materials (files, versions, review workflow), media mentions and NGO development strategies.
import {
  ApiError, api, busy, button, can, checkboxGroup, clearErrors, dataTable, download, el, errorNotice, eventOptions,
  events, fetchAll, field, formatDate, formatDateTime, keepDraft, localProblems, notice, put, randomId, select,
  setFieldError, statusBadge, submitForm, tableWrap,
} from "./core.js";
import { flashNext, navigate, section, show, showForThisPage } from "./page.js";
import { videoSection } from "./video.js";
import { strategyStructure } from "./mechanisms.js";

const KINDS = {
  methodological_collection: "Методический сборник",
  recommendation: "Рекомендации",
  presentation: "Презентация",
  agenda: "Программа мероприятия",
  session_recording: "Запись сессии",
  video: "Видео",
  ngo_strategy: "Стратегия НКО",
  other: "Другое",
};
const STATUSES = { draft: "Черновик", in_review: "На проверке", published: "Опубликован", archived: "В архиве" };
const STATUS_KIND = { draft: "muted", in_review: "info", published: "ok", archived: "muted" };
const ACCESS = { public: "Всем", participants: "Только участникам мероприятия", operators: "Только организаторам" };
const DISTRICTS = ["ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"];
const ACTIONS = { create: "создан", edit: "изменён", file: "загружен файл", compile: "собран из материалов", submit: "отправлен на проверку", approve: "одобрен и опубликован", reject: "возвращён на доработку", archive: "снят с публикации", chapters: "изменены главы видео", subtitles: "изменены субтитры" };

function size(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} МБ`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} КБ`;
  return `${bytes} Б`;
}

// --- Materials ------------------------------------------------------------------------------

export async function showMaterials() {
  const show = showForThisPage();
  const form = el("form", { id: "materials-filter", class: "filters" });
  form.append(
    field(form, "q", "Поиск по словам", el("input", { type: "search" })),
    field(form, "status", "Состояние", select(Object.entries(STATUSES), { empty: "Все" })),
    field(form, "kind", "Вид", select(Object.entries(KINDS), { empty: "Все виды" })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Найти" })));
  const list = el("div");
  const load = async () => {
    list.replaceChildren(el("p", { role: "status", text: "Загружаем материалы…" }));
    try {
      const page = await api("content", "/materials", {
        query: { q: form.elements.q.value.trim(), status: form.elements.status.value, kind: form.elements.kind.value, limit: 100 },
      });
      put(list,
        el("p", { role: "status", text: `Найдено: ${page.total}.` }),
        page.items.length ? el("ul", { class: "cards" }, ...page.items.map((material) => el("li", { class: "card" },
          el("h2", {}, el("a", { href: `#/materials/${material.id}`, text: material.title })),
          el("p", {}, statusBadge(STATUSES[material.status], STATUS_KIND[material.status]), " ",
            el("span", { class: "meta", text: `${KINDS[material.kind]} · версия ${material.version}${material.file ? ` · ${material.file.filename}, ${size(material.file.size)}` : " · без файла"}` })),
        ))) : null);
    } catch (error) {
      list.replaceChildren(errorNotice(error));
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  show("Материалы",
    can("operator") ? el("p", {}, el("a", { class: "button", href: "#/materials/new", text: "Новый материал" })) : null,
    form, list);
  await load();
}

export async function showMaterialForm() {
  const show = showForThisPage();
  const allEvents = await events().catch(() => []);
  const form = el("form", { id: "material-new", novalidate: true });
  const status = el("div", { class: "form-status" });
  const file = el("input", { type: "file" });
  form.append(
    el("div", { class: "grid" },
      field(form, "kind", "Вид материала", select(Object.entries(KINDS), { empty: "— выберите —" })),
      field(form, "access", "Кому доступен после публикации", select(Object.entries(ACCESS), { value: "public" }))),
    field(form, "title", "Название", el("input", { type: "text", maxlength: "300" }), { wide: true }),
    field(form, "description", "Описание", el("textarea", { rows: "4" }), { wide: true }),
    el("div", { class: "grid" },
      field(form, "event_id", "Мероприятие", select(eventOptions(allEvents), { empty: "— не относится —" })),
      field(form, "federal_district", "Федеральный округ", select(DISTRICTS.map((d) => [d, d]), { empty: "— не указан —" })),
      field(form, "tags", "Теги через запятую", el("input", { type: "text" }), { hint: "Например: стратегия, грант" }),
      field(form, "video_url", "Ссылка на видео", el("input", { type: "url", inputmode: "url" }), { hint: "Для вида «Видео»: VK Видео, RUTUBE или другой адрес — или загрузите файл MP4 вместо ссылки." })),
    field(form, "file", "Файл (можно загрузить и позже)", file, { hint: "PDF, документы, таблицы, презентации, изображения, аудио и видео. Тип проверяется по содержимому." }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Создать черновик" }), el("a", { href: "#/materials", text: "Отмена" })),
    status);
  const draft = keepDraft(form, "material-new");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitForm(form, status, async () => {
      const value = (name) => form.elements[name].value.trim();
      const body = {
        kind: value("kind"), title: value("title"), access: value("access"),
        description: value("description") || null,
        event_id: value("event_id") || null,
        federal_district: value("federal_district") || null,
        tags: value("tags") ? value("tags").split(",").map((t) => t.trim()).filter(Boolean) : [],
        video_url: value("video_url") || null,
      };
      localProblems(form, {
        ...(body.kind ? {} : { kind: "Выберите вид материала." }),
        ...(body.title ? {} : { title: "Введите название." }),
      });
      for (const name of Object.keys(body)) if (body[name] === null) delete body[name];
      const key = sessionStorage.getItem("etnik-console-material-key") || randomId();
      sessionStorage.setItem("etnik-console-material-key", key);
      const material = await api("content", "/materials", { method: "POST", body, idempotencyKey: key });
      sessionStorage.removeItem("etnik-console-material-key");
      return material;
    }, { detailFields: [[/event_id/, "event_id"], [/video_url/, "video_url"]] });
    if (!created) return;
    draft.clear();
    if (file.files[0]) {
      try {
        await upload(created.id, file.files[0]);
        flashNext("Черновик создан, файл загружен.");
      } catch (error) {
        flashNext(`Черновик создан, но файл не загружен: ${errorText(error)} Загрузите его ещё раз ниже.`);
      }
    } else flashNext("Черновик создан. Загрузите файл и отправьте материал на проверку.");
    navigate(`#/materials/${created.id}`);
  });
  show("Новый материал", el("p", {}, el("a", { href: "#/materials", text: "← К материалам" })), form);
}

function errorText(error) {
  return error instanceof ApiError ? errorNotice(error).textContent : "неизвестная ошибка.";
}

function upload(materialId, file) {
  return api("content", `/materials/${encodeURIComponent(materialId)}/file`, {
    method: "PUT", query: { filename: file.name }, body: file, headers: { "Content-Type": "application/octet-stream" },
  });
}

export async function showMaterial(materialId) {
  const show = showForThisPage();
  const material = await api("content", `/materials/${encodeURIComponent(materialId)}`);
  const allEvents = await events().catch(() => []);
  const pageStatus = el("div", { class: "page-status", tabindex: "-1" });
  const reload = async (message) => {
    if (message) flashNext(message);
    navigate(`#/materials/${materialId}`);
  };

  const workflow = el("div", { class: "actions" });
  const comment = el("textarea", { rows: "2", maxlength: "2000" });
  const workflowForm = el("form", { id: "workflow", novalidate: true });
  workflowForm.addEventListener("submit", (event) => event.preventDefault());
  const step = (action, label, done, attributes = {}) => {
    const control = button(label, () => busy(control, async () => {
      clearErrors(workflowForm);
      if (action === "reject" && !comment.value.trim()) {
        setFieldError(workflowForm, "comment", "Напишите, что нужно исправить: автор увидит комментарий.");
        comment.focus();
        return;
      }
      try {
        await api("content", `/materials/${encodeURIComponent(materialId)}/${action}`, {
          method: "POST", body: { comment: comment.value.trim() || null },
        });
        reload(done);
      } catch (error) {
        pageStatus.replaceChildren(errorNotice(error));
        pageStatus.focus();
      }
    }), attributes);
    workflow.append(control);
  };
  if (material.status === "draft" && can("operator")) step("submit", "Отправить на проверку", "Материал отправлен на проверку.");
  if (material.status === "in_review" && can("moderator")) {
    step("approve", "Одобрить и опубликовать", "Материал опубликован.");
    step("reject", "Вернуть на доработку", "Материал возвращён автору на доработку.", { class: "danger" });
  }
  if (material.status === "published" && can("operator", "moderator")) step("archive", "Снять с публикации", "Материал снят с публикации.", { class: "danger" });
  if (workflow.children.length) {
    workflowForm.append(field(workflowForm, "comment", "Комментарий к шагу (для возврата на доработку — обязательно)", comment, { wide: true }), workflow);
  }

  const fileForm = el("form", { id: "material-file", novalidate: true });
  const fileInput = el("input", { type: "file" });
  const fileStatus = el("div", { class: "form-status" });
  fileForm.append(field(fileForm, "file", material.file ? "Новая версия файла" : "Файл материала", fileInput),
    el("button", { type: "submit", text: "Загрузить" }), fileStatus);
  fileForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = fileInput.files[0];
    const done = await submitForm(fileForm, fileStatus, () => {
      localProblems(fileForm, chosen ? {} : { file: "Выберите файл." });
      fileStatus.replaceChildren(el("p", { role: "status", text: `Загружаем «${chosen.name}» (${size(chosen.size)})…` }));
      return upload(materialId, chosen);
    });
    if (done) reload(`Файл «${chosen.name}» загружен: версия ${done.version}.`);
  });

  const downloadStatus = el("div", { role: "status" });
  const fetchFile = (path, name) => async () => {
    try {
      const file = await download("content", path, null, name);
      downloadStatus.replaceChildren(el("p", { text: `Файл «${file.name}» скачан.` }));
    } catch (error) {
      downloadStatus.replaceChildren(errorNotice(error));
    }
  };
  const versions = await api("content", `/materials/${encodeURIComponent(materialId)}/versions`).catch(() => []);
  const eventTitle = allEvents.find((e) => e.id === material.event_id)?.title;
  show(material.title,
    el("p", {}, el("a", { href: "#/materials", text: "← К материалам" })),
    pageStatus,
    el("dl", { class: "facts" }, ...[
      ["Состояние", STATUSES[material.status]], ["Вид", KINDS[material.kind]], ["Версия", String(material.version)],
      ["Доступ", ACCESS[material.access]], ["Мероприятие", eventTitle || "—"], ["Округ", material.federal_district || "—"],
      ["Теги", material.tags.join(", ") || "—"], ["Обновлён", formatDateTime(material.updated_at)],
      ["Файл", material.file ? `${material.file.filename}, ${size(material.file.size)}` : "нет"],
    ].flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })])),
    material.description ? el("p", { class: "description", text: material.description }) : null,
    material.file ? el("p", {}, button("Скачать файл", fetchFile(`/materials/${materialId}/file`, material.file.filename), { class: "secondary" }), downloadStatus) : null,
    workflow.children.length ? section("Публикация", workflowForm) : null,
    can("operator") && !["in_review", "archived"].includes(material.status) ? section("Файл", fileForm) : null,
    can("operator") ? videoSection(material, reload) : null,
    section("Версии", versions.length ? tableWrap("Версии материала", dataTable("История версий",
      ["Версия", "Что сделано", "Когда", "Изменения", "Комментарий", "Файл"],
      versions.slice().reverse().map((version) => [
        String(version.version), ACTIONS[version.action] || version.action, formatDateTime(version.at),
        version.changes.join(", ") || "—", version.comment || "—",
        version.state && version.state.file
          ? button("Скачать", fetchFile(`/materials/${materialId}/versions/${version.version}/file`, version.state.file.filename),
            { class: "secondary small", "aria-label": `Скачать файл версии ${version.version}` })
          : "—",
      ]))) : el("p", { text: "Истории версий пока нет." })));
}

// --- Media mentions -------------------------------------------------------------------------

const MEDIA_TYPES = { print: "Печатное СМИ", online: "Интернет-СМИ", tv: "Телевидение", radio: "Радио", social: "Соцсети", other: "Другое" };

export async function showMedia() {
  const show = showForThisPage();
  const allEvents = await events().catch(() => []);
  const titles = new Map(allEvents.map((event) => [event.id, event.title]));
  const list = el("div");
  const load = async () => {
    list.replaceChildren(el("p", { role: "status", text: "Загружаем публикации…" }));
    try {
      const mentions = await fetchAll("content", "/media-mentions", {}, { pageSize: 200, max: 2000 });
      list.replaceChildren(mentions.length ? tableWrap("Публикации в СМИ", dataTable(`Публикаций: ${mentions.length}`,
        ["Дата", "Издание", "Заголовок", "Тип", "Охват", "Мероприятия"],
        mentions.map((m) => [
          formatDate(m.published_on), m.outlet,
          el("a", { href: m.url, rel: "noopener noreferrer", target: "_blank", text: m.title || m.url }),
          MEDIA_TYPES[m.type] || m.type, m.audience_reach != null ? m.audience_reach.toLocaleString("ru-RU") : "—",
          m.event_ids.map((id) => titles.get(id) || id).join("; ") || "—",
        ]))) : el("p", { text: "Публикаций пока нет." }));
    } catch (error) {
      list.replaceChildren(errorNotice(error));
    }
  };
  const form = el("form", { id: "media-new", novalidate: true });
  const status = el("div", { class: "form-status" });
  form.append(
    field(form, "url", "Ссылка на публикацию", el("input", { type: "url", inputmode: "url" }), { wide: true }),
    el("div", { class: "grid" },
      field(form, "outlet", "Издание, сайт или канал", el("input", { type: "text" })),
      field(form, "title", "Заголовок", el("input", { type: "text" })),
      field(form, "published_on", "Дата публикации", el("input", { type: "date" })),
      field(form, "type", "Тип СМИ", select(Object.entries(MEDIA_TYPES), { empty: "— выберите —" })),
      field(form, "audience_reach", "Охват (оценка)", el("input", { type: "number", min: "0", inputmode: "numeric" }))),
    checkboxGroup(form, "event_ids", "О каких мероприятиях", eventOptions(allEvents.filter((e) => e.status !== "draft")), { scroll: true }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Добавить публикацию" })),
    status);
  const draft = keepDraft(form, "media-new");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitForm(form, status, () => {
      const value = (name) => form.elements[name].value.trim();
      const body = {
        url: value("url"), outlet: value("outlet"), title: value("title") || null, published_on: value("published_on"),
        type: value("type"), event_ids: Array.from(form.querySelectorAll("input[name=event_ids]:checked"), (box) => box.value),
      };
      if (value("audience_reach") !== "") body.audience_reach = Number(value("audience_reach"));
      localProblems(form, {
        ...(body.url ? {} : { url: "Вставьте ссылку на публикацию." }),
        ...(body.outlet ? {} : { outlet: "Укажите издание." }),
        ...(body.published_on ? {} : { published_on: "Укажите дату публикации." }),
        ...(body.type ? {} : { type: "Выберите тип СМИ." }),
      });
      return api("content", "/media-mentions", { method: "POST", body });
    }, { detailFields: [[/URL/, "url"], [/unknown event/, "event_ids"]] });
    if (!created) return;
    draft.clear();
    form.reset();
    status.replaceChildren(notice(`Публикация «${created.outlet}» учтена.`));
    await load();
  });
  show("Публикации в СМИ", section("Новая публикация", form), section("Учтённые публикации", list));
  await load();
}

// --- NGO strategies -------------------------------------------------------------------------

export async function showStrategies(params) {
  const show = showForThisPage();
  const organisations = await fetchAll("registration", "/organisations");
  const organisationId = params.get("organisation_id") || "";
  const picker = el("form", { id: "strategy-organisation", class: "filters" });
  picker.append(field(picker, "organisation_id", "Организация",
    select(organisations.map((o) => [o.id, `${o.name}${o.region_code ? ` (${o.region_code})` : ""}`]), { value: organisationId, empty: "— выберите —" })),
  el("div", { class: "actions" }, el("button", { type: "submit", text: "Открыть" })));
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/strategies?organisation_id=${encodeURIComponent(picker.elements.organisation_id.value)}`);
  });
  if (!organisationId) {
    show("Стратегии НКО", picker, el("p", { text: organisations.length ? "Выберите организацию." : "В базе пока нет организаций." }));
    return;
  }
  let strategy;
  try {
    strategy = await api("content", `/strategies/${encodeURIComponent(organisationId)}`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    const status = el("div", { role: "status" });
    const create = can("operator") ? button("Создать стратегию по шаблону", () => busy(create, async () => {
      try {
        await api("content", "/strategies", { method: "POST", body: { organisation_id: organisationId } });
        flashNext("Стратегия создана по шаблону: разделы об организации и её участии заполнены.");
        navigate(`#/strategies?organisation_id=${encodeURIComponent(organisationId)}`);
      } catch (failure) {
        status.replaceChildren(errorNotice(failure));
      }
    })) : null;
    show("Стратегии НКО", picker, el("p", { text: "У этой организации ещё нет стратегии развития." }), create, status);
    return;
  }
  const form = el("form", { id: `strategy-${organisationId}`, novalidate: true });
  const status = el("div", { class: "form-status" });
  const editable = can("operator");
  // The development vector and the goals with the Strategy's mechanisms (mechanisms.js).
  const structure = await strategyStructure(form, strategy, editable, `strategy-${organisationId}-goals-v${strategy.version}`);
  form.append(structure.node);
  for (const [key, heading] of Object.entries(strategy.headings)) {
    const area = el("textarea", { rows: "6", readonly: !editable, maxlength: "20000" });
    area.value = strategy.sections[key] || "";
    form.append(field(form, `sections.${key}`, heading, area, { wide: true }));
  }
  if (editable) form.append(el("div", { class: "actions" }, el("button", { type: "submit", text: "Сохранить стратегию" })), status);
  // The draft remembers the version it was typed on, so a stale one is not sent blindly.
  const draft = editable ? keepDraft(form, `strategy-${organisationId}-v${strategy.version}`) : null;
  if (draft && draft.restored) status.append(notice("Восстановлены несохранённые правки."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await submitForm(form, status, () => {
      const sections = {};
      for (const key of Object.keys(strategy.headings)) {
        const value = form.elements[`sections.${key}`].value;
        if (value !== (strategy.sections[key] || "")) sections[key] = value;
      }
      const structured = structure.changes();
      if (!Object.keys(sections).length && !Object.keys(structured).length) {
        status.replaceChildren(notice("Изменений нет."));
        const stop = new Error("nothing to save");
        stop.local = true;
        throw stop;
      }
      return structure.guard(() => api("content", `/strategies/${encodeURIComponent(organisationId)}`, {
        method: "PATCH", body: { sections, ...structured, expected_version: strategy.version },
      }), status);
    });
    if (!saved) return;
    draft.clear();
    structure.clearDraft();
    flashNext(`Стратегия сохранена: версия ${saved.version}.`);
    navigate(`#/strategies?organisation_id=${encodeURIComponent(organisationId)}`);
  });
  const pdfStatus = el("div", { role: "status" });
  const pdf = button("Скачать PDF", () => busy(pdf, async () => {
    try {
      const file = await download("content", `/strategies/${encodeURIComponent(organisationId)}/pdf`, null, "strategy.pdf");
      pdfStatus.replaceChildren(el("p", { text: `Файл «${file.name}» скачан.` }));
    } catch (error) {
      pdfStatus.replaceChildren(errorNotice(error));
    }
  }), { class: "secondary" });
  const versions = await api("content", `/strategies/${encodeURIComponent(organisationId)}/versions`).catch(() => []);
  show(`Стратегия: ${strategy.organisation_name || "организация"}`, picker,
    el("p", { class: "meta", text: `Версия ${strategy.version}, обновлена ${formatDateTime(strategy.updated_at)}.` }),
    el("div", { class: "actions" }, pdf), pdfStatus,
    section("Вектор, цели и разделы", form),
    section("Версии", versions.length ? tableWrap("Версии стратегии", dataTable("История версий", ["Версия", "Когда", "Изменённые разделы"],
      versions.slice().reverse().map((v) => [String(v.version), formatDateTime(v.at), v.changes.map((c) => ({ ...strategy.headings, vector: "Вектор развития", goal_list: "Цели и механизмы" })[c] || c).join(", ") || "—"])))
      : el("p", { text: "Истории пока нет." })));
}

