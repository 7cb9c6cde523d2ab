// Agent inbox: sign-in, presence, header stats, and the live socket that keeps the conversation
// list, the chat pane and the contact panel current. The parts live in their own modules.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { t, applyI18n, switchLang } from "/static/i18n.js";
import { $, state, ui, api, entry, addMessage, isSupervisor, contactName, agentName, TOKEN } from "./core.js";
import {
  setupTabs, renderList, showTab, loadAll, refreshQueued, relevant, inTab, updateTitle, pruneClosed,
} from "./list.js";
import { select, deselect, renderPane, refreshPane, appendMessage, markClosed } from "./pane.js";
import { renderSide } from "./contact.js";
import { refreshLeftMessages, leftMessageUpdated } from "./left.js";

Object.assign(ui, { list: renderList, pane: refreshPane, side: renderSide, select });

applyI18n();
document.title = t("inbox");
$("loginLang").textContent = $("lang").textContent = t("lang");
$("loginLang").onclick = $("lang").onclick = switchLang;

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

$("logout").onclick = () => { localStorage.removeItem(TOKEN); localStorage.removeItem(TOKEN + ":me"); location.reload(); };

function showLogin() { $("login").hidden = false; $("app").hidden = true; }

function setPresence(status) {
  const b = $("presence");
  b.dataset.status = status;
  b.textContent = status === "ready" ? t("ready") : t("notReady");
}

$("presence").onclick = async () => {
  // Asked on a click (browsers require a gesture); the inbox works the same without it.
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  const next = $("presence").dataset.status === "ready" ? "not_ready" : "ready";
  const ack = await state.socket.emitWithAck("presence", { status: next });
  if (ack.ok) setPresence(next);
  refreshStats();
};

async function refreshStats() {
  try {
    const m = await api("/api/v1/monitor");
    $("statServing").textContent = t("serving_n", { n: m.serving });
    $("statQueued").textContent = t("queued_n", { n: m.queued });
    $("statOnline").textContent = t("online_n", { n: m.agents_online });
  } catch { /* header stats are best effort */ }
}

let audio = null;
function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.frequency.value = 880;
    osc.start();
    osc.stop(audio.currentTime + 0.12);
  } catch { /* no audio */ }
}

function notify(title, body, conversationId) {
  beep();
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body: body.slice(0, 120), tag: conversationId });
    n.onclick = () => { window.focus(); select(conversationId); n.close(); };
  } catch { /* notifications are optional */ }
}

/** The conversation in front of the agent right now (selected and the page visible). */
const focusedOn = (id) => state.current === id && !document.hidden;

document.addEventListener("visibilitychange", () => {
  const e = state.convs.get(state.current);
  if (!document.hidden && e?.unread) { e.unread = 0; renderList(); }
});

function openFromHash() {
  const match = /^#conversation=([\w-]+)$/.exec(location.hash);
  if (!match || match[1] === state.current) return;
  const id = match[1];
  select(id).then(() => {
    const c = state.convs.get(id)?.conversation;
    const tab = c && ["mine", "queued", "all", "closed"].find((x) => inTab(x, c));
    if (tab && tab !== state.tab) showTab(tab);
  });
}
window.addEventListener("hashchange", openFromHash);

// A busy queue changes many times a second: re-read it at most once a second per page.
let queueBusy = false; let queueAgain = false;
async function queueChanged() {
  if (queueBusy) { queueAgain = true; return; }
  queueBusy = true;
  try {
    do {
      queueAgain = false;
      await refreshQueued().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } while (queueAgain);
  } finally { queueBusy = false; }
}

async function loadReference() {
  const [me, agents, tags] = await Promise.all([
    api("/api/v1/auth/me").catch((err) => { if (err.status === 401) throw err; return state.me; }),
    api("/api/v1/agents").catch(() => ({ items: [] })),
    api("/api/v1/tags").catch(() => ({ items: [] })),
  ]);
  // Roles may have changed since sign-in (an admin promoted this agent).
  state.me = me;
  localStorage.setItem(TOKEN + ":me", JSON.stringify(me));
  showRole();
  state.agents = new Map(agents.items.map((a) => [a.id, a]));
  state.tags = tags.items;
}

function showRole() {
  $("navConsole").hidden = !isSupervisor();
  $("me").textContent = state.me?.name || "";
  $("tabs").querySelector("[data-tab=all]").hidden = !isSupervisor();
  if (state.tab === "all" && !isSupervisor()) showTab("mine");
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  setupTabs();
  showRole();
  renderList();
  setPresence("not_ready");
  $("presence").disabled = true;
  const socket = io("/agent", { auth: { token: state.token }, transports: ["websocket"] });
  state.socket = socket;
  socket.on("connect_error", (err) => {
    if (/auth|token|unauth/i.test(err.message)) { localStorage.removeItem(TOKEN); showLogin(); }
  });
  socket.on("disconnect", () => { $("presence").disabled = true; state.watching = null; });
  socket.on("connect", async () => {
    setPresence("not_ready");
    $("presence").disabled = false;
    refreshStats();
    refreshLeftMessages();
    try {
      await loadReference();
      await loadAll();
    } catch (err) {
      if (err.status === 401) { localStorage.removeItem(TOKEN); showLogin(); return; }
    }
    // After a reconnect, catch up on the open conversation (and watch it again).
    if (state.current) select(state.current);
    else openFromHash();
  });
  socket.on("presence", ({ status }) => setPresence(status));
  socket.on("queue.updated", ({ queued }) => {
    $("statQueued").textContent = t("queued_n", { n: queued });
    queueChanged();
  });
  socket.on("agent.presence", ({ agent_id, status, agents_online }) => {
    $("statOnline").textContent = t("online_n", { n: agents_online });
    const a = state.agents.get(agent_id);
    if (a) a.presence = status;
    else loadReference().then(renderList).catch(() => {});
  });
  socket.on("conversation.assigned", ({ conversation, contact, messages }) => {
    const e = entry(conversation);
    if (contact) state.contacts.set(contact.id, contact);
    for (const m of messages || []) addMessage(e, m);
    if (!focusedOn(conversation.id)) {
      e.unread += 1;
      notify(t("notifyNew", { name: contactName(conversation) }), e.messages.at(-1)?.text || "", conversation.id);
    }
    renderList();
    if (state.current === conversation.id) { refreshPane(); renderSide(); }
    refreshStats();
  });
  socket.on("message", (m) => {
    const e = state.convs.get(m.conversation_id);
    if (!e || !addMessage(e, m)) return;
    if (state.current === m.conversation_id) appendMessage(m);
    const mine = m.sender.type === "agent" && m.sender.id === state.me.id;
    if (!mine && !focusedOn(m.conversation_id)) {
      e.unread += 1;
      notify(t("notifyTitle", { name: contactName(e.conversation) }), m.text || "", m.conversation_id);
    }
    renderList();
  });
  socket.on("typing", ({ conversation_id, on }) => {
    if (conversation_id === state.current && $("typing")) $("typing").textContent = on ? t("typing") : "";
  });
  socket.on("conversation.updated", ({ conversation }) => {
    if (!relevant(conversation)) return;
    const e = entry(conversation);
    if (conversation.status === "closed") { e.unread = 0; pruneClosed(); }
    renderList();
    if (state.current === conversation.id) refreshPane();
  });
  socket.on("conversation.closed", ({ conversation_id }) => markClosed(conversation_id));
  socket.on("conversation.transferred", ({ conversation_id, to_agent_id }) => {
    const e = state.convs.get(conversation_id);
    if (!e) return;
    e.conversation.agent_id = to_agent_id;
    if (!to_agent_id) e.conversation.status = "queued";
    e.unread = 0;
    if (state.current === conversation_id) {
      if (isSupervisor()) refreshPane();
      else { deselect(); renderPane(t("movedAway", { name: to_agent_id ? agentName(to_agent_id) : t("tabQueued") })); }
    }
    renderList();
    refreshStats();
  });
  socket.on("contact.updated", ({ contact }) => {
    state.contacts.set(contact.id, contact);
    renderList();
    if (state.convs.get(state.current)?.conversation.contact_id === contact.id) { renderSide(); refreshPane(); }
  });
  socket.on("tags.updated", ({ items }) => { state.tags = items; renderSide(); });
  socket.on("left_message.updated", leftMessageUpdated);
  setInterval(() => { refreshStats(); refreshLeftMessages(); }, 15000);
  updateTitle();
}

const savedMe = localStorage.getItem(TOKEN + ":me");
if (state.token && savedMe) { state.me = JSON.parse(savedMe); start(); } else showLogin();
