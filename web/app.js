// Upcoming events, with each time given in Moscow time and in the visitor's own zone.
"use strict";

const FORMATS = { in_person: "очно", online: "онлайн", hybrid: "очно и онлайн" };
const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function formatTime(iso, timeZone) {
  return new Intl.DateTimeFormat("ru-RU", { timeZone, hour: "2-digit", minute: "2-digit" })
    .format(new Date(iso));
}

function formatDate(iso, timeZone) {
  return new Intl.DateTimeFormat("ru-RU", { timeZone, day: "numeric", month: "long", year: "numeric" })
    .format(new Date(iso));
}

function describeTime(iso) {
  const moscow = formatTime(iso, "Europe/Moscow");
  const local = formatTime(iso, visitorZone);
  const date = formatDate(iso, "Europe/Moscow");
  return moscow === local ? `${date}, ${moscow} МСК` : `${date}, ${moscow} МСК / ${local} по вашему времени`;
}

function renderEvent(event) {
  const item = document.createElement("li");
  const title = document.createElement("h3");
  title.textContent = event.title;
  const when = document.createElement("p");
  when.className = "when";
  when.textContent = describeTime(event.starts_at);
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = [FORMATS[event.format], event.federal_district].filter(Boolean).join(" · ");
  item.append(title, when, meta);
  return item;
}

async function loadEvents() {
  const status = document.getElementById("events-status");
  try {
    const response = await fetch("/api/registration/events?limit=50");
    if (!response.ok) throw new Error(String(response.status));
    const events = await response.json();
    const list = document.getElementById("events");
    list.replaceChildren(...events.map(renderEvent));
    status.textContent = events.length ? "" : "Пока нет открытых мероприятий.";
  } catch (error) {
    status.textContent = "Не удалось загрузить мероприятия. Обновите страницу чуть позже.";
  }
}

document.addEventListener("DOMContentLoaded", loadEvents);
