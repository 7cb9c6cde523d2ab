// @ts-check
// Widget appearance (网页插件): every setting the server returns, a live preview fed by
// postMessage as fields change, and the one-line embed code.
//
// Forward compatible: only keys present in GET /api/v1/widget/config are rendered and only
// changed keys are sent, so keys a newer server knows (pre-chat form, working hours) appear when
// the server has them and an older server is never sent a key it would refuse.
import { addStrings, t, currentLang } from "../i18n.js";
import { api, appUrl, el, request } from "../shared.js";
import { checkbox, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

/** @typedef {{node: HTMLElement, get: () => unknown}} Control */

const PRECHAT_FIELDS = ["name", "phone", "email"];
/** @type {[string, string[]][]} */
const GROUPS = [
  ["c_wg_launcher", ["color", "position", "launcher_text"]],
  ["c_wg_window", ["company_name", "notice", "welcome_message", "address", "phone", "email"]],
  ["c_wg_composer", ["max_length", "send_key"]],
  ["c_wg_prechat", ["prechat_enabled", "prechat_fields"]],
  ["c_wg_hours", ["working_hours_enabled", "working_hours", "offline_message"]],
];
const TEXTAREAS = new Set(["notice", "welcome_message", "offline_message"]);

function label(/** @type {string} */ key) {
  const known = t(`c_wk_${key}`);
  return known === `c_wk_${key}` ? key : known;
}

/**
 * One control per setting; `onChange` fires on every edit.
 * @param {string} key @param {any} value @param {() => void} onChange @returns {Control}
 */
function control(key, value, onChange) {
  const id = `widget-field-${key}`;
  if (key === "color") {
    const text = el("input", { id: `c-${id}`, value, testid: id, pattern: "#[0-9a-fA-F]{6}", maxLength: 7, spellcheck: false });
    const picker = el("input", { type: "color", value, testid: "widget-color-picker", ariaLabel: label(key) });
    picker.oninput = () => { text.value = picker.value; onChange(); };
    text.oninput = () => { if (/^#[0-9a-fA-F]{6}$/.test(text.value)) picker.value = text.value; onChange(); };
    return { node: el("div", { className: "field" }, el("label", { htmlFor: text.id, textContent: label(key) }), el("div", { className: "inline" }, picker, text)), get: () => text.value.trim() };
  }
  if (key === "position" || key === "send_key") {
    const options = key === "position" ? ["right", "left"] : ["enter", "ctrl_enter"];
    const select = el("select", { testid: id }, ...options.map((o) => el("option", { value: o, textContent: t(`c_wv_${o}`) })));
    select.value = value;
    select.onchange = onChange;
    return { node: field(label(key), select), get: () => select.value };
  }
  if (key === "prechat_fields") {
    const boxes = PRECHAT_FIELDS.map((f) => ({ f, ...checkbox(t(`c_wv_${f}`), (value || []).includes(f), `widget-prechat-${f}`) }));
    for (const b of boxes) b.box.onchange = onChange;
    return { node: el("fieldset", { className: "field", testid: id }, el("legend", { textContent: label(key) }), ...boxes.map((b) => b.row)),
      get: () => boxes.filter((b) => b.box.checked).map((b) => b.f) };
  }
  if (key === "working_hours") return workingHours(value, onChange);
  if (typeof value === "boolean") {
    const { box, row } = checkbox(label(key), value, id);
    box.onchange = onChange;
    return { node: el("div", { className: "field" }, row), get: () => box.checked };
  }
  if (typeof value === "number") {
    const input = el("input", { type: "number", value: String(value), testid: id });
    if (key === "max_length") { input.min = "1"; input.max = "5000"; }
    input.oninput = onChange;
    return { node: field(label(key), input), get: () => (input.value === "" ? value : Number(input.value)) };
  }
  if (typeof value === "string") {
    const input = el(TEXTAREAS.has(key) ? "textarea" : "input", { value, testid: id, maxLength: 500 });
    input.oninput = onChange;
    return { node: field(label(key), input), get: () => input.value };
  }
  // A setting this console does not know yet: edit its JSON as text.
  const area = el("textarea", { value: JSON.stringify(value, null, 1), testid: id, className: "mono" });
  area.oninput = onChange;
  return { node: field(label(key), area, t("c_wg_json")), get: () => { try { return JSON.parse(area.value); } catch { return value; } } };
}

/** @param {any} value @param {() => void} onChange @returns {Control} */
function workingHours(value, onChange) {
  const v = value && typeof value === "object" ? value : {};
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const list = el("datalist", { id: "c-timezones" }, ...zones.map((z) => el("option", { value: z })));
  const tz = el("input", { value: v.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", testid: "widget-hours-timezone", autocomplete: "off" });
  tz.setAttribute("list", "c-timezones");
  const days = [1, 2, 3, 4, 5, 6, 7].map((d) => ({ d, ...checkbox(t(`c_day_${d}`), (v.days || [1, 2, 3, 4, 5]).includes(d), `widget-hours-day-${d}`) }));
  const start = el("input", { type: "time", value: v.start || "09:00", testid: "widget-hours-start" });
  const end = el("input", { type: "time", value: v.end || "18:00", testid: "widget-hours-end" });
  const holidays = [...(v.holidays || [])];
  const chips = el("div", { className: "chips", testid: "widget-hours-holidays" });
  const newDay = el("input", { type: "date", testid: "widget-hours-holiday-input" });
  const addDay = el("button", { type: "button", textContent: t("c_add"), testid: "widget-hours-holiday-add" });
  function renderHolidays() {
    chips.replaceChildren(...holidays.map((h) => {
      const remove = el("button", { type: "button", className: "chip-x", textContent: "×", ariaLabel: `${t("c_delete")} ${h}` });
      remove.onclick = () => { holidays.splice(holidays.indexOf(h), 1); renderHolidays(); onChange(); };
      return el("span", { className: "chip" }, h, remove);
    }));
  }
  addDay.onclick = () => {
    if (newDay.value && !holidays.includes(newDay.value)) { holidays.push(newDay.value); holidays.sort(); renderHolidays(); onChange(); }
    newDay.value = "";
  };
  renderHolidays();
  for (const input of [tz, start, end]) input.oninput = onChange;
  for (const d of days) d.box.onchange = onChange;
  const node = el("fieldset", { className: "field hours", testid: "widget-field-working_hours" }, el("legend", { textContent: label("working_hours") }),
    field(t("c_wg_timezone"), tz), list,
    el("div", { className: "inline wrap" }, ...days.map((d) => d.row)),
    el("div", { className: "inline" }, field(t("c_wg_start"), start), field(t("c_wg_end"), end)),
    el("div", { className: "field" }, el("span", { className: "label", textContent: t("c_wg_holidays") }), chips, el("div", { className: "inline" }, newDay, addDay)));
  return {
    node,
    get: () => ({ timezone: tz.value.trim(), days: days.filter((d) => d.box.checked).map((d) => d.d), start: start.value, end: end.value, holidays: [...holidays] }),
  };
}

async function render(/** @type {ConsoleContext} */ ctx) {
  const tenant = ctx.me.tenant || "default";
  /** @type {Record<string, unknown>} */
  const config = await request(`/api/v1/widget/config?tenant=${encodeURIComponent(tenant)}`);
  /** @type {Record<string, Control>} */
  const controls = {};
  const preview = el("iframe", { src: new URL("console-preview.html", import.meta.url).href, title: t("c_wg_preview"), testid: "widget-preview", className: "preview-frame" });
  const mode = el("select", { testid: "widget-preview-mode", ariaLabel: t("c_wg_previewMode") },
    el("option", { value: "online", textContent: t("c_wg_online") }), el("option", { value: "offline", textContent: t("c_wg_offline") }));

  const draft = () => Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.get()]));
  function push() {
    preview.contentWindow?.postMessage({ type: "hub:preview", config: draft(), mode: mode.value, lang: currentLang() }, location.origin);
  }
  preview.addEventListener("load", push);
  mode.onchange = push;

  const known = new Set(GROUPS.flatMap(([, keys]) => keys));
  /** @type {[string, string[]][]} */
  const groups = [...GROUPS, ["c_wg_other", Object.keys(config).filter((k) => !known.has(k))]];
  const fieldsets = [];
  for (const [title, keys] of groups) {
    const present = keys.filter((k) => k in config);
    if (!present.length) continue;
    const set = el("fieldset", { className: "group" }, el("legend", { textContent: t(title) }));
    for (const key of present) {
      controls[key] = control(key, config[key], push);
      set.append(controls[key].node);
    }
    fieldsets.push(set);
  }
  let baseline = JSON.stringify(draft());
  const status = statusLine("widget-status");
  const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "widget-save" });
  const form = el("form", { className: "panel widget-form", testid: "widget-form" }, ...fieldsets, status.node, el("div", { className: "actions" }, save));
  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    const now = draft();
    const before = JSON.parse(baseline);
    const changed = Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k])));
    if (!Object.keys(changed).length) { status.ok(t("c_noChanges")); return; }
    save.disabled = true;
    try {
      await api("/api/v1/settings/widget", { method: "PUT", body: changed });
      baseline = JSON.stringify(now);
      status.ok(t("c_saved"));
    } catch (err) {
      status.error(err);
    } finally {
      save.disabled = false;
    }
  };

  const code = `<script src="${appUrl("/widget.js")}" data-tenant="${tenant}" async></script>`;
  const embed = el("pre", { className: "embed", testid: "widget-embed", textContent: code });
  const copy = el("button", { type: "button", textContent: t("c_wg_copy"), testid: "widget-embed-copy" });
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(code);
    } catch {
      // No clipboard permission (plain http on another host): select the text instead.
      getSelection()?.selectAllChildren(embed);
      document.execCommand("copy");
    }
    copy.textContent = t("c_wg_copied");
    setTimeout(() => (copy.textContent = t("c_wg_copy")), 2000);
  };
  const side = el("div", { className: "widget-side" },
    el("div", { className: "panel" }, el("h2", { textContent: t("c_wg_embed") }), el("p", { className: "muted small", textContent: t("c_wg_embedHint") }), embed, copy,
      tenant === "default" ? el("p", { className: "small" }, el("a", { href: appUrl("/"), target: "_blank", rel: "noopener", textContent: t("c_wg_demo"), testid: "widget-demo-link" })) : null),
    el("div", { className: "panel" }, el("div", { className: "inline between" }, el("h2", { textContent: t("c_wg_preview") }), mode), preview));
  return el("div", {}, sectionHeader(t("c_nav_widget")), el("div", { className: "widget-layout" }, form, side));
}

/** @type {ConsoleSection} */
export const section = { id: "widget", role: "admin", label: "c_nav_widget", render };

addStrings({
  en: {
    c_wg_launcher: "Launcher button", c_wg_window: "Chat window", c_wg_composer: "Composer", c_wg_prechat: "Pre-chat form",
    c_wg_hours: "Working hours", c_wg_other: "Other settings", c_wg_json: "JSON value",
    c_wg_timezone: "Time zone", c_wg_start: "From", c_wg_end: "To", c_wg_holidays: "Holidays (closed all day)",
    c_wg_preview: "Live preview", c_wg_previewMode: "Preview as", c_wg_online: "Agents online", c_wg_offline: "Closed / nobody online",
    c_wg_embed: "Embed code", c_wg_embedHint: "Paste this line into every page that should show the chat button.",
    c_wg_copy: "Copy", c_wg_copied: "Copied", c_wg_demo: "Open the demo page",
    c_wk_color: "Colour", c_wk_position: "Position", c_wk_launcher_text: "Button text (empty: icon)",
    c_wk_company_name: "Company name (window title)", c_wk_address: "Address", c_wk_phone: "Phone", c_wk_email: "Email",
    c_wk_notice: "Notice board", c_wk_welcome_message: "Welcome message", c_wk_max_length: "Maximum message length",
    c_wk_send_key: "Send with", c_wk_prechat_enabled: "Ask for details before the chat starts", c_wk_prechat_fields: "Fields to ask",
    c_wk_working_hours_enabled: "Only open during working hours", c_wk_working_hours: "Opening hours",
    c_wk_offline_message: "Message outside working hours",
    c_wv_right: "Bottom right", c_wv_left: "Bottom left", c_wv_enter: "Enter", c_wv_ctrl_enter: "Ctrl+Enter",
    c_wv_name: "Name", c_wv_phone: "Phone", c_wv_email: "Email",
    c_day_1: "Mon", c_day_2: "Tue", c_day_3: "Wed", c_day_4: "Thu", c_day_5: "Fri", c_day_6: "Sat", c_day_7: "Sun",
  },
  zh: {
    c_wg_launcher: "入口按钮", c_wg_window: "聊天窗口", c_wg_composer: "输入框", c_wg_prechat: "咨询前表单",
    c_wg_hours: "工作时间", c_wg_other: "其他设置", c_wg_json: "JSON 值",
    c_wg_timezone: "时区", c_wg_start: "开始", c_wg_end: "结束", c_wg_holidays: "节假日（全天休息）",
    c_wg_preview: "实时预览", c_wg_previewMode: "预览状态", c_wg_online: "有坐席在线", c_wg_offline: "下班 / 无人在线",
    c_wg_embed: "嵌入代码", c_wg_embedHint: "把这一行代码粘贴到需要显示咨询按钮的网页中。",
    c_wg_copy: "复制", c_wg_copied: "已复制", c_wg_demo: "打开演示页面",
    c_wk_color: "主题颜色", c_wk_position: "位置", c_wk_launcher_text: "按钮文字（留空显示图标）",
    c_wk_company_name: "公司名称（窗口标题）", c_wk_address: "地址", c_wk_phone: "电话", c_wk_email: "邮箱",
    c_wk_notice: "信息提示（公告）", c_wk_welcome_message: "欢迎语", c_wk_max_length: "消息最大长度",
    c_wk_send_key: "发送快捷键", c_wk_prechat_enabled: "咨询前填写信息", c_wk_prechat_fields: "需要填写的项",
    c_wk_working_hours_enabled: "仅在工作时间内接待", c_wk_working_hours: "工作时间",
    c_wk_offline_message: "非工作时间提示语",
    c_wv_right: "右下角", c_wv_left: "左下角", c_wv_enter: "Enter", c_wv_ctrl_enter: "Ctrl+Enter",
    c_wv_name: "姓名", c_wv_phone: "电话", c_wv_email: "邮箱",
    c_day_1: "周一", c_day_2: "周二", c_day_3: "周三", c_day_4: "周四", c_day_5: "周五", c_day_6: "周六", c_day_7: "周日",
  },
});
