// The chat pane: the contact's earlier conversations above the current one, the composer
// (files, quick replies with "/", private notes), transfer, close with a service summary,
// blacklist, and for supervisors a read-only view with "Take over".
import { t } from "/static/i18n.js";
import {
  $, el, state, ui, api, call, entry, addMessage, isSupervisor, contactName, agentName, longTime,
  channelBadge, ensureContact, dialog,
} from "./core.js";

const CLIP_ICON = '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"/></svg>';
const BLOCK_DURATIONS = [60, 1440, 10080, 43200, null];
const PAGE = 500;

/** How the pane shows a conversation: the holder writes, others (supervisors) watch. */
export function mode(c) {
  if (c.status === "closed") return "closed";
  return c.agent_id === state.me?.id ? "edit" : "read";
}

async function allMessages(conversationId) {
  const out = [];
  for (let after = 0; ;) {
    const { items } = await api(`/api/v1/conversations/${conversationId}/messages?after_seq=${after}&limit=${PAGE}`);
    out.push(...items);
    if (items.length < PAGE) return out;
    after = items[items.length - 1].seq;
  }
}

/** Earlier conversations of the same contact (any channel), oldest first, with messages. */
async function loadHistory(e) {
  const c = e.conversation;
  const { items } = await api(`/api/v1/conversations?contact_id=${encodeURIComponent(c.contact_id)}&limit=20`);
  const earlier = items.filter((x) => x.id !== c.id && x.created_at < c.created_at).reverse();
  return Promise.all(earlier.map(async (conversation) => ({ conversation, messages: await allMessages(conversation.id) })));
}

function follow(id) {
  // Supervisors receive the live messages of what they look at; only one at a time.
  if (state.watching && state.watching !== id) {
    state.socket.emit("conversation.unwatch", { conversation_id: state.watching });
    state.watching = null;
  }
  const c = state.convs.get(id)?.conversation;
  if (c && isSupervisor() && mode(c) === "read" && state.watching !== id) {
    state.watching = id;
    state.socket.emit("conversation.watch", { conversation_id: id });
  }
}

export async function select(id) {
  let e = state.convs.get(id);
  if (!e) {
    try {
      e = entry(await api(`/api/v1/conversations/${encodeURIComponent(id)}`));
    } catch {
      if (!state.current) renderPane(t("convNotFound"));
      return;
    }
  }
  state.current = id;
  e.unread = 0;
  document.body.classList.add("has-current");
  if (location.hash !== `#conversation=${id}`) history.replaceState(null, "", `#conversation=${id}`);
  follow(id);
  ui.list();
  renderPane();
  ui.side();
  const [messages] = await Promise.all([
    allMessages(id).catch(() => []),
    ensureContact(e.conversation.contact_id),
    e.history ? null : loadHistory(e).then((h) => { e.history = h; }).catch(() => { e.history = []; }),
  ]);
  for (const m of messages) addMessage(e, m);
  e.loaded = true;
  if (state.current !== id) return;
  // Same controls as before the load: only the log changes, so a reply being typed keeps
  // its focus and caret.
  if ($("log") && renderedMode === paneKey(e)) {
    $("log").replaceChildren(...logNodes(e));
    scrollLog();
  } else renderPane();
  ui.side();
  ui.list();
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

export function bubble(m, testid = "message") {
  const node = el("div", {
    className: "msg" + (m.type === "note" ? " note" : ""),
    testid,
    dataset: { senderType: m.sender.type, seq: String(m.seq) },
  }, el("span", { className: "text", textContent: m.text || "" }));
  for (const a of m.attachments || []) {
    if (typeof a.url !== "string" || !a.url.startsWith("/") || a.url.startsWith("//")) continue;
    node.append(a.type === "image"
      ? el("img", { className: "thumb", src: a.url, alt: a.name || "" })
      : el("a", { className: "file", href: a.url, download: a.name || "", textContent: `📄 ${a.name}` }));
  }
  // Shown by CSS (::after) so a bubble's text stays exactly what was sent.
  const who = m.sender.type === "agent" && m.sender.id !== state.me?.id ? `${m.sender.name} · ` : "";
  node.dataset.meta = who + longTime(m.created_at).slice(-5);
  node.title = longTime(m.created_at);
  return node;
}

function closedLine(c) {
  if (c.close_reason === "queue_timeout") return t("closedQueue");
  if (c.close_reason === "blocked") return t("closedBlocked");
  return c.agent_id ? t("closedBy", { name: agentName(c.agent_id) }) : "";
}

function separator(c, testid, text) {
  const lines = [text];
  if (c.status === "closed") lines.push(closedLine(c));
  const node = el("div", { className: "separator", testid, dataset: { conversationId: c.id } },
    el("span", { className: "line", textContent: lines.filter(Boolean).join(" · ") }));
  if (c.summary) node.append(el("span", { className: "summary", testid: "history-summary", textContent: t("summaryLabel", { text: c.summary }) }));
  return node;
}

function historyNodes(e) {
  if (e.history === null) return [el("div", { className: "separator muted", textContent: t("loadingHistory") })];
  const nodes = [];
  for (const h of e.history) {
    nodes.push(separator(h.conversation, "history-separator", `${t("historyOf", { date: longTime(h.conversation.created_at) })}`));
    if (h.conversation.channel !== e.conversation.channel) nodes.at(-1).prepend(channelBadge(h.conversation.channel));
    nodes.push(...h.messages.map((m) => bubble(m, "history-message")));
  }
  if (nodes.length) nodes.push(separator({ ...e.conversation, status: "open", summary: "" }, "current-separator",
    t("currentSince", { date: longTime(e.conversation.created_at) })));
  return nodes;
}

function logNodes(e) {
  return [...historyNodes(e), ...e.messages.map((m) => bubble(m))];
}

export function appendMessage(m) {
  const log = $("log");
  if (!log) return;
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  log.append(bubble(m));
  if (stick) scrollLog();
}

function scrollLog() { const log = $("log"); if (log) log.scrollTop = log.scrollHeight; }

function button(text, testid, onclick, className = "") {
  const b = el("button", { type: "button", textContent: text, testid, className });
  b.onclick = onclick;
  return b;
}

let renderedMode = null;
let renderedId = null;

/** What decides the pane's controls: the agent's rights and whether the contact is blocked. */
function paneKey(e) {
  const contact = state.contacts.get(e.conversation.contact_id);
  const blocked = Boolean(contact?.blocked_until && new Date(contact.blocked_until) > new Date());
  return `${mode(e.conversation)}:${blocked}`;
}

/** Redraw the pane if what the agent may do with the conversation changed (keeps drafts). */
export function refreshPane() {
  const e = state.convs.get(state.current);
  if (!e || paneKey(e) !== renderedMode) renderPane();
  else {
    const chip = $("paneStatus");
    if (chip) chip.textContent = t(`st_${e.conversation.status}`);
  }
}

export function renderPane(notice = "") {
  const pane = $("pane");
  const e = state.convs.get(state.current);
  if (!e) {
    renderedMode = null;
    pane.replaceChildren(el("div", { className: "empty", testid: "pane-empty", textContent: notice || t("noSelection") }));
    return;
  }
  const c = e.conversation;
  const typing = renderedId === c.id && document.activeElement === $("composerInput");
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
  const contact = state.contacts.get(c.contact_id);
  const blocked = contact?.blocked_until && new Date(contact.blocked_until) > new Date();
  if (!blocked) actions.push(button(t("block"), "contact-block", () => openBlock(e), "danger"));
  const bar = el("div", { className: "bar" }, back,
    el("span", { className: "title" }, el("span", { textContent: contactName(c) }), channelBadge(c.channel),
      el("span", { className: `status st-${c.status}`, id: "paneStatus", textContent: t(`st_${c.status}`) })),
    side, el("span", { className: "actions" }, ...actions));
  const log = el("div", { className: "log", id: "log", testid: "chat-log" }, ...logNodes(e));
  log.setAttribute("aria-live", "polite");
  const parts = [bar];
  if (paneMode === "read") {
    const banner = el("div", { className: "banner", testid: "conversation-readonly" },
      el("span", { textContent: c.status === "queued" || !c.agent_id
        ? t("readOnlyQueued") : t("readOnly", { name: agentName(c.agent_id) }) }));
    if (isSupervisor()) banner.append(button(t("takeOver"), "conversation-take-over", () => takeOver(e, banner)));
    parts.push(banner);
  } else if (paneMode === "closed") {
    parts.push(el("div", { className: "banner closed", testid: "conversation-closed-banner" },
      el("span", { textContent: [t("closedBanner"), closedLine(c), c.summary && t("summaryLabel", { text: c.summary })].filter(Boolean).join(" ") })));
  }
  parts.push(log);
  if (paneMode === "edit") parts.push(el("div", { className: "typing", id: "typing" }), ...composer(e));
  pane.replaceChildren(...parts);
  if (typing) $("composerInput")?.focus();
  scrollLog();
}

function composer(e) {
  const c = e.conversation;
  // Each conversation keeps its own unsent reply while the agent switches between them.
  const input = el("textarea", { placeholder: t("placeholder"), id: "composerInput", testid: "composer-input", value: e.draft || "" });
  input.addEventListener("input", () => { e.draft = input.value; });
  input.setAttribute("aria-label", t("placeholder"));
  const send = el("button", { type: "submit", textContent: t("send"), testid: "composer-send" });
  const file = el("input", { type: "file", hidden: true, testid: "composer-file" });
  const attach = el("button", { type: "button", className: "tool", title: "File" });
  attach.setAttribute("aria-label", "File");
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
      { conversation_id: c.id, client_id: crypto.randomUUID(), text: "", attachments: [attachment] });
    if (ack.ok && addMessage(e, ack.message)) { appendMessage(ack.message); ui.list(); }
  };
  const quick = el("div", { className: "quick", hidden: true });
  input.addEventListener("input", () => showQuickReplies(input, quick));
  const noteBox = el("input", { type: "checkbox", testid: "composer-note" });
  const noteLabel = el("label", { className: "note-toggle", title: t("noteHint") }, noteBox, t("note"));
  const form = el("form", { className: "composer" }, attach, file, noteLabel, input, send);
  noteBox.onchange = () => form.classList.toggle("private", noteBox.checked);
  let typing = false; let idle;
  input.addEventListener("input", () => {
    if (noteBox.checked) return; // notes are private: the customer never sees us typing them
    if (!typing) { typing = true; state.socket.emit("typing", { conversation_id: c.id, on: true }); }
    clearTimeout(idle);
    idle = setTimeout(() => { typing = false; state.socket.emit("typing", { conversation_id: c.id, on: false }); }, 3000);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = e.draft = "";
    quick.hidden = true;
    const ack = await state.socket.emitWithAck("message",
      { conversation_id: c.id, client_id: crypto.randomUUID(), text, private: noteBox.checked });
    if (!ack.ok) { input.value = e.draft = text; return; }
    if (addMessage(e, ack.message)) { appendMessage(ack.message); ui.list(); }
  };
  return [quick, form];
}

let quickReplies = null;
async function showQuickReplies(input, box) {
  const value = input.value;
  if (!value.startsWith("/")) { box.hidden = true; return; }
  if (!quickReplies) quickReplies = (await api("/api/v1/quick-replies").catch(() => ({ items: [] }))).items;
  const query = value.slice(1).toLowerCase();
  const matches = quickReplies.filter((q) => `${q.title} ${q.text}`.toLowerCase().includes(query)).slice(0, 8);
  box.replaceChildren(...matches.map((q) => {
    const item = el("button", { type: "button", className: "quick-item", testid: "quick-reply-item" },
      el("b", { textContent: q.title }), ` ${q.text}`);
    item.onclick = () => { input.value = q.text; input.dispatchEvent(new Event("input")); box.hidden = true; input.focus(); };
    return item;
  }));
  box.hidden = matches.length === 0;
}

async function close(e, summary) {
  await call("conversation.close", { conversation_id: e.conversation.id, summary });
  markClosed(e.conversation.id, summary);
}

/** The conversation ended (here or elsewhere): it moves to "closed" and the pane goes read-only. */
export function markClosed(id, summary) {
  const e = state.convs.get(id);
  if (!e) return;
  e.conversation.status = "closed";
  if (summary !== undefined) e.conversation.summary = summary;
  if (state.current === id) renderPane();
  ui.list();
}

function openSummary(e) {
  const text = el("textarea", { placeholder: t("summaryPlaceholder"), testid: "summary-text", maxLength: 2000, rows: 4 });
  text.setAttribute("aria-label", t("summaryTitle"));
  dialog("summary-dialog", t("summaryTitle"), [text], t("closeWithSummary"), () => close(e, text.value.trim()), "summary-submit");
}

async function openTransfer(e) {
  const { items } = await api("/api/v1/agents");
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

function openBlock(e) {
  const duration = el("select", { testid: "block-duration" }, ...BLOCK_DURATIONS.map((m) =>
    el("option", { value: m === null ? "" : String(m), textContent: t(m === null ? "d_forever" : `d_${m}`) })));
  duration.value = "1440";
  duration.setAttribute("aria-label", t("blockTitle"));
  const reason = el("input", { placeholder: t("blockReason"), testid: "block-reason", maxLength: 500 });
  dialog("block-dialog", t("blockTitle"), [duration, reason], t("blockSubmit"), async () => {
    const contact = await api(`/api/v1/contacts/${encodeURIComponent(e.conversation.contact_id)}/block`, {
      method: "POST",
      body: JSON.stringify({ minutes: duration.value ? Number(duration.value) : null, reason: reason.value.trim() }),
    });
    state.contacts.set(contact.id, contact);
    ui.side();
    refreshPane();
  }, "block-submit");
}

async function takeOver(e, banner) {
  try {
    const { conversation } = await call("conversation.take_over", { conversation_id: e.conversation.id });
    entry(conversation);
    if (state.watching === conversation.id) {
      // Now held: its messages come to us as the holder.
      state.socket.emit("conversation.unwatch", { conversation_id: conversation.id });
      state.watching = null;
    }
    state.tab = "mine";
    ui.list();
    if (state.current === conversation.id) renderPane();
  } catch (err) {
    banner.append(el("span", { className: "error", role: "alert", textContent: t("takeOverFailed", { error: err.message }) }));
  }
}
