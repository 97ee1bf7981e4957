// Page-level helpers shared by every section: showing a page, navigating, leaving it.
import { el, notice } from "./core.js";

let cleanups = [];
let flash = null;

/** Register what a page must stop when it is left (the camera, polling). */
export function onLeave(cleanup) {
  cleanups.push(cleanup);
}

let view = 0;

/** Run the cleanups of the page being left. */
export function leavePage() {
  view += 1;
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch {
      /* a page that is gone cannot fail the next one */
    }
  }
}

/** A message the next page shows (after an action that navigates). */
export function flashNext(message) {
  flash = message;
}

/**
 * The `show` of the page being opened now: once another page is opened it paints nothing, so a
 * page still loading cannot replace the one the operator went on to.
 */
export function showForThisPage() {
  const mine = view;
  return (title, ...children) => {
    if (mine === view) show(title, ...children);
  };
}

/** Replace the page's content; focus goes to the new heading for screen readers. */
export function show(title, ...children) {
  document.title = `${title} — пульт ЭтНик`;
  const heading = el("h1", { tabindex: "-1", text: title });
  const parts = [heading];
  if (flash) {
    parts.push(notice(flash));
    flash = null;
  }
  document.getElementById("main").replaceChildren(...parts, ...children.flat().filter(Boolean));
  heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/** Go to a page; going to the page already shown reloads it. */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** A section of a page: a heading of level 2 and its content. */
export function section(title, ...children) {
  const id = `section-${Math.random().toString(36).slice(2, 9)}`;
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id, text: title }), ...children);
}
