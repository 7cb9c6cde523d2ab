// Agent inbox: login, presence, conversation list, chat pane, contact panel.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, applyI18n, switchLang } from "/static/i18n.js";

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of children) node.append(c);
  return node;
};
const TOKEN = "hub:agent-token";
const CLIP_ICON = '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/></svg>';
const state = { token: localStorage.getItem(TOKEN), me: null, socket: null, convs: new Map(), current: null };
const baseTitle = document.title;

applyI18n();
$("loginLang").textContent = $("lang").textContent = t("lang");
$("loginLang").onclick = $("lang").onclick = switchLang;

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error?.message || res.statusText), { status: res.status });
  return body;
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const res = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: $("email").value, password: $("password").value }),
    });
    if (!res.ok) throw new Error();
    const body = await res.json();
    state.token = body.token;
    state.me = body.agent;
    localStorage.setItem(TOKEN, body.token);
    localStorage.setItem(TOKEN + ":me", JSON.stringify(body.agent));
    start();
  } catch {
    $("loginError").textContent = t("loginFailed");
  }
});

$("logout").onclick = () => { localStorage.removeItem(TOKEN); location.reload(); };

function showLogin() { $("login").hidden = false; $("app").hidden = true; }

function setPresence(status) {
  const b = $("presence");
  b.dataset.status = status;
  b.textContent = status === "ready" ? t("ready") : t("notReady");
}

$("presence").onclick = async () => {
  const next = $("presence").dataset.status === "ready" ? "not_ready" : "ready";
  const ack = await state.socket.emitWithAck("presence", { status: next });
  if (ack.ok) setPresence(next);
  refreshStats();
};

async function refreshStats() {
  try {
    const m = await api("/api/v1/monitor");
    $("statServing").textContent = `${t("serving_n", { n: m.serving })}`;
    $("statQueued").textContent = t("queued_n", { n: m.queued });
    $("statOnline").textContent = t("online_n", { n: m.agents_online });
  } catch { /* header stats are best effort */ }
}

function upsertConv(conversation, contact, messages = []) {
  const c = state.convs.get(conversation.id) || { messages: [], unread: 0 };
  c.conversation = conversation;
  if (contact) c.contact = contact;
  for (const m of messages) addMessage(c, m);
  state.convs.set(conversation.id, c);
  renderList();
  return c;
}

function addMessage(c, m) {
  if (c.messages.some((x) => x.id === m.id)) return false;
  c.messages.push(m);
  c.messages.sort((a, b) => a.seq - b.seq);
  return true;
}

function contactName(c) { return c.contact?.name || `${t("visitor")} ${c.conversation.contact_id.slice(0, 6)}`; }

function renderList() {
  const list = $("convs");
  list.replaceChildren();
  for (const [id, c] of state.convs) {
    if (c.conversation.status === "closed") continue;
    const last = c.messages[c.messages.length - 1];
    const item = el("div", { className: "item" + (state.current === id ? " active" : "") },
      el("span", { className: "who", textContent: contactName(c) },
        el("span", { className: "badge", textContent: c.conversation.channel })),
      c.unread ? el("span", { className: "unread", textContent: String(c.unread) }) : el("span"),
      el("span", { className: "preview", textContent: last?.text || "" }));
    item.dataset.testid = "conversation-item";
    item.dataset.conversationId = id;
    item.onclick = () => select(id);
    list.append(item);
  }
  const unread = [...state.convs.values()].reduce((n, c) => n + c.unread, 0);
  document.title = unread ? `(${unread}) ${t("newMessage")} — ${baseTitle}` : baseTitle;
}

function bubble(m) {
  const node = el("div", { className: "msg" + (m.type === "note" ? " note" : ""), textContent: m.text || "" });
  for (const a of m.attachments || []) {
    if (typeof a.url !== "string" || !a.url.startsWith("/") || a.url.startsWith("//")) continue;
    node.append(a.type === "image"
      ? el("img", { className: "thumb", src: a.url, alt: a.name || "" })
      : el("a", { className: "file", href: a.url, download: a.name || "", textContent: `📄 ${a.name}` }));
  }
  node.dataset.testid = "message";
  node.dataset.senderType = m.sender.type;
  return node;
}

async function select(id) {
  state.current = id;
  const c = state.convs.get(id);
  c.unread = 0;
  renderList();
  try {
    const { items } = await api(`/api/v1/conversations/${id}/messages?limit=500`);
    for (const m of items) addMessage(c, m);
  } catch { /* show what we have */ }
  if (!c.contact) c.contact = await api(`/api/v1/contacts/${c.conversation.contact_id}`).catch(() => null);
  renderPane();
  renderSide();
}

function renderPane() {
  const c = state.convs.get(state.current);
  const pane = $("pane");
  if (!c) { pane.replaceChildren(el("div", { className: "empty", textContent: t("noSelection") })); return; }
  const close = el("button", { type: "button", textContent: t("closeConv") });
  close.dataset.testid = "conversation-close";
  close.onclick = async () => {
    const ack = await state.socket.emitWithAck("conversation.close", { conversation_id: c.conversation.id });
    if (ack.ok) closed(c.conversation.id);
  };
  const log = el("div", { className: "log", id: "log" }, ...c.messages.map(bubble));
  const input = el("textarea", { placeholder: t("placeholder") });
  input.dataset.testid = "composer-input";
  const send = el("button", { type: "submit", textContent: t("send") });
  send.dataset.testid = "composer-send";
  const file = el("input", { type: "file", hidden: true });
  file.dataset.testid = "composer-file";
  const attach = el("button", { type: "button", className: "tool", title: "File" });
  attach.innerHTML = CLIP_ICON; // constant markup, no user data
  attach.onclick = () => file.click();
  file.onchange = async () => {
    const chosen = file.files[0];
    file.value = "";
    if (!chosen) return;
    const data = new FormData();
    data.append("file", chosen);
    const res = await fetch("/api/v1/uploads", { method: "POST", body: data, headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) return;
    const attachment = await res.json();
    const ack = await state.socket.emitWithAck("message",
      { conversation_id: c.conversation.id, client_id: crypto.randomUUID(), text: "", attachments: [attachment] });
    if (ack.ok && addMessage(c, ack.message)) { $("log")?.append(bubble(ack.message)); scrollLog(); }
  };
  const quick = el("div", { className: "quick", hidden: true });
  input.addEventListener("input", () => showQuickReplies(input, quick));
  const noteBox = el("input", { type: "checkbox" });
  noteBox.dataset.testid = "composer-note";
  const noteLabel = el("label", { className: "note-toggle", title: t("noteHint") }, noteBox, t("note"));
  noteBox.onchange = () => form.classList.toggle("private", noteBox.checked);
  const form = el("form", { className: "composer" }, attach, file, noteLabel, input, send);
  const transfer = el("button", { type: "button", textContent: t("transfer") });
  transfer.dataset.testid = "conversation-transfer";
  transfer.onclick = () => openTransfer(c);
  let typing = false; let idle;
  input.addEventListener("input", () => {
    if (!typing) { typing = true; state.socket.emit("typing", { conversation_id: c.conversation.id, on: true }); }
    clearTimeout(idle);
    idle = setTimeout(() => { typing = false; state.socket.emit("typing", { conversation_id: c.conversation.id, on: false }); }, 3000);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  form.onsubmit = async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const ack = await state.socket.emitWithAck("message",
      { conversation_id: c.conversation.id, client_id: crypto.randomUUID(), text, private: noteBox.checked });
    if (ack.ok && addMessage(c, ack.message)) { $("log")?.append(bubble(ack.message)); scrollLog(); renderList(); }
  };
  pane.replaceChildren(
    el("div", { className: "bar" }, el("span", { className: "title", textContent: contactName(c) }), transfer, close),
    log, el("div", { className: "typing", id: "typing" }), quick, form);
  scrollLog();
}

let quickReplies = null;
async function showQuickReplies(input, box) {
  const value = input.value;
  if (!value.startsWith("/")) { box.hidden = true; return; }
  if (!quickReplies) quickReplies = (await api("/api/v1/quick-replies").catch(() => ({ items: [] }))).items;
  const query = value.slice(1).toLowerCase();
  const matches = quickReplies.filter((q) => `${q.title} ${q.text}`.toLowerCase().includes(query)).slice(0, 8);
  box.replaceChildren(...matches.map((q) => {
    const item = el("div", { className: "quick-item" }, el("b", { textContent: q.title }), ` ${q.text}`);
    item.dataset.testid = "quick-reply-item";
    item.onclick = () => { input.value = q.text; box.hidden = true; input.focus(); };
    return item;
  }));
  box.hidden = matches.length === 0;
}

async function openTransfer(c) {
  const { items } = await api("/api/v1/agents");
  const select = el("select", {}, ...items.filter((a) => a.id !== state.me?.id)
    .map((a) => el("option", { value: a.id, textContent: `${a.name} <${a.email}>` })));
  select.dataset.testid = "transfer-agent";
  const note = el("input", { placeholder: t("transferNote") });
  note.dataset.testid = "transfer-note";
  const ok = el("button", { type: "submit", textContent: t("transfer") });
  ok.dataset.testid = "transfer-submit";
  const cancel = el("button", { type: "button", textContent: "✕" });
  const dialog = el("form", { className: "dialog" }, el("h3", { textContent: t("transfer") }), select, note, ok, cancel);
  cancel.onclick = () => dialog.remove();
  dialog.onsubmit = async (e) => {
    e.preventDefault();
    const ack = await state.socket.emitWithAck("conversation.transfer",
      { conversation_id: c.conversation.id, agent_id: select.value, note: note.value });
    if (ack.ok) { dialog.remove(); state.convs.delete(c.conversation.id); state.current = null; renderPane(); renderSide(); renderList(); }
  };
  document.body.append(dialog);
}

function scrollLog() { const log = $("log"); if (log) log.scrollTop = log.scrollHeight; }

function renderSide() {
  const c = state.convs.get(state.current);
  const side = $("side");
  if (!c) { side.replaceChildren(); return; }
  const info = c.contact || {};
  const at = info.attributes || {};
  const rows = [["Name", contactName(c)], ["Email", info.email], ["Phone", info.phone], ["Channel", c.conversation.channel],
    ["Visits", info.visit_count], ["First seen", info.created_at?.slice(0, 16).replace("T", " ")],
    ["Page", at.page_title], ["URL", at.page_url], ["Browser", at.browser], ["OS", at.os], ["Device", at.device],
    ["IP", at.ip], ["Region", at.region]];
  const dl = el("dl");
  for (const [k, v] of rows) if (v) dl.append(el("dt", { textContent: k }), el("dd", { textContent: String(v) }));
  const form = el("form", { className: "contact-edit" });
  const inputs = {};
  for (const key of ["name", "phone", "email", "notes"]) {
    const f = el(key === "notes" ? "textarea" : "input", { value: info[key] || "", placeholder: t(key === "notes" ? "contactNotes" : `leave_${key}`) });
    f.dataset.testid = `contact-${key}`;
    inputs[key] = f;
    form.append(f);
  }
  const save = el("button", { type: "submit", textContent: t("save") });
  save.dataset.testid = "contact-save";
  form.append(save);
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(inputs).map(([k, f]) => [k, f.value]));
    c.contact = await api(`/api/v1/contacts/${c.conversation.contact_id}`, { method: "PATCH", body: JSON.stringify(body) });
    renderSide(); renderList();
  };
  side.replaceChildren(el("h3", { textContent: contactName(c) }), dl, form);
}

async function refreshLeftMessages() {
  const { items } = await api("/api/v1/left-messages").catch(() => ({ items: [] }));
  $("left").replaceChildren(...items.map((m) => {
    const item = el("div", { className: "item left" },
      el("span", { className: "who", textContent: m.name || m.phone || m.email }),
      el("span", { className: "contact", textContent: [m.phone, m.email].filter(Boolean).join(" · ") }),
      el("span", { className: "preview", textContent: m.text }));
    item.dataset.testid = "left-message";
    return item;
  }));
}

function closed(id) {
  const c = state.convs.get(id);
  if (c) c.conversation.status = "closed";
  if (state.current === id) { state.current = null; renderPane(); renderSide(); }
  renderList();
  refreshStats();
}

function beep() {
  try {
    const ctx = new AudioContext(); const osc = ctx.createOscillator();
    osc.connect(ctx.destination); osc.frequency.value = 880; osc.start(); osc.stop(ctx.currentTime + 0.12);
  } catch { /* no audio */ }
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  setPresence("not_ready");
  $("presence").disabled = true;
  const socket = io("/agent", { auth: { token: state.token }, transports: ["websocket"] });
  state.socket = socket;
  socket.on("connect_error", (err) => { if (/auth|token|unauth/i.test(err.message)) { localStorage.removeItem(TOKEN); showLogin(); } });
  socket.on("disconnect", () => { $("presence").disabled = true; });
  socket.on("queue.updated", refreshStats);
  socket.on("connect", async () => {
    setPresence("not_ready");
    $("presence").disabled = false;
    refreshStats();
    refreshLeftMessages();
    try {
      const { items } = await api(`/api/v1/conversations?status=assigned&agent_id=${state.me?.id || ""}`);
      for (const conv of items) upsertConv(conv);
    } catch (err) { if (err.status === 401) { localStorage.removeItem(TOKEN); showLogin(); } }
  });
  socket.on("conversation.assigned", ({ conversation, contact, messages }) => {
    const c = upsertConv(conversation, contact, messages || []);
    if (state.current !== conversation.id) c.unread += 1;
    renderList();
    beep();
    refreshStats();
  });
  socket.on("message", (m) => {
    const c = state.convs.get(m.conversation_id);
    if (!c || !addMessage(c, m)) return;
    if (state.current === m.conversation_id) { $("log")?.append(bubble(m)); scrollLog(); }
    else { c.unread += 1; beep(); }
    renderList();
  });
  socket.on("typing", ({ conversation_id, on }) => {
    if (conversation_id === state.current && $("typing")) $("typing").textContent = on ? t("typing") : "";
  });
  socket.on("conversation.closed", ({ conversation_id }) => closed(conversation_id));
  setInterval(() => { refreshStats(); refreshLeftMessages(); }, 10000);
}

const savedMe = localStorage.getItem(TOKEN + ":me");
if (state.token && savedMe) { state.me = JSON.parse(savedMe); start(); } else showLogin();
