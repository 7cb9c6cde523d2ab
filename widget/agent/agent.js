// @ts-check
// Agent inbox: sign-in, presence, header stats, and the live socket that keeps the conversation
// list, the chat pane and the contact panel current. The parts live in their own modules.
import { t, applyI18n, switchLang } from "../i18n.js";
import {
  $, el, api, apiAll, request, connect, signOut, onSignedOut, takeExpiredNotice, isAuthRefusal, agentToken, TOKEN, ApiError,
  changingToken, tokenRefused,
} from "../shared.js";
import { explained } from "../refusals.js";
import { state, ui, entry, addMessage, isSupervisor, contactName, agentName, findMessage, dialog } from "./core.js";
import { setupTabs, renderList, showTab, loadAll, refreshQueued, relevant, inTab, updateTitle, pruneClosed } from "./list.js";
import { select, deselect, renderPane, refreshPane, appendMessage, markClosed, resume, refreshMessage, flushPending } from "./pane.js";
import { newer } from "./delivery.js";
import { renderSide } from "./contact.js";
import { refreshLeftMessages, leftMessageUpdated } from "./left.js";
import { setupContactsPage } from "./contacts.js";
import { setupTeamChat } from "./team.js";
import { setupVisitorsPage, watchVisitors } from "./visitors.js";
import "./channels.js";

/** @import { Agent, Contact, Conversation, Delivery, Message, Tag } from "../types.js" */

Object.assign(ui, { list: renderList, pane: refreshPane, side: renderSide, select });
setupContactsPage();
setupVisitorsPage();

const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id));

applyI18n();
document.title = t("inbox");
$("loginLang").textContent = $("lang").textContent = t("lang");
$("loginLang").onclick = $("lang").onclick = switchLang;

// Signed out (by the button, or by the hub refusing the token): a fresh page shows the login.
onSignedOut(() => location.reload());

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    /** @type {{token: string, agent: Agent}} */
    const body = await request("/api/v1/auth/login", {
      method: "POST", body: { email: input("email").value, password: input("password").value },
    });
    state.token = body.token;
    state.me = body.agent;
    localStorage.setItem(TOKEN, body.token);
    localStorage.setItem(TOKEN + ":me", JSON.stringify(body.agent));
    start();
  } catch (err) {
    $("loginError").textContent = err instanceof ApiError && err.status === 401 ? t("loginFailed") : t("loginUnavailable");
  }
});

$("logout").onclick = () => signOut();
$("notice").onclick = () => { $("notice").textContent = ""; };
$("changePassword").onclick = () => { /** @type {HTMLDetailsElement} */ ($("menu")).open = false; openPasswordChange(); };

/** The agent's own password; the hub signs out every other session and hands this tab a new token. */
function openPasswordChange() {
  const field = (/** @type {string} */ key, /** @type {string} */ autocomplete) => {
    const f = el("input", { type: "password", required: true, autocomplete, placeholder: t(key), testid: `password-${key.slice(2).toLowerCase()}` });
    f.setAttribute("aria-label", t(key));
    return f;
  };
  const current = field("pwCurrent", "current-password");
  const next = field("pwNew", "new-password");
  const again = field("pwRepeat", "new-password");
  dialog("password-dialog", t("changePassword"), [current, next, again], t("pwSubmit"), async () => {
    if (next.value !== again.value) throw new Error(t("pwMismatch"));
    /** @type {{token: string, agent: Agent}} */
    let body;
    try {
      body = await changingToken(api("/api/v1/auth/password", { method: "POST", body: { current_password: current.value, new_password: next.value } }));
    } catch (err) {
      throw explained(err, "pwErr_");
    }
    state.token = body.token;
    localStorage.setItem(TOKEN, body.token);
    $("notice").textContent = t("pwChanged");
  }, "password-submit");
}

function showLogin() {
  $("login").hidden = false;
  $("app").hidden = true;
  if (takeExpiredNotice()) $("loginError").textContent = t("sessionEnded");
}

function setPresence(/** @type {string} */ status) {
  const b = $("presence");
  b.dataset.status = status;
  b.textContent = status === "ready" ? t("ready") : t("notReady");
}

const presenceButton = /** @type {HTMLButtonElement} */ ($("presence"));
presenceButton.onclick = async () => {
  // Asked on a click (browsers require a gesture); the inbox works the same without it.
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  const next = presenceButton.dataset.status === "ready" ? "not_ready" : "ready";
  const ack = await state.socket?.emitWithAck("presence", { status: next });
  if (ack?.ok) setPresence(next);
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

/** @type {AudioContext | null} */
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

/** @param {string} title @param {string} body @param {string} conversationId */
function notify(title, body, conversationId) {
  beep();
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body: body.slice(0, 120), tag: conversationId });
    n.onclick = () => { window.focus(); select(conversationId); n.close(); };
  } catch { /* notifications are optional */ }
}

/** The conversation in front of the agent right now (selected and the page visible). */
const focusedOn = (/** @type {string} */ id) => state.current === id && !document.hidden;

document.addEventListener("visibilitychange", () => {
  const e = state.current ? state.convs.get(state.current) : undefined;
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
let queueBusy = false;
let queueAgain = false;
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
  /** @type {[Agent, {items: Agent[]}, {items: Tag[]}]} */
  const [me, agents, tags] = await Promise.all([
    api("/api/v1/auth/me").catch((err) => { if (err.status === 401) throw err; return state.me; }),
    apiAll("/api/v1/agents").then((items) => ({ items })).catch(() => ({ items: [] })),
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
  const all = /** @type {HTMLElement | null} */ ($("tabs").querySelector("[data-tab=all]"));
  if (all) all.hidden = !isSupervisor();
  if (state.tab === "all" && !isSupervisor()) showTab("mine");
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  setupTabs();
  setupTeamChat();
  showRole();
  renderList();
  setPresence("not_ready");
  presenceButton.disabled = true;
  // The token as stored now: a password changed in this browser hands every tab the new one.
  /** @type {string | null} */
  let offered = null;
  const socket = connect("/agent", { auth: (cb) => cb({ token: (offered = agentToken() || state.token) }) });
  state.socket = socket;
  socket.on("connect_error", (err) => { if (isAuthRefusal(err)) tokenRefused(socket, offered); });
  socket.on("disconnect", (reason) => {
    // The hub closed it (a password change revokes older tokens): connect again, with the
    // token we hold now; a token that is no longer good is refused and signs out.
    if (reason === "io server disconnect") socket.connect();
    presenceButton.disabled = true;
    state.watching = null;
    // What is not on screen may miss messages until we are back: read it afresh when opened.
    for (const e of state.convs.values()) if (e.conversation.id !== state.current) e.loaded = false;
  });
  socket.on("connect", async () => {
    // The presence itself comes from the server (its `presence` event, just before this):
    // ready again after a reload or a short drop within the grace.
    presenceButton.disabled = false;
    flushPending();
    refreshStats();
    refreshLeftMessages();
    try {
      await loadReference();
      await loadAll();
    } catch {
      return; // a 401 signed out already; otherwise the next reconnect tries again
    }
    // After a reconnect, catch up on the open conversation (and watch it again).
    if (state.current) resume();
    else openFromHash();
  });
  // The browser knows the network is gone before a heartbeat does: replies typed meanwhile
  // show as pending at once, and go out when it is back.
  addEventListener("offline", () => socket.disconnect());
  addEventListener("online", () => { if (!socket.connected) socket.connect(); });
  socket.on("presence", (/** @type {{status: string}} */ { status }) => setPresence(status));
  watchVisitors(socket);
  socket.on("queue.updated", (/** @type {{queued: number}} */ { queued }) => {
    $("statQueued").textContent = t("queued_n", { n: queued });
    queueChanged();
  });
  socket.on("agent.presence", (/** @type {{agent_id: string, status: string, agents_online: number}} */ { agent_id, status, agents_online }) => {
    $("statOnline").textContent = t("online_n", { n: agents_online });
    const a = state.agents.get(agent_id);
    if (a) a.presence = status;
    else loadReference().then(renderList).catch(() => {});
  });
  socket.on("conversation.assigned", (/** @type {{conversation: Conversation, contact?: Contact, messages?: Message[]}} */ { conversation, contact, messages }) => {
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
  socket.on("message", (/** @type {Message} */ m) => {
    const e = state.convs.get(m.conversation_id);
    if (!e || !addMessage(e, m)) return;
    if (state.current === m.conversation_id) appendMessage(m);
    const mine = m.sender.type === "agent" && m.sender.id === state.me?.id;
    if (!mine && !focusedOn(m.conversation_id)) {
      e.unread += 1;
      notify(t("notifyTitle", { name: contactName(e.conversation) }), m.text || "", m.conversation_id);
    }
    renderList();
  });
  socket.on("message.delivery", (/** @type {{conversation_id: string, message_id: string, delivery: Delivery}} */ { conversation_id, message_id, delivery }) => {
    // Its own conversation, or an earlier one shown above the open conversation.
    const holders = [state.convs.get(conversation_id), state.current ? state.convs.get(state.current) : undefined];
    for (const e of holders) {
      const m = e && findMessage(e, conversation_id, message_id);
      if (!m) continue;
      m.delivery = newer(m.delivery, delivery);
      refreshMessage(m);
      return;
    }
  });
  socket.on("typing", (/** @type {{conversation_id: string, on: boolean}} */ { conversation_id, on }) => {
    const typing = document.getElementById("typing");
    if (conversation_id === state.current && typing) typing.textContent = on ? t("typing") : "";
  });
  socket.on("conversation.updated", (/** @type {{conversation: Conversation}} */ { conversation }) => {
    if (!relevant(conversation)) return;
    const e = entry(conversation);
    if (conversation.status === "closed") { e.unread = 0; pruneClosed(); }
    renderList();
    if (state.current === conversation.id) refreshPane();
  });
  socket.on("conversation.closed", (/** @type {{conversation_id: string}} */ { conversation_id }) => markClosed(conversation_id));
  socket.on("conversation.transferred", (/** @type {{conversation_id: string, to_agent_id: string | null}} */ { conversation_id, to_agent_id }) => {
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
  socket.on("contact.updated", (/** @type {{contact: Contact}} */ { contact }) => {
    state.contacts.set(contact.id, contact);
    renderList();
    const current = state.current ? state.convs.get(state.current) : undefined;
    if (current?.conversation.contact_id === contact.id) { renderSide(); refreshPane(); }
  });
  socket.on("tags.updated", (/** @type {{items: Tag[]}} */ { items }) => { state.tags = items; renderSide(); });
  socket.on("left_message.updated", leftMessageUpdated);
  setInterval(() => { refreshStats(); refreshLeftMessages(); }, 15000);
  updateTitle();
}

const savedMe = localStorage.getItem(TOKEN + ":me");
if (state.token && savedMe) { state.me = JSON.parse(savedMe); start(); } else showLogin();
