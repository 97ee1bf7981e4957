// Partnerships formed in the programme: record one (parties from the directory or named here,
// the agreement's file kept in the content service) and the registry, newest first.
import {
  api, button, can, clearDraftValue, dataTable, draftValue, el, errorNotice, eventOptions, events, fetchAll,
  field, localProblems, notice, randomId, reference, saveDraftValue, select, statusBadge, submitForm, tableWrap,
} from "./core.js";
import { section, showForThisPage } from "./page.js";

export const SECTORS = {
  ngo: "НКО",
  authority: "Орган власти",
  business: "Бизнес",
  media: "СМИ",
  education: "Образование и наука",
  other: "Другое",
};
const DRAFT = "partnership-new";

/** The registry and, for operators, the form that records a new partnership. */
export async function showPartnerships() {
  const show = showForThisPage();
  const [organisations, allEvents, districts] = await Promise.all([
    fetchAll("registration", "/organisations"),
    events().catch(() => []),
    reference.districts().catch(() => []),
  ]);
  const list = el("div", {});
  const load = async () => {
    const found = await api("registration", "/partnerships", { query: { limit: 200 } });
    const titles = new Map(allEvents.map((event) => [event.id, event.title]));
    list.replaceChildren(found.length
      ? tableWrap("Партнёрства", dataTable("Партнёрства, новые сверху", ["Дата", "Предмет", "Стороны", "Округ", "Мероприятие", "Статус"],
        found.map((p) => [
          p.formed_on, p.subject,
          p.parties.map((party) => `${party.name} (${SECTORS[party.sector] || party.sector})`).join("; "),
          p.federal_district, titles.get(p.event_id) || "—",
          p.status === "ended" ? statusBadge(`завершено ${p.ended_on}`, "muted") : statusBadge("действует", "ok"),
        ])))
      : el("p", { text: "Партнёрств пока нет." }));
  };
  const parts = [section("Партнёрства программы", list)];
  if (can("operator")) parts.unshift(section("Новое партнёрство", recordForm(organisations, allEvents, districts, load)));
  show("Партнёрства", ...parts);
  await load();
}

function recordForm(organisations, allEvents, districts, reload) {
  const form = el("form", { id: "partnership", novalidate: true });
  const status = el("div", { class: "form-status" });
  const rows = el("div", { class: "parties" });
  let parties = draftValue(DRAFT) || [{ organisation_id: "", name: "", sector: "" }, { organisation_id: "", name: "", sector: "" }];
  const keep = () => saveDraftValue(DRAFT, parties);
  const organisationOptions = organisations.map((o) => [o.id, `${o.name}${o.region_code ? ` (${o.region_code})` : ""}`]);

  const render = (focusIndex) => {
    rows.replaceChildren(...parties.map((party, index) => partyRow(party, index)));
    if (focusIndex !== undefined) rows.querySelector(`[name="parties.${focusIndex}.organisation_id"]`)?.focus();
  };
  const partyRow = (party, index) => {
    const organisation = select(organisationOptions, { value: party.organisation_id, empty: "— нет в базе —" });
    const name = el("input", { type: "text", value: party.name, maxlength: "500" });
    const sector = select(Object.entries(SECTORS), { value: party.sector, empty: "— по виду организации —" });
    const outside = () => { name.disabled = Boolean(organisation.value); };
    organisation.addEventListener("change", outside);
    outside();
    const fieldset = el("fieldset", { class: "group" },
      el("legend", { text: `Сторона ${index + 1}` }),
      el("div", { class: "grid" },
        field(form, `parties.${index}.organisation_id`, "Организация из базы", organisation),
        field(form, `parties.${index}.name`, "Или название", name, { hint: "Для сторон, которых нет в базе: компания, вуз, ведомство." }),
        field(form, `parties.${index}.sector`, "Сектор", sector)),
      el("p", { class: "error", "data-error-for": `parties.${index}` }),
      parties.length > 2
        ? el("div", { class: "actions" }, button("Удалить сторону", () => { parties.splice(index, 1); keep(); render(); },
          { class: "danger small", "aria-label": `Удалить сторону ${index + 1}` }))
        : null);
    const sync = () => {
      parties[index] = { organisation_id: organisation.value, name: name.value.trim(), sector: sector.value };
      keep();
    };
    fieldset.addEventListener("input", sync);
    fieldset.addEventListener("change", sync);
    return fieldset;
  };
  render();

  const file = el("input", { type: "file" });
  form.append(
    field(form, "subject", "Предмет партнёрства", el("textarea", { rows: "3", maxlength: "1000" }), { wide: true }),
    el("div", { class: "grid" },
      field(form, "formed_on", "Дата соглашения", el("input", { type: "date" })),
      field(form, "event_id", "На каком мероприятии сложилось", select(eventOptions(allEvents.filter((e) => e.status !== "draft")), { empty: "— не на мероприятии —" })),
      field(form, "federal_district", "Федеральный округ", select(districts.map((d) => [d.key, `${d.key} — ${d.name_ru}`]), { empty: "— по мероприятию или НКО —" }))),
    rows,
    el("p", { class: "error", "data-error-for": "parties" }),
    el("div", { class: "actions" }, button("Добавить сторону", () => {
      parties.push({ organisation_id: "", name: "", sector: "" });
      keep();
      render(parties.length - 1);
    }, { class: "secondary" })),
    field(form, "document", "Соглашение (файл, можно не прикладывать)", file, { hint: "Хранится в разделе материалов, доступ — только операторам." }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Записать партнёрство" })),
    status);

  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const created = await submitForm(form, status, async () => {
      const body = {
        subject: value("subject"),
        formed_on: value("formed_on"),
        parties: parties.map((p) => (p.organisation_id
          ? { organisation_id: p.organisation_id, ...(p.sector ? { sector: p.sector } : {}) }
          : { name: p.name || null, sector: p.sector || null })),
      };
      if (value("event_id")) body.event_id = value("event_id");
      if (value("federal_district")) body.federal_district = value("federal_district");
      const problems = {};
      if (!body.subject) problems.subject = "Опишите предмет партнёрства.";
      if (!body.formed_on) problems.formed_on = "Укажите дату соглашения.";
      parties.forEach((p, index) => {
        if (!p.organisation_id && !p.name) problems[`parties.${index}.organisation_id`] = "Выберите организацию или впишите название.";
        else if (!p.organisation_id && !p.sector) problems[`parties.${index}.sector`] = "Выберите сектор.";
      });
      localProblems(form, problems);
      const key = sessionStorage.getItem("etnik-console-partnership-key") || randomId();
      sessionStorage.setItem("etnik-console-partnership-key", key);
      const stored = await api("registration", "/partnerships", { method: "POST", body, idempotencyKey: key });
      sessionStorage.removeItem("etnik-console-partnership-key");
      return stored;
    }, {
      detailFields: [
        [/^party (\d+): unknown organisation/, "parties"], [/at least two parties/, "parties"],
        [/this party is already named/, "parties"], [/formed_on/, "formed_on"],
        [/federal_district is needed|unknown federal district/, "federal_district"], [/unknown event/, "event_id"],
      ],
    });
    if (!created) return;
    let message = `Партнёрство записано: ${created.parties.map((p) => p.name).join(", ")}.`;
    if (file.files[0]) {
      try {
        await attachDocument(created, file.files[0]);
        message += " Соглашение сохранено.";
      } catch (error) {
        status.replaceChildren(errorNotice(error));
        message += " Файл соглашения не сохранён — приложите его заново.";
      }
    }
    clearDraftValue(DRAFT);
    parties = [{ organisation_id: "", name: "", sector: "" }, { organisation_id: "", name: "", sector: "" }];
    form.reset();
    render();
    status.replaceChildren(notice(message));
    await reload();
  });
  return form;
}

/** The agreement's file as a material for operators only, linked to the partnership. */
async function attachDocument(partnership, file) {
  const material = await api("content", "/materials", {
    method: "POST",
    body: { kind: "other", title: `Соглашение о партнёрстве: ${partnership.subject}`.slice(0, 300), access: "operators" },
    idempotencyKey: `partnership-document-${partnership.id}`,
  });
  await api("content", `/materials/${encodeURIComponent(material.id)}/file`, {
    method: "PUT", query: { filename: file.name }, body: file, headers: { "Content-Type": "application/octet-stream" },
  });
  await api("registration", `/partnerships/${encodeURIComponent(partnership.id)}`, {
    method: "PATCH", body: { document_material_id: material.id, version: partnership.version },
  });
}
