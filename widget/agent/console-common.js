// @ts-check
// What every console section shares: the section interface, form fields, status lines, strings.
// A section is one module exporting `section` (ConsoleSection); console.js lists them.
import { t, addStrings, currentLang, knownText } from "../i18n.js";
import { el, ApiError } from "../shared.js";

/** @import { Agent } from "../types.js" */
/** @import { Socket } from "../shared.js" */

/**
 * @typedef {{
 *   me: Agent, socket: Socket, cleanup: (() => void)[], current?: symbol,
 *   listen: (event: string, handler: (...args: any[]) => void) => void,
 *   every: (ms: number, fn: () => void) => void,
 * }} ConsoleContext
 *   `listen` and `every` last as long as the section is shown.
 * @typedef {{
 *   id: string, role: "admin" | "supervisor", label: string,
 *   render: (ctx: ConsoleContext) => Promise<Node>,
 * }} ConsoleSection
 *   `id` is the URL hash and the nav test id; `role` who may open it; `label` a string key.
 */

/** A labelled form row; `control` is the input element. */
/** @param {string} label @param {HTMLElement} control @param {string} [hint] */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return el("div", { className: "field" },
    el("label", { htmlFor: id, textContent: label }), control,
    hint ? el("small", { className: "hint", textContent: hint }) : null);
}

/** @param {string} label @param {unknown} checked @param {string} testid */
export function checkbox(label, checked, testid) {
  const box = el("input", { type: "checkbox", checked: !!checked, testid });
  return { box, row: el("label", { className: "check" }, box, el("span", { textContent: label })) };
}

/** Error and success line under a form (role=status so screen readers hear it). */
export function statusLine(/** @type {string} */ testid) {
  const line = el("div", { className: "status-line", testid, role: "status" });
  return {
    node: line,
    ok(/** @type {string} */ text) { line.dataset.kind = "ok"; line.textContent = text; },
    error(/** @type {unknown} */ err) { line.dataset.kind = "error"; line.textContent = describeError(err); },
    clear() { line.dataset.kind = ""; line.textContent = ""; },
  };
}

export function describeError(/** @type {unknown} */ err) {
  if (err instanceof ApiError) {
    // Validation messages name the field that is wrong: keep them, with a translated lead.
    if (err.status === 400) return `${t("c_checkFields")} ${err.message}`;
    return knownText(`c_err_${err.code}`) ?? err.message;
  }
  return (err instanceof Error && err.message) || t("c_failed");
}

/** A destructive button asks again instead of opening a browser dialog. */
/** @param {string} label @param {string} testid @param {() => Promise<unknown>} action */
export function confirmButton(label, testid, action) {
  const button = el("button", { type: "button", className: "danger", textContent: label, testid });
  /** @type {ReturnType<typeof setTimeout> | null} */
  let armed = null;
  button.onclick = async () => {
    if (!armed) {
      button.textContent = t("c_sure");
      button.dataset.armed = "true";
      armed = setTimeout(() => { armed = null; button.textContent = label; delete button.dataset.armed; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.disabled = true;
    try { await action(); } finally { button.disabled = false; button.textContent = label; delete button.dataset.armed; }
  };
  return button;
}

/** @param {string} title @param {...Node} extra */
export function sectionHeader(title, ...extra) {
  return el("div", { className: "section-head" }, el("h1", { textContent: title }), ...extra);
}

export function formatDuration(/** @type {number} */ seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function formatTime(/** @type {string | null | undefined} */ iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(currentLang() === "zh" ? "zh-CN" : "en-GB",
    { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

addStrings({
  en: {
    c_console: "Console", c_backToInbox: "Back to inbox", c_denied: "The console is for supervisors and administrators. Your account can use the inbox.",
    c_nav_monitor: "Monitor", c_nav_agents: "Agents", c_nav_routing: "Routing", c_nav_widget: "Widget",
    c_nav_quick_replies: "Quick replies", c_nav_tags: "Tags", c_nav_blacklist: "Blacklist",
    c_live: "Live", c_offline: "Reconnecting…", c_failed: "Something went wrong", c_sure: "Sure?", c_save: "Save",
    c_saved: "Saved", c_cancel: "Cancel", c_edit: "Edit", c_delete: "Delete", c_add: "Add", c_loading: "Loading…",
    c_noChanges: "Nothing changed",
    c_err_email_taken: "Another account already uses this email.",
    c_err_admin_only: "Only administrators can do this.", c_err_supervisor_only: "Only supervisors can do this.",
    c_checkFields: "Please check:",
  },
  zh: {
    c_console: "管理控制台", c_backToInbox: "返回工作台", c_denied: "控制台仅供班长和管理员使用，您的账号可以使用工作台。",
    c_nav_monitor: "实时监控", c_nav_agents: "坐席管理", c_nav_routing: "分配策略", c_nav_widget: "网页插件",
    c_nav_quick_replies: "快捷回复", c_nav_tags: "标签", c_nav_blacklist: "黑名单",
    c_live: "实时", c_offline: "重新连接中…", c_failed: "操作失败", c_sure: "确定？", c_save: "保存",
    c_saved: "已保存", c_cancel: "取消", c_edit: "编辑", c_delete: "删除", c_add: "添加", c_loading: "加载中…",
    c_noChanges: "没有修改",
    c_err_email_taken: "该邮箱已被其他账号使用。",
    c_err_admin_only: "仅管理员可以操作。", c_err_supervisor_only: "仅班长可以操作。",
    c_checkFields: "请检查：",
  },
});
