// @ts-check
// The live monitor's part for visitors (在线访客) and the workbench counters (工作绩效):
// visitors online, today's page views and IPs, and per agent today's conversations, their
// average length, invitations sent, accepted and refused.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { formatDuration } from "./console-common.js";

/**
 * @typedef {{agent_id: string, name: string, invited: number, accepted: number, refused: number,
 *   conversations: number, avg_conversation_seconds: number | null}} AgentDay
 */

export function visitorsPanel() {
  const figures = el("div", { className: "counters", testid: "monitor-visitors" });
  const table = el("table", { className: "workbench", testid: "monitor-workbench" });
  const node = el("div", {}, el("h2", { textContent: t("c_mv_title") }), figures, table);

  /** @param {string} label @param {number} value @param {string} testid */
  const counter = (label, value, testid) =>
    el("div", { className: "counter" }, el("strong", { testid, textContent: String(value) }), el("span", { textContent: label }));

  async function refresh() {
    const stats = await api("/api/v1/visitors/stats");
    figures.replaceChildren(
      counter(t("c_mv_online"), stats.online, "monitor-visitors-online"),
      counter(t("c_mv_pv"), stats.today.pv, "monitor-visitors-pv"),
      counter(t("c_mv_ip"), stats.today.ip, "monitor-visitors-ip"),
      counter(t("c_mv_autoInvited"), stats.auto.invited, "monitor-auto-invited"));
    const head = el("tr", {}, ...["c_mv_agent", "c_mv_served", "c_mv_avg", "c_mv_invited", "c_mv_accepted", "c_mv_refused"]
      .map((k) => el("th", { textContent: t(k) })));
    table.replaceChildren(head, ...stats.agents.map((/** @type {AgentDay} */ a) => el("tr", { testid: "monitor-workbench-row", dataset: { agentId: a.agent_id } },
      el("td", { textContent: a.name }), el("td", { textContent: String(a.conversations) }),
      el("td", { textContent: typeof a.avg_conversation_seconds === "number" ? formatDuration(a.avg_conversation_seconds) : "–" }),
      el("td", { textContent: String(a.invited) }), el("td", { textContent: String(a.accepted) }),
      el("td", { textContent: String(a.refused) }))));
  }
  return { node, refresh };
}

addStrings({
  en: {
    c_mv_title: "Visitors and workbench today", c_mv_online: "Visitors online", c_mv_pv: "Page views today",
    c_mv_ip: "IPs today", c_mv_autoInvited: "Auto-invitations", c_mv_agent: "Agent", c_mv_served: "Conversations",
    c_mv_avg: "Average length", c_mv_invited: "Invited", c_mv_accepted: "Accepted", c_mv_refused: "Refused",
  },
  zh: {
    c_mv_title: "访客与工作绩效（今日）", c_mv_online: "在线访客", c_mv_pv: "今日浏览量",
    c_mv_ip: "今日 IP", c_mv_autoInvited: "自动邀请", c_mv_agent: "坐席", c_mv_served: "接待会话",
    c_mv_avg: "平均时长", c_mv_invited: "邀请", c_mv_accepted: "接受", c_mv_refused: "拒绝",
  },
});
