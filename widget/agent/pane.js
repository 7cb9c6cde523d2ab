// @ts-check
// The chat pane: the conversation's newest page, older pages and then the contact's earlier
// conversations as the agent scrolls up; the composer (files, quick replies with "/", private
// notes), delivery state with retry, transfer, close with a service summary, blacklist, and
// for supervisors a read-only view with "Take over".
import { knownText, t } from "../i18n.js";
import { $, el, api, apiAll, ApiError } from "../shared.js";
import { kindOf, renderBody } from "../render.js";
import { refusal, tooLongText, fileTooLargeText } from "../refusals.js";
import {
  state, ui, call, socket, entry, addMessage, isSupervisor, contactName, agentName, longTime,
  ensureContact, dialog, loadNewest, loadOlder, hasOlder, catchUp,
} from "./core.js";
import { channelBadge } from "./channels.js";
import { deliveryLine } from "./delivery.js";
import { consultColleague } from "./team.js";
import { refreshSuggestions, suggestionsBox } from "./suggestions.js";

/** @import { Conversation, Message, QuickReply, Agent, Contact } from "../types.js" */
/** @import { Entry, PendingReply } from "./core.js" */

const CLIP_ICON = '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/></svg>';
const BLOCK_DURATIONS = [60, 1440, 10080, 43200, null];
/** Scrolled this close to the top (px), the next older page loads. */
const NEAR_TOP = 150;
/** How long a reply waits for its ack on a live connection before it is offered a retry (ms). */
const ACK_TIMEOUT = 15000;

/** How the pane shows a conversation: the holder writes, others (supervisors) watch. */
export function mode(/** @type {Conversation} */ c) {
  if (c.status === "closed") return "closed";
  return c.agent_id === state.me?.id ? "edit" : "read";
}

function follow(/** @type {string | null} */ id) {
  // Supervisors receive the live messages of what they look at; only one at a time.
  if (state.watching && state.watching !== id) {
    socket().emit("conversation.unwatch", { conversation_id: state.watching });
    state.watching = null;
  }
  const c = id ? state.convs.get(id)?.conversation : null;
  if (id && c && isSupervisor() && mode(c) === "read" && state.watching !== id) {
    state.watching = id;
    socket().emit("conversation.watch", { conversation_id: id });
  }
}

/** The open conversation's log, while `id` is still the one open. */
function logOf(/** @type {string} */ id) {
  return state.current === id ? document.getElementById("log") : null;
}

export async function select(/** @type {string} */ id) {
  let e = state.convs.get(id);
  if (!e) {
    try {
      e = entry(await api(`/api/v1/conversations/${encodeURIComponent(id)}`));
    } catch {
      if (!state.current) renderPane(t("convNotFound"));
      return;
    }
  }
  const found = e;
  state.current = id;
  found.unread = 0;
  document.body.classList.add("has-current");
  if (location.hash !== `#conversation=${id}`) history.replaceState(null, "", `#conversation=${id}`);
  follow(id);
  ui.list();
  renderPane();
  ui.side();
  await Promise.all([
    found.loaded ? null : loadNewest(found).catch(() => {}),
    ensureContact(found.conversation.contact_id),
  ]);
  if (state.current !== id) return;
  // Same controls as before the load: only the log changes, so a reply being typed keeps
  // its focus and caret.
  if (document.getElementById("log") && renderedMode === paneKey(found)) redrawLog(found, "bottom");
  else renderPane();
  ui.side();
  ui.list();
}

/** After a reconnect: the open conversation catches up and is watched again. */
export async function resume() {
  const e = state.current ? state.convs.get(state.current) : null;
  if (!e) return;
  follow(e.conversation.id);
  if (!e.loaded) { await select(e.conversation.id); return; }
  await catchUp(e).catch(() => {});
  if (logOf(e.conversation.id)) redrawLog(e, "keep");
}

export function deselect() {
  state.current = null;
  follow(null);
  document.body.classList.remove("has-current");
  history.replaceState(null, "", location.pathname + location.search);
  renderPane();
  ui.side();
  ui.list();
}

/** Retry a failed outbound message; the hub then pushes its delivery as it goes. */
async function retry(/** @type {Message} */ m) {
  await call("message.retry", { conversation_id: m.conversation_id, message_id: m.id });
  // Unless the hub already told us how the new attempt went, it is under way.
  if (m.delivery?.status === "failed") m.delivery = { status: "pending", updated_at: m.delivery.updated_at };
  refreshMessage(m);
}

/**
 * @param {Message} m
 * @param {Conversation} c the conversation the message belongs to
 * @param {string} [testid]
 */
export function bubble(m, c, testid = "message") {
  const kind = kindOf(m);
  const node = el("div", {
    className: `msg kind-${kind}${kind === "note" ? " note" : ""}`,
    testid,
    dataset: { senderType: m.sender.type, seq: String(m.seq), messageId: m.id, conversationId: c.id },
  }, ...renderBody(m, { channel: c.channel, viewer: "agent" }));
  // Web chat hands a message to the visitor's tabs at once: "sent" there says nothing new.
  const worthShowing = m.delivery && !(c.channel === "webim" && m.delivery.status === "sent");
  if (worthShowing && m.sender.type !== "contact") {
    const mayRetry = c.id === state.current && mode(c) === "edit";
    node.append(deliveryLine(m, mayRetry ? retry : null));
  }
  // Shown by CSS (::after) so a bubble's text stays exactly what was sent.
  const who = m.sender.type === "bot" ? `${t("botLabel")} · `
    : m.sender.type === "agent" && m.sender.id !== state.me?.id ? `${m.sender.name} · ` : "";
  node.dataset.meta = who + longTime(m.created_at).slice(-5);
  node.title = longTime(m.created_at);
  return node;
}

/** Redraw one message where it is shown (its delivery changed). */
export function refreshMessage(/** @type {Message} */ m) {
  const e = state.current ? state.convs.get(state.current) : null;
  const log = document.getElementById("log");
  if (!e || !log) return;
  const shown = log.querySelector(`[data-message-id="${CSS.escape(m.id)}"]`);
  const c = m.conversation_id === e.conversation.id ? e.conversation
    : e.history?.find((s) => s.conversation.id === m.conversation_id)?.conversation;
  if (shown instanceof HTMLElement && c) shown.replaceWith(bubble(m, c, shown.dataset.testid));
}

function closedLine(/** @type {Conversation} */ c) {
  if (c.close_reason === "queue_timeout" || c.close_reason === "queue_overflow") return t("closedQueue");
  if (c.close_reason === "blocked") return t("closedBlocked");
  return c.agent_id ? t("closedBy", { name: agentName(c.agent_id) }) : "";
}

/** @param {Conversation} c @param {string} testid @param {string} text */
function separator(c, testid, text) {
  const lines = [text];
  if (c.status === "closed") lines.push(closedLine(c));
  const node = el("div", { className: "separator", testid, dataset: { conversationId: c.id } },
    el("span", { className: "line", textContent: lines.filter(Boolean).join(" · ") }));
  if (c.summary) node.append(el("span", { className: "summary", testid: "history-summary", textContent: t("summaryLabel", { text: c.summary }) }));
  return node;
}

/** @type {Set<string>} conversations whose older page is on its way */
const loadingOlder = new Set();

/** The first line of the log: loading, more above, or the very beginning. */
function olderLine(/** @type {Entry} */ e) {
  const status = loadingOlder.has(e.conversation.id) ? "loading" : hasOlder(e) ? "more" : "start";
  const text = { loading: t("loadingOlder"), more: t("moreAbove"), start: t("historyStart") }[status];
  return el("div", { className: `older older-${status}`, testid: "log-older", dataset: { state: status }, textContent: text });
}

/** @param {Entry} e @returns {Node[]} */
function logNodes(e) {
  /** @type {Node[]} */
  const nodes = [olderLine(e)];
  for (const s of e.history || []) {
    if (!s.messages.length && !s.complete) continue;
    const head = separator(s.conversation, "history-separator", t("historyOf", { date: longTime(s.conversation.created_at) }));
    if (s.conversation.channel !== e.conversation.channel) head.prepend(channelBadge(s.conversation.channel));
    nodes.push(head, ...s.messages.map((m) => bubble(m, s.conversation, "history-message")));
  }
  if (nodes.length > 1) {
    nodes.push(separator({ ...e.conversation, status: "assigned", summary: "" }, "current-separator",
      t("currentSince", { date: longTime(e.conversation.created_at) })));
  }
  nodes.push(...e.messages.map((m) => bubble(m, e.conversation)));
  nodes.push(...(e.pending || []).map((p) => pendingBubble(e, p)));
  return nodes;
}

/** A reply not yet stored: waiting for the connection, on its way, or failed with a retry. */
function pendingBubble(/** @type {Entry} */ e, /** @type {PendingReply} */ p) {
  const label = p.state === "failed" ? p.error || t("failed") : t(p.state === "sending" ? "sending" : "pendingOffline");
  const line = el("div", { className: `delivery dl-${p.state === "failed" ? "failed" : "pending"}`, testid: "pending-state" },
    el("span", { className: "dl-state", textContent: label }));
  if (p.state === "failed" && p.retry) line.append(button(t("rf_retry"), "pending-retry", () => deliver(e, p), "dl-retry"));
  return el("div", {
    className: `msg kind-${p.note ? "note note" : "text"} pending`, testid: "message-pending",
    dataset: { senderType: "agent", clientId: p.clientId, state: p.state },
  }, el("span", { className: "text", textContent: p.text }), line);
}

/** Redraw one pending reply where it is shown (added at the end of the log the first time). */
function showPending(/** @type {Entry} */ e, /** @type {PendingReply} */ p) {
  const log = logOf(e.conversation.id);
  if (!log) return;
  const shown = log.querySelector(`[data-client-id="${CSS.escape(p.clientId)}"]`);
  if (shown) shown.replaceWith(pendingBubble(e, p));
  else { log.append(pendingBubble(e, p)); scrollLog(); }
}

function dropPending(/** @type {Entry} */ e, /** @type {PendingReply} */ p) {
  e.pending = (e.pending || []).filter((x) => x !== p);
  logOf(e.conversation.id)?.querySelector(`[data-client-id="${CSS.escape(p.clientId)}"]`)?.remove();
}

/**
 * Send a reply, or keep it pending until the socket is back: it goes out with the same
 * client_id however often it is tried, and the hub stores it once.
 * @param {Entry} e @param {PendingReply} p
 */
async function deliver(e, p) {
  const live = state.socket;
  if (!live?.connected) { p.state = "pending"; showPending(e, p); return; }
  p.state = "sending";
  showPending(e, p);
  let ack;
  try {
    ack = await live.timeout(ACK_TIMEOUT).emitWithAck("message",
      { conversation_id: e.conversation.id, client_id: p.clientId, text: p.text, private: p.note, ...p.options });
  } catch (err) {
    // No answer: the connection dropped (it goes out on reconnect), or the hub is stuck.
    Object.assign(p, live.connected ? { state: "failed", error: refusal(err).text, retry: true } : { state: "pending" });
    showPending(e, p);
    return;
  }
  if (ack.ok) {
    dropPending(e, p);
    if (addMessage(e, ack.message)) { appendMessage(ack.message); ui.list(); }
    return;
  }
  const why = { text: sendError(ack.error), retry: refusal(ack.error).retry };
  const input = /** @type {HTMLTextAreaElement | null} */ (document.getElementById("composerInput"));
  if (!why.retry && state.current === e.conversation.id && input && !input.value) {
    // Refused for good: the text goes back into the composer, the reason beside it.
    dropPending(e, p);
    input.value = e.draft = p.text;
    const failed = document.querySelector("[data-testid=composer-error]");
    if (failed) failed.textContent = why.text;
    return;
  }
  Object.assign(p, { state: "failed", error: why.text, retry: why.retry });
  showPending(e, p);
}

/** After a reconnect: the replies typed while the socket was down go out, in order. */
export async function flushPending() {
  for (const e of state.convs.values()) {
    for (const p of [...(e.pending || [])]) if (p.state === "pending") await deliver(e, p);
  }
}

/**
 * Draw the log again: at the bottom (a conversation just opened) or where the reader was,
 * counted from the bottom, so messages added above do not move what they are reading.
 * @param {Entry} e
 * @param {"bottom" | "keep"} where
 */
function redrawLog(e, where) {
  const log = logOf(e.conversation.id);
  if (!log) return;
  const fromBottom = log.scrollHeight - log.scrollTop;
  log.replaceChildren(...logNodes(e));
  log.scrollTop = where === "bottom" ? log.scrollHeight : log.scrollHeight - fromBottom;
  fillOlder(e);
}

/** While the top of the log is in view and there is more, load the older pages. */
async function fillOlder(/** @type {Entry} */ e) {
  const id = e.conversation.id;
  const log = logOf(id);
  if (!log || !e.loaded || loadingOlder.has(id) || !hasOlder(e) || log.scrollTop >= NEAR_TOP) return;
  loadingOlder.add(id);
  log.querySelector("[data-testid=log-older]")?.replaceWith(olderLine(e));
  let failed = false;
  try {
    await loadOlder(e);
  } catch {
    failed = true; // shown as "more above"; the next scroll tries again
  } finally {
    loadingOlder.delete(id);
  }
  if (failed) logOf(id)?.querySelector("[data-testid=log-older]")?.replaceWith(olderLine(e));
  else redrawLog(e, "keep");
}

export function appendMessage(/** @type {Message} */ m) {
  const log = document.getElementById("log");
  const e = state.convs.get(m.conversation_id);
  if (!log || !e) return;
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(bubble(m, e.conversation));
  if (stick) scrollLog();
  if (m.sender.type === "contact") refreshSuggestions(m.conversation_id);
}

function scrollLog() {
  const log = document.getElementById("log");
  if (log) log.scrollTop = log.scrollHeight;
}

/** @param {string} text @param {string} testid @param {() => void} onclick */
function button(text, testid, onclick, className = "") {
  const b = el("button", { type: "button", textContent: text, testid, className });
  b.onclick = onclick;
  return b;
}

/** @type {string | null} */
let renderedMode = null;
/** @type {string | null} */
let renderedId = null;

/** What decides the pane's controls: the agent's rights and whether the contact is blocked. */
function paneKey(/** @type {Entry} */ e) {
  const contact = state.contacts.get(e.conversation.contact_id);
  const blocked = Boolean(contact?.blocked_until && new Date(contact.blocked_until) > new Date());
  const rating = e.conversation.rating ? `${e.conversation.rating.score}:${e.conversation.rating.comment}` : "";
  return `${e.conversation.id}:${mode(e.conversation)}:${blocked}:${rating}`;
}

/** Redraw the pane if what the agent may do with the conversation changed (keeps drafts). */
export function refreshPane() {
  const e = state.current ? state.convs.get(state.current) : null;
  if (!e || paneKey(e) !== renderedMode) renderPane();
  else {
    const chip = document.getElementById("paneStatus");
    if (chip) chip.textContent = t(`st_${e.conversation.status}`);
    // The contact renamed (contact.updated): the header follows.
    const name = document.getElementById("paneName");
    if (name) name.textContent = contactName(e.conversation);
  }
}

export function renderPane(notice = "") {
  const pane = $("pane");
  const e = state.current ? state.convs.get(state.current) : null;
  if (!e) {
    renderedMode = null;
    pane.replaceChildren(el("div", { className: "empty", testid: "pane-empty", textContent: notice || t("noSelection") }));
    return;
  }
  const c = e.conversation;
  const typing = renderedId === c.id && document.activeElement === document.getElementById("composerInput");
  renderedId = c.id;
  renderedMode = paneKey(e);
  const paneMode = mode(c);
  const back = button(`← ${t("back")}`, "pane-back", () => deselect(), "narrow-only back");
  const side = button(t("contactPanel"), "contact-toggle", () => document.body.classList.toggle("show-side"), "narrow-only");
  const actions = [];
  if (paneMode === "edit") {
    actions.push(button(t("transfer"), "conversation-transfer", () => openTransfer(e)));
    actions.push(button(t("summaryClose"), "conversation-summary", () => openSummary(e)));
    actions.push(button(t("closeConv"), "conversation-close", () => close(e, "")));
  }
  actions.push(button(t("teamConsult"), "conversation-consult", () => consultColleague(c.id)));
  const contact = state.contacts.get(c.contact_id);
  const blocked = contact?.blocked_until && new Date(contact.blocked_until) > new Date();
  if (!blocked) actions.push(button(t("block"), "contact-block", () => openBlock(e), "danger"));
  const bar = el("div", { className: "bar" }, back,
    el("span", { className: "title" }, el("span", { textContent: contactName(c), id: "paneName", testid: "pane-contact-name" }), channelBadge(c.channel),
      el("span", { className: `status st-${c.status}`, id: "paneStatus", textContent: t(`st_${c.status}`) }),
      ratingBadge(c)),
    side, el("span", { className: "actions" }, ...actions));
  const log = el("div", { className: "log", id: "log", testid: "chat-log" });
  log.setAttribute("aria-live", "polite");
  log.addEventListener("scroll", () => fillOlder(e), { passive: true });
  /** @type {HTMLElement[]} */
  const parts = [bar];
  if (paneMode === "read") {
    const banner = el("div", { className: "banner", testid: "conversation-readonly" },
      el("span", { textContent: c.status === "queued" || !c.agent_id
        ? t("readOnlyQueued") : t("readOnly", { name: agentName(c.agent_id) }) }));
    if (isSupervisor()) banner.append(button(t("takeOver"), "conversation-take-over", () => takeOver(e, banner)));
    parts.push(banner);
  } else if (paneMode === "closed") {
    const banner = el("div", { className: "banner closed", testid: "conversation-closed-banner" },
      el("span", { textContent: [t("closedBanner"), closedLine(c), c.summary && t("summaryLabel", { text: c.summary })].filter(Boolean).join(" ") }));
    if (c.rating?.comment) banner.append(el("q", { className: "rating-comment", testid: "conversation-rating-comment", textContent: c.rating.comment }));
    if (c.agent_id === state.me?.id || isSupervisor()) banner.append(button(t("reopen"), "conversation-reopen", () => reopen(e, banner)));
    parts.push(banner);
  }
  parts.push(log);
  if (paneMode === "edit") parts.push(el("div", { className: "typing", id: "typing" }), ...composer(e));
  pane.replaceChildren(...parts);
  if (typing) document.getElementById("composerInput")?.focus();
  // Until the newest page is in, the log shows what live events brought (or nothing).
  redrawLog(e, "bottom");
}

/** The customer's rating, as stars (the comment shows in the closed banner). */
function ratingBadge(/** @type {Conversation} */ c) {
  if (!c.rating) return "";
  const stars = "★".repeat(c.rating.score) + "☆".repeat(5 - c.rating.score);
  const badge = el("span", { className: "rating-stars", testid: "conversation-rating", textContent: stars, dataset: { score: String(c.rating.score) } });
  badge.title = [t("rating", { score: c.rating.score }), c.rating.comment].filter(Boolean).join(": ");
  badge.setAttribute("aria-label", badge.title);
  return badge;
}

/** Reopen a closed conversation: it comes back assigned to this agent. */
async function reopen(/** @type {Entry} */ e, /** @type {HTMLElement} */ banner) {
  banner.querySelector(".reopen-error")?.remove();
  try {
    const conversation = await api(`/api/v1/conversations/${encodeURIComponent(e.conversation.id)}/reopen`, { method: "POST" });
    entry(conversation);
    state.tab = "mine";
    await select(conversation.id);
  } catch (err) {
    const code = err instanceof ApiError ? err.code : "";
    const other = err instanceof ApiError ? err.details.conversation_id : null;
    const line = el("span", { className: "reopen-error error", role: "alert", testid: "conversation-reopen-error",
      textContent: code === "conversation_open" || code === "blocked" ? t(`reopenErr_${code}`) : t("reopenErr", { message: String(/** @type {Error} */ (err).message) }) });
    if (typeof other === "string") line.append(" ", button(t("openOther"), "conversation-reopen-other", () => select(other)));
    banner.append(line);
  }
}

/** @param {Entry} e @returns {HTMLElement[]} */
function composer(e) {
  const c = e.conversation;
  // Each conversation keeps its own unsent reply while the agent switches between them.
  const input = el("textarea", { placeholder: t("placeholder"), id: "composerInput", testid: "composer-input", value: e.draft || "" });
  input.addEventListener("input", () => { e.draft = input.value; });
  // The hub's limits, shown up front (GET /api/v1/auth/me `limits`).
  const maxText = state.me?.limits?.max_text_length || 0;
  const uploadMax = state.me?.limits?.upload_max_bytes || 0;
  const counter = el("span", { className: "composer-counter", testid: "composer-counter" });
  const count = () => {
    counter.textContent = maxText ? `${input.value.length} / ${maxText}` : "";
    counter.classList.toggle("over", Boolean(maxText) && input.value.length > maxText);
  };
  input.addEventListener("input", count);
  count();
  input.setAttribute("aria-label", t("placeholder"));
  const send = el("button", { type: "submit", textContent: t("send"), testid: "composer-send" });
  const file = el("input", { type: "file", hidden: true, testid: "composer-file" });
  const attach = el("button", { type: "button", className: "tool", title: t("attachFile") });
  attach.setAttribute("aria-label", t("attachFile"));
  attach.innerHTML = CLIP_ICON; // constant markup, no user data
  attach.onclick = () => file.click();
  file.onchange = async () => {
    const chosen = file.files?.[0];
    file.value = "";
    if (!chosen) return;
    if (uploadMax && chosen.size > uploadMax) { failed.textContent = fileTooLargeText(uploadMax); return; }
    const data = new FormData();
    data.append("file", chosen);
    let attachment;
    try {
      attachment = await api("/api/v1/uploads", { method: "POST", body: data });
    } catch (err) {
      failed.textContent = refusal(err).text;
      return;
    }
    const ack = await socket().timeout(ACK_TIMEOUT).emitWithAck("message",
      { conversation_id: c.id, client_id: crypto.randomUUID(), text: "", attachments: [attachment], ...email?.options() })
      .catch(() => ({ ok: false, error: { code: "timeout" } }));
    if (!ack.ok) { failed.textContent = sendError(ack.error); return; }
    failed.textContent = "";
    email?.sent();
    if (addMessage(e, ack.message)) { appendMessage(ack.message); ui.list(); }
  };
  const quick = el("div", { className: "quick", hidden: true, role: "listbox", testid: "quick-replies" });
  input.addEventListener("input", () => showQuickReplies(input, quick));
  const noteBox = el("input", { type: "checkbox", testid: "composer-note" });
  const noteLabel = el("label", { className: "note-toggle", title: t("noteHint") }, noteBox, t("note"));
  const form = el("form", { className: "composer" }, attach, file, noteLabel, input, send);
  const email = c.channel === "email" ? emailFields(e) : null;
  const failed = el("div", { className: "error composer-error", testid: "composer-error", role: "alert" });
  const notes = el("div", { className: "composer-notes" }, failed, counter);
  // The reason a reply was refused stands until the agent corrects something.
  form.addEventListener("input", () => { failed.textContent = ""; });
  email?.node.addEventListener("input", () => { failed.textContent = ""; });
  noteBox.onchange = () => {
    form.classList.toggle("private", noteBox.checked);
    // A note never leaves the hub: it has no subject or cc.
    if (email) email.node.hidden = noteBox.checked;
  };
  let typing = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let idle;
  input.addEventListener("input", () => {
    if (noteBox.checked) return; // notes are private: the customer never sees us typing them
    if (!typing) { typing = true; socket().emit("typing", { conversation_id: c.id, on: true }); }
    clearTimeout(idle);
    idle = setTimeout(() => { typing = false; socket().emit("typing", { conversation_id: c.id, on: false }); }, 3000);
  });
  input.addEventListener("keydown", (ev) => {
    if (!quick.hidden && quickReplyKey(ev, quick)) return;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    // Refused here, with the reason, the text kept: the hub would refuse it anyway.
    if (maxText && text.length > maxText) { failed.textContent = tooLongText(text.length, maxText); return; }
    input.value = e.draft = "";
    count();
    quick.hidden = true;
    failed.textContent = "";
    const note = noteBox.checked;
    /** @type {PendingReply} */
    const reply = { clientId: crypto.randomUUID(), text, note, options: note ? {} : email?.options() || {}, state: "pending" };
    if (!note) email?.sent();
    (e.pending ||= []).push(reply);
    await deliver(e, reply);
  };
  return [suggestionsBox(c.id, input), quick, ...(email ? [email.node] : []), notes, form];
}

/** Why a reply was refused, in the agent's language where the inbox knows the reason. */
function sendError(/** @type {{code?: string, message?: string} | undefined} */ error) {
  return (error?.code && knownText(`sendErr_${error.code}`)) || refusal(error).text;
}

/**
 * An email reply's subject and cc, kept per conversation like the reply's text. An empty
 * subject is the hub's default: "Re:" and the thread's subject.
 * @param {Entry} e
 */
function emailFields(e) {
  const draft = (e.emailDraft ||= { subject: "", cc: "" });
  const thread = typeof e.conversation.meta?.subject === "string" ? e.conversation.meta.subject : "";
  const fallback = thread ? (/^re:/i.test(thread) ? thread : `Re: ${thread}`) : t("em_subjectAuto");
  const subject = el("input", { testid: "composer-subject", maxLength: 250, value: draft.subject, placeholder: fallback });
  subject.setAttribute("aria-label", t("em_subject"));
  const cc = el("input", { testid: "composer-cc", value: draft.cc, placeholder: t("em_ccPlaceholder") });
  cc.setAttribute("aria-label", t("em_cc"));
  subject.addEventListener("input", () => { draft.subject = subject.value; });
  cc.addEventListener("input", () => { draft.cc = cc.value; });
  const node = el("div", { className: "email-fields", testid: "composer-email" },
    el("label", {}, el("span", { textContent: t("em_subject") }), subject),
    el("label", {}, el("span", { textContent: t("em_cc") }), cc));
  return {
    node,
    /** The reply's options: only what the agent typed. */
    options() {
      /** @type {{subject?: string, cc?: string[]}} */
      const options = {};
      if (subject.value.trim()) options.subject = subject.value.trim();
      const addresses = cc.value.split(/[,;，；\s]+/).filter(Boolean);
      if (addresses.length) options.cc = addresses;
      return options;
    },
    sent() { subject.value = cc.value = draft.subject = draft.cc = ""; },
  };
}

/** @type {QuickReply[] | null} */
let quickReplies = null;
async function showQuickReplies(/** @type {HTMLTextAreaElement} */ input, /** @type {HTMLElement} */ box) {
  const value = input.value;
  if (!value.startsWith("/")) { box.hidden = true; return; }
  if (!quickReplies) quickReplies = /** @type {QuickReply[]} */ ((await api("/api/v1/quick-replies").catch(() => ({ items: [] }))).items);
  const query = value.slice(1).toLowerCase();
  const matches = quickReplies.filter((q) => `${q.title} ${q.text}`.toLowerCase().includes(query)).slice(0, 8);
  box.replaceChildren(...matches.map((q, n) => {
    const item = el("button", { type: "button", className: `quick-item${n ? "" : " active"}`, testid: "quick-reply-item", tabIndex: -1 },
      el("b", { textContent: q.title }), ` ${q.text}`);
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", String(!n));
    item.onclick = () => { input.value = q.text; input.dispatchEvent(new Event("input")); box.hidden = true; input.focus(); };
    return item;
  }));
  box.hidden = matches.length === 0;
}

/**
 * The quick replies from the keyboard while they are open: ↑/↓ move, Enter or Tab picks,
 * Escape closes. True when the key was theirs (the composer then leaves it alone).
 * @param {KeyboardEvent} ev @param {HTMLElement} box
 */
function quickReplyKey(ev, box) {
  const items = /** @type {HTMLElement[]} */ ([...box.querySelectorAll(".quick-item")]);
  if (!items.length || ev.isComposing) return false;
  const at = Math.max(0, items.findIndex((i) => i.classList.contains("active")));
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    const next = (at + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items.forEach((item, n) => { item.classList.toggle("active", n === next); item.setAttribute("aria-selected", String(n === next)); });
    items[next].scrollIntoView({ block: "nearest" });
  } else if ((ev.key === "Enter" && !ev.shiftKey) || ev.key === "Tab") {
    items[at].click();
  } else if (ev.key === "Escape") {
    box.hidden = true;
  } else {
    return false;
  }
  ev.preventDefault();
  return true;
}

async function close(/** @type {Entry} */ e, /** @type {string} */ summary) {
  await call("conversation.close", { conversation_id: e.conversation.id, summary });
  markClosed(e.conversation.id, summary);
}

/** The conversation ended (here or elsewhere): it moves to "closed" and the pane goes read-only. */
/** @param {string} id @param {string} [summary] */
export function markClosed(id, summary) {
  const e = state.convs.get(id);
  if (!e) return;
  e.conversation.status = "closed";
  if (summary !== undefined) e.conversation.summary = summary;
  if (state.current === id) renderPane();
  ui.list();
}

function openSummary(/** @type {Entry} */ e) {
  const text = el("textarea", { placeholder: t("summaryPlaceholder"), testid: "summary-text", maxLength: 2000, rows: 4 });
  text.setAttribute("aria-label", t("summaryTitle"));
  dialog("summary-dialog", t("summaryTitle"), [text], t("closeWithSummary"), () => close(e, text.value.trim()), "summary-submit");
}

async function openTransfer(/** @type {Entry} */ e) {
  /** @type {Agent[]} */
  const items = await apiAll("/api/v1/agents");
  const select = el("select", { testid: "transfer-agent" }, ...items.filter((a) => a.id !== state.me?.id)
    .map((a) => el("option", { value: a.id, textContent: `${a.name} <${a.email}>` })));
  select.setAttribute("aria-label", t("transfer"));
  const note = el("input", { placeholder: t("transferNote"), testid: "transfer-note" });
  dialog("transfer-dialog", t("transfer"), [select, note], t("transfer"), async () => {
    await call("conversation.transfer", { conversation_id: e.conversation.id, agent_id: select.value, note: note.value });
    e.conversation.agent_id = select.value;
    if (state.current === e.conversation.id) deselect();
    else ui.list();
  }, "transfer-submit");
}

function openBlock(/** @type {Entry} */ e) {
  const duration = el("select", { testid: "block-duration" }, ...BLOCK_DURATIONS.map((m) =>
    el("option", { value: m === null ? "" : String(m), textContent: t(m === null ? "d_forever" : `d_${m}`) })));
  duration.value = "1440";
  duration.setAttribute("aria-label", t("blockTitle"));
  const reason = el("input", { placeholder: t("blockReason"), testid: "block-reason", maxLength: 500 });
  dialog("block-dialog", t("blockTitle"), [duration, reason], t("blockSubmit"), async () => {
    /** @type {Contact} */
    const contact = await api(`/api/v1/contacts/${encodeURIComponent(e.conversation.contact_id)}/block`, {
      method: "POST",
      body: { minutes: duration.value ? Number(duration.value) : null, reason: reason.value.trim() },
    });
    state.contacts.set(contact.id, contact);
    ui.side();
    refreshPane();
  }, "block-submit");
}

async function takeOver(/** @type {Entry} */ e, /** @type {HTMLElement} */ banner) {
  try {
    /** @type {{conversation: Conversation}} */
    const { conversation } = await call("conversation.take_over", { conversation_id: e.conversation.id });
    entry(conversation);
    if (state.watching === conversation.id) {
      // Now held: its messages come to us as the holder.
      socket().emit("conversation.unwatch", { conversation_id: conversation.id });
      state.watching = null;
    }
    state.tab = "mine";
    ui.list();
    if (state.current === conversation.id) renderPane();
  } catch (err) {
    banner.append(el("span", { className: "error", role: "alert",
      textContent: t("takeOverFailed", { error: err instanceof Error ? err.message : String(err) }) }));
  }
}
