// Accessible inline SVG charts: each is an image with a title and a summary, and a table
// of the same numbers follows it. Drawn at the container's width (re-drawn on resize) so
// text keeps its real size on a phone and on a wide screen.
import { el, uniqueId } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function niceMax(value) {
  if (value <= 5) return Math.max(1, Math.ceil(value));
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return value;
}

function frame(title, summary, draw, table, series = []) {
  const titleId = uniqueId("chart-title");
  const descId = uniqueId("chart-desc");
  const holder = el("div", { class: "chart" });
  const render = () => {
    const width = Math.max(280, Math.floor(holder.clientWidth || 600));
    const image = draw(width);
    image.setAttribute("role", "img");
    image.setAttribute("aria-labelledby", `${titleId} ${descId}`);
    image.setAttribute("width", String(width));
    image.prepend(svg("title", { id: titleId, text: title }), svg("desc", { id: descId, text: summary }));
    holder.replaceChildren(image);
  };
  let last = 0;
  const observer = new ResizeObserver(() => {
    const width = Math.floor(holder.clientWidth);
    if (width && Math.abs(width - last) > 8) {
      last = width;
      render();
    }
  });
  observer.observe(holder);
  // The legend is text, not drawn: it wraps on a phone and a screen reader reads it.
  const legend = series.length > 1
    ? el("ul", { class: "legend" }, ...series.map((name, index) => el("li", {}, el("span", { class: `swatch swatch-${index}`, "aria-hidden": "true" }), name)))
    : null;
  return el("figure", { class: "figure" },
    el("figcaption", { text: title }),
    legend,
    holder,
    el("details", {}, el("summary", { text: "Таблица с данными графика" }), table));
}

/** A label cut to the width it has (SVG text does not wrap); the full one is in the table. */
function fit(text, width, size = 14) {
  const room = Math.floor(width / (size * 0.58));
  return text.length > room ? `${text.slice(0, Math.max(1, room - 1))}…` : text;
}

function table(caption, headers, rows) {
  return el("table", {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, el("th", { scope: "row", text: row[0] }),
      ...row.slice(1).map((cell) => el("td", { text: String(cell) }))))));
}

/**
 * Horizontal bars, one row per label; several series side by side per row.
 * rows: [{ label, values: [n, …] }], series: names of the values.
 */
export function barChart({ title, series, rows, empty = "Нет данных за выбранный период." }) {
  if (!rows.length) return el("figure", { class: "figure" }, el("figcaption", { text: title }), el("p", { text: empty }));
  const max = niceMax(Math.max(...rows.flatMap((row) => row.values), 0));
  const top = rows.reduce((best, row) => (row.values[0] > best.values[0] ? row : best), rows[0]);
  const summary = `${series[0]}: больше всего — «${top.label}», ${top.values[0]}. Всего строк: ${rows.length}.`;
  const draw = (width) => {
    const barHeight = 14;
    const gap = 4;
    const rowHeight = 20 + series.length * (barHeight + gap) + 8;
    const left = 8;
    const right = 48;
    const plot = width - left - right;
    const height = rows.length * rowHeight + 4;
    const image = svg("svg", { viewBox: `0 0 ${width} ${height}`, height: String(height), class: "bars" });
    rows.forEach((row, index) => {
      const y = index * rowHeight;
      image.append(svg("text", { x: left, y: y + 14, class: "label", text: fit(row.label, width - left) },
        svg("title", { text: row.label })));
      row.values.forEach((value, s) => {
        const barY = y + 20 + s * (barHeight + gap);
        const length = max ? Math.max(value > 0 ? 2 : 0, (value / max) * plot) : 0;
        image.append(
          svg("rect", { x: left, y: barY, width: plot, height: barHeight, class: "track" }),
          svg("rect", { x: left, y: barY, width: length, height: barHeight, class: `series-${s}` },
            svg("title", { text: `${row.label}, ${series[s]}: ${value}` })),
          svg("text", { x: left + length + 4, y: barY + barHeight - 2, class: "value", text: String(value) }));
      });
    });
    return image;
  };
  return frame(title, summary, draw,
    table(title, ["", ...series], rows.map((row) => [row.label, ...row.values])), series);
}

/** Columns per day with a y axis; rows: [{ day: "2026-03-01", value }]. */
export function dayChart({ title, label, rows, empty = "Регистраций за выбранный период нет." }) {
  if (!rows.length) return el("figure", { class: "figure" }, el("figcaption", { text: title }), el("p", { text: empty }));
  const max = niceMax(Math.max(...rows.map((row) => row.value), 0));
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  const peak = rows.reduce((best, row) => (row.value > best.value ? row : best), rows[0]);
  const dayName = (day) => new Intl.DateTimeFormat("ru-RU", { day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));
  const summary = `${label}: всего ${total} за ${rows.length} дн.; больше всего ${peak.value} — ${dayName(peak.day)}.`;
  const draw = (width) => {
    const height = 220;
    const left = 40;
    const bottom = 28;
    const top = 10;
    const plotWidth = width - left - 8;
    const plotHeight = height - top - bottom;
    const step = plotWidth / rows.length;
    const image = svg("svg", { viewBox: `0 0 ${width} ${height}`, height: String(height), class: "columns" });
    // Whole numbers only: a half-way line is drawn when it falls on one.
    const ticks = max % 2 === 0 ? [0, max / 2, max] : [0, max];
    for (const tick of ticks) {
      const y = top + plotHeight - (tick / max) * plotHeight;
      image.append(svg("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }),
        svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end", text: String(tick) }));
    }
    // As many day labels as fit without overlapping.
    const every = Math.max(1, Math.ceil(56 / step));
    rows.forEach((row, index) => {
      const h = max ? (row.value / max) * plotHeight : 0;
      const x = left + index * step;
      const column = Math.min(40, Math.max(1, step * 0.7));
      image.append(svg("rect", { x: x + (step - column) / 2, y: top + plotHeight - h, width: column, height: h, class: "series-0" },
        svg("title", { text: `${dayName(row.day)}: ${row.value}` })));
      if (index % every === 0) {
        image.append(svg("text", { x: x + step / 2, y: height - 8, class: "axis", "text-anchor": "middle", text: dayName(row.day) }));
      }
    });
    return image;
  };
  return frame(title, summary, draw, table(title, ["День", label], rows.map((row) => [dayName(row.day), row.value])));
}
