// Visitor chat page (runs inside the widget iframe).
import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, applyI18n, switchLang, addStrings } from "/static/i18n.js";

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
  },
});

const params = new URLSearchParams(location.search);
const tenant = params.get("tenant") || "default";
const tokenKey = `hub:visitor:${tenant}`;
let MAX = 2000;
let sendKey = "enter";
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const log = $("log");
const statusEl = document.querySelector("[data-testid=conversation-status]");
const input = $("input");

let conversation = null;
let contactId = null;
const lastSeq = new Map(); // conversation id → highest seq on screen (seq restarts per conversation)
const noteSeq = (conv, seq) => lastSeq.set(conv, Math.max(lastSeq.get(conv) || 0, seq || 0));
let blocked = false;
let booted = false; // the first session decided what to show; later sessions are reconnects
const seen = new Set(); // message ids and client ids already on screen

applyI18n();
const welcomeText = el("span", { className: "text", textContent: t("welcome") });
log.prepend(el("div", { className: "msg welcome" }, welcomeText));
log.firstChild.dataset.senderType = "system";
$("lang").textContent = t("lang");
$("lang").onclick = switchLang;
$("close").onclick = () => parent.postMessage({ type: "hub:close" }, "*");

const scrollDown = () => { log.scrollTop = log.scrollHeight; };

function sizeText(bytes) {
  if (!(bytes > 0)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function renderAttachments(node, attachments = []) {
  for (const a of attachments) {
    if (typeof a.url !== "string" || !a.url.startsWith("/") || a.url.startsWith("//")) continue;
    if (a.type === "image") {
      const img = el("img", { className: "thumb", src: a.url, alt: a.name || "", loading: "lazy" });
      img.dataset.testid = "message-image";
      node.appendChild(el("a", { href: a.url, target: "_blank", rel: "noopener" }, img));
    } else {
      const link = el("a", { className: "file", href: a.url, download: a.name || "" },
        el("span", { className: "file-name", textContent: `📄 ${a.name || ""}` }));
      link.dataset.testid = "message-file";
      const size = sizeText(a.size);
      if (size) link.append(el("span", { className: "file-size", textContent: size }));
      node.appendChild(link);
    }
  }
}

function addBubble({ id, conv, seq, clientId, senderType, name, text, state, attachments }) {
  const node = el("div", { className: "msg" });
  node.dataset.testid = "message";
  node.dataset.senderType = senderType;
  if (clientId) node.dataset.clientId = clientId;
  if (seq) Object.assign(node.dataset, { conv, seq });
  if (name && senderType === "agent") node.appendChild(el("span", { className: "name", textContent: name }));
  node.appendChild(el("span", { className: "text", textContent: text })); // never innerHTML: people type this
  renderAttachments(node, attachments);
  if (state) setState(node, state);
  log.appendChild(node);
  if (seq) place(node);
  scrollDown();
  if (id) seen.add(id);
  return node;
}

// Bubbles stay in seq order: after a reconnect a live message can overtake the answer to the
// sync, and a message typed offline is stored after the ones the agent sent meanwhile.
function place(node) {
  const seq = Number(node.dataset.seq);
  const bubbles = [...log.querySelectorAll("[data-seq]")].filter((b) => b !== node && b.dataset.conv === node.dataset.conv);
  const later = bubbles.find((b) => Number(b.dataset.seq) > seq);
  if (later) { log.insertBefore(node, later); return; }
  const last = bubbles.at(-1);
  if (last && last.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_PRECEDING) last.after(node);
}

function setState(node, state) {
  let s = node.querySelector(".state");
  if (!s) { s = el("span", { className: "state" }); node.appendChild(s); }
  node.dataset.state = state;
  node.classList.toggle("failed", state === "failed" || state === "notDelivered");
  s.textContent = state === "sent" ? "" : t(state);
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
});

function showMessage(m, live = true) {
  if (seen.has(m.id) || m.type === "note") return;
  noteSeq(m.conversation_id, m.seq);
  if (m.client_id && seen.has(m.client_id)) { seen.add(m.id); return; }
  if (m.client_id) seen.add(m.client_id);
  if (m.sender.type === "agent") $("typing").textContent = "";
  addBubble({ id: m.id, conv: m.conversation_id, seq: m.seq, senderType: m.sender.type, name: m.sender.name, text: m.text || "", attachments: m.attachments });
  if (live && !visible && (m.sender.type === "agent" || m.sender.type === "bot")) { unread++; postUnread(); }
}

function setStatus(c) {
  if (!c) { statusEl.textContent = t("welcome"); return; }
  statusEl.dataset.status = c.status;
  if (c.status === "assigned") document.querySelector("form.leave")?.remove();
  if (c.status === "assigned" && c.agent) statusEl.textContent = t("serving", { name: c.agent.name });
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
  for (const id of ["input", "emojiBtn", "attachBtn"]) $(id).disabled = true;
  document.querySelector("[data-testid=composer-send]").disabled = true;
  $("emoji").hidden = true;
  $("composer").classList.add("disabled");
  for (const item of outbox.splice(0)) setState(item.el, "notDelivered");
  if (document.querySelector("[data-testid=blocked-notice]")) return;
  const notice = el("div", { className: "blocked", role: "alert", textContent: t("blocked") });
  notice.dataset.testid = "blocked-notice";
  $("composer").before(notice);
}

const socket = io("/visitor", {
  auth: (cb) => cb({ tenant, visitor_token: localStorage.getItem(tokenKey) || undefined,
    page: { url: params.get("url"), title: params.get("title"), referrer: params.get("ref") } }),
  transports: ["websocket"],
});

// What decides the first screen: the tenant's settings, whether we are open, the session.
const configReady = fetch(`/api/v1/widget/config?tenant=${encodeURIComponent(tenant)}`)
  .then((r) => r.json()).then(applyConfig).catch(() => ({}));
const availabilityReady = fetch(`/api/v1/widget/availability?tenant=${encodeURIComponent(tenant)}`)
  .then((r) => (r.ok ? r.json() : { open: true })).catch(() => ({ open: true }));

let sessionStarted;
const sessionReady = new Promise((resolve) => { sessionStarted = resolve; });

socket.on("session", async (s) => {
  localStorage.setItem(tokenKey, s.visitor_token);
  sessionStarted();
  contactId = s.contact_id;
  const previous = conversation;
  conversation = s.conversation;
  parent.postMessage({ type: "hub:conversation", open: !!conversation }, "*");
  if (!booted) {
    booted = true;
    setStatus(conversation);
    if (conversation) await sync(false);
    else await chooseStart();
    return;
  }
  // Reconnected: catch up. A conversation that ended while we were away is caught up too.
  if (previous && (!conversation || conversation.id !== previous.id)) {
    await sync(true, previous.id);
    if (!conversation && previous.status !== "closed") setStatus({ ...previous, status: "closed" });
  }
  if (conversation) await sync(true);
});

async function sync(live, conversationId = conversation?.id) {
  if (!conversationId) return;
  const after = lastSeq.get(conversationId) || 0;
  const ack = await socket.timeout(10000).emitWithAck("sync", { conversation_id: conversationId, after_seq: after }).catch(() => null);
  if (ack && ack.ok) for (const m of ack.messages) showMessage(m, live);
}

socket.on("message", (m) => showMessage(m));
socket.on("conversation.status", (st) => {
  conversation = { ...(conversation || {}), id: st.conversation_id, status: st.status, agent: st.agent,
    queue_position: st.queue_position, reason: st.reason, leave_message: st.leave_message };
  setStatus(conversation);
  parent.postMessage({ type: "hub:conversation", open: st.status !== "closed" }, "*");
});
let typingTimer;
socket.on("typing", ({ sender_type, on }) => {
  if (sender_type === "contact") return;
  $("typing").textContent = on ? t("typing") : "";
  clearTimeout(typingTimer);
  if (on) typingTimer = setTimeout(() => ($("typing").textContent = ""), 8000);
});

// Outgoing messages wait here, in order, until a connection takes them. A message whose answer
// never came is sent again with the same client_id after a reconnect; the hub stores it once.
const outbox = [];
let flushing = false;
let online = navigator.onLine !== false;

function send(item) {
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
      const body = { client_id: item.clientId, text: item.text };
      if (item.attachments) body.attachments = item.attachments;
      let ack;
      try {
        ack = await socket.timeout(10000).emitWithAck("message", body);
      } catch {
        if (!socket.connected || !online) { setState(item.el, "queued"); break; } // goes again on reconnect
        outbox.shift();
        failed(item);
        continue;
      }
      outbox.shift();
      if (ack.ok) delivered(item, ack.message);
      else if (ack.error?.code === "blocked") { setState(item.el, "notDelivered"); showBlocked(); }
      else failed(item);
    }
  } finally {
    flushing = false;
  }
}

function delivered(item, message) {
  seen.add(message.id);
  Object.assign(item.el.dataset, { conv: message.conversation_id, seq: message.seq });
  place(item.el);
  noteSeq(message.conversation_id, message.seq);
  if (!conversation || conversation.status === "closed") {
    conversation = { id: message.conversation_id, status: "queued" };
    if (!statusEl.dataset.status || statusEl.dataset.status === "closed") setStatus(conversation);
  }
  setState(item.el, "sent");
}

function failed(item) {
  setState(item.el, "failed");
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

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || blocked) return;
  input.value = "";
  updateCounter();
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  const bubble = addBubble({ clientId, senderType: "contact", text, state: "sending" });
  stopTyping();
  send({ text, el: bubble, clientId });
});
input.addEventListener("keydown", (e) => {
  const wanted = sendKey === "ctrl_enter" ? e.ctrlKey || e.metaKey : !e.shiftKey && !e.ctrlKey;
  if (e.key === "Enter" && wanted && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
});
let typingSent = false;
let idleTimer;
function stopTyping() {
  clearTimeout(idleTimer);
  if (typingSent) socket.volatile.emit("typing", { on: false });
  typingSent = false;
}
input.addEventListener("input", () => {
  updateCounter();
  // volatile: a typing hint is worthless later, so it is never queued while disconnected.
  if (!typingSent) { socket.volatile.emit("typing", { on: true }); typingSent = true; }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(stopTyping, 3000);
});
function updateCounter() { $("counter").textContent = `${input.value.length} / ${MAX}`; }
updateCounter();

function offerRating() {
  if (!conversation || blocked || document.querySelector(".rating")) return;
  const convId = conversation.id;
  const box = el("div", { className: "rating" });
  box.dataset.testid = "rating";
  const stars = el("div", { className: "stars" });
  let score = 0;
  for (let i = 1; i <= 5; i++) {
    const b = el("button", { type: "button", textContent: "☆" });
    b.dataset.testid = `rating-star-${i}`;
    b.setAttribute("aria-label", `${i} / 5`);
    b.onclick = () => { score = i; [...stars.children].forEach((s, j) => (s.textContent = j < i ? "★" : "☆")); };
    stars.appendChild(b);
  }
  const comment = el("textarea", { placeholder: t("comment") });
  const submit = el("button", { type: "button", textContent: t("submit") });
  submit.dataset.testid = "rating-submit";
  submit.onclick = async () => {
    if (!score) return;
    const ack = await socket.emitWithAck("rate", { conversation_id: convId, score, comment: comment.value });
    if (ack.ok) box.replaceChildren(el("div", { textContent: t("rateThanks") }));
  };
  box.append(el("div", { textContent: t("rate") }), stars, comment, submit);
  log.appendChild(box);
  scrollDown();
}

// Files and images: uploaded first (size and type limits on the server), then sent as attachments.
$("attachBtn").onclick = () => $("file").click();
$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  $("file").value = "";
  if (!file || blocked) return;
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  upload(file, addBubble({ clientId, senderType: "contact", text: file.name, state: "sending" }), clientId);
});

async function upload(file, bubble, clientId) {
  setState(bubble, "sending");
  await sessionReady; // uploads are authorised by the visitor token the session hands out
  const form = new FormData();
  form.append("file", file);
  const res = await fetch("/api/v1/uploads", {
    method: "POST", body: form, headers: { "X-Visitor-Token": localStorage.getItem(tokenKey) || "" },
  }).catch(() => null);
  if (!res || !res.ok) {
    setState(bubble, "failed");
    bubble.onclick = () => { bubble.onclick = null; if (!blocked) upload(file, bubble, clientId); };
    return;
  }
  const attachment = await res.json();
  bubble.querySelector(".text").textContent = "";
  renderAttachments(bubble, [attachment]);
  send({ text: "", el: bubble, clientId, attachments: [attachment] });
}

const EMOJI = "😀😂😊😍👍🙏👏🎉😢😮🤔❤️✅❓📦🚚".match(/\p{Extended_Pictographic}\uFE0F?/gu);
for (const e of EMOJI) {
  const b = el("button", { type: "button", textContent: e });
  b.setAttribute("aria-label", e);
  b.onclick = () => { input.setRangeText(e, input.selectionStart, input.selectionEnd, "end"); input.focus(); updateCounter(); };
  $("emoji").appendChild(b);
}
$("emojiBtn").onclick = () => { $("emoji").hidden = !$("emoji").hidden; };

// The composer gives way to a form (pre-chat, or leave-a-message outside working hours).
function showComposer(on) {
  $("composer").hidden = !on;
  $("counter").hidden = !on;
  if (!on) $("emoji").hidden = true;
}

// Leave a message (留言) when nobody can answer: nobody online, or outside working hours.
async function offerLeaveMessage(title) {
  if (blocked || document.querySelector(".leave")) return;
  if (!title) {
    const res = await fetch(`/api/v1/widget/availability?tenant=${encodeURIComponent(tenant)}`).catch(() => null);
    if (!res || !res.ok || (await res.json()).agents_online > 0) return;
    if (blocked || document.querySelector(".leave")) return;
  }
  const box = el("form", { className: "leave" });
  box.dataset.testid = "leave-message-form";
  const heading = el("div", { className: "leave-title", textContent: title || t("leaveTitle") });
  heading.dataset.testid = "leave-title";
  box.appendChild(heading);
  const fields = {};
  for (const [key, type] of [["name", "text"], ["phone", "tel"], ["email", "email"], ["text", "textarea"]]) {
    const f = el(type === "textarea" ? "textarea" : "input", { placeholder: t(`leave_${key}`) });
    if (type !== "textarea") f.type = type;
    f.setAttribute("aria-label", t(`leave_${key}`));
    f.dataset.testid = `leave-${key}`;
    fields[key] = f;
    box.appendChild(f);
  }
  const error = el("div", { className: "leave-error", role: "alert" });
  error.dataset.testid = "leave-error";
  const submit = el("button", { type: "submit", textContent: t("submit") });
  submit.dataset.testid = "leave-submit";
  box.append(error, submit);
  box.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value]));
    const r = await fetch("/api/v1/left-messages", {
      method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-Visitor-Token": localStorage.getItem(tokenKey) || "" },
    }).catch(() => null);
    if (r && r.ok) {
      const thanks = el("div", { textContent: t("leaveThanks") });
      thanks.dataset.testid = "leave-thanks";
      box.replaceChildren(thanks);
    } else {
      const code = (await r?.json().catch(() => null))?.error?.code;
      error.textContent = t(code === "blocked" ? "blocked" : code === "invalid_left_message" ? "leaveInvalid" : "failed");
    }
  };
  log.appendChild(box);
  scrollDown();
}

// Pre-chat form (售前表单): the fields the tenant asks for, all required, saved on the contact.
function offerPrechat(names) {
  showComposer(false);
  const box = el("form", { className: "leave prechat" });
  box.dataset.testid = "prechat-form";
  box.appendChild(el("div", { className: "leave-title", textContent: t("prechatTitle") }));
  const inputs = {};
  const types = { name: ["text", "name"], phone: ["tel", "tel"], email: ["email", "email"] };
  const label = { name: "prechatName", phone: "prechatPhone", email: "prechatEmail" };
  for (const name of names) {
    const [type, autocomplete] = types[name];
    const f = el("input", { type, autocomplete, required: true, maxLength: name === "email" ? 200 : name === "phone" ? 40 : 100 });
    f.dataset.testid = `prechat-${name}`;
    inputs[name] = f;
    box.appendChild(el("label", {}, el("span", { textContent: t(label[name]) }), f));
  }
  const error = el("div", { className: "leave-error", role: "alert" });
  error.dataset.testid = "prechat-error";
  const submit = el("button", { type: "submit", textContent: t("prechatStart") });
  submit.dataset.testid = "prechat-submit";
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
      localStorage.setItem(`hub:prechat:${tenant}:${contactId}`, "1");
      box.remove();
      showComposer(true);
      input.focus();
      return;
    }
    const code = ack?.error?.code || "";
    if (ack?.error?.code === "blocked") showBlocked();
    error.textContent = t(code.startsWith("invalid_") && names.includes(code.slice(8)) ? `prechatBad_${code.slice(8)}` : "prechatFailed");
    inputs[code.slice(8)]?.focus();
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
  if (fields.length && !localStorage.getItem(`hub:prechat:${tenant}:${contactId}`)) offerPrechat(fields);
}

// Appearance from the tenant's widget settings.
function applyConfig(cfg) {
  document.documentElement.style.setProperty("--brand", cfg.color);
  if (cfg.company_name) document.querySelector(".head h1").textContent = cfg.company_name;
  MAX = cfg.max_length; input.maxLength = MAX; sendKey = cfg.send_key;
  if (cfg.welcome_message) welcomeText.textContent = cfg.welcome_message;
  const details = [cfg.notice, cfg.address, cfg.phone, cfg.email].filter(Boolean).join(" · ");
  if (details) {
    const notice = el("div", { className: "notice", textContent: details });
    notice.dataset.testid = "widget-notice";
    document.querySelector(".head").after(notice);
  }
  updateCounter();
  return cfg;
}
