// @ts-check
// Team chat (企业IM): colleagues by department, direct chats and groups, over the hub's `/im`
// socket. Its own page beside the inbox, like the contacts page; the header button carries
// the unread total. Messages come in order by seq; after a reconnect each loaded thread asks
// for what it missed (`sync`), so nothing is skipped or shown twice.
import { t } from "../i18n.js";
import { $, el, api, connect, agentToken, isAuthRefusal, tokenRefused } from "../shared.js";
import { attachmentNodes } from "../render.js";
import { state as inbox, dialog, fullPage, shortTime } from "./core.js";

/**
 * @typedef {{id: string, name: string, parent_id: string | null}} Department
 * @typedef {{agent_id: string, name: string, department_id: string | null, presence: string, last_login_at: string | null}} Person
 * @typedef {{id: string, kind: "direct" | "group", name: string, description: string, announcement: string,
 *   owner_id: string | null, admins: string[], members: string[], muted: boolean, unread: number, read_seq: number,
 *   peer_read_seq?: number, last_seq: number, last_message_at: string | null, last_message_preview: string}} Thread
 * @typedef {{id: string, thread_id: string, seq: number, sender: {id: string, name: string}, type: string, text: string,
 *   attachments: import("../types.js").Attachment[], mentions: string[], quote: {seq: number, sender_name: string, text: string} | null,
 *   consult: {conversation_id: string, channel: string} | null, client_id: string | null, created_at: string}} ImMessage
 */

const team = {
  /** @type {import("socket.io-client").Socket | null} */ socket: null,
  /** @type {Map<string, Thread>} */ threads: new Map(),
  /** @type {Map<string, ImMessage[]>} */ messages: new Map(),
  /** @type {Department[]} */ departments: [],
  /** @type {Map<string, Person>} */ people: new Map(),
  /** @type {string | null} */ current: null,
  /** The message the next one quotes (引用), in the open thread. @type {ImMessage | null} */ quoting: null,
  /** What is typed and not sent yet, per thread: the pane is rebuilt as messages arrive. @type {Map<string, string>} */ drafts: new Map(),
  view: /** @type {"chats" | "people" | "search"} */ ("chats"),
  /** What the search box holds: filters colleagues by name; Enter searches the messages. */ query: "",
  /** @type {ImMessage[]} */ found: [],
};

const shown = () => document.body.classList.contains("show-team");
const me = () => inbox.me?.id || "";
const personName = (/** @type {string} */ id) => team.people.get(id)?.name || id.slice(0, 6);

/** A thread's title as the viewer sees it: a group's name, a direct chat's other person. */
function title(/** @type {Thread} */ thread) {
  if (thread.kind === "group") return thread.name;
  return personName(thread.members.find((m) => m !== me()) || me());
}

export function setupTeamChat() {
  $("navTeam").onclick = () => showTeam(!shown());
  /** @type {string | null} */
  let offered = null;
  const socket = connect("/im", { auth: (cb) => cb({ token: (offered = agentToken() || inbox.token) }) });
  team.socket = socket;
  socket.on("connect_error", (err) => { if (isAuthRefusal(err)) tokenRefused(socket, offered); });
  socket.on("connect", async () => {
    await loadAll().catch(() => {});
    for (const id of team.messages.keys()) await catchUp(id);
    if (team.current) markRead(team.current);
  });
  // The hub closed it (a password change revokes older tokens): again, with the token held now.
  socket.on("disconnect", (reason) => { if (reason === "io server disconnect") socket.connect(); });
  socket.on("message", (/** @type {ImMessage} */ m) => received(m, true));
  socket.on("thread.updated", (/** @type {{thread: Thread}} */ { thread }) => {
    team.threads.set(thread.id, thread);
    renderAll();
  });
  socket.on("thread.removed", (/** @type {{thread_id: string}} */ { thread_id }) => {
    team.threads.delete(thread_id);
    team.messages.delete(thread_id);
    if (team.current === thread_id) team.current = null;
    renderAll();
  });
  socket.on("typing", (/** @type {{thread_id: string, name: string, on: boolean}} */ { thread_id, name, on }) => {
    const typing = document.querySelector("[data-testid=team-typing]");
    if (typing && thread_id === team.current) typing.textContent = on ? t("teamTyping", { name }) : "";
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && shown() && team.current) markRead(team.current); });
}

async function loadAll() {
  const [directory, threads] = await Promise.all([api("/api/v1/im/directory"), api("/api/v1/im/threads")]);
  team.departments = directory.departments;
  team.people = new Map(directory.people.map((/** @type {Person} */ p) => [p.agent_id, p]));
  team.threads = new Map(threads.items.map((/** @type {Thread} */ th) => [th.id, th]));
  renderAll();
}

const showTeam = fullPage("team", (/** @type {boolean} */ on) => {
  document.body.classList.toggle("show-team", on);
  $("teamPage").hidden = !on;
  $("navTeam").setAttribute("aria-pressed", String(on));
  if (on) {
    loadAll().catch(() => {});
    if (team.current) markRead(team.current);
  }
});

function renderAll() {
  renderBadge();
  if (!shown()) return;
  const page = $("teamPage");
  if (!page.childElementCount) buildPage(page);
  renderSide();
  renderChat();
}

function renderBadge() {
  const total = [...team.threads.values()].reduce((n, th) => n + th.unread, 0);
  const badge = $("teamUnread");
  badge.textContent = total ? String(total) : "";
  badge.hidden = !total;
}

function buildPage(/** @type {HTMLElement} */ page) {
  const chats = el("button", { type: "button", className: "nav", textContent: t("teamChats"), testid: "team-view-chats" });
  const people = el("button", { type: "button", className: "nav", textContent: t("teamPeople"), testid: "team-view-people" });
  chats.onclick = () => { team.view = "chats"; renderSide(); };
  people.onclick = () => { team.view = "people"; renderSide(); };
  const newGroup = el("button", { type: "button", textContent: t("teamNewGroup"), testid: "team-new-group" });
  newGroup.onclick = openNewGroup;
  const back = el("button", { type: "button", className: "link", testid: "team-back", textContent: `← ${t("backToInbox")}` });
  back.onclick = () => showTeam(false);
  const search = el("input", { type: "search", maxLength: 200, placeholder: t("teamSearch"), ariaLabel: t("teamSearch"), testid: "team-search" });
  search.oninput = () => {
    team.query = search.value.trim();
    if (!team.query && team.view === "search") team.view = "chats";
    renderSide();
  };
  const searchForm = el("form", { className: "team-search", role: "search" }, search);
  searchForm.onsubmit = async (e) => {
    e.preventDefault();
    if (!team.query || team.view === "people") return;
    try {
      team.found = (await api(`/api/v1/im/search?q=${encodeURIComponent(team.query)}&limit=50`)).items;
    } catch {
      team.found = [];
    }
    team.view = "search";
    renderSide();
  };
  page.replaceChildren(
    el("div", { className: "team-head" }, back, el("h2", { textContent: t("teamTitle") }), chats, people, searchForm, newGroup),
    el("div", { className: "team-body" }, el("div", { className: "team-side", id: "teamSide" }), el("div", { className: "team-chat", id: "teamChat" })),
  );
}

function renderSide() {
  const side = document.getElementById("teamSide");
  if (!side) return;
  if (team.view === "people") { side.replaceChildren(...peopleTree()); return; }
  if (team.view === "search") { side.replaceChildren(...searchResults()); return; }
  const threads = [...team.threads.values()].sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""));
  if (!threads.length) { side.replaceChildren(el("div", { className: "empty", textContent: t("teamNoChats") })); return; }
  side.replaceChildren(...threads.map((th) => {
    const item = el("button", { type: "button", className: "item", testid: "team-thread", dataset: { threadId: th.id } },
      el("span", { className: "team-thread-title", textContent: `${th.kind === "group" ? "👥 " : ""}${title(th)}` }),
      th.unread ? el("span", { className: "badge", testid: "team-thread-unread", textContent: String(th.unread) }) : null,
      el("span", { className: "team-preview", textContent: th.last_message_preview }));
    if (th.id === team.current) item.classList.add("active");
    item.onclick = () => open(th.id);
    return item;
  }));
}

/** The messages the search found, newest first, each opening its chat. */
function searchResults() {
  if (!team.found.length) return [el("div", { className: "empty", testid: "team-search-none", textContent: t("teamSearchNone") })];
  return team.found.map((m) => {
    const thread = team.threads.get(m.thread_id);
    const item = el("button", { type: "button", className: "item", testid: "team-search-result", dataset: { threadId: m.thread_id, seq: String(m.seq) } },
      el("span", { className: "team-thread-title", textContent: thread ? title(thread) : "" }),
      el("span", { className: "team-preview", textContent: `${m.sender.name}: ${m.text}` }));
    item.onclick = () => open(m.thread_id);
    return item;
  });
}

/** Departments as a tree, each with its people (those whose name has the search box's text);
 * people in none at the end. */
function peopleTree() {
  /** @type {Node[]} */
  const nodes = [];
  const wanted = team.query.toLowerCase();
  const others = [...team.people.values()].filter((p) => p.agent_id !== me() && p.name.toLowerCase().includes(wanted));
  const branch = (/** @type {string | null} */ parent, /** @type {number} */ depth) => {
    for (const d of team.departments.filter((x) => x.parent_id === parent)) {
      nodes.push(el("div", { className: "team-dept", textContent: d.name, style: `padding-left:${depth * 12}px`, testid: "team-department" }));
      for (const p of others.filter((x) => x.department_id === d.id)) nodes.push(personRow(p, depth + 1));
      branch(d.id, depth + 1);
    }
  };
  branch(null, 0);
  const known = new Set(team.departments.map((d) => d.id));
  const loose = others.filter((p) => !p.department_id || !known.has(p.department_id));
  if (loose.length) nodes.push(el("div", { className: "team-dept", textContent: t("teamNoDepartment") }), ...loose.map((p) => personRow(p, 1)));
  return nodes;
}

function personRow(/** @type {Person} */ p, /** @type {number} */ depth) {
  const row = el("button", { type: "button", className: "item team-person", testid: "team-person", dataset: { agentId: p.agent_id } },
    el("span", { className: `dot ${p.presence}`, title: t(`presence_${p.presence}`) }),
    el("span", { textContent: p.name }),
    el("span", { className: "team-preview", textContent: p.last_login_at ? t("teamLastLogin", { time: shortTime(p.last_login_at) }) : "" }));
  row.style.paddingLeft = `${depth * 12}px`;
  row.onclick = async () => {
    const thread = await api("/api/v1/im/direct", { method: "POST", body: { agent_id: p.agent_id } });
    team.threads.set(thread.id, thread);
    team.view = "chats";
    open(thread.id);
  };
  return row;
}

function openNewGroup() {
  const name = el("input", { required: true, maxLength: 100, placeholder: t("teamGroupName"), testid: "team-group-name" });
  const description = el("input", { maxLength: 2000, placeholder: t("teamDescription"), testid: "team-group-description" });
  const picks = [...team.people.values()].filter((p) => p.agent_id !== me()).map((p) =>
    el("label", { className: "team-pick" }, el("input", { type: "checkbox", value: p.agent_id, testid: "team-group-member" }), p.name));
  dialog("team-group-dialog", t("teamNewGroup"), [name, description, el("div", { className: "team-picks" }, ...picks)], t("teamCreate"), async () => {
    const members = picks.map((label) => /** @type {HTMLInputElement} */ (label.firstChild)).filter((box) => box.checked).map((box) => box.value);
    const thread = await api("/api/v1/im/groups", { method: "POST", body: { name: name.value, description: description.value, members } });
    team.threads.set(thread.id, thread);
    team.view = "chats";
    open(thread.id);
  }, "team-group-create");
}

async function open(/** @type {string} */ id) {
  team.current = id;
  if (!team.messages.has(id)) {
    const page = await api(`/api/v1/im/threads/${encodeURIComponent(id)}/messages?limit=100`);
    team.messages.set(id, page.items);
    await catchUp(id);
  }
  renderAll();
  markRead(id);
}

/** What a loaded thread missed while the socket was away. */
async function catchUp(/** @type {string} */ id) {
  const have = team.messages.get(id);
  if (!have || !team.socket) return;
  const ack = await team.socket.timeout(15000).emitWithAck("sync", { thread_id: id, after_seq: have.at(-1)?.seq || 0, limit: 500 }).catch(() => null);
  for (const m of ack?.ok ? ack.messages : []) received(m, false);
}

/** @param {ImMessage} m @param {boolean} live */
function received(m, live) {
  const list = team.messages.get(m.thread_id);
  if (list) {
    if (list.some((x) => x.id === m.id)) return;
    list.push(m);
    list.sort((a, b) => a.seq - b.seq);
  }
  const thread = team.threads.get(m.thread_id);
  const mine = m.sender.id === me();
  if (thread) {
    thread.last_seq = Math.max(thread.last_seq, m.seq);
    thread.last_message_at = m.created_at;
    thread.last_message_preview = m.text || (m.attachments.length ? t("r_file") : "");
    if (!mine && !(focused(m.thread_id))) thread.unread += 1;
    if (mine) thread.read_seq = Math.max(thread.read_seq, m.seq);
  } else if (live) {
    loadAll().catch(() => {});
  }
  if (live && !mine && !focused(m.thread_id) && (!thread?.muted || m.mentions.includes(me()))) notifyTeam(m, thread);
  if (focused(m.thread_id)) markRead(m.thread_id);
  renderAll();
}

const focused = (/** @type {string} */ id) => shown() && team.current === id && !document.hidden;

function notifyTeam(/** @type {ImMessage} */ m, /** @type {Thread | undefined} */ thread) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const where = thread ? title(thread) : "";
    const n = new Notification(t(m.mentions.includes(me()) ? "teamMentioned" : "teamNotify", { name: m.sender.name, where }), { body: m.text.slice(0, 120), tag: m.thread_id });
    n.onclick = () => { window.focus(); showTeam(true); open(m.thread_id); n.close(); };
  } catch { /* notifications are optional */ }
}

function markRead(/** @type {string} */ id) {
  const thread = team.threads.get(id);
  if (!thread || !team.socket) return;
  const seq = thread.last_seq;
  if (thread.unread === 0 && thread.read_seq >= seq) return;
  thread.unread = 0;
  thread.read_seq = seq;
  renderBadge();
  team.socket.emit("read", { thread_id: id, seq });
}

function renderChat() {
  const pane = document.getElementById("teamChat");
  if (!pane) return;
  const thread = team.current ? team.threads.get(team.current) : undefined;
  if (!thread) { pane.replaceChildren(el("div", { className: "empty", textContent: t("teamPick") })); return; }
  const existing = pane.querySelector("[data-testid=team-messages]");
  const typing = document.activeElement?.matches("[data-testid=team-input]") ?? false;
  const scrolledUp = existing && existing.scrollTop + existing.clientHeight < existing.scrollHeight - 40;
  const messages = el("div", { className: "team-messages", testid: "team-messages" },
    ...(team.messages.get(thread.id) || []).map((m) => bubble(m, thread)));
  const header = el("div", { className: "team-chat-head" },
    el("h3", { textContent: title(thread), testid: "team-chat-title" }),
    thread.kind === "group" ? el("span", { className: "team-preview", textContent: t("teamMembers_n", { n: thread.members.length }) }) : null);
  if (thread.kind === "group") {
    const settings = el("button", { type: "button", textContent: t("teamSettings"), testid: "team-settings" });
    settings.onclick = () => openSettings(thread);
    header.append(settings);
  }
  const announcement = thread.announcement
    ? el("div", { className: "team-announcement", testid: "team-announcement" }, el("strong", { textContent: `${t("teamAnnouncement")}: ` }), thread.announcement)
    : null;
  pane.replaceChildren(header, announcement || "", messages, el("div", { className: "typing", testid: "team-typing" }), composer(thread));
  if (!scrolledUp) messages.scrollTop = messages.scrollHeight;
  if (typing) /** @type {HTMLElement | null} */ (pane.querySelector("[data-testid=team-input]"))?.focus();
}

function bubble(/** @type {ImMessage} */ m, /** @type {Thread} */ thread) {
  const mine = m.sender.id === me();
  const read = mine && thread.kind === "direct" && (thread.peer_read_seq || 0) >= m.seq;
  const quote = m.quote ? el("div", { className: "team-quote", textContent: `${m.quote.sender_name}: ${m.quote.text}` }) : null;
  const consult = m.consult ? consultLink(m, thread) : null;
  const reply = el("button", { type: "button", className: "link team-quote-button", textContent: t("teamQuote"), testid: "team-quote" });
  reply.onclick = () => { team.quoting = m; renderChat(); };
  return el("div", { className: `msg ${mine ? "agent" : "contact"}`, testid: "team-message", dataset: { seq: String(m.seq) } },
    el("div", { className: "meta" }, `${m.sender.name} · ${shortTime(m.created_at)}${read ? ` · ${t("teamRead")}` : ""} `, reply),
    quote, consult, m.text ? el("div", { className: "text", textContent: m.text }) : null, ...attachmentNodes(m.attachments));
}

/** A customer conversation a colleague shared for advice: opened read-only here. */
function consultLink(/** @type {ImMessage} */ m, /** @type {Thread} */ thread) {
  const link = el("button", { type: "button", className: "link", testid: "team-consult", textContent: `💬 ${t("teamConsultOpen")}` });
  link.onclick = async () => {
    const id = m.consult?.conversation_id || "";
    const body = await api(`/api/v1/im/threads/${encodeURIComponent(thread.id)}/consult/${encodeURIComponent(id)}`);
    const lines = body.messages.map((/** @type {import("../types.js").Message} */ x) =>
      el("div", { className: `msg ${x.sender.type}` }, el("div", { className: "meta", textContent: x.sender.name || x.sender.type }), el("div", { className: "text", textContent: x.text })));
    /** @type {Node[]} */
    const fields = [el("div", { className: "team-messages", testid: "team-consult-view" }, ...lines)];
    dialog("team-consult-dialog", t("teamConsultTitle"), /** @type {HTMLElement[]} */ (fields), body.can_take_over ? t("takeOver") : t("cancel"), async () => {
      if (!body.can_take_over) return;
      // A supervisor takes it over in the inbox, where it then is theirs to answer.
      const ack = await inbox.socket?.timeout(15000).emitWithAck("conversation.take_over", { conversation_id: id });
      if (!ack?.ok) throw new Error(ack?.error?.message || t("takeOverFailed", { error: "" }));
      showTeam(false);
      location.hash = `conversation=${id}`;
    });
  };
  return link;
}

function composer(/** @type {Thread} */ thread) {
  const input = el("textarea", { rows: 2, placeholder: t("teamPlaceholder"), testid: "team-input", value: team.drafts.get(thread.id) || "" });
  input.setAttribute("aria-label", t("teamPlaceholder"));
  const error = el("div", { className: "error", role: "alert", testid: "team-error" });
  const send = el("button", { type: "submit", textContent: t("send"), testid: "team-send" });
  const file = el("input", { type: "file", testid: "team-file" });
  file.setAttribute("aria-label", t("attachFile"));
  const quoting = team.quoting?.thread_id === thread.id ? team.quoting : null;
  const cancelQuote = el("button", { type: "button", className: "link", textContent: "✕", title: t("cancel") });
  cancelQuote.onclick = () => { team.quoting = null; renderChat(); };
  const quoted = quoting
    ? el("div", { className: "team-quote", testid: "team-quoting" }, `${t("teamQuoting")} ${quoting.sender.name}: ${quoting.text.slice(0, 80)} `, cancelQuote)
    : null;
  const form = el("form", { className: "team-composer" }, quoted || "", input, el("div", { className: "team-tools" }, file, send), error);
  /** @param {string} text @param {unknown[]} attachments */
  const deliver = async (text, attachments) => {
    if (!team.socket) return;
    const mentions = [...team.people.values()].filter((p) => thread.members.includes(p.agent_id) && text.includes(`@${p.name}`)).map((p) => p.agent_id);
    const quote = quoting ? { quote_seq: quoting.seq } : {};
    const ack = await team.socket.timeout(15000).emitWithAck("message",
      { thread_id: thread.id, client_id: crypto.randomUUID(), text, attachments, mentions, ...quote })
      .catch(() => ({ ok: false, error: { code: "timeout", message: t("teamSendFailed") } }));
    if (!ack.ok) { error.textContent = ack.error?.message || t("teamSendFailed"); return false; }
    error.textContent = "";
    team.quoting = null;
    received(ack.message, false);
    return true;
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    if (await deliver(text, [])) {
      team.drafts.delete(thread.id);
      input.value = "";
      /** @type {HTMLElement | null} */ (document.querySelector("[data-testid=team-input]"))?.focus();
    }
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  input.addEventListener("input", () => {
    team.drafts.set(thread.id, input.value);
    team.socket?.emit("typing", { thread_id: thread.id, on: Boolean(input.value) });
  });
  file.onchange = async () => {
    const chosen = file.files?.[0];
    file.value = "";
    if (!chosen) return;
    const data = new FormData();
    data.append("file", chosen);
    try {
      const attachment = await api("/api/v1/uploads", { method: "POST", body: data });
      await deliver("", [attachment]);
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
    }
  };
  return form;
}

/** Group settings: name, description, announcement (owner and admins), members, leave, dissolve. */
function openSettings(/** @type {Thread} */ thread) {
  const manager = thread.owner_id === me() || thread.admins.includes(me());
  const name = el("input", { value: thread.name, maxLength: 100, disabled: !manager, testid: "team-settings-name" });
  const description = el("textarea", { value: thread.description, maxLength: 2000, disabled: !manager, testid: "team-settings-description" });
  const announcement = el("textarea", { value: thread.announcement, maxLength: 4000, disabled: !manager, testid: "team-settings-announcement" });
  const label = (/** @type {string} */ key, /** @type {HTMLElement} */ field) => el("label", { className: "team-field" }, t(key), field);
  const members = el("ul", { className: "team-members", testid: "team-settings-members" }, ...thread.members.map((id) => {
    const role = id === thread.owner_id ? t("teamOwner") : thread.admins.includes(id) ? t("teamAdmin") : "";
    const item = el("li", {}, `${personName(id)} ${role}`);
    if (manager && id !== thread.owner_id && id !== me()) {
      const remove = el("button", { type: "button", className: "link", textContent: t("teamRemove"), testid: "team-remove-member" });
      remove.onclick = () => change(thread, { remove: [id] });
      item.append(" ", remove);
    }
    return item;
  }));
  const addable = [...team.people.values()].filter((p) => !thread.members.includes(p.agent_id));
  const add = el("select", { testid: "team-add-member", disabled: !manager || !addable.length },
    el("option", { value: "", textContent: t("teamAddMember") }), ...addable.map((p) => el("option", { value: p.agent_id, textContent: p.name })));
  add.onchange = () => { if (add.value) change(thread, { add: [add.value] }); };
  const leave = el("button", { type: "button", className: "secondary", textContent: t("teamLeave"), testid: "team-leave" });
  leave.onclick = async () => { await api(`/api/v1/im/groups/${encodeURIComponent(thread.id)}/leave`, { method: "POST" }).catch((err) => alert(err.message)); };
  const dissolve = el("button", { type: "button", className: "secondary", textContent: t("teamDissolve"), testid: "team-dissolve", hidden: thread.owner_id !== me() });
  dissolve.onclick = async () => { if (confirm(t("teamDissolveConfirm"))) await api(`/api/v1/im/groups/${encodeURIComponent(thread.id)}`, { method: "DELETE" }); };
  const mute = el("label", { className: "team-pick" }, el("input", { type: "checkbox", checked: thread.muted, testid: "team-mute" }), t("teamMute"));
  /** @type {HTMLInputElement} */ (mute.firstChild).onchange = (e) => {
    const on = /** @type {HTMLInputElement} */ (e.target).checked;
    api(`/api/v1/im/threads/${encodeURIComponent(thread.id)}/mute`, { method: "PUT", body: { muted: on } }).then((th) => { team.threads.set(th.id, th); }).catch(() => {});
  };
  dialog("team-settings-dialog", t("teamSettings"),
    [label("teamGroupName", name), label("teamDescription", description), label("teamAnnouncement", announcement), mute, members, add,
      el("div", { className: "dialog-actions" }, leave, dissolve)],
    t("teamSave"), async () => {
      if (!manager) return;
      const changes = Object.fromEntries(/** @type {[string, string][]} */ ([["name", name.value], ["description", description.value], ["announcement", announcement.value]])
        .filter(([key, value]) => value !== thread[/** @type {"name" | "description" | "announcement"} */ (key)]));
      if (Object.keys(changes).length) await change(thread, changes);
    }, "team-save");
}

async function change(/** @type {Thread} */ thread, /** @type {Record<string, unknown>} */ changes) {
  const updated = await api(`/api/v1/im/groups/${encodeURIComponent(thread.id)}`, { method: "PATCH", body: changes });
  team.threads.set(updated.id, updated);
  renderAll();
}

/** Share a customer conversation into a team thread (the inbox's "Ask a colleague"). */
export async function consultColleague(/** @type {string} */ conversationId) {
  if (!team.threads.size) await loadAll().catch(() => {});
  const choice = el("select", { testid: "consult-thread", required: true },
    ...[...team.threads.values()].map((th) => el("option", { value: th.id, textContent: title(th) })));
  const note = el("input", { placeholder: t("teamConsultNote"), testid: "consult-note" });
  dialog("consult-dialog", t("teamConsult"), [choice, note], t("send"), async () => {
    const ack = await team.socket?.timeout(15000).emitWithAck("message",
      { thread_id: choice.value, client_id: crypto.randomUUID(), text: note.value, consult: { conversation_id: conversationId } });
    if (!ack?.ok) throw new Error(ack?.error?.message || t("teamSendFailed"));
    received(ack.message, false);
  }, "consult-send");
}
