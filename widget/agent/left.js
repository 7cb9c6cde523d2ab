// @ts-check
// Left messages (留言): what visitors left when nobody could answer; agents mark them handled.
import { t } from "../i18n.js";
import { $, el, api } from "../shared.js";
import { shortTime } from "./core.js";

/**
 * @typedef {{id: string, name?: string, phone?: string, email?: string, text: string,
 *   handled: boolean, created_at: string}} LeftMessage
 */

/** @type {LeftMessage[]} */
let items = [];
/** The cursor of the next page (the hub lists 100 at a time), null at the end. */
/** @type {string | null} */
let next = null;

export async function refreshLeftMessages() {
  try { ({ items, next } = await api("/api/v1/left-messages")); } catch { return; }
  renderLeft();
}

async function loadMore() {
  if (!next) return;
  /** @type {{items: LeftMessage[], next: string | null}} */
  let page;
  try { page = await api(`/api/v1/left-messages?cursor=${encodeURIComponent(next)}`); } catch { return; }
  const known = new Set(items.map((m) => m.id));
  items = [...items, ...page.items.filter((m) => !known.has(m.id))];
  next = page.next;
  renderLeft();
}

export function leftMessageUpdated(/** @type {{id: string, handled: boolean}} */ { id, handled }) {
  const found = items.find((m) => m.id === id);
  if (!found) { refreshLeftMessages(); return; }
  found.handled = handled;
  renderLeft();
}

function renderLeft() {
  // Open ones first (newest first within each group, as the hub lists them).
  const sorted = [...items.filter((m) => !m.handled), ...items.filter((m) => m.handled)];
  $("leftCount").textContent = String(items.filter((m) => !m.handled).length || "");
  const more = next ? el("button", { type: "button", className: "link more", testid: "left-more", textContent: t("loadMore") }) : null;
  if (more) more.onclick = () => { more.disabled = true; loadMore(); };
  $("left").replaceChildren(...sorted.map((m) => {
    const toggle = el("button", {
      type: "button", className: "link", testid: "left-message-handle",
      textContent: m.handled ? t("markUnhandled") : t("markHandled"),
    });
    toggle.onclick = async () => {
      toggle.disabled = true;
      try {
        const body = await api(`/api/v1/left-messages/${encodeURIComponent(m.id)}`, {
          method: "PATCH", body: { handled: !m.handled },
        });
        leftMessageUpdated(body);
      } finally { toggle.disabled = false; }
    };
    return el("div", { className: "item left" + (m.handled ? " handled" : ""), testid: "left-message", dataset: { handled: String(m.handled), id: m.id } },
      el("span", { className: "row" },
        el("span", { className: "who", textContent: m.name || m.phone || m.email }),
        el("span", { className: "time", textContent: shortTime(m.created_at) })),
      el("span", { className: "contact", textContent: [m.phone, m.email].filter(Boolean).join(" · ") }),
      el("span", { className: "preview full", textContent: m.text }),
      el("span", { className: "row" }, m.handled ? el("span", { className: "status st-closed", textContent: t("handled") }) : el("span"), toggle));
  }), ...(more ? [more] : []));
}
