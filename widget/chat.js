// @ts-check
// Visitor chat page (runs inside the widget iframe).
import { t, applyI18n, switchLang, addStrings } from "./i18n.js";
import { $, el, request, connect, NEWEST, PAGE } from "./shared.js";
import { attachmentNodes, renderBody, textNode } from "./render.js";
import { storage } from "./storage.js";
import { refusal, tooLongText, fileTooLargeText } from "./refusals.js";

/** @import { Attachment, Conversation, Message } from "./types.js" */

addStrings({
  en: {
    prechatTitle: "Before we start, please tell us how to reach you.", prechatName: "Name", prechatPhone: "Phone",
    prechatEmail: "Email", prechatStart: "Start chat", prechatBad_phone: "Please enter a valid phone number.",
    prechatBad_email: "Please enter a valid email address.", prechatBad_name: "Please enter your name.",
    prechatFailed: "Could not save your details, please try again.",
    offlineDefault: "We are outside our working hours. Leave a message and we will get back to you.",
    blocked: "You can no longer send messages in this chat.", notDelivered: "Not delivered",
    reconnecting: "Connection lost, reconnecting… Messages you send will go out once we are back.",
    queued: "Waiting for connection…", unread: "{n} new messages", chat: "Chat",
    closeChat: "Close chat", emojiLabel: "Emoji", attachLabel: "Send a file or image",
    leaveInvalid: "Please write your message and leave a phone number or an email.", afterHours: "Outside working hours",
    olderLoading: "Loading earlier messages…", historyOf: "Conversation of {date}", historyEnded: "Conversation ended",
    tapRetry: "Tap to retry.", rateHint: "Please choose 1 to 5 stars first.",
    botName: "Assistant", withBot: "Our assistant is answering you",
  },
  zh: {
    prechatTitle: "开始咨询前，请留下您的联系方式。", prechatName: "姓名", prechatPhone: "电话", prechatEmail: "邮箱",
    prechatStart: "开始咨询", prechatBad_phone: "请输入正确的电话号码。", prechatBad_email: "请输入正确的邮箱地址。",
    prechatBad_name: "请输入您的姓名。", prechatFailed: "信息保存失败，请重试。",
    offlineDefault: "当前为非工作时间，请留言，我们会尽快联系您。",
    blocked: "您已无法在此会话中发送消息。", notDelivered: "未送达",
    reconnecting: "网络已断开，正在重新连接…恢复后将自动发送您的消息。",
    queued: "等待网络…", unread: "{n} 条新消息", chat: "在线咨询",
    closeChat: "关闭对话窗口", emojiLabel: "表情", attachLabel: "发送文件或图片",
    leaveInvalid: "请填写留言内容，并留下电话或邮箱。", afterHours: "非工作时间",
    olderLoading: "正在加载更早的消息…", historyOf: "{date} 的会话", historyEnded: "会话已结束",
    tapRetry: "点击重试。", rateHint: "请先选择 1 到 5 颗星。",
    botName: "智能助理", withBot: "智能助理正在为您服务",
  },
});

/**
 * @typedef {{
 *   color: string, max_length: number, send_key: string, company_name?: string, welcome_message?: string,
 *   notice?: string, address?: string, phone?: string, email?: string, working_hours_enabled?: boolean,
 *   offline_message?: string, prechat_enabled?: boolean, prechat_fields?: ("name" | "phone" | "email")[],
 *   upload_max_bytes?: number,
 * }} WidgetConfig
 * @typedef {{text: string, el: HTMLElement, clientId: string, attachments?: Attachment[]}} Outgoing
 * @typedef {"sending" | "sent" | "queued" | "failed" | "notDelivered"} BubbleState
 */

const params = new URLSearchParams(location.search);
const tenant = params.get("tenant") || "default";
const tokenKey = `hub:visitor:${tenant}`;
// The loader hands over the visitor its page views report (in the fragment, never sent to
// the server): the frame chats as that visitor.
const handedToken = new URLSearchParams(location.hash.slice(1)).get("vt");
if (handedToken) storage.set(tokenKey, handedToken);
const visitorToken = () => storage.get(tokenKey) || "";
// The hub's limits (GET /api/v1/widget/config), shown up front and checked before sending.
let MAX = 2000;
let uploadMax = 0;
let sendKey = "enter";
const log = $("log");
const statusEl = /** @type {HTMLElement} */ (document.querySelector("[data-testid=conversation-status]"));
const input = /** @type {HTMLTextAreaElement} */ ($("input"));
const fileInput = /** @type {HTMLInputElement} */ ($("file"));
const composerForm = /** @type {HTMLFormElement} */ ($("composer"));
const composerError = $("composerError");
/** Scrolled this close to the top (px), the next older page loads. */
const NEAR_TOP = 150;

/** @type {Conversation | null} */
let conversation = null;
/** @type {string | null} */
let contactId = null;
/** @type {Map<string, number>} conversation id → highest seq on screen (seq restarts per conversation) */
const lastSeq = new Map();
const noteSeq = (/** @type {string} */ conv, /** @type {number} */ seq) => lastSeq.set(conv, Math.max(lastSeq.get(conv) || 0, seq || 0));
let blocked = false;
let booted = false; // the first session decided what to show; later sessions are reconnects
const seen = new Set(); // message ids and client ids already on screen

applyI18n();
// Filled once the settings say whether the tenant has its own welcome (no default flashing first).
const welcomeText = el("span", { className: "text" });
log.prepend(el("div", { className: "msg welcome", dataset: { senderType: "system" } }, welcomeText));
// The visitor's earlier conversations, read-only, above everything else (`history`).
const historyBox = el("div", { className: "history", testid: "history" });
log.prepend(historyBox);
$("lang").textContent = t("lang");
$("lang").onclick = switchLang;
$("close").onclick = () => parent.postMessage({ type: "hub:close" }, "*");

const scrollDown = () => { log.scrollTop = log.scrollHeight; };

/**
 * A bubble: a stored message, or one of ours still on its way (`clientId`, text only).
 * @param {{message?: Message, clientId?: string, text?: string, state?: BubbleState}} what
 * @param {boolean} [scroll] whether to follow it to the bottom (not for older pages)
 */
function addBubble({ message, clientId, text = "", state }, scroll = true) {
  const node = message ? messageNode(message) : el("div", { className: "msg", testid: "message", dataset: { senderType: "contact" } });
  if (clientId) node.dataset.clientId = clientId;
  if (!message) node.append(textNode(text)); // never innerHTML: people type this
  if (state) setState(node, state);
  log.appendChild(node);
  if (message) place(node);
  if (scroll) scrollDown();
  if (message) seen.add(message.id);
  return node;
}

/** A stored message's bubble, not yet in the page. */
function messageNode(/** @type {Message} */ message, testid = "message") {
  const senderType = message.sender.type;
  const node = el("div", { className: "msg", testid, dataset: { senderType, conv: message.conversation_id, seq: String(message.seq) } });
  if (message.sender.name && senderType === "agent") node.append(el("span", { className: "name", textContent: message.sender.name }));
  if (senderType === "bot") node.append(el("span", { className: "name", textContent: t("botName") }));
  node.append(...renderBody(message, { channel: "webim", viewer: "visitor" }));
  const buttons = botButtons(message);
  if (buttons.length) {
    node.append(el("div", { className: "bot-buttons" }, ...buttons.map((title) => {
      const button = el("button", { type: "button", className: "bot-button", textContent: title, testid: "bot-button" });
      button.onclick = () => sendText(title);
      return button;
    })));
  }
  return node;
}

/** A bot's suggested questions (meta.bot.buttons): chosen with a click, sent as their text. */
function botButtons(/** @type {Message} */ message) {
  const bot = message.sender.type === "bot" ? message.meta?.bot : null;
  const buttons = bot && typeof bot === "object" ? /** @type {{buttons?: unknown}} */ (bot).buttons : null;
  return Array.isArray(buttons) ? buttons.filter((b) => typeof b === "string") : [];
}

// Bubbles stay in seq order: after a reconnect a live message can overtake the answer to the
// sync, a message typed offline is stored after the ones the agent sent meanwhile, and older
// pages arrive after newer ones.
function place(/** @type {HTMLElement} */ node) {
  const seq = Number(node.dataset.seq);
  const bubbles = /** @type {HTMLElement[]} */ ([...log.querySelectorAll("[data-seq]")])
    .filter((b) => b !== node && b.dataset.conv === node.dataset.conv);
  const later = bubbles.find((b) => Number(b.dataset.seq) > seq);
  if (later) { log.insertBefore(node, later); return; }
  const last = bubbles.at(-1);
  if (last && last.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_PRECEDING) last.after(node);
}

/** @param {HTMLElement} node @param {BubbleState} state @param {string} [reason] why it failed */
function setState(node, state, reason = "") {
  let s = node.querySelector(".state");
  if (!s) { s = el("span", { className: "state", testid: "message-state" }); node.appendChild(s); }
  node.dataset.state = state;
  node.classList.toggle("failed", state === "failed" || state === "notDelivered");
  if (state === "sent") s.textContent = "";
  else if (reason) s.textContent = state === "failed" ? `${reason} ${t("tapRetry")}` : reason;
  else s.textContent = t(state);
}

// Unread count for the launcher badge: agent and bot messages that arrive while the frame is hidden.
let visible = params.get("open") === "1";
let unread = 0;
function postUnread() {
  parent.postMessage({ type: "hub:unread", count: unread, label: `${t("chat")} (${t("unread", { n: unread })})` }, "*");
}
addEventListener("message", (e) => {
  if (e.source !== parent || !e.data || e.data.type !== "hub:open") return;
  visible = !!e.data.open;
  if (visible && unread) { unread = 0; postUnread(); }
  if (visible) fillOlder();
});

/**
 * @param {Message} m
 * @param {{live?: boolean, scroll?: boolean}} [how] live: counts as unread while hidden
 */
function showMessage(m, { live = true, scroll = true } = {}) {
  if (seen.has(m.id) || m.type === "note") return;
  noteSeq(m.conversation_id, m.seq);
  if (m.client_id && seen.has(m.client_id)) { seen.add(m.id); return; }
  if (m.client_id) seen.add(m.client_id);
  if (m.sender.type === "agent") $("typing").textContent = "";
  addBubble({ message: m }, scroll);
  if (live && !visible && (m.sender.type === "agent" || m.sender.type === "bot")) { unread++; postUnread(); }
}

function setStatus(/** @type {Conversation | null} */ c) {
  // No conversation yet: the welcome bubble greets (the tenant's own, if configured).
  if (!c) { statusEl.textContent = ""; return; }
  statusEl.dataset.status = c.status;
  if (c.status === "assigned") document.querySelector("form.leave")?.remove();
  // Open again (reopened by an agent, or one who wrote first): nothing to rate yet.
  if (c.status !== "closed") document.querySelector(".rating")?.remove();
  if (c.status === "assigned" && c.agent) statusEl.textContent = t("serving", { name: c.agent.name });
  else if (c.status === "bot") statusEl.textContent = t("withBot");
  else if (c.status === "queued" && c.queue_position) { statusEl.textContent = t("queue", { n: c.queue_position }); offerLeaveMessage(); }
  else if (c.status === "closed") {
    statusEl.textContent = t("closed");
    if (c.reason === "blocked") showBlocked();
    // Nobody answered in time: nothing to rate, but a message can still be left.
    else if (c.reason === "queue_timeout" || c.leave_message) offerLeaveMessage(t("leaveTitle"));
    else offerRating();
  } else { statusEl.textContent = t("waiting"); if (c.status === "queued") offerLeaveMessage(); }
}

// Blacklisted (拉黑): say so once and stop offering a composer that can only fail.
function showBlocked() {
  blocked = true;
  for (const form of document.querySelectorAll(".rating, .leave")) form.remove();
  for (const id of ["input", "emojiBtn", "attachBtn"]) /** @type {HTMLButtonElement} */ ($(id)).disabled = true;
  /** @type {HTMLButtonElement} */ (document.querySelector("[data-testid=composer-send]")).disabled = true;
  $("emoji").hidden = true;
  composerForm.classList.add("disabled");
  for (const item of outbox.splice(0)) setState(item.el, "notDelivered");
  if (document.querySelector("[data-testid=blocked-notice]")) return;
  const notice = el("div", { className: "blocked", role: "alert", textContent: t("blocked"), testid: "blocked-notice" });
  composerForm.before(notice);
}

const socket = connect("/visitor", {
  auth: (cb) => cb({ tenant, visitor_token: visitorToken() || undefined,
    page: { url: params.get("url"), title: params.get("title"), referrer: params.get("ref") } }),
});

// What decides the first screen: the tenant's settings, whether we are open, the session.
const tenantQuery = `tenant=${encodeURIComponent(tenant)}`;
/** @type {Promise<Partial<WidgetConfig>>} */
const configReady = request(`/api/v1/widget/config?${tenantQuery}`).then(applyConfig).catch(() => {
  welcomeText.textContent = t("welcome");
  return {};
});
/** @type {Promise<{open?: boolean, agents_online?: number}>} */
const availabilityReady = request(`/api/v1/widget/availability?${tenantQuery}`).catch(() => ({ open: true }));

/** @type {() => void} */
let sessionStarted = () => {};
/** @type {Promise<void>} */
const sessionReady = new Promise((resolve) => { sessionStarted = resolve; });

socket.on("session", async (/** @type {{visitor_token: string, contact_id: string, conversation: Conversation | null}} */ s) => {
  storage.set(tokenKey, s.visitor_token);
  parent.postMessage({ type: "hub:token", token: s.visitor_token }, "*");
  sessionStarted();
  contactId = s.contact_id;
  const previous = conversation;
  conversation = s.conversation;
  parent.postMessage({ type: "hub:conversation", open: !!conversation }, "*");
  if (!booted) {
    booted = true;
    setStatus(conversation);
    if (conversation) await loadNewest(conversation.id);
    else { await chooseStart(); fillOlder(); }
    return;
  }
  // Reconnected: catch up. A conversation that ended while we were away is caught up too.
  if (previous && (!conversation || conversation.id !== previous.id)) {
    await catchUp(previous.id);
    if (!conversation && previous.status !== "closed") setStatus({ ...previous, status: "closed" });
  }
  if (conversation) await (lastSeq.has(conversation.id) ? catchUp(conversation.id) : loadNewest(conversation.id));
});

/** @returns {Promise<Message[] | null>} */
async function syncPage(/** @type {Record<string, unknown>} */ query) {
  const ack = await socket.timeout(10000).emitWithAck("sync", { after_seq: 0, limit: PAGE, ...query }).catch(() => null);
  return ack && ack.ok ? ack.messages : null;
}

/** Paging back through the conversation shown first: the seq to ask before, and whether done. */
const older = { conversationId: "", before: NEWEST, complete: true, loading: false };

/** The newest page of a conversation; older pages follow as the visitor scrolls up. */
async function loadNewest(/** @type {string} */ conversationId) {
  const messages = await syncPage({ conversation_id: conversationId, before_seq: NEWEST });
  if (!messages) return;
  for (const m of messages) showMessage(m, { live: false });
  Object.assign(older, { conversationId, before: messages[0]?.seq ?? NEWEST, complete: !messages.length || messages[0].seq <= 1 });
  scrollDown();
  fillOlder();
}

/** While the top of the log is in view (and the frame shown), load the older pages, then the
 * earlier conversations. */
async function fillOlder() {
  if (older.loading || !log.clientHeight || log.scrollTop >= NEAR_TOP) return;
  if (older.complete) { await fillHistory(); return; }
  older.loading = true;
  const loading = el("div", { className: "older", testid: "log-older", dataset: { state: "loading" }, textContent: t("olderLoading") });
  log.querySelector(".welcome")?.after(loading);
  const messages = await syncPage({ conversation_id: older.conversationId, before_seq: older.before });
  const fromBottom = log.scrollHeight - log.scrollTop;
  loading.remove();
  if (messages) {
    for (const m of messages) showMessage(m, { live: false, scroll: false });
    // Private notes are not sent here, so a page can come back short: step by seq.
    older.before = messages.length ? messages[0].seq : older.before - PAGE;
    older.complete = older.before <= 1;
  }
  log.scrollTop = log.scrollHeight - fromBottom;
  older.loading = false;
  if (messages) fillOlder();
}
log.addEventListener("scroll", fillOlder, { passive: true });

/** Paging back through the earlier conversations: the oldest one shown, and whether more exist. */
const past = { before: "", more: true, loading: false };

/** One page of earlier conversations (newest first), put above what is shown. */
async function fillHistory() {
  if (!booted || !past.more || past.loading) return;
  past.loading = true;
  const loading = el("div", { className: "older", testid: "log-older", dataset: { state: "loading" }, textContent: t("olderLoading") });
  log.prepend(loading);
  const before = past.before || older.conversationId;
  /** @type {{ok: boolean, conversations: {conversation: Conversation, messages: Message[]}[], more: boolean} | null} */
  const ack = await socket.timeout(10000).emitWithAck("history", before ? { before_conversation: before } : {}).catch(() => null);
  const fromBottom = log.scrollHeight - log.scrollTop;
  loading.remove();
  if (ack?.ok) {
    for (const { conversation: c, messages } of ack.conversations) historyBox.prepend(pastConversation(c, messages));
    past.before = ack.conversations.at(-1)?.conversation.id || past.before;
    past.more = ack.more && ack.conversations.length > 0;
  }
  log.scrollTop = log.scrollHeight - fromBottom;
  past.loading = false;
  if (ack?.ok) fillOlder();
}

/** An earlier conversation: its date, its messages (read-only), and that it ended. */
function pastConversation(/** @type {Conversation} */ c, /** @type {Message[]} */ messages) {
  const date = new Date(c.created_at).toLocaleString(document.documentElement.lang || undefined,
    { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  return el("div", { className: "history-conv", testid: "history-conversation", dataset: { conv: c.id } },
    el("div", { className: "history-divider", testid: "history-divider", textContent: t("historyOf", { date }) }),
    ...messages.filter((m) => m.type !== "note").map((m) => messageNode(m, "history-message")),
    el("div", { className: "history-divider ended", textContent: t("historyEnded") }));
}

/** After a reconnect: what came while we were away, after the last message on screen. */
async function catchUp(/** @type {string} */ conversationId) {
  for (;;) {
    const messages = await syncPage({ conversation_id: conversationId, after_seq: lastSeq.get(conversationId) || 0 });
    if (!messages?.length) return;
    for (const m of messages) showMessage(m);
  }
}

socket.on("message", (/** @type {Message} */ m) => showMessage(m));
socket.on("conversation.status", (/** @type {Conversation & {conversation_id: string}} */ st) => {
  conversation = { ...(conversation || { channel: "webim", contact_id: contactId || "", created_at: "" }),
    id: st.conversation_id, status: st.status, agent: st.agent, queue_position: st.queue_position, reason: st.reason,
    leave_message: st.leave_message };
  setStatus(conversation);
  parent.postMessage({ type: "hub:conversation", open: st.status !== "closed" }, "*");
});
/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingTimer;
socket.on("typing", (/** @type {{sender_type: string, on: boolean}} */ { sender_type, on }) => {
  if (sender_type === "contact") return;
  $("typing").textContent = on ? t("typing") : "";
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => ($("typing").textContent = ""), 8000);
});

// Outgoing messages wait here, in order, until a connection takes them. A message whose answer
// never came is sent again with the same client_id after a reconnect; the hub stores it once.
/** @type {Outgoing[]} */
const outbox = [];
let flushing = false;
let online = navigator.onLine !== false;

function send(/** @type {Outgoing} */ item) {
  if (blocked) { setState(item.el, "notDelivered"); return; }
  setState(item.el, socket.connected && online ? "sending" : "queued");
  outbox.push(item);
  flush();
}

async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    while (outbox.length && socket.connected && online && !blocked) {
      const item = outbox[0];
      setState(item.el, "sending");
      /** @type {{client_id: string, text: string, attachments?: Attachment[]}} */
      const body = { client_id: item.clientId, text: item.text };
      if (item.attachments) body.attachments = item.attachments;
      let ack;
      try {
        ack = await socket.timeout(10000).emitWithAck("message", body);
      } catch (err) {
        if (!socket.connected || !online) { setState(item.el, "queued"); break; } // goes again on reconnect
        outbox.shift();
        failed(item, refusal(err).text);
        continue;
      }
      outbox.shift();
      if (ack.ok) delivered(item, ack.message);
      else if (ack.error?.code === "blocked") { setState(item.el, "notDelivered"); showBlocked(); }
      else {
        // A refusal that can never pass (too long) is not offered again; a rate limit is.
        const why = refusal(ack.error);
        if (why.retry) failed(item, why.text);
        else setState(item.el, "notDelivered", why.text);
      }
    }
  } finally {
    flushing = false;
  }
}

function delivered(/** @type {Outgoing} */ item, /** @type {Message} */ message) {
  seen.add(message.id);
  Object.assign(item.el.dataset, { conv: message.conversation_id, seq: String(message.seq) });
  place(item.el);
  noteSeq(message.conversation_id, message.seq);
  if (!conversation || conversation.status === "closed") {
    conversation = { id: message.conversation_id, status: "queued", channel: "webim", contact_id: contactId || "", created_at: message.created_at };
    if (!statusEl.dataset.status || statusEl.dataset.status === "closed") setStatus(conversation);
  }
  setState(item.el, "sent");
}

function failed(/** @type {Outgoing} */ item, /** @type {string} */ reason = "") {
  setState(item.el, "failed", reason);
  item.el.onclick = () => { item.el.onclick = null; send(item); };
}

function connectionChanged() {
  $("connection").hidden = socket.connected && online;
}
socket.on("connect", () => { online = true; connectionChanged(); flush(); }); // a live connection is proof enough
socket.on("disconnect", connectionChanged);
// The browser knows the network is gone long before a heartbeat times out: drop the connection
// at once (messages typed meanwhile wait in the outbox) and connect afresh when it is back; the
// session that follows syncs whatever was missed.
addEventListener("offline", () => { online = false; socket.disconnect(); connectionChanged(); });
addEventListener("online", () => { online = true; reconnect(); });
function reconnect() {
  if (!socket.connected && !socket.active) socket.connect();
  connectionChanged();
}
// Belt and braces: a missed "online" event, or a server that hung up, must not strand the visitor.
setInterval(() => { if (navigator.onLine && !blocked) { online = true; reconnect(); } }, 10000);

composerForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || blocked) return;
  // Refused here with the reason, the text kept for the visitor to shorten.
  if (text.length > MAX) { composerError.textContent = tooLongText(text.length, MAX); return; }
  composerError.textContent = "";
  input.value = "";
  updateCounter();
  sendText(text);
});

/** A visitor's text message: shown at once, sent (and resent) until the hub stores it. */
function sendText(/** @type {string} */ text) {
  if (blocked) return;
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  const bubble = addBubble({ clientId, text, state: "sending" });
  stopTyping();
  send({ text, el: bubble, clientId });
}
input.addEventListener("keydown", (e) => {
  const wanted = sendKey === "ctrl_enter" ? e.ctrlKey || e.metaKey : !e.shiftKey && !e.ctrlKey;
  if (e.key === "Enter" && wanted && !e.isComposing) { e.preventDefault(); composerForm.requestSubmit(); }
});
let typingSent = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let idleTimer;
function stopTyping() {
  clearTimeout(idleTimer);
  if (typingSent) socket.volatile.emit("typing", { on: false });
  typingSent = false;
}
input.addEventListener("input", () => {
  updateCounter();
  composerError.textContent = "";
  // volatile: a typing hint is worthless later, so it is never queued while disconnected.
  if (!typingSent) { socket.volatile.emit("typing", { on: true }); typingSent = true; }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(stopTyping, 3000);
});
function updateCounter() {
  $("counter").textContent = `${input.value.length} / ${MAX}`;
  $("counter").classList.toggle("over", input.value.length > MAX);
}
updateCounter();

function offerRating() {
  if (!conversation || blocked || document.querySelector(".rating")) return;
  const convId = conversation.id;
  const box = el("div", { className: "rating", testid: "rating" });
  const stars = el("div", { className: "stars" });
  let score = 0;
  for (let i = 1; i <= 5; i++) {
    const b = el("button", { type: "button", textContent: "☆", testid: `rating-star-${i}` });
    b.setAttribute("aria-label", `${i} / 5`);
    b.onclick = () => { score = i; [...stars.children].forEach((s, j) => (s.textContent = j < i ? "★" : "☆")); };
    stars.appendChild(b);
  }
  const comment = el("textarea", { placeholder: t("comment") });
  const submit = el("button", { type: "button", textContent: t("submit"), testid: "rating-submit" });
  const hint = el("div", { className: "rating-hint", role: "alert", testid: "rating-hint" });
  stars.addEventListener("click", () => { hint.textContent = ""; });
  submit.onclick = async () => {
    if (!score) { hint.textContent = t("rateHint"); return; }
    const ack = await socket.emitWithAck("rate", { conversation_id: convId, score, comment: comment.value });
    if (ack.ok) box.replaceChildren(el("div", { textContent: t("rateThanks") }));
  };
  box.append(el("div", { textContent: t("rate") }), stars, comment, hint, submit);
  log.appendChild(box);
  scrollDown();
}

// Files and images: uploaded first (size and type limits on the server), then sent as attachments.
$("attachBtn").onclick = () => fileInput.click();
fileInput.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  fileInput.value = "";
  if (!file || blocked) return;
  if (uploadMax && file.size > uploadMax) { composerError.textContent = fileTooLargeText(uploadMax); return; }
  composerError.textContent = "";
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  upload(file, addBubble({ clientId, text: file.name, state: "sending" }), clientId);
});

/** @param {File} file @param {HTMLElement} bubble @param {string} clientId */
async function upload(file, bubble, clientId) {
  setState(bubble, "sending");
  await sessionReady; // uploads are authorised by the visitor token the session hands out
  const form = new FormData();
  form.append("file", file);
  /** @type {Attachment} */
  let attachment;
  try {
    attachment = await request("/api/v1/uploads", {
      method: "POST", body: form, headers: { "X-Visitor-Token": visitorToken() },
    });
  } catch (err) {
    const why = refusal(err);
    if (!why.retry) { setState(bubble, "notDelivered", why.text); return; }
    setState(bubble, "failed", why.text);
    bubble.onclick = () => { bubble.onclick = null; if (!blocked) upload(file, bubble, clientId); };
    return;
  }
  const text = bubble.querySelector(".text");
  if (text) text.textContent = "";
  bubble.querySelector(".state")?.before(...attachmentNodes([attachment]));
  send({ text: "", el: bubble, clientId, attachments: [attachment] });
}

const EMOJI = "😀😂😊😍👍🙏👏🎉😢😮🤔❤️✅❓📦🚚".match(/\p{Extended_Pictographic}\uFE0F?/gu) || [];
for (const e of EMOJI) {
  const b = el("button", { type: "button", textContent: e });
  b.setAttribute("aria-label", e);
  b.onclick = () => { input.setRangeText(e, input.selectionStart, input.selectionEnd, "end"); input.focus(); updateCounter(); };
  $("emoji").appendChild(b);
}
$("emojiBtn").onclick = () => { $("emoji").hidden = !$("emoji").hidden; };

// The composer gives way to a form (pre-chat, or leave-a-message outside working hours).
function showComposer(/** @type {boolean} */ on) {
  composerForm.hidden = !on;
  $("counter").hidden = !on;
  if (!on) $("emoji").hidden = true;
}

// Leave a message (留言) when nobody can answer: nobody online, or outside working hours.
/** @param {string} [title] */
async function offerLeaveMessage(title) {
  if (blocked || document.querySelector(".leave")) return;
  // Left once in this situation (this conversation, or before any): not asked again until a
  // new conversation starts.
  const situation = conversation?.id || "";
  const leftKey = `hub:left:${tenant}:${contactId}`;
  if (storage.get(leftKey) === situation) {
    if (!document.querySelector(".leave-done")) log.appendChild(el("div", { className: "leave leave-done", testid: "leave-thanks", textContent: t("leaveThanks") }));
    return;
  }
  if (!title) {
    const availability = await request(`/api/v1/widget/availability?${tenantQuery}`).catch(() => null);
    if (!availability || availability.agents_online > 0) return;
    if (blocked || document.querySelector(".leave")) return;
  }
  const box = el("form", { className: "leave", testid: "leave-message-form" });
  box.appendChild(el("div", { className: "leave-title", textContent: title || t("leaveTitle"), testid: "leave-title" }));
  /** @type {Record<string, HTMLInputElement | HTMLTextAreaElement>} */
  const fields = {};
  for (const [key, type] of [["name", "text"], ["phone", "tel"], ["email", "email"], ["text", "textarea"]]) {
    const f = type === "textarea" ? el("textarea", { placeholder: t(`leave_${key}`) }) : el("input", { type, placeholder: t(`leave_${key}`) });
    f.setAttribute("aria-label", t(`leave_${key}`));
    f.dataset.testid = `leave-${key}`;
    fields[key] = f;
    box.appendChild(f);
  }
  const error = el("div", { className: "leave-error", role: "alert", testid: "leave-error" });
  const submit = el("button", { type: "submit", textContent: t("submit"), testid: "leave-submit" });
  box.append(error, submit);
  box.onsubmit = async (e) => {
    e.preventDefault();
    /** @type {Record<string, string>} */
    const body = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value]));
    if (situation) body.conversation_id = situation;
    try {
      await request("/api/v1/left-messages", { method: "POST", body, headers: { "X-Visitor-Token": visitorToken() } });
      storage.set(leftKey, situation);
      box.replaceChildren(el("div", { textContent: t("leaveThanks"), testid: "leave-thanks" }));
    } catch (err) {
      const code = /** @type {{code?: string}} */ (err).code;
      const reasons = { blocked: "blocked", invalid_left_message: "leaveInvalid", invalid_phone: "prechatBad_phone" };
      error.textContent = t(reasons[/** @type {keyof typeof reasons} */ (code)] || "failed");
    }
  };
  log.appendChild(box);
  scrollDown();
}

// Pre-chat form (售前表单): the fields the tenant asks for, all required, saved on the contact.
function offerPrechat(/** @type {("name" | "phone" | "email")[]} */ names) {
  showComposer(false);
  const box = el("form", { className: "leave prechat", testid: "prechat-form" });
  box.appendChild(el("div", { className: "leave-title", textContent: t("prechatTitle") }));
  /** @type {Record<string, HTMLInputElement>} */
  const inputs = {};
  const types = { name: ["text", "name"], phone: ["tel", "tel"], email: ["email", "email"] };
  const label = { name: "prechatName", phone: "prechatPhone", email: "prechatEmail" };
  for (const name of names) {
    const [type, autocomplete] = types[name];
    const f = el("input", { type, autocomplete, required: true, maxLength: name === "email" ? 200 : name === "phone" ? 40 : 100, testid: `prechat-${name}` });
    inputs[name] = f;
    box.appendChild(el("label", {}, el("span", { textContent: t(label[name]) }), f));
  }
  const error = el("div", { className: "leave-error", role: "alert", testid: "prechat-error" });
  const submit = el("button", { type: "submit", textContent: t("prechatStart"), testid: "prechat-submit" });
  box.append(error, submit);
  box.addEventListener("input", () => { error.textContent = ""; });
  box.onsubmit = async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    const body = Object.fromEntries(Object.entries(inputs).map(([k, f]) => [k, f.value.trim()]));
    const ack = await socket.timeout(10000).emitWithAck("profile", body).catch(() => null);
    submit.disabled = false;
    if (ack?.ok) {
      storage.set(`hub:prechat:${tenant}:${contactId}`, "1");
      box.remove();
      showComposer(true);
      input.focus();
      return;
    }
    /** @type {string} */
    const code = ack?.error?.code || "";
    if (code === "blocked") showBlocked();
    const field = code.startsWith("invalid_") ? code.slice(8) : "";
    error.textContent = t(names.some((n) => n === field) ? `prechatBad_${field}` : "prechatFailed");
    inputs[field]?.focus();
  };
  log.appendChild(box);
  box.querySelector("input")?.focus();
}

// First screen for a visitor with no open conversation.
async function chooseStart() {
  const [cfg, availability] = await Promise.all([configReady, availabilityReady]);
  if (conversation) return;
  if (cfg.working_hours_enabled && availability.open === false) {
    showComposer(false);
    statusEl.textContent = t("afterHours");
    offerLeaveMessage(cfg.offline_message || t("offlineDefault"));
    return;
  }
  const fields = cfg.prechat_enabled ? (cfg.prechat_fields || []) : [];
  if (fields.length && !storage.get(`hub:prechat:${tenant}:${contactId}`)) offerPrechat(fields);
}

// Appearance from the tenant's widget settings.
function applyConfig(/** @type {WidgetConfig} */ cfg) {
  document.documentElement.style.setProperty("--brand", cfg.color);
  if (cfg.company_name) /** @type {HTMLElement} */ (document.querySelector(".head h1")).textContent = cfg.company_name;
  MAX = cfg.max_length; uploadMax = cfg.upload_max_bytes || 0; sendKey = cfg.send_key;
  welcomeText.textContent = cfg.welcome_message || t("welcome");
  const details = [cfg.notice, cfg.address, cfg.phone, cfg.email].filter(Boolean).join(" · ");
  if (details) {
    const notice = el("div", { className: "notice", textContent: details, testid: "widget-notice" });
    /** @type {HTMLElement} */ (document.querySelector(".head")).after(notice);
  }
  updateCounter();
  return cfg;
}
