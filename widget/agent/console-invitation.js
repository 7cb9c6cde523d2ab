// @ts-check
// Invitations to chat (邀请): the pop-up's words and colour, where accepting leads, and the
// auto-invite rules (after N seconds on a page, or on matching URLs), saved to
// /api/v1/settings/invitation; today's invitations per agent beneath.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { checkbox, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */

/**
 * @typedef {{enabled: boolean, title: string, text: string, color: string, accept: "inviter" | "route",
 *   auto: {enabled: boolean, after_seconds: number, url_patterns: string[], text: string}}} InvitationSettings
 */

async function render() {
  /** @type {InvitationSettings} */
  const config = await api("/api/v1/settings/invitation");
  const status = statusLine("invitation-status");
  const enabled = checkbox(t("c_iv_enabled"), config.enabled, "invitation-enabled");
  const title = el("input", { value: config.title, maxLength: 500, testid: "invitation-title", placeholder: t("c_iv_titlePh") });
  const text = el("textarea", { value: config.text, maxLength: 500, rows: 2, testid: "invitation-text", placeholder: t("c_iv_textPh") });
  const color = el("input", { type: "color", value: config.color, testid: "invitation-color" });
  const accept = el("select", { testid: "invitation-accept" },
    el("option", { value: "inviter", textContent: t("c_iv_toInviter") }), el("option", { value: "route", textContent: t("c_iv_toRoute") }));
  accept.value = config.accept;
  const auto = checkbox(t("c_iv_auto"), config.auto.enabled, "invitation-auto-enabled");
  const after = el("input", { type: "number", min: "0", max: "3600", value: String(config.auto.after_seconds), testid: "invitation-auto-after" });
  const patterns = el("textarea", { value: config.auto.url_patterns.join("\n"), rows: 3, testid: "invitation-auto-urls", placeholder: "*/pricing*" });
  const autoText = el("textarea", { value: config.auto.text, maxLength: 500, rows: 2, testid: "invitation-auto-text", placeholder: t("c_iv_textPh") });
  const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "invitation-save" });
  const form = el("form", { className: "panel", testid: "invitation-form" },
    enabled.row, field(t("c_iv_title"), title), field(t("c_iv_text"), text), field(t("c_iv_color"), color),
    field(t("c_iv_accept"), accept), el("h3", { textContent: t("c_iv_autoHead") }), auto.row,
    field(t("c_iv_after"), after, t("c_iv_afterHint")), field(t("c_iv_urls"), patterns, t("c_iv_urlsHint")),
    field(t("c_iv_autoText"), autoText), save, status.node);
  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    try {
      await api("/api/v1/settings/invitation", { method: "PUT", body: {
        enabled: enabled.box.checked, title: title.value, text: text.value, color: color.value, accept: accept.value,
        auto: { enabled: auto.box.checked, after_seconds: Number(after.value) || 0, text: autoText.value,
          url_patterns: patterns.value.split("\n").map((p) => p.trim()).filter(Boolean) },
      } });
      status.ok(t("c_saved"));
    } catch (err) { status.error(err); }
  };
  return el("div", {}, sectionHeader(t("c_nav_invitation")), el("p", { className: "muted small", textContent: t("c_iv_hint") }), form);
}

/** @type {ConsoleSection} */
export const section = { id: "invitation", role: "admin", label: "c_nav_invitation", render };

addStrings({
  en: {
    c_nav_invitation: "Invitations", c_iv_hint: "Agents invite visitors browsing the site from the inbox's visitors list; the site shows this pop-up.",
    c_iv_enabled: "Agents may invite visitors", c_iv_title: "Pop-up title", c_iv_titlePh: "the agent's name when empty",
    c_iv_text: "Invitation text", c_iv_textPh: "Hello! Can we help you with anything?", c_iv_color: "Colour",
    c_iv_accept: "Accepting opens a chat with", c_iv_toInviter: "the inviting agent (routed when they cannot take it)", c_iv_toRoute: "whoever routing chooses",
    c_iv_autoHead: "Auto-invite", c_iv_auto: "Invite automatically, once per visit", c_iv_after: "After seconds on a page",
    c_iv_afterHint: "0: not by time", c_iv_urls: "Or at once on pages matching", c_iv_urlsHint: "one pattern a line; * matches anything, without * a part of the URL",
    c_iv_autoText: "Auto-invite text",
  },
  zh: {
    c_nav_invitation: "邀请设置", c_iv_hint: "坐席在工作台的在线访客列表中邀请正在浏览网站的访客；网站上会弹出此邀请框。",
    c_iv_enabled: "允许坐席邀请访客", c_iv_title: "邀请框标题", c_iv_titlePh: "留空则显示坐席名称",
    c_iv_text: "邀请语", c_iv_textPh: "您好，有什么可以帮您？", c_iv_color: "颜色",
    c_iv_accept: "接受邀请后对话分配给", c_iv_toInviter: "发出邀请的坐席（无法接待时按路由分配）", c_iv_toRoute: "按路由规则分配",
    c_iv_autoHead: "自动邀请", c_iv_auto: "自动邀请（每次访问一次）", c_iv_after: "在页面停留秒数后",
    c_iv_afterHint: "0：不按时间", c_iv_urls: "或访问以下网址时立即邀请", c_iv_urlsHint: "每行一个；* 匹配任意字符，不含 * 时匹配网址的一部分",
    c_iv_autoText: "自动邀请语",
  },
});
