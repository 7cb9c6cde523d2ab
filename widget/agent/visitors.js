// @ts-check
// Online visitors (在线访客): who is on the customer's site now, chatting or not, a page of
// 50 at a time with search and filters, and the invite button (邀请). The hub tells the
// inbox of changes batched (`visitors.online`, at most one a second); the page reads its
// list again on that only while it is shown, so thousands of visitors cost nothing meanwhile.
import { t, addStrings, knownText } from "../i18n.js";
import { $, el, api } from "../shared.js";
import { refusal } from "../refusals.js";
import { state, shortTime, fullPage } from "./core.js";

/**
 * @typedef {{url: string, title: string, referrer: string, at?: string}} PageView
 * @typedef {{contact_id: string, name: string, page: PageView, pages: PageView[], device: string, os: string,
 *   browser: string, region: string, ip: string, arrived_at: string, status: "browsing" | "chatting",
 *   invited: number, refused: number}} OnlineVisitor
 * @typedef {{agent_id: string, invited: number, accepted: number, refused: number, conversations: number,
 *   avg_conversation_seconds: number | null}} AgentCounters
 * @typedef {{online: number, today: {pv: number, ip: number}, agents: AgentCounters[]}} VisitorStats
 */

addStrings({
  en: {
    navVisitors: "Visitors {n}", visitorsTitle: "Online visitors", visitorsSearch: "Search visitors (name, IP, region, page)",
    v_all: "All", v_browsing: "Browsing", v_chatting: "Chatting", v_pc: "PC", v_mobile: "Mobile", v_anyDevice: "Any device",
    v_visitor: "Visitor", v_device: "Device", v_where: "Region / IP", v_page: "Current page", v_pages: "Pages",
    v_arrived: "Arrived", v_onSite: "On site", v_invites: "Invited / refused", v_none: "Nobody is on the site now.",
    invite: "Invite", invited: "Invited", inviteFailed: "Could not invite: {error}", inviteAccepted: "{name} accepted your invitation.",
    inviteRefused: "{name} declined your invitation.", v_counters: "Today: {pv} page views, {ip} IPs · you: {invited} invited, {accepted} accepted, {refused} refused, {served} served, {avg} average",
    v_prev: "Previous", v_next: "Next", v_range: "{from}–{to} of {total}", regionUnknown: "—",
    inviteErr_visitor_not_online: "the visitor has left the site", inviteErr_visitor_chatting: "the visitor is chatting already",
    inviteErr_already_invited: "the visitor has an invitation to answer", inviteErr_invitations_disabled: "invitations are turned off",
  },
  zh: {
    navVisitors: "在线访客 {n}", visitorsTitle: "在线访客", visitorsSearch: "搜索访客（名称、IP、地区、页面）",
    v_all: "全部", v_browsing: "浏览中", v_chatting: "对话中", v_pc: "电脑", v_mobile: "手机", v_anyDevice: "全部设备",
    v_visitor: "访客", v_device: "设备", v_where: "地区 / IP", v_page: "当前页面", v_pages: "浏览页数",
    v_arrived: "来访时间", v_onSite: "停留时长", v_invites: "邀请 / 拒绝", v_none: "当前没有在线访客。",
    invite: "邀请", invited: "已邀请", inviteFailed: "邀请失败：{error}", inviteAccepted: "{name} 接受了您的邀请。",
    inviteRefused: "{name} 拒绝了您的邀请。", v_counters: "今日：浏览量 {pv}，IP {ip} · 我的：邀请 {invited}，接受 {accepted}，拒绝 {refused}，接待 {served}，平均时长 {avg}",
    v_prev: "上一页", v_next: "下一页", v_range: "第 {from}–{to} 条，共 {total} 条", regionUnknown: "—",
    inviteErr_visitor_not_online: "访客已离开网站", inviteErr_visitor_chatting: "访客已在对话中",
    inviteErr_already_invited: "访客尚未回应上一次邀请", inviteErr_invitations_disabled: "邀请功能已关闭",
  },
});

const PAGE_SIZE = 50;
let offset = 0;
let query = "";
let status = "";
let device = "";
/** Invitations this tab sent and not yet answered: contact id → visitor name. */
/** @type {Map<string, string>} */
const pending = new Map();
let reading = false;
let again = false;

const shown = () => !$("visitorsPage").hidden;

export function setupVisitorsPage() {
  $("navVisitors").onclick = () => showVisitors(!shown());
  setCount(0);
}

function setCount(/** @type {number} */ n) {
  $("navVisitors").textContent = t("navVisitors", { n });
}

const showVisitors = fullPage("visitors", (/** @type {boolean} */ on) => {
  document.body.classList.toggle("show-visitors", on);
  $("visitorsPage").hidden = !on;
  $("navVisitors").setAttribute("aria-pressed", String(on));
  if (on) { if (!$("visitorsPage").childElementCount) render(); refresh(); }
});

/** The live parts: the batched change, and the answers to this agent's invitations. */
export function watchVisitors(/** @type {import("../shared.js").Socket} */ socket) {
  socket.on("visitors.online", (/** @type {{online: number}} */ { online }) => {
    setCount(online);
    if (shown()) refresh();
  });
  socket.on("invitation.answered", (/** @type {{contact_id: string, accepted: boolean}} */ { contact_id, accepted }) => {
    const name = pending.get(contact_id) || "";
    pending.delete(contact_id);
    notify(t(accepted ? "inviteAccepted" : "inviteRefused", { name }));
    if (shown()) refresh();
  });
  socket.on("connect", () => { loadCount(); if (shown()) refresh(); });
}

async function loadCount() {
  try { setCount((await api("/api/v1/visitors/online?limit=0")).online); } catch { /* best effort */ }
}

function notify(/** @type {string} */ text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.classList.add("shown");
  setTimeout(() => { if (notice.textContent === text) { notice.textContent = ""; notice.classList.remove("shown"); } }, 6000);
}

function render() {
  const search = el("input", { type: "search", testid: "visitors-search", placeholder: t("visitorsSearch") });
  search.setAttribute("aria-label", t("visitorsSearch"));
  search.oninput = () => { query = search.value.trim(); offset = 0; refresh(); };
  const choose = (/** @type {string} */ testid, /** @type {[string, string][]} */ options, /** @type {(v: string) => void} */ set) => {
    const select = /** @type {HTMLSelectElement} */ (el("select", { testid }));
    for (const [value, label] of options) select.append(el("option", { value, textContent: t(label) }));
    select.onchange = () => { set(select.value); offset = 0; refresh(); };
    return select;
  };
  const back = el("button", { type: "button", className: "link", testid: "visitors-back", textContent: `← ${t("backToInbox")}` });
  back.onclick = () => showVisitors(false);
  $("visitorsPage").replaceChildren(
    el("div", { className: "contacts-head" }, back, el("h2", { textContent: t("visitorsTitle") }), search,
      choose("visitors-status", [["", "v_all"], ["browsing", "v_browsing"], ["chatting", "v_chatting"]], (v) => { status = v; }),
      choose("visitors-device", [["", "v_anyDevice"], ["pc", "v_pc"], ["mobile", "v_mobile"]], (v) => { device = v; })),
    el("div", { className: "visitors-counters", testid: "visitors-counters" }),
    el("div", { className: "visitors-table", testid: "visitors-list" }),
    el("div", { className: "visitors-pager", testid: "visitors-pager" }),
  );
}

/** Reads the shown page again; a change arriving meanwhile reads once more afterwards. */
async function refresh() {
  if (reading) { again = true; return; }
  reading = true;
  try {
    do {
      again = false;
      const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
      if (query) params.set("q", query);
      if (status) params.set("status", status);
      if (device) params.set("device", device);
      const [list, stats] = await Promise.all([api(`/api/v1/visitors/online?${params}`), api("/api/v1/visitors/stats")]);
      setCount(list.online);
      if (!$("visitorsPage").childElementCount) render();
      renderList(list.items, list.total);
      renderCounters(stats);
    } while (again);
  } catch { /* shown again on the next change */ } finally {
    reading = false;
  }
}

function duration(/** @type {number} */ seconds) {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function renderCounters(/** @type {VisitorStats} */ stats) {
  const mine = stats.agents.find((a) => a.agent_id === state.me?.id);
  $("visitorsPage").querySelector("[data-testid=visitors-counters]")?.replaceChildren(t("v_counters", {
    pv: stats.today.pv, ip: stats.today.ip, invited: mine?.invited ?? 0, accepted: mine?.accepted ?? 0,
    refused: mine?.refused ?? 0, served: mine?.conversations ?? 0,
    avg: typeof mine?.avg_conversation_seconds === "number" ? duration(mine.avg_conversation_seconds) : "—",
  }));
}

function renderList(/** @type {OnlineVisitor[]} */ items, /** @type {number} */ total) {
  const table = $("visitorsPage").querySelector("[data-testid=visitors-list]");
  const pager = $("visitorsPage").querySelector("[data-testid=visitors-pager]");
  if (!table || !pager) return;
  if (!items.length && offset > 0) { offset = Math.max(0, offset - PAGE_SIZE); refresh(); return; }
  const head = el("div", { className: "visitor-row head" },
    ...["v_visitor", "v_device", "v_where", "v_page", "v_pages", "v_arrived", "v_onSite", "v_invites", ""].map((k) => el("span", { textContent: k ? t(k) : "" })));
  const now = Date.now();
  const rows = items.map((v) => {
    const invite = /** @type {HTMLButtonElement} */ (el("button", { type: "button", testid: "visitor-invite",
      textContent: pending.has(v.contact_id) ? t("invited") : t("invite") }));
    invite.disabled = v.status === "chatting" || pending.has(v.contact_id);
    invite.onclick = async () => {
      invite.disabled = true;
      const ack = await state.socket?.emitWithAck("visitor.invite", { contact_id: v.contact_id });
      if (ack?.ok) { pending.set(v.contact_id, v.name); invite.textContent = t("invited"); return; }
      invite.disabled = false;
      notify(t("inviteFailed", { error: (ack?.error?.code && knownText(`inviteErr_${ack.error.code}`)) || refusal(ack?.error).text }));
    };
    const trail = v.pages.map((p) => `${p.at ? shortTime(p.at) : ""} ${p.title || p.url}`).join("\n");
    const pageLink = el("a", { href: v.page.url, target: "_blank", rel: "noopener noreferrer", textContent: v.page.title || v.page.url, title: `${v.page.url}\n\n${trail}` });
    return el("div", { className: `visitor-row ${v.status}`, testid: "visitor-row" },
      el("span", { textContent: v.name, title: v.status === "chatting" ? t("v_chatting") : t("v_browsing") }),
      el("span", { textContent: [t(v.device === "mobile" ? "v_mobile" : "v_pc"), v.os, v.browser].filter(Boolean).join(" · ") }),
      el("span", { textContent: `${v.region || t("regionUnknown")} · ${v.ip}` }),
      el("span", {}, pageLink),
      el("span", { textContent: String(v.pages.length) }),
      el("span", { textContent: shortTime(v.arrived_at) }),
      el("span", { textContent: duration((now - Date.parse(v.arrived_at)) / 1000) }),
      el("span", { testid: "visitor-invites", textContent: `${v.invited} / ${v.refused}` }),
      el("span", {}, invite));
  });
  table.replaceChildren(head, ...(rows.length ? rows : [el("div", { className: "empty", textContent: t("v_none") })]));
  const prev = /** @type {HTMLButtonElement} */ (el("button", { type: "button", textContent: t("v_prev") }));
  const next = /** @type {HTMLButtonElement} */ (el("button", { type: "button", textContent: t("v_next") }));
  prev.disabled = offset === 0;
  next.disabled = offset + PAGE_SIZE >= total;
  prev.onclick = () => { offset = Math.max(0, offset - PAGE_SIZE); refresh(); };
  next.onclick = () => { offset += PAGE_SIZE; refresh(); };
  pager.replaceChildren(prev, el("span", { textContent: total ? t("v_range", { from: offset + 1, to: offset + items.length, total }) : "" }), next);
}
