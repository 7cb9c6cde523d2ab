// @ts-check
// The console's live preview of the widget: a mock host page with the launcher and the chat
// window, redrawn from the draft settings the console posts ({type: "hub:preview", config,
// mode}). It opens no socket, so previewing never creates visitors or conversations.
import { addStrings, t } from "../i18n.js";
import { $ } from "../shared.js";

const ICON_CHAT = '<svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>';
const COLOR = /^#[0-9a-fA-F]{6}$/;

/** @param {string} className @param {string} [text] */
function div(className, text) {
  const node = document.createElement("div");
  node.className = className;
  if (text !== undefined) node.textContent = text; // settings are typed by admins: text only
  return node;
}

/** @param {string} title @param {string[]} fields @param {string} button */
function form(title, fields, button) {
  const card = div("card");
  card.dataset.testid = "preview-form";
  card.append(div("t", title), ...fields.map((f) => div("f", f)), div("b", button));
  return card;
}

/** The draft widget settings the console posts (any keys; only known ones are shown). */
/** @param {Record<string, any>} config @param {string} mode */
function render(config, mode) {
  const color = COLOR.test(config.color || "") ? config.color : "#2563eb";
  document.documentElement.style.setProperty("--brand", color);
  document.body.classList.toggle("left", config.position === "left");

  const launcher = $("launcher");
  launcher.setAttribute("aria-label", config.launcher_text || "Chat");
  if (config.launcher_text) { launcher.textContent = config.launcher_text; launcher.classList.add("text"); }
  else { launcher.innerHTML = ICON_CHAT; launcher.classList.remove("text"); } // constant markup

  $("title").textContent = config.company_name || t("title");
  const details = [config.notice, config.address, config.phone, config.email].filter(Boolean).join(" · ");
  $("notice").textContent = details;
  $("notice").hidden = !details;
  $("placeholder").textContent = t("placeholder");
  $("send").textContent = t("send");
  const max = Number(config.max_length) || 2000;
  $("counter").textContent = `0 / ${max}${config.send_key === "ctrl_enter" ? " · Ctrl+Enter" : ""}`;

  const log = $("log");
  const welcome = div("msg system", config.welcome_message || t("welcome"));
  welcome.dataset.testid = "preview-welcome";
  log.replaceChildren(welcome);
  if (mode === "offline") {
    const away = div("msg system", config.offline_message || t("leaveTitle"));
    away.dataset.testid = "preview-offline";
    log.append(away, form(t("p_leave"), ["name", "phone", "email", "text"].map((k) => t(`leave_${k}`)), t("submit")));
  } else if (config.prechat_enabled && Array.isArray(config.prechat_fields) && config.prechat_fields.length) {
    log.append(form(t("p_prechat"), config.prechat_fields.map((k) => t(`leave_${k}`)), t("p_start")));
  } else {
    log.append(div("msg me", t("p_sample")));
  }
}

addEventListener("message", (e) => {
  if (e.origin !== location.origin || e.data?.type !== "hub:preview") return;
  render(e.data.config || {}, e.data.mode);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
});

addStrings({
  en: { p_prechat: "Before we start, please tell us:", p_start: "Start chatting", p_sample: "Hello, I have a question about my order.", p_leave: "Leave a message" },
  zh: { p_prechat: "开始咨询前，请填写：", p_start: "开始咨询", p_sample: "你好，我想咨询一下订单。", p_leave: "留言" },
});
