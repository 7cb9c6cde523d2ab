// @ts-check
// The conversation list: tabs (mine, queued, all, closed), items with channel badge, preview,
// time, unread count and status; the tab title counts unread messages.
import { t } from "../i18n.js";
import { $, el, api } from "../shared.js";
import { previewText } from "../render.js";
import { state, ui, entry, snapshotMark, isSupervisor, contactName, agentName, shortTime, ensureContact } from "./core.js";
import { channelBadge } from "./channels.js";

/** @import { Conversation } from "../types.js" */
/** @import { Entry } from "./core.js" */

const TABS = ["mine", "queued", "all", "closed"];
const OPEN = "bot,queued,assigned";

export function inTab(/** @type {string} */ tab, /** @type {Conversation} */ c) {
  const mine = c.agent_id === state.me?.id;
  switch (tab) {
    case "mine": return c.status === "assigned" && mine;
    case "queued": return c.status === "queued";
    case "all": return isSupervisor() && c.status !== "closed";
    case "closed": return c.status === "closed" && (mine || isSupervisor());
    default: return false;
  }
}

/** Whether this page should keep a conversation it hears about at all. */
export function relevant(/** @type {Conversation} */ c) {
  return TABS.some((tab) => inTab(tab, c)) || state.convs.has(c.id);
}

const MAX_CLOSED = 300;

/** Closed conversations pile up over a day (supervisors hear of all of them): keep the newest. */
export function pruneClosed() {
  const closed = [...state.convs.values()].filter((e) => e.conversation.status === "closed" && e.conversation.id !== state.current);
  if (closed.length <= MAX_CLOSED) return;
  closed.sort((a, b) => ((a.conversation.closed_at || "") < (b.conversation.closed_at || "") ? -1 : 1));
  for (const e of closed.slice(0, closed.length - MAX_CLOSED)) state.convs.delete(e.conversation.id);
}

const activity = (/** @type {Conversation} */ c) => c.last_message_at || c.assigned_at || c.created_at || "";

function visible(/** @type {string} */ tab) {
  return [...state.convs.values()]
    .filter((e) => inTab(tab, e.conversation))
    .sort((a, b) => (activity(b.conversation) > activity(a.conversation) ? 1 : -1));
}

export function setupTabs() {
  const bar = $("tabs");
  bar.setAttribute("role", "tablist");
  bar.setAttribute("aria-label", t("tabsLabel"));
  bar.replaceChildren(...TABS.map((tab) => {
    const button = el("button", { type: "button", className: "tab", testid: `tab-${tab}`, dataset: { tab } },
      el("span", { textContent: t(`tab${tab[0].toUpperCase()}${tab.slice(1)}`) }),
      el("span", { className: "count" }));
    button.setAttribute("role", "tab");
    button.hidden = tab === "all" && !isSupervisor();
    button.onclick = () => showTab(tab);
    return button;
  }));
}

export function showTab(/** @type {string} */ tab) {
  state.tab = tab;
  renderList();
}

export function renderList() {
  const list = $("convs");
  for (const button of /** @type {HTMLCollectionOf<HTMLElement>} */ ($("tabs").children)) {
    const tab = button.dataset.tab;
    const active = tab === state.tab;
    button.classList.toggle("active", active);
    button.setAttribute("aria-selected", String(active));
    // Closed conversations are history, not work: they get no counter.
    const count = button.querySelector(".count");
    if (count) count.textContent = tab === "closed" ? "" : String(visible(/** @type {string} */ (tab)).length || "");
  }
  const items = visible(state.tab);
  list.replaceChildren(...items.map(item));
  if (!items.length) list.append(el("div", { className: "empty-list", textContent: t("emptyList") }));
  updateTitle();
}

function item(/** @type {Entry} */ e) {
  const c = e.conversation;
  if (!state.contacts.has(c.contact_id)) ensureContact(c.contact_id);
  const last = [...e.messages].reverse().find((m) => m.type !== "note");
  const text = last ? previewText(last, c.channel) : c.last_message_preview || "";
  const unread = e.unread
    ? el("span", { className: "unread", testid: "unread-count", textContent: String(e.unread), title: t("unreadLabel", { n: e.unread }) })
    : null;
  const who = state.tab === "mine" ? "" : c.agent_id ? t("servedBy", { name: agentName(c.agent_id) }) : t("nobody");
  const node = el("button", {
    type: "button",
    className: "item" + (state.current === c.id ? " active" : "") + (e.unread ? " has-unread" : ""),
    testid: "conversation-item",
    dataset: { conversationId: c.id, status: c.status, channel: c.channel },
  },
  el("span", { className: "row" },
    el("span", { className: "who", textContent: contactName(c) }),
    el("span", { className: "time", textContent: shortTime(last?.created_at || c.last_message_at || c.created_at) })),
  el("span", { className: "row" },
    el("span", { className: "preview", testid: "conversation-preview", textContent: text }),
    unread),
  el("span", { className: "row meta" },
    channelBadge(c.channel),
    el("span", { className: `status st-${c.status}`, testid: "conversation-status-chip", textContent: t(`st_${c.status}`) }),
    el("span", { className: "agent", textContent: who })));
  node.onclick = () => ui.select(c.id);
  return node;
}

export function totalUnread() {
  let n = 0;
  for (const e of state.convs.values()) if (e.conversation.status !== "closed") n += e.unread;
  return n;
}

export function updateTitle() {
  const n = totalUnread();
  document.title = n ? `(${n}) ${t("inbox")}` : t("inbox");
}

/** Loads every tab once (so counters are right), keeping what live events already told us. */
export async function loadAll() {
  const me = encodeURIComponent(state.me?.id || "");
  const queries = [`status=assigned&agent_id=${me}`, "status=queued&limit=200",
    isSupervisor() ? "status=closed&limit=100" : `status=closed&agent_id=${me}&limit=100`];
  if (isSupervisor()) queries.push(`status=${OPEN}&limit=300`);
  const asOf = snapshotMark();
  /** @type {{items: Conversation[]}[]} */
  const answers = await Promise.all(queries.map((q) => api(`/api/v1/conversations?${q}`)));
  for (const { items } of answers) for (const c of items) entry(c, asOf);
  renderList();
}

/** The queue changed: new waiting conversations appear, the ones that left are re-read. */
export async function refreshQueued() {
  const asOf = snapshotMark();
  /** @type {{items: Conversation[]}} */
  const { items } = await api("/api/v1/conversations?status=queued&limit=200");
  const fresh = new Set(items.map((c) => c.id));
  for (const c of items) entry(c, asOf);
  if (isSupervisor()) {
    // New conversations held by bots are visible to supervisors under "all".
    for (const c of (await api("/api/v1/conversations?status=bot&limit=100")).items) entry(c, asOf);
  }
  const stale = [...state.convs.values()].filter((e) => e.conversation.status === "queued" && !fresh.has(e.conversation.id));
  await Promise.all(stale.map(async (e) => {
    try { entry(await api(`/api/v1/conversations/${e.conversation.id}`), asOf); } catch { /* gone: keep what we had */ }
  }));
  renderList();
  if (stale.some((x) => x.conversation.id === state.current)) ui.pane();
}
