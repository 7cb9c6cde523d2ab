// @ts-check
// The contacts page: every contact (most recently seen first), search over contacts and over
// conversations, and one contact with their conversations across channels.
import { t } from "../i18n.js";
import { $, el, api, ApiError } from "../shared.js";
import { ui, shortTime, contactName, fullPage } from "./core.js";
import { channelBadge } from "./channels.js";

/** @import { Contact, Conversation, Message } from "../types.js" */

const PAGE = 50;

export function setupContactsPage() {
  $("navContacts").onclick = () => showContacts(!document.body.classList.contains("show-contacts"));
}

const showContacts = fullPage("contacts", (/** @type {boolean} */ on) => {
  document.body.classList.toggle("show-contacts", on);
  $("contactsPage").hidden = !on;
  $("navContacts").setAttribute("aria-pressed", String(on));
  if (on && !$("contactsPage").childElementCount) render();
});

/** Opens a conversation in the inbox, leaving this page. */
function openConversation(/** @type {string} */ id) {
  showContacts(false);
  ui.select(id);
}

function render() {
  const page = $("contactsPage");
  const search = el("input", { type: "search", testid: "contacts-search", placeholder: t("contactsSearch") });
  search.setAttribute("aria-label", t("contactsSearch"));
  const convSearch = el("input", { type: "search", testid: "conversation-search", placeholder: t("convSearch") });
  convSearch.setAttribute("aria-label", t("convSearch"));
  const list = el("div", { className: "contacts-list", testid: "contacts-list" });
  const detail = el("div", { className: "contact-detail", testid: "contact-detail" });
  const back = el("button", { type: "button", className: "link", testid: "contacts-back", textContent: `← ${t("backToInbox")}` });
  back.onclick = () => showContacts(false);
  page.replaceChildren(el("div", { className: "contacts-head" }, back, el("h2", { textContent: t("contactsTitle") }), search, convSearch),
    el("div", { className: "contacts-body" }, list, detail));

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const soon = (/** @type {() => void} */ run) => { clearTimeout(timer); timer = setTimeout(run, 250); };
  search.addEventListener("input", () => { convSearch.value = ""; soon(() => loadContacts(list, detail, search.value.trim())); });
  convSearch.addEventListener("input", () => { search.value = ""; soon(() => loadHits(list, convSearch.value.trim())); });
  loadContacts(list, detail, "");
}

/** @param {HTMLElement} list @param {HTMLElement} detail @param {string} q @param {string | null} [cursor] */
async function loadContacts(list, detail, q, cursor = null) {
  /** @type {{items: Contact[], next?: string | null}} */
  let body;
  try {
    body = q
      ? await api(`/api/v1/search/contacts?q=${encodeURIComponent(q)}&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
      : await api(`/api/v1/contacts?limit=${PAGE}`);
  } catch { return; }
  const rows = body.items.map((c) => {
    const row = el("button", { type: "button", className: "item contact-row", testid: "contacts-item", dataset: { contactId: c.id } },
      el("span", { className: "who", textContent: c.name || c.email || c.phone || c.id.slice(0, 6) }),
      el("span", { className: "muted small", textContent: [c.email, c.phone].filter(Boolean).join(" · ") }),
      el("span", { className: "chips" }, ...(c.tags || []).map((tag) => el("span", { className: "chip", textContent: tag }))));
    row.onclick = () => openContact(detail, c);
    return row;
  });
  if (!cursor) list.replaceChildren();
  list.querySelector("[data-testid=contacts-more]")?.remove();
  list.append(...rows);
  if (!list.childElementCount) list.append(el("p", { className: "muted", testid: "contacts-none", textContent: t("contactsNone") }));
  const next = body.next;
  if (q && next) {
    const more = el("button", { type: "button", className: "link", testid: "contacts-more", textContent: t("moreResults") });
    more.onclick = () => loadContacts(list, detail, q, next);
    list.append(more);
  }
}

/** @param {HTMLElement} list @param {string} q @param {string | null} [cursor] */
async function loadHits(list, q, cursor = null) {
  if (!q) { list.replaceChildren(); return; }
  /** @type {{items: {conversation: Conversation, contact_name: string, message: Message}[], next: string | null}} */
  let body;
  try {
    body = await api(`/api/v1/search/conversations?q=${encodeURIComponent(q)}&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  } catch { return; }
  if (!cursor) list.replaceChildren();
  list.querySelector("[data-testid=conversation-search-more]")?.remove();
  list.append(...body.items.map((hit) => {
    const c = hit.conversation;
    const row = el("button", { type: "button", className: "item", testid: "conversation-search-hit", dataset: { conversationId: c.id } },
      el("span", { className: "row" }, el("span", { className: "who", textContent: hit.contact_name || contactName(c) }), channelBadge(c.channel),
        el("span", { className: `status st-${c.status}`, textContent: t(`st_${c.status}`) }),
        el("span", { className: "time", textContent: shortTime(hit.message.created_at) })),
      el("span", { className: "preview", textContent: hit.message.text || String(hit.message.meta?.subject || "") }));
    row.onclick = () => openConversation(c.id);
    return row;
  }));
  if (!list.childElementCount) list.append(el("p", { className: "muted", testid: "conversation-search-none", textContent: t("convSearchNone") }));
  const next = body.next;
  if (next) {
    const more = el("button", { type: "button", className: "link", testid: "conversation-search-more", textContent: t("moreResults") });
    more.onclick = () => loadHits(list, q, next);
    list.append(more);
  }
}

/** One contact: details and their conversations on every channel. */
async function openContact(/** @type {HTMLElement} */ detail, /** @type {Contact} */ contact) {
  const conversations = el("div", { className: "contact-conversations", testid: "contact-conversations" });
  detail.replaceChildren(
    el("h3", { testid: "contact-detail-name", textContent: contact.name || contact.email || contact.id.slice(0, 6) }),
    el("dl", {}, ...[["email", contact.email], ["phone", contact.phone], ["contactNotes", contact.notes]]
      .filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { textContent: t(/** @type {string} */ (k)) }), el("dd", { textContent: String(v) })])),
    el("ul", { className: "identities" }, ...(contact.identities || []).map((i) => el("li", {}, channelBadge(i.channel), ` ${i.external_id || ""}`))),
    el("h4", { textContent: t("contactConversations") }), conversations);
  try {
    /** @type {{items: Conversation[]}} */
    const body = await api(`/api/v1/conversations?contact_id=${encodeURIComponent(contact.id)}&limit=100`);
    conversations.replaceChildren(...body.items.map((c) => {
      const row = el("button", { type: "button", className: "item", testid: "contact-conversation", dataset: { conversationId: c.id, channel: c.channel } },
        el("span", { className: "row" }, channelBadge(c.channel), el("span", { className: `status st-${c.status}`, textContent: t(`st_${c.status}`) }),
          el("span", { className: "time", textContent: shortTime(c.last_message_at || c.created_at) })),
        el("span", { className: "preview", textContent: String(c.meta?.subject || c.last_message_preview || "") }));
      row.onclick = () => openConversation(c.id);
      return row;
    }));
    if (!body.items.length) conversations.append(el("p", { className: "muted", textContent: t("emptyList") }));
  } catch (err) {
    conversations.replaceChildren(el("p", { className: "muted", testid: "contact-conversations-denied",
      textContent: err instanceof ApiError && err.status === 403 ? t("contactNoAccess") : String(/** @type {Error} */ (err).message) }));
  }
}
