// Shared state and small helpers of the inbox modules. Everything a customer or agent can type
// goes into the page through textContent (el() props), never innerHTML.
import { t, currentLang } from "/static/i18n.js";
import { el } from "./dom.js";
import "./strings.js";

export { el };

export const $ = (id) => document.getElementById(id);

export const TOKEN = "hub:agent-token";

/** One entry per conversation the page knows: {conversation, messages, unread, loaded, history}. */
export const state = {
  token: localStorage.getItem(TOKEN),
  me: null,
  socket: null,
  convs: new Map(),
  contacts: new Map(),
  agents: new Map(),
  tags: [],
  tab: "mine",
  current: null,
  watching: null,
};

/** Render hooks, set by agent.js, so modules can ask for a redraw without import cycles. */
export const ui = { list() {}, pane() {}, side() {}, left() {}, select() {} };

export async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw Object.assign(new Error(body.error?.message || res.statusText), { status: res.status, code: body.error?.code });
  }
  return body;
}

export function isSupervisor() {
  const roles = state.me?.roles || [];
  return roles.includes("admin") || roles.includes("supervisor");
}

export function entry(conversation) {
  let e = state.convs.get(conversation.id);
  if (!e) {
    e = { conversation, messages: [], unread: 0, loaded: false, history: null };
    state.convs.set(conversation.id, e);
  } else {
    e.conversation = { ...e.conversation, ...conversation };
  }
  return e;
}

export function addMessage(e, m) {
  if (e.messages.some((x) => x.id === m.id)) return false;
  e.messages.push(m);
  e.messages.sort((a, b) => a.seq - b.seq);
  if (m.seq >= (e.conversation.last_seq || 0)) {
    e.conversation.last_seq = m.seq;
    e.conversation.last_message_at = m.created_at;
    if (m.type !== "note") e.conversation.last_message_preview = preview(m);
  }
  return true;
}

export function preview(m) {
  return m.text || (m.attachments?.length ? m.attachments.map((a) => a.name).join(", ") || t("attachment") : "");
}

const contactRequests = new Map();
/** The contact of a conversation, fetched once and kept current by contact.updated. */
export function ensureContact(contactId) {
  if (state.contacts.has(contactId)) return Promise.resolve(state.contacts.get(contactId));
  if (!contactRequests.has(contactId)) {
    contactRequests.set(contactId, api(`/api/v1/contacts/${encodeURIComponent(contactId)}`)
      .then((c) => { state.contacts.set(contactId, c); ui.list(); return c; })
      .catch(() => null)
      .finally(() => contactRequests.delete(contactId)));
  }
  return contactRequests.get(contactId);
}

export function contactName(conversation) {
  const contact = state.contacts.get(conversation.contact_id);
  return contact?.name || `${t("visitor")} ${conversation.contact_id.slice(0, 6)}`;
}

export function agentName(agentId) {
  if (!agentId) return "";
  if (agentId === state.me?.id) return state.me.name;
  return state.agents.get(agentId)?.name || t("someone");
}

const locale = () => (currentLang() === "zh" ? "zh-CN" : "en-GB");

/** Short time for lists: the hour today, the date otherwise. */
export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return d.toLocaleString(locale(), today
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function longTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

// Constant markup only (no user data): small line icons for the channel badges.
const ICONS = {
  webim: '<path d="M4 5h16v11H9l-5 4z"/>',
  wechat: '<path d="M9 4a6 5 0 0 0-3.5 9L5 16l3-1.5A6 5 0 1 0 9 4z"/><path d="M15 10a5 4 0 1 1-1 8l-2.5 1 .5-2.3A5 4 0 0 1 15 10z"/>',
  weibo: '<circle cx="10" cy="14" r="6"/><path d="M15 4a5 5 0 0 1 5 5M15 7a2 2 0 0 1 2 2"/>',
  email: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
  sms: '<rect x="6" y="2" width="12" height="20" rx="2"/><path d="M10 18h4"/>',
  voice: '<path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z"/>',
};

export function channelBadge(channel) {
  const badge = el("span", { className: `badge ch-${ICONS[channel] ? channel : "other"}`, testid: "channel-badge", dataset: { channel } });
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.innerHTML = ICONS[channel] || ICONS.webim; // constant markup, no user data
  badge.append(icon, el("span", { textContent: t(`ch_${channel}`) }));
  return badge;
}

/** Opens a modal dialog (a form); resolves when it is closed. Escape and Cancel close it. */
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
      error.textContent = err.message || String(err);
      submit.disabled = false;
    }
  };
  document.body.append(backdrop, form);
  (fields.find((f) => f.matches?.("input,textarea,select")) || submit).focus();
  return form;
}

/** An ack with ok:false becomes an exception carrying the hub's message. */
export async function call(event, data) {
  const ack = await state.socket.timeout(15000).emitWithAck(event, data);
  if (!ack.ok) throw Object.assign(new Error(ack.error?.message || "failed"), { code: ack.error?.code });
  return ack;
}
