// @ts-check
// Reports (报表): conversations, messages, wait / first response / handling times,
// satisfaction and left messages over a date range, by day, agent, skill or channel, in the
// browser's time zone; a chart by day (uPlot, vendored and loaded only here) and a CSV export.
import { addStrings, currentLang, t } from "../i18n.js";
import { api, agentToken, appUrl, el } from "../shared.js";
import { field, formatDuration, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */
/**
 * @typedef {{
 *   key: string, name: string, conversations: number, messages_in: number, messages_out: number,
 *   avg_wait_seconds: number | null, avg_first_response_seconds: number | null,
 *   avg_handle_seconds: number | null, csat_avg: number | null, csat_count: number, left_messages: number,
 * }} ReportRow
 * @typedef {{from: string, to: string, tz: string, group_by: string, items: ReportRow[], total: ReportRow}} Report
 */

const GROUPS = ["day", "agent", "skill", "channel"];
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function isoDay(/** @type {Date} */ d) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** @param {number | null} seconds */
const duration = (seconds) => (seconds === null ? "–" : formatDuration(seconds));

/** @type {Promise<any> | null} */
let charts = null;
/** uPlot and its stylesheet, fetched the first time a chart is drawn. */
function loadCharts() {
  if (!charts) {
    const css = el("link", { rel: "stylesheet", href: new URL("../vendor/uPlot.min.css", import.meta.url).href });
    document.head.append(css);
    charts = import("../vendor/uPlot.esm.js").then((m) => /** @type {typeof import("uplot")} */ (/** @type {unknown} */ (m.default)));
  }
  return charts;
}

async function render() {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400_000);
  const from = el("input", { type: "date", value: isoDay(weekAgo), testid: "report-from", required: true });
  const to = el("input", { type: "date", value: isoDay(today), testid: "report-to", required: true });
  const group = el("select", { testid: "report-group" },
    ...GROUPS.map((g) => el("option", { value: g, textContent: t(`c_rp_by_${g}`) })));
  const show = el("button", { type: "submit", className: "primary", textContent: t("c_rp_show"), testid: "report-show" });
  const download = el("button", { type: "button", textContent: t("c_rp_csv"), testid: "report-csv" });
  const status = statusLine("report-error");
  const totals = el("div", { className: "counters report-totals", testid: "report-totals" });
  const chart = el("div", { className: "panel report-chart", testid: "report-chart" });
  const table = el("table", { className: "report-table", testid: "report-table" });
  const form = el("form", { className: "inline report-form" },
    field(t("c_rp_from"), from), field(t("c_rp_to"), to), field(t("c_rp_group"), group),
    show, download);
  const root = el("div", {},
    sectionHeader(t("c_nav_reports"), el("span", { className: "muted small", testid: "report-zone", textContent: t("c_rp_zone", { zone }) })),
    form, status.node, totals, chart, el("div", { className: "panel report-scroll" }, table));

  const query = () => new URLSearchParams({ from: from.value, to: to.value, group_by: group.value, tz: zone }).toString();

  async function load() {
    status.clear();
    show.disabled = true;
    try {
      /** @type {Report} */
      const report = await api(`/api/v1/reports/summary?${query()}`);
      drawTotals(report.total);
      drawTable(report);
      await drawChart(report);
    } catch (err) {
      status.error(err);
    } finally {
      show.disabled = false;
    }
  }

  function drawTotals(/** @type {ReportRow} */ total) {
    const tile = (/** @type {string} */ label, /** @type {string} */ value, /** @type {string} */ testid) =>
      el("div", { className: "counter" }, el("strong", { textContent: value, testid }), el("span", { textContent: label }));
    totals.replaceChildren(
      tile(t("c_rp_conversations"), String(total.conversations), "report-total-conversations"),
      tile(t("c_rp_messages"), `${total.messages_in} / ${total.messages_out}`, "report-total-messages"),
      tile(t("c_rp_wait"), duration(total.avg_wait_seconds), "report-total-wait"),
      tile(t("c_rp_first"), duration(total.avg_first_response_seconds), "report-total-first"),
      tile(t("c_rp_handle"), duration(total.avg_handle_seconds), "report-total-handle"),
      tile(t("c_rp_csat"), total.csat_avg === null ? "–" : `${total.csat_avg} (${total.csat_count})`, "report-total-csat"),
      tile(t("c_rp_left"), String(total.left_messages), "report-total-left"));
  }

  function drawTable(/** @type {Report} */ report) {
    const heads = ["c_rp_key", "c_rp_conversations", "c_rp_in", "c_rp_out", "c_rp_wait", "c_rp_first", "c_rp_handle", "c_rp_csat", "c_rp_left"];
    const cells = (/** @type {ReportRow} */ r, /** @type {string} */ label) => [label, String(r.conversations), String(r.messages_in), String(r.messages_out),
      duration(r.avg_wait_seconds), duration(r.avg_first_response_seconds), duration(r.avg_handle_seconds),
      r.csat_avg === null ? "–" : `${r.csat_avg} (${r.csat_count})`, String(r.left_messages)];
    const label = (/** @type {ReportRow} */ r) => r.name || r.key || t("c_rp_none");
    const line = (/** @type {string[]} */ values, /** @type {string} */ testid, /** @type {string} */ key) =>
      el("tr", { testid, dataset: { key } }, ...values.map((v, i) => el(i ? "td" : "th", { textContent: v })));
    table.replaceChildren(
      el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { textContent: t(h) })))),
      el("tbody", {}, ...report.items.map((r) => line(cells(r, label(r)), "report-row", r.key))),
      el("tfoot", {}, line(cells(report.total, t("c_rp_total")), "report-total", "total")));
  }

  async function drawChart(/** @type {Report} */ report) {
    chart.hidden = report.group_by !== "day";
    if (chart.hidden) return;
    const uPlot = await loadCharts();
    const days = report.items.map((r) => Date.parse(`${r.key}T12:00:00`) / 1000);
    const series = (/** @type {(r: ReportRow) => number} */ pick) => report.items.map(pick);
    const width = Math.max(320, chart.clientWidth - 32);
    chart.replaceChildren();
    new uPlot({
      width, height: 260,
      series: [
        { label: t("c_rp_day"), value: (/** @type {unknown} */ _u, /** @type {number | null} */ v) => (v === null ? "" : new Date(v * 1000).toLocaleDateString(currentLang() === "zh" ? "zh-CN" : "en-GB")) },
        { label: t("c_rp_conversations"), stroke: "#4f46e5", width: 2 },
        { label: t("c_rp_in"), stroke: "#059669" },
        { label: t("c_rp_out"), stroke: "#d97706" },
      ],
      axes: [{}, { label: t("c_rp_count") }],
      scales: { x: { time: true } },
    }, [days, series((r) => r.conversations), series((r) => r.messages_in), series((r) => r.messages_out)], chart);
  }

  form.onsubmit = (e) => { e.preventDefault(); load(); };
  download.onclick = async () => {
    // The API wants the token in a header, so the file is fetched here and handed over.
    status.clear();
    try {
      const res = await fetch(appUrl(`/api/v1/reports/summary?${query()}&format=csv`), { headers: { Authorization: `Bearer ${agentToken()}` } });
      if (!res.ok) throw new Error((await res.json()).error?.message || res.statusText);
      const link = el("a", { href: URL.createObjectURL(await res.blob()), download: `report-${from.value}-${to.value}-${group.value}.csv` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      status.error(err);
    }
  };
  await load();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "reports", role: "supervisor", label: "c_nav_reports", render };

addStrings({
  en: {
    c_nav_reports: "Reports", c_rp_from: "From", c_rp_to: "To", c_rp_group: "By", c_rp_show: "Show", c_rp_csv: "Download CSV",
    c_rp_by_day: "Day", c_rp_by_agent: "Agent", c_rp_by_skill: "Skill group", c_rp_by_channel: "Channel",
    c_rp_zone: "Days in {zone}", c_rp_conversations: "Conversations", c_rp_messages: "Messages in / out",
    c_rp_in: "In", c_rp_out: "Out", c_rp_wait: "Average wait", c_rp_first: "Average first response",
    c_rp_handle: "Average handling", c_rp_csat: "Satisfaction (ratings)", c_rp_left: "Left messages",
    c_rp_key: "", c_rp_total: "Total", c_rp_none: "None", c_rp_day: "Day", c_rp_count: "Count",
  },
  zh: {
    c_nav_reports: "统计报表", c_rp_from: "开始日期", c_rp_to: "结束日期", c_rp_group: "分组", c_rp_show: "查询", c_rp_csv: "导出 CSV",
    c_rp_by_day: "按天", c_rp_by_agent: "按坐席", c_rp_by_skill: "按技能组", c_rp_by_channel: "按渠道",
    c_rp_zone: "日期按 {zone} 时区", c_rp_conversations: "会话数", c_rp_messages: "消息 收 / 发",
    c_rp_in: "收到", c_rp_out: "发出", c_rp_wait: "平均等待", c_rp_first: "平均首次响应",
    c_rp_handle: "平均处理时长", c_rp_csat: "满意度（评价数）", c_rp_left: "留言",
    c_rp_key: "", c_rp_total: "合计", c_rp_none: "无", c_rp_day: "日期", c_rp_count: "数量",
  },
});
