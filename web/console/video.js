// A video material's chapters and subtitle tracks, on the material's page (operators).
import { ApiError, api, button, el, errorNotice, field, localProblems, notice, submitForm } from "./core.js";
import { section } from "./page.js";

const VIDEO_KINDS = ["video", "session_recording"];
const LANGUAGES = [["ru", "Русский"], ["en", "Английский"], ["ba", "Башкирский"], ["tt", "Татарский"],
  ["cv", "Чувашский"], ["sah", "Якутский"], ["ce", "Чеченский"], ["os", "Осетинский"]];

/** «1:05:30», «12:04» or «40» (seconds) as seconds; null when it is none of these. */
export function parseClock(text) {
  const match = text.trim().match(/^(?:(?:(\d+):)?([0-5]?\d):)?([0-5]?\d(?:[.,]\d{1,3})?)$/);
  if (!match) return null;
  const [, hours, minutes, seconds] = match;
  return Number(hours || 0) * 3600 + Number(minutes || 0) * 60 + Number(seconds.replace(",", "."));
}

export function clockText(seconds) {
  const whole = Math.floor(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor(whole / 60) % 60, whole % 60];
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

// The service explains refusals in English; the console says them in Russian.
const REASONS = [
  [/^line (\d+): a WebVTT file starts with/, (m) => `строка ${m[1]}: файл WebVTT должен начинаться со строки «WEBVTT»`],
  [/^line (\d+): the cue timing «(.*)» is not/, (m) => `строка ${m[1]}: время «${m[2]}» записано неверно, нужно «ЧЧ:ММ:СС.ммм --> ЧЧ:ММ:СС.ммм»`],
  [/^line (\d+): the cue ends \((.*)\) before or when it starts \((.*)\)/, (m) => `строка ${m[1]}: реплика заканчивается (${m[2]}) не позже, чем начинается (${m[3]})`],
  [/^line (\d+): the cue starts \((.*)\) before the previous cue/, (m) => `строка ${m[1]}: реплика начинается (${m[2]}) раньше предыдущей`],
  [/^line (\d+): cue text may not hold/, (m) => `строка ${m[1]}: в тексте реплики «-->» — видимо, пропущена пустая строка`],
  [/^line (\d+): a blank line must separate/, (m) => `строка ${m[1]}: после заголовка «WEBVTT» нужна пустая строка`],
  [/^line (\d+): a cue needs a timing line/, (m) => `строка ${m[1]}: у реплики нет строки времени`],
  [/^line (\d+): subtitles must be UTF-8/, (m) => `строка ${m[1]}: файл должен быть в кодировке UTF-8`],
  [/^line \d+: the file holds no cue/, () => "в файле нет ни одной реплики"],
  [/^subtitles must be a WebVTT text file/, () => "это не текстовый файл WebVTT"],
  [/^chapter (\d+) «(.*)» at (\S+) starts at the same time as chapter (\d+)/, (m) => `глава ${m[1]} «${m[2]}» начинается одновременно с главой ${m[4]}`],
  [/^chapter (\d+) «(.*)» at (\S+) starts before chapter (\d+)/, (m) => `глава ${m[1]} «${m[2]}» начинается раньше главы ${m[4]}: перечислите главы по порядку`],
  [/^chapter (\d+) «(.*)» at (\S+) starts after the video ends \((.*)\)/, (m) => `глава ${m[1]} «${m[2]}» начинается после конца видео (${m[4]})`],
];

export function russianVideoReason(detail) {
  return String(detail || "").split("; ").map((part) => {
    for (const [pattern, say] of REASONS) {
      const match = part.match(pattern);
      if (match) return say(match);
    }
    return part;
  }).join("; ");
}

function refusal(error) {
  if (error instanceof ApiError && [415, 422].includes(error.status) && typeof error.detail === "string") {
    return notice(`Не принято: ${russianVideoReason(error.detail)}.`, { problem: true });
  }
  return errorNotice(error);
}

/** The page's «Видео: главы и субтитры» section, or null for other kinds and states. */
export function videoSection(material, reload) {
  if (!VIDEO_KINDS.includes(material.kind) || ["in_review", "archived"].includes(material.status)) return null;
  const path = `/materials/${encodeURIComponent(material.id)}`;

  const chaptersForm = el("form", { id: "video-chapters", novalidate: true });
  const lines = el("textarea", { rows: "6", name: "chapters" });
  lines.value = (material.chapters || []).map((c) => `${clockText(c.start_s)} ${c.title}`).join("\n");
  const duration = el("input", { type: "text", name: "duration", inputmode: "numeric", placeholder: "1:02:30" });
  if (material.duration_s) duration.value = clockText(material.duration_s);
  const chaptersStatus = el("div", { class: "form-status" });
  chaptersForm.append(
    field(chaptersForm, "chapters", "Главы: по одной в строке, «время название»", lines,
      { wide: true, hint: "Например: «0:00 Введение», «12:40 Механизмы Стратегии». По порядку, без повторов времени." }),
    field(chaptersForm, "duration", "Длительность видео (если известна)", duration, { hint: "ч:мм:сс или мм:сс" }),
    el("button", { type: "submit", text: "Сохранить главы" }), chaptersStatus);
  chaptersForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    let failure = null;
    const done = await submitForm(chaptersForm, chaptersStatus, async () => {
      const chapters = [];
      const problems = {};
      lines.value.split("\n").forEach((line, index) => {
        if (!line.trim() || problems.chapters) return;
        const [, time, title] = line.trim().match(/^(\S+)\s+(.+)$/) || [];
        const start = time === undefined ? null : parseClock(time);
        if (start === null) problems.chapters = `Строка ${index + 1}: начните со времени, например «12:40 Название».`;
        else chapters.push({ title: title.trim(), start_s: start });
      });
      const seconds = duration.value.trim() ? parseClock(duration.value) : null;
      if (duration.value.trim() && !seconds) problems.duration = "Укажите длительность как ч:мм:сс или мм:сс.";
      localProblems(chaptersForm, problems);
      try {
        return await api("content", `${path}/chapters`, { method: "PUT", body: { chapters, duration_s: seconds } });
      } catch (error) {
        failure = error;
        return undefined;
      }
    });
    if (done) reload(`Главы сохранены: версия ${done.version}.`);
    else if (failure) chaptersStatus.replaceChildren(refusal(failure));
  });

  const subtitlesForm = el("form", { id: "video-subtitles", novalidate: true });
  const language = el("select", { name: "language" }, ...LANGUAGES.map(([code, name]) => el("option", { value: code, text: name })));
  const label = el("input", { type: "text", name: "label", maxlength: "60", placeholder: "Русский" });
  const file = el("input", { type: "file", name: "file", accept: ".vtt,text/vtt" });
  const subtitlesStatus = el("div", { class: "form-status" });
  subtitlesForm.append(
    field(subtitlesForm, "language", "Язык субтитров", language),
    field(subtitlesForm, "label", "Название дорожки в плеере (необязательно)", label),
    field(subtitlesForm, "file", "Файл субтитров WebVTT (.vtt)", file, { hint: "Файл той же дорожки заменяется новой версией." }),
    el("button", { type: "submit", text: "Загрузить субтитры" }), subtitlesStatus);
  subtitlesForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    let failure = null;
    const done = await submitForm(subtitlesForm, subtitlesStatus, async () => {
      localProblems(subtitlesForm, chosen ? {} : { file: "Выберите файл .vtt." });
      try {
        return await api("content", `${path}/subtitles/${language.value}`, {
          method: "PUT", query: label.value.trim() ? { label: label.value.trim() } : undefined,
          body: chosen, headers: { "Content-Type": "text/vtt" },
        });
      } catch (error) {
        failure = error;
        return undefined;
      }
    });
    if (done) reload(`Субтитры загружены: версия ${done.version}.`);
    else if (failure) subtitlesStatus.replaceChildren(refusal(failure));
  });

  const tracks = material.subtitles || [];
  const removeStatus = el("div", { role: "status" });
  const trackList = tracks.length
    ? el("ul", { class: "subtitle-tracks" }, ...tracks.map((track) => el("li", {},
      `${track.label} (${track.language}): реплик ${track.cues} `,
      button("Удалить", async () => {
        try {
          const changed = await api("content", `${path}/subtitles/${track.language}`, { method: "DELETE" });
          reload(`Субтитры «${track.label}» удалены: версия ${changed.version}.`);
        } catch (error) {
          removeStatus.replaceChildren(errorNotice(error));
        }
      }, { class: "secondary small", "aria-label": `Удалить субтитры «${track.label}»` }))))
    : el("p", { text: "Субтитров пока нет." });

  const note = material.status === "published"
    ? el("p", { class: "hint", text: "Изменение глав или субтитров опубликованного видео отправит его на повторную проверку." })
    : null;
  return section("Видео: главы и субтитры", note, chaptersForm, el("h3", { text: "Субтитры" }), trackList, removeStatus, subtitlesForm);
}
