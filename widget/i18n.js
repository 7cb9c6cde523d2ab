// @ts-check
// Shared strings: Simplified Chinese and English, chosen from the browser language; a switch overrides.

import { storage } from "./storage.js";

/** @typedef {"en" | "zh"} Lang */
/** @typedef {{en?: Record<string, string>, zh?: Record<string, string>}} StringTables */

/** @type {{en: Record<string, string>, zh: Record<string, string>}} */
const STRINGS = {
  en: {
    title: "Chat with us", placeholder: "Type a message…", send: "Send", welcome: "Hi! How can we help you today?",
    waiting: "Waiting for an agent", queue: "You are number {n} in the queue", serving: "{name} is serving you",
    closed: "This conversation has ended", connecting: "Connecting…", typing: "typing…", failed: "Failed — tap to retry",
    sending: "Sending…", sent: "Sent", rate: "How was your experience?", rateThanks: "Thank you for your feedback!",
    comment: "Comment (optional)", submit: "Submit", login: "Sign in", email: "Email", password: "Password",
    ready: "Ready", notReady: "Not ready", mine: "Mine", closeConv: "Close", noSelection: "Select a conversation",
    serving_n: "Serving {n}", logout: "Sign out", inbox: "Inbox", visitor: "Visitor", loginFailed: "Wrong email or password",
    newMessage: "New message", lang: "中文", queued_n: "Queued {n}", online_n: "Agents online {n}", transfer: "Transfer", transferNote: "Note for the next agent", leaveTitle: "No agent is available right now. Leave a message and we will get back to you.", leave_name: "Name", leave_phone: "Phone", leave_email: "Email", leave_text: "Your message", leaveThanks: "Thanks! We will contact you soon.", leftMessages: "Left messages", note: "Note", save: "Save", contactNotes: "Notes about this contact", noteHint: "Private note: only agents see it",
  },
  zh: {
    title: "在线咨询", placeholder: "请输入消息…", send: "发送", welcome: "您好！请问有什么可以帮您？",
    waiting: "正在为您接入客服", queue: "您当前排在第 {n} 位，请稍候", serving: "{name} 正在为您服务",
    closed: "会话已结束", connecting: "连接中…", typing: "正在输入…", failed: "发送失败，点击重试",
    sending: "发送中…", sent: "已发送", rate: "请为本次服务评分", rateThanks: "感谢您的评价！",
    comment: "评价内容（选填）", submit: "提交", login: "登录", email: "邮箱", password: "密码",
    ready: "就绪", notReady: "未就绪", mine: "我的会话", closeConv: "结束会话", noSelection: "请选择一个会话",
    serving_n: "服务中 {n}", logout: "退出", inbox: "工作台", visitor: "访客", loginFailed: "邮箱或密码错误",
    newMessage: "新消息", lang: "English", queued_n: "排队 {n}", online_n: "在线坐席 {n}", transfer: "转接", transferNote: "转接备注", leaveTitle: "当前暂无客服在线，请留言，我们会尽快联系您。", leave_name: "姓名", leave_phone: "电话", leave_email: "邮箱", leave_text: "留言内容", leaveThanks: "留言成功，我们会尽快联系您！", leftMessages: "留言", note: "备注", save: "保存", contactNotes: "客户备注", noteHint: "内部备注：仅客服可见",
  },
};

const KEY = "hub:lang";

/** @returns {Lang} */
export function currentLang() {
  const forced = new URLSearchParams(location.search).get("lang") || storage.get(KEY);
  if (forced === "zh" || forced === "en") return forced;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** Pages and modules add their own strings ({en: {...}, zh: {...}}) so each keeps its own. */
export function addStrings(/** @type {StringTables} */ more) {
  Object.assign(STRINGS.en, more.en);
  Object.assign(STRINGS.zh, more.zh);
}

/**
 * The string `key` in the page's language (English when missing), with {name} filled in.
 * @param {string} key
 * @param {Record<string, string | number>} [vars]
 */
export function t(key, vars = {}) {
  const table = STRINGS[currentLang()];
  let text = table[key] ?? STRINGS.en[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replace(`{${name}}`, String(value));
  return text;
}

/**
 * The string `key` if the page has one, else null: for texts picked by a code the hub sent
 * (an error's, a system message's), where an unknown code falls back to the hub's words.
 * @param {string} key
 * @param {Record<string, string | number>} [vars]
 */
export function knownText(key, vars = {}) {
  const text = t(key, vars);
  return text === key ? null : text;
}

export function switchLang() {
  storage.set(KEY, currentLang() === "zh" ? "en" : "zh");
  location.reload();
}

/** Fill every [data-i18n] element's text, [data-i18n-placeholder] placeholder and
 * [data-i18n-aria] accessible name (icon buttons). */
export function applyI18n(/** @type {ParentNode} */ root = document) {
  document.documentElement.lang = currentLang() === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(/** @type {HTMLElement} */ (node).dataset.i18n || "");
  for (const node of root.querySelectorAll("input[data-i18n-placeholder], textarea[data-i18n-placeholder]")) {
    const field = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (node);
    field.placeholder = t(field.dataset.i18nPlaceholder || "");
  }
  for (const node of root.querySelectorAll("[data-i18n-aria]")) {
    node.setAttribute("aria-label", t(/** @type {HTMLElement} */ (node).dataset.i18nAria || ""));
  }
}
