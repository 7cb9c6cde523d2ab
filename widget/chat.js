// Visitor chat page (runs inside the widget iframe).
import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, applyI18n, switchLang } from "/static/i18n.js";

const params = new URLSearchParams(location.search);
const tenant = params.get("tenant") || "default";
const tokenKey = `hub:visitor:${tenant}`;
let MAX = 2000;
let sendKey = "enter";
let welcome = "";
const $ = (id) => document.getElementById(id);
const log = $("log");
const statusEl = document.querySelector("[data-testid=conversation-status]");
const input = $("input");

let conversation = null;
let lastSeq = 0;
const seen = new Set(); // message ids and client ids already on screen

applyI18n();
log.prepend(Object.assign(document.createElement("div"), { className: "msg welcome" }));
log.firstChild.dataset.senderType = "system";
log.firstChild.append(Object.assign(document.createElement("span"), { className: "text", textContent: t("welcome") }));
$("lang").textContent = t("lang");
$("lang").onclick = switchLang;
$("close").onclick = () => parent.postMessage({ type: "hub:close" }, "*");

function renderAttachments(el, attachments = []) {
  for (const a of attachments) {
    if (typeof a.url !== "string" || !a.url.startsWith("/") || a.url.startsWith("//")) continue;
    if (a.type === "image") {
      const img = document.createElement("img");
      img.className = "thumb"; img.src = a.url; img.alt = a.name || ""; img.loading = "lazy";
      el.appendChild(img);
    } else {
      const link = document.createElement("a");
      link.className = "file"; link.href = a.url; link.download = a.name || ""; link.textContent = `📄 ${a.name}`;
      el.appendChild(link);
    }
  }
}

function addBubble({ id, clientId, senderType, name, text, state, attachments }) {
  const el = document.createElement("div");
  el.className = "msg";
  el.dataset.testid = "message";
  el.dataset.senderType = senderType;
  if (clientId) el.dataset.clientId = clientId;
  if (name && senderType === "agent") {
    const who = document.createElement("span");
    who.className = "name";
    who.textContent = name;
    el.appendChild(who);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text; // never innerHTML: visitors and agents type this
  el.appendChild(body);
  renderAttachments(el, attachments);
  if (state) setState(el, state);
  log.appendChild(el);
  log.scrollTop = log.scrollHeight;
  if (id) seen.add(id);
  return el;
}

function setState(el, state) {
  let s = el.querySelector(".state");
  if (!s) { s = document.createElement("span"); s.className = "state"; el.appendChild(s); }
  el.dataset.state = state;
  el.classList.toggle("failed", state === "failed");
  s.textContent = state === "sent" ? "" : t(state);
}

function showMessage(m) {
  if (seen.has(m.id) || m.type === "note") return;
  if (m.client_id && seen.has(m.client_id)) { seen.add(m.id); lastSeq = Math.max(lastSeq, m.seq); return; }
  lastSeq = Math.max(lastSeq, m.seq || 0);
  if (m.client_id) seen.add(m.client_id);
  if (m.sender.type === "agent") $("typing").textContent = "";
  addBubble({ id: m.id, senderType: m.sender.type, name: m.sender.name, text: m.text || "", attachments: m.attachments });
}

function setStatus(c) {
  if (!c) { statusEl.textContent = t("welcome"); return; }
  statusEl.dataset.status = c.status;
  if (c.status === "assigned") document.querySelector("form.leave")?.remove();
  if (c.status === "assigned" && c.agent) statusEl.textContent = t("serving", { name: c.agent.name });
  else if (c.status === "queued" && c.queue_position) { statusEl.textContent = t("queue", { n: c.queue_position }); offerLeaveMessage(); }
  else if (c.status === "closed") { statusEl.textContent = t("closed"); offerRating(); }
  else { statusEl.textContent = t("waiting"); if (c.status === "queued") offerLeaveMessage(); }
}

const socket = io("/visitor", {
  auth: (cb) => cb({ tenant, visitor_token: localStorage.getItem(tokenKey) || undefined,
    page: { url: params.get("url"), title: params.get("title"), referrer: params.get("ref") } }),
  transports: ["websocket"],
});

socket.on("session", async (s) => {
  localStorage.setItem(tokenKey, s.visitor_token);
  conversation = s.conversation;
  parent.postMessage({ type: "hub:conversation", open: !!conversation }, "*");
  setStatus(conversation);
  if (conversation) await sync();
});

async function sync() {
  if (!conversation) return;
  const ack = await socket.emitWithAck("sync", { conversation_id: conversation.id, after_seq: lastSeq });
  if (ack && ack.ok) for (const m of ack.messages) showMessage(m);
}

socket.on("message", showMessage);
socket.on("conversation.status", (st) => {
  conversation = { ...(conversation || {}), id: st.conversation_id, status: st.status, agent: st.agent,
    queue_position: st.queue_position };
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

async function send(text, el, clientId, attachments) {
  setState(el, "sending");
  try {
    const body = { client_id: clientId, text };
    if (attachments) body.attachments = attachments;
    const ack = await socket.timeout(10000).emitWithAck("message", body);
    if (!ack.ok) throw new Error(ack.error?.message);
    seen.add(ack.message.id);
    lastSeq = Math.max(lastSeq, ack.message.seq);
    if (!conversation || conversation.status === "closed") {
      conversation = { id: ack.message.conversation_id, status: "queued" };
      if (!statusEl.dataset.status || statusEl.dataset.status === "closed") setStatus(conversation);
    }
    setState(el, "sent");
  } catch {
    setState(el, "failed");
    el.onclick = () => { el.onclick = null; send(text, el, clientId, attachments); };
  }
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  updateCounter();
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  const el = addBubble({ clientId, senderType: "contact", text, state: "sending" });
  stopTyping();
  send(text, el, clientId);
});
input.addEventListener("keydown", (e) => {
  const wanted = sendKey === "ctrl_enter" ? e.ctrlKey || e.metaKey : !e.shiftKey && !e.ctrlKey;
  if (e.key === "Enter" && wanted && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
});
let typingSent = false;
let idleTimer;
function stopTyping() {
  clearTimeout(idleTimer);
  if (typingSent) socket.emit("typing", { on: false });
  typingSent = false;
}
input.addEventListener("input", () => {
  updateCounter();
  if (!typingSent) { socket.emit("typing", { on: true }); typingSent = true; }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(stopTyping, 3000);
});
function updateCounter() { $("counter").textContent = `${input.value.length} / ${MAX}`; }
updateCounter();
socket.io.on("reconnect", sync);

function offerRating() {
  if (!conversation || document.querySelector(".rating")) return;
  const convId = conversation.id;
  const box = document.createElement("div");
  box.className = "rating";
  box.dataset.testid = "rating";
  const title = document.createElement("div");
  title.textContent = t("rate");
  const stars = document.createElement("div");
  stars.className = "stars";
  let score = 0;
  for (let i = 1; i <= 5; i++) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = "☆"; b.dataset.testid = `rating-star-${i}`;
    b.onclick = () => { score = i; [...stars.children].forEach((s, j) => (s.textContent = j < i ? "★" : "☆")); };
    stars.appendChild(b);
  }
  const comment = document.createElement("textarea");
  comment.placeholder = t("comment");
  const submit = document.createElement("button");
  submit.type = "button"; submit.textContent = t("submit"); submit.dataset.testid = "rating-submit";
  submit.onclick = async () => {
    if (!score) return;
    const ack = await socket.emitWithAck("rate", { conversation_id: convId, score, comment: comment.value });
    if (ack.ok) box.replaceChildren(Object.assign(document.createElement("div"), { textContent: t("rateThanks") }));
  };
  box.append(title, stars, comment, submit);
  log.appendChild(box);
  log.scrollTop = log.scrollHeight;
}

// Files and images: uploaded first (size and type limits on the server), then sent as attachments.
$("attachBtn").onclick = () => $("file").click();
$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  $("file").value = "";
  if (!file) return;
  const clientId = crypto.randomUUID();
  seen.add(clientId);
  const el = addBubble({ clientId, senderType: "contact", text: file.name, state: "sending" });
  const form = new FormData();
  form.append("file", file);
  const res = await fetch("/api/v1/uploads", {
    method: "POST", body: form, headers: { "X-Visitor-Token": localStorage.getItem(tokenKey) || "" },
  });
  if (!res.ok) { setState(el, "failed"); return; }
  const attachment = await res.json();
  el.querySelector(".text").textContent = "";
  renderAttachments(el, [attachment]);
  send("", el, clientId, [attachment]);
});

const EMOJI = "😀😂😊😍👍🙏👏🎉😢😮🤔❤️✅❓📦🚚".match(/\p{Extended_Pictographic}\uFE0F?/gu);
for (const e of EMOJI) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = e;
  b.onclick = () => { input.setRangeText(e, input.selectionStart, input.selectionEnd, "end"); input.focus(); updateCounter(); };
  $("emoji").appendChild(b);
}
$("emojiBtn").onclick = () => { $("emoji").hidden = !$("emoji").hidden; };

// Leave a message (留言) when nobody can answer.
async function offerLeaveMessage() {
  if (document.querySelector(".leave")) return;
  const res = await fetch(`/api/v1/widget/availability?tenant=${encodeURIComponent(tenant)}`).catch(() => null);
  if (!res || !res.ok || (await res.json()).agents_online > 0) return;
  const box = document.createElement("form");
  box.className = "leave";
  box.dataset.testid = "leave-message-form";
  const title = document.createElement("div");
  title.className = "leave-title";
  title.textContent = t("leaveTitle");
  box.appendChild(title);
  const fields = {};
  for (const [key, type] of [["name", "text"], ["phone", "tel"], ["email", "email"], ["text", "textarea"]]) {
    const f = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") f.type = type;
    f.placeholder = t(`leave_${key}`);
    f.dataset.testid = `leave-${key}`;
    fields[key] = f;
    box.appendChild(f);
  }
  const error = document.createElement("div");
  error.className = "leave-error";
  const submit = document.createElement("button");
  submit.type = "submit"; submit.textContent = t("submit"); submit.dataset.testid = "leave-submit";
  box.append(error, submit);
  box.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value]));
    const r = await fetch("/api/v1/left-messages", {
      method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-Visitor-Token": localStorage.getItem(tokenKey) || "" },
    });
    if (r.ok) box.replaceChildren(Object.assign(document.createElement("div"), { textContent: t("leaveThanks") }));
    else error.textContent = (await r.json().catch(() => ({}))).error?.message || t("failed");
  };
  log.appendChild(box);
  log.scrollTop = log.scrollHeight;
}

// Appearance from the tenant's widget settings.
fetch(`/api/v1/widget/config?tenant=${encodeURIComponent(tenant)}`).then((r) => r.json()).then((cfg) => {
  document.documentElement.style.setProperty("--brand", cfg.color);
  if (cfg.company_name) document.querySelector(".head h1").textContent = cfg.company_name;
  MAX = cfg.max_length; input.maxLength = MAX; sendKey = cfg.send_key; welcome = cfg.welcome_message;
  const w = log.querySelector(".welcome .text");
  if (w && welcome) w.textContent = welcome;
  const details = [cfg.notice, cfg.address, cfg.phone, cfg.email].filter(Boolean).join(" · ");
  if (details) {
    const notice = document.createElement("div");
    notice.className = "notice"; notice.dataset.testid = "widget-notice"; notice.textContent = details;
    document.querySelector(".head").after(notice);
  }
  updateCounter();
}).catch(() => {});
