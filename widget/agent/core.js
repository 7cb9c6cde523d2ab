// @ts-check
// Shared state and small helpers of the inbox modules, and the paged loading of history.
// Everything a customer or agent can type goes into the page through textContent (el()
// props), never innerHTML.
import { t, currentLang } from "../i18n.js";
import { el, api, agentToken, NEWEST, PAGE } from "../shared.js";
import { previewText } from "../render.js";
import "./strings.js";

/** @import { Agent, Contact, Conversation, Message, Tag } from "../types.js" */
/** @import { Socket } from "../shared.js" */

/**
 * One conversation's messages as far as they are loaded: `messages` is a run without gaps
 * up to the newest one known; `complete` once its first message is in.
 * @typedef {{conversation: Conversation, messages: Message[], complete: boolean}} Segment
 * @typedef {Segment & {
 *   unread: number, loaded: boolean, draft?: string, emailDraft?: {subject: string, cc: string},
 *   history: Segment[] | null, pending?: PendingReply[], changedAt?: number,
 * }} Entry
 *   `history`: the contact's earlier conversations, oldest first, each paged the same way
 *   (null until the current conversation is read back to its start).
 *   `pending`: replies typed but not acknowledged yet, shown after the messages.
 * @typedef {{
 *   clientId: string, text: string, note: boolean, options: Record<string, unknown>,
 *   state: "pending" | "sending" | "failed", error?: string, retry?: boolean,
 * }} PendingReply
 *   `pending`: waits for the socket; `failed`: refused (`retry` when another try may pass).
 */

export const state = {
  token: agentToken(),
  /** @type {Agent | null} */
  me: null,
  /** @type {Socket | null} */
  socket: null,
  /** @type {Map<string, Entry>} */
  convs: new Map(),
  /** @type {Map<string, Contact>} */
  contacts: new Map(),
  /** @type {Map<string, Agent>} */
  agents: new Map(),
  /** @type {Tag[]} */
  tags: [],
  tab: "mine",
  /** @type {string | null} */
  current: null,
  /** @type {string | null} */
  watching: null,
};

/** The inbox's full-page views (contacts, team chat, visitors), one shown at a time: each
 * registers how it is hidden, and showing one hides the others. */
const pages = new Map();
export function fullPage(/** @type {string} */ name, /** @type {(on: boolean) => void} */ show) {
  pages.set(name, show);
  return (/** @type {boolean} */ on) => {
    if (on) for (const [other, hide] of pages) if (other !== name) hide(false);
    show(on);
  };
}

/** The live socket (the inbox opens it before anything can use it). */
export function socket() {
  if (!state.socket) throw new Error("not connected");
  return state.socket;
}

/** Render hooks, set by agent.js, so modules can ask for a redraw without import cycles. */
export const ui = {
  list() {},
  pane() {},
  side() {},
  select: /** @type {(id: string) => Promise<void>} */ (async () => {}),
};

export function isSupervisor() {
  const roles = state.me?.roles || [];
  return roles.includes("admin") || roles.includes("supervisor");
}

let changes = 0;

/** A mark to take before asking the hub for a list: see `entry`. */
export function snapshotMark() {
  return changes;
}

/**
 * The page's entry for a conversation, updated with what we just heard of it. `asOf` is the
 * mark taken before a list was asked for: a live event or an answer to this agent's own
 * action that came in since is newer than that list, so the list's copy does not overwrite it
 * (an agent who goes ready while the inbox loads would see a just-assigned chat go back to
 * "queued").
 * @param {Conversation} conversation @param {number} [asOf] @returns {Entry}
 */
export function entry(conversation, asOf) {
  let e = state.convs.get(conversation.id);
  if (!e) {
    e = { conversation, messages: [], complete: false, unread: 0, loaded: false, history: null };
    state.convs.set(conversation.id, e);
  } else if (asOf === undefined || (e.changedAt ?? -1) < asOf) {
    e.conversation = { ...e.conversation, ...conversation };
  }
  if (asOf === undefined) e.changedAt = ++changes;
  return e;
}

/** Adds a message in seq order; false when it was already there. */
export function addMessage(/** @type {Entry} */ e, /** @type {Message} */ m) {
  if (e.messages.some((x) => x.id === m.id)) return false;
  e.messages.push(m);
  e.messages.sort((a, b) => a.seq - b.seq);
  if (m.seq >= (e.conversation.last_seq || 0)) {
    e.conversation.last_seq = m.seq;
    e.conversation.last_message_at = m.created_at;
    if (m.type !== "note") e.conversation.last_message_preview = previewText(m, e.conversation.channel);
  }
  return true;
}

/** A message the page holds, wherever it is (the current run or an earlier conversation). */
export function findMessage(/** @type {Entry} */ e, /** @type {string} */ conversationId, /** @type {string} */ messageId) {
  const segment = conversationId === e.conversation.id ? e : e.history?.find((s) => s.conversation.id === conversationId);
  return segment?.messages.find((m) => m.id === messageId);
}

/** @returns {Promise<Message[]>} */
async function pageBefore(/** @type {string} */ conversationId, /** @type {number} */ beforeSeq) {
  const path = `/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?before_seq=${beforeSeq}&limit=${PAGE}`;
  return (await api(path)).items;
}

/** Whether a page ends a segment: it was short, or reached the first message. */
const reachedStart = (/** @type {Message[]} */ items) => items.length < PAGE || items[0].seq <= 1;

/**
 * The newest page of the conversation. What arrived live meanwhile is kept; what the page
 * does not reach down to is dropped (it may sit behind a gap from a dropped connection).
 */
export async function loadNewest(/** @type {Entry} */ e) {
  const items = await pageBefore(e.conversation.id, NEWEST);
  const first = items.length ? items[0].seq : Infinity;
  e.messages = e.messages.filter((m) => m.seq >= first);
  for (const m of items) addMessage(e, m);
  e.complete = reachedStart(items);
  e.loaded = true;
}

/** After a reconnect: whatever the open conversation got while we were away. */
export async function catchUp(/** @type {Entry} */ e) {
  for (;;) {
    const after = e.messages.at(-1)?.seq ?? 0;
    const path = `/api/v1/conversations/${encodeURIComponent(e.conversation.id)}/messages?after_seq=${after}&limit=${PAGE}`;
    /** @type {Message[]} */
    const items = (await api(path)).items;
    for (const m of items) addMessage(e, m);
    if (items.length < PAGE) return;
  }
}

export function hasOlder(/** @type {Entry} */ e) {
  return !e.complete || e.history === null || e.history.some((s) => !s.complete);
}

/**
 * One step back in time: the page before the oldest loaded message, then the contact's
 * earlier conversations (newest first), a page at a time.
 */
export async function loadOlder(/** @type {Entry} */ e) {
  if (!e.complete) {
    const items = await pageBefore(e.conversation.id, e.messages[0]?.seq ?? NEWEST);
    for (const m of items) addMessage(e, m);
    e.complete = reachedStart(items);
    if (!e.complete) return;
  }
  // Which earlier conversations there are, as soon as this one is read to its start (one
  // small request), so the log can say whether anything is left above.
  if (e.history === null) {
    const c = e.conversation;
    /** @type {Conversation[]} */
    const items = (await api(`/api/v1/conversations?contact_id=${encodeURIComponent(c.contact_id)}&limit=20`)).items;
    e.history = items.filter((x) => x.id !== c.id && x.created_at < c.created_at).reverse()
      .map((conversation) => ({ conversation, messages: [], complete: false }));
    return;
  }
  const segment = [...e.history].reverse().find((s) => !s.complete);
  if (!segment) return;
  const items = await pageBefore(segment.conversation.id, segment.messages[0]?.seq ?? NEWEST);
  segment.messages = [...items, ...segment.messages];
  segment.complete = reachedStart(items);
}

/** @type {Map<string, Promise<Contact | null>>} */
const contactRequests = new Map();
/** The contact of a conversation, fetched once and kept current by contact.updated. */
export function ensureContact(/** @type {string} */ contactId) {
  const known = state.contacts.get(contactId);
  if (known) return Promise.resolve(known);
  let pending = contactRequests.get(contactId);
  if (!pending) {
    pending = api(`/api/v1/contacts/${encodeURIComponent(contactId)}`)
      .then((/** @type {Contact} */ c) => { state.contacts.set(contactId, c); ui.list(); return c; })
      .catch(() => null)
      .finally(() => contactRequests.delete(contactId));
    contactRequests.set(contactId, pending);
  }
  return pending;
}

export function contactName(/** @type {Conversation} */ conversation) {
  const contact = state.contacts.get(conversation.contact_id);
  return contact?.name || `${t("visitor")} ${conversation.contact_id.slice(0, 6)}`;
}

export function agentName(/** @type {string | null | undefined} */ agentId) {
  if (!agentId) return "";
  if (agentId === state.me?.id) return state.me.name;
  return state.agents.get(agentId)?.name || t("someone");
}

const locale = () => (currentLang() === "zh" ? "zh-CN" : "en-GB");

/** Short time for lists: the hour today, the date otherwise. */
export function shortTime(/** @type {string | null | undefined} */ iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return d.toLocaleString(locale(), today
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function longTime(/** @type {string | null | undefined} */ iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

/**
 * Opens a modal dialog (a form); Escape and Cancel close it, and so does a submit that
 * succeeds (a failure shows its message and keeps the dialog).
 * @param {string} testid
 * @param {string} title
 * @param {HTMLElement[]} fields
 * @param {string} submitText
 * @param {() => Promise<void>} onSubmit
 * @param {string} [submitTestid]
 */
export function dialog(testid, title, fields, submitText, onSubmit, submitTestid = `${testid}-submit`) {
  const error = el("div", { className: "error", role: "alert" });
  const submit = el("button", { type: "submit", textContent: submitText, testid: submitTestid });
  const cancel = el("button", { type: "button", className: "secondary", textContent: t("cancel") });
  const form = el("form", { className: "dialog", testid }, el("h3", { textContent: title }), ...fields, error,
    el("div", { className: "dialog-actions" }, cancel, submit));
  form.setAttribute("role", "dialog");
  form.setAttribute("aria-modal", "true");
  const backdrop = el("div", { className: "backdrop" });
  const close = () => { form.remove(); backdrop.remove(); };
  cancel.onclick = close;
  backdrop.onclick = close;
  form.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  form.onsubmit = async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      await onSubmit();
      close();
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
      submit.disabled = false;
    }
  };
  document.body.append(backdrop, form);
  (fields.find((f) => f.matches("input,textarea,select")) || submit).focus();
  return form;
}

/**
 * An event with an ack; ok:false becomes an exception carrying the hub's message.
 * @param {string} event
 * @param {unknown} data
 * @returns {Promise<any>}
 */
export async function call(event, data) {
  const ack = await socket().timeout(15000).emitWithAck(event, data);
  if (!ack.ok) throw Object.assign(new Error(ack.error?.message || "failed"), { code: ack.error?.code });
  return ack;
}
