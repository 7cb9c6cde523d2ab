// @ts-check
// Channels (渠道接入): the tenant's channel accounts (email mailboxes, …). Add one of a type
// (the form is built from the type's fields, GET /api/v1/channel-types), edit it (secrets
// stay as stored unless typed again), enable or disable, delete. Each account's connection
// status is live: the hub pushes channel.updated / channel.removed to administrators.
import { addStrings, knownText, t } from "../i18n.js";
import { api, appUrl, el, ApiError } from "../shared.js";
import { checkbox, confirmButton, field, formatTime, sectionHeader, statusLine } from "./console-common.js";

/** @import { ChannelAccount, ChannelField, ChannelTypeInfo } from "../types.js" */
/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

const MASK = "***";

// Labels for what the hub names (types, fields, choices): its own name where the page has none.
const typeLabel = (/** @type {string} */ type) => knownText(`c_ch_type_${type}`) ?? type;
const fieldLabel = (/** @type {ChannelField} */ f) => knownText(`c_chf_${f.key}`) ?? f.key;

/**
 * One config key's control, its value as the hub wants it back, and a place for its error.
 * @typedef {{
 *   field: ChannelField, node: HTMLElement, control: HTMLInputElement | HTMLSelectElement,
 *   value: () => unknown, error: HTMLElement,
 * }} FieldControl
 */

/** @param {ChannelField} f @param {ChannelAccount | null} account @returns {FieldControl} */
function fieldControl(f, account) {
  const stored = account ? account.config[f.key] : undefined;
  const error = el("div", { className: "field-error", testid: "channel-field-error", role: "alert", dataset: { key: f.key } });
  const hint = knownText(`c_chh_${f.key}`) ?? "";
  const testid = `channel-field-${f.key}`;
  /** @type {HTMLInputElement | HTMLSelectElement} */
  let control;
  /** @type {() => unknown} */
  let value;
  let node;
  if (f.kind === "boolean") {
    const { box, row } = checkbox(fieldLabel(f), stored ?? f.default, testid);
    control = box;
    value = () => box.checked;
    node = el("div", { className: "field" }, row, hint ? el("small", { className: "hint", textContent: hint }) : null, error);
  } else {
    if (f.kind === "choice") {
      const select = el("select", { testid },
        el("option", { value: "", textContent: f.default === null ? t("c_ch_choose") : t("c_ch_default", { value: String(f.default) }) }),
        ...f.choices.map((c) => el("option", { value: c, textContent: knownText(`c_chv_${c}`) ?? c })));
      select.value = typeof stored === "string" ? stored : "";
      control = select;
      value = () => select.value || null;
    } else if (f.secret || f.kind === "secret") {
      // Never shown back (the hub answers "***"); typed again only to change it.
      const isSet = stored === MASK;
      const input = el("input", { type: "password", testid, autocomplete: "new-password", placeholder: isSet ? t("c_ch_unchanged") : "" });
      control = input;
      value = () => (input.value ? input.value : undefined);
    } else {
      const input = el("input", {
        type: "text", testid, autocomplete: "off", spellcheck: false,
        inputMode: f.kind === "integer" ? "numeric" : "text",
        value: stored === undefined || stored === null ? "" : String(stored),
        placeholder: f.default === null ? "" : String(f.default),
      });
      control = input;
      // Whatever was typed goes to the hub, which says next to the field what is wrong with it.
      value = () => {
        const text = input.value.trim();
        if (!text) return null;
        return f.kind === "integer" && /^-?\d+$/.test(text) ? Number(text) : text;
      };
    }
    if (f.required) control.required = true;
    node = field(fieldLabel(f) + (f.required ? " *" : ""), control, hint);
    node.append(error);
  }
  node.dataset.key = f.key;
  return { field: f, node, control, value, error };
}

/** The config to send: secrets only when typed; an emptied key is removed (null) on an edit. */
function configOf(/** @type {FieldControl[]} */ controls, /** @type {boolean} */ editing) {
  /** @type {Record<string, unknown>} */
  const config = {};
  for (const c of controls) {
    const v = c.value();
    if (v === undefined) continue;
    if (v === null && !editing) continue;
    config[c.field.key] = v;
  }
  return config;
}

/** The address the platform calls, to paste into its console (copied with one click). */
function inboundBox(/** @type {ChannelAccount} */ account) {
  if (!account.inbound_url) return null;
  const url = appUrl(account.inbound_url);
  const input = el("input", { value: url, readOnly: true, className: "mono grow", testid: "channel-inbound-url" });
  input.setAttribute("aria-label", t("c_ch_inbound"));
  const copy = el("button", { type: "button", textContent: t("c_ch_copy"), testid: "channel-inbound-copy" });
  copy.onclick = async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      input.select(); // no clipboard (an insecure origin): selected, ready for Ctrl+C
      return;
    }
    copy.textContent = t("c_ch_copied");
    setTimeout(() => { copy.textContent = t("c_ch_copy"); }, 2000);
  };
  return el("div", { className: "inbound", testid: "channel-inbound" },
    el("span", { className: "small muted", textContent: t("c_ch_inbound") }), el("div", { className: "inline" }, input, copy));
}

async function render(/** @type {ConsoleContext} */ ctx) {
  /** @type {ChannelTypeInfo[]} */
  const types = (await api("/api/v1/channel-types")).items;
  /** @type {Map<string, ChannelAccount>} */
  const accounts = new Map();
  for (const a of /** @type {ChannelAccount[]} */ ((await api("/api/v1/channels")).items)) accounts.set(a.id, a);

  // Pushed events and REST answers travel apart, so an answer can arrive after a newer event
  // (the connection already up): an answer is kept only if no event about that account
  // came while it was on its way. The change's own event always follows, so nothing is lost.
  /** @type {Map<string, number>} */
  const events = new Map();
  const eventsOf = (/** @type {string} */ id) => events.get(id) || 0;
  function answered(/** @type {ChannelAccount} */ account, /** @type {number} */ before) {
    if (eventsOf(account.id) === before) accounts.set(account.id, account);
    renderList();
  }

  const list = el("div", { className: "rows", testid: "channels-list" });
  const formBox = el("div");
  const status = statusLine("channels-error");
  const add = el("button", { type: "button", className: "primary", textContent: t("c_ch_new"), testid: "channel-new", disabled: !types.length });
  const root = el("div", {}, sectionHeader(t("c_nav_channels"), add),
    el("p", { className: "muted small", textContent: t("c_ch_hint") }), formBox, status.node, list);

  function renderList() {
    const sorted = [...accounts.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    list.replaceChildren(...sorted.map(row));
    if (!sorted.length) list.append(el("p", { className: "muted", testid: "channels-empty", textContent: t("c_ch_none") }));
  }

  function row(/** @type {ChannelAccount} */ a) {
    const state = a.enabled ? a.status : "disabled";
    const toggle = el("button", { type: "button", testid: "channel-toggle", textContent: a.enabled ? t("c_ch_disable") : t("c_ch_enable") });
    toggle.onclick = async () => {
      toggle.disabled = true;
      status.clear();
      try {
        const before = eventsOf(a.id);
        answered(await api(`/api/v1/channels/${encodeURIComponent(a.id)}`, { method: "PATCH", body: { enabled: !a.enabled } }), before);
      } catch (err) {
        status.error(err);
        toggle.disabled = false;
      }
    };
    const edit = el("button", { type: "button", textContent: t("c_edit"), testid: "channel-edit", ariaLabel: `${t("c_edit")} ${a.name}` });
    edit.onclick = () => openForm(a);
    const remove = confirmButton(t("c_delete"), "channel-delete", async () => {
      status.clear();
      try {
        await api(`/api/v1/channels/${encodeURIComponent(a.id)}`, { method: "DELETE" });
        accounts.delete(a.id);
        if (formBox.dataset.accountId === a.id) closeForm();
        renderList();
      } catch (err) {
        status.error(err);
      }
    });
    return el("div", { className: `row channel${a.enabled ? "" : " disabled"}`, testid: "channel-row", dataset: { channelId: a.id, status: state } },
      el("div", { className: "grow" },
        el("div", { className: "name", testid: "channel-name", textContent: a.name }),
        el("div", { className: "muted small", textContent: t("c_ch_changed", { time: formatTime(a.updated_at) }) })),
      el("span", { className: "chip role", testid: "channel-type", textContent: typeLabel(a.type) }),
      el("span", { className: `ch-status ch-status-${state}`, testid: "channel-status", textContent: t(`c_chs_${state}`) }),
      el("div", { className: "row-actions" }, toggle, edit, remove),
      a.enabled && a.status === "error" && a.last_error
        ? el("div", { className: "ch-last-error", testid: "channel-last-error", textContent: a.last_error }) : null,
      inboundBox(a));
  }

  function closeForm() {
    formBox.replaceChildren();
    delete formBox.dataset.accountId;
  }

  /** The add form (a type chosen, then its fields) or the edit form of one account. */
  function openForm(/** @type {ChannelAccount | null} */ account) {
    const editing = !!account;
    const typeSelect = el("select", { testid: "channel-type-select", disabled: editing },
      ...types.map((k) => el("option", { value: k.type, textContent: typeLabel(k.type) })));
    typeSelect.value = account?.type || types[0].type;
    const name = el("input", { value: account?.name || "", required: true, maxLength: 100, testid: "channel-name-input", autocomplete: "off" });
    const fieldsBox = el("div", { className: "form-grid two" });
    const advanced = el("details", { className: "advanced" }, el("summary", { textContent: t("c_ch_advanced") }));
    const advancedBox = el("div", { className: "form-grid two" });
    advanced.append(advancedBox);
    /** @type {FieldControl[]} */
    let controls = [];
    const showFields = () => {
      const kind = types.find((k) => k.type === typeSelect.value);
      controls = (kind?.fields || []).map((f) => fieldControl(f, account));
      // What has a default is rarely changed: kept out of the way.
      fieldsBox.replaceChildren(...controls.filter((c) => c.field.default === null).map((c) => c.node));
      advancedBox.replaceChildren(...controls.filter((c) => c.field.default !== null).map((c) => c.node));
      advanced.hidden = !advancedBox.children.length;
    };
    typeSelect.onchange = showFields;
    showFields();
    const formStatus = statusLine("channel-form-error");
    const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "channel-save" });
    const cancel = el("button", { type: "button", textContent: t("c_cancel"), testid: "channel-cancel" });
    cancel.onclick = closeForm;
    const form = el("form", { className: "panel channel-form", testid: "channel-form", noValidate: true },
      el("h2", { textContent: editing ? t("c_ch_editTitle", { name: account.name }) : t("c_ch_new") }),
      el("div", { className: "form-grid two" }, field(t("c_ch_type"), typeSelect), field(t("c_ch_name"), name, t("c_ch_nameHint"))),
      fieldsBox, advanced, formStatus.node, el("div", { className: "actions" }, save, cancel));

    form.onsubmit = async (e) => {
      e.preventDefault();
      formStatus.clear();
      for (const c of controls) { c.error.textContent = ""; c.control.removeAttribute("aria-invalid"); }
      const config = configOf(controls, editing);
      save.disabled = true;
      const before = account ? eventsOf(account.id) : 0;
      try {
        /** @type {ChannelAccount} */
        const saved = editing
          ? await api(`/api/v1/channels/${encodeURIComponent(account.id)}`, { method: "PATCH", body: { name: name.value.trim(), config } })
          : await api("/api/v1/channels", { method: "POST", body: { type: typeSelect.value, name: name.value.trim(), config } });
        answered(saved, before);
        formBox.replaceChildren(el("p", { className: "status-line", dataset: { kind: "ok" }, role: "status", testid: "channel-saved",
          textContent: t(editing ? "c_ch_updated" : "c_ch_created", { name: saved.name }) }));
        delete formBox.dataset.accountId;
      } catch (err) {
        const key = err instanceof ApiError ? err.details.key : undefined;
        const at = controls.find((c) => c.field.key === key);
        if (at && err instanceof ApiError) {
          // "config.imap_port: must be …": the field is named by where the message stands.
          at.error.textContent = err.message.replace(/^config\.[^:]*:\s*/, "");
          at.control.setAttribute("aria-invalid", "true");
          if (at.node.closest("details")) advanced.open = true;
          at.control.focus();
          formStatus.error(new Error(t("c_ch_fieldError", { field: fieldLabel(at.field) })));
        } else {
          formStatus.error(err);
        }
      } finally {
        save.disabled = false;
      }
    };
    formBox.replaceChildren(form);
    if (account) formBox.dataset.accountId = account.id;
    else delete formBox.dataset.accountId;
    name.focus();
  }

  add.onclick = () => openForm(null);
  // Created, changed, or its connection's status moved (connecting → ok / error), by anyone.
  ctx.listen("channel.updated", (/** @type {{channel: ChannelAccount}} */ { channel }) => {
    events.set(channel.id, eventsOf(channel.id) + 1);
    accounts.set(channel.id, channel);
    renderList();
  });
  ctx.listen("channel.removed", (/** @type {{id: string}} */ { id }) => {
    events.set(id, eventsOf(id) + 1);
    accounts.delete(id);
    renderList();
  });
  // What changed while the live socket was away.
  ctx.listen("connect", async () => {
    try {
      accounts.clear();
      for (const a of /** @type {ChannelAccount[]} */ ((await api("/api/v1/channels")).items)) accounts.set(a.id, a);
      renderList();
    } catch { /* shown as it was; the next event updates it */ }
  });
  renderList();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "channels", role: "admin", label: "c_nav_channels", render };

addStrings({
  en: {
    c_nav_channels: "Channels", c_ch_new: "Add account", c_ch_editTitle: "Edit {name}", c_ch_type: "Channel",
    c_ch_name: "Account name", c_ch_nameHint: "Agents see it when they write from this account",
    c_ch_hint: "Connect the accounts customers write to (an email mailbox, …). Messages from every account arrive in the inbox.",
    c_ch_none: "No channel accounts yet", c_ch_changed: "Changed {time}", c_ch_enable: "Enable", c_ch_disable: "Disable",
    c_ch_choose: "Choose…", c_ch_default: "Default ({value})", c_ch_unchanged: "Unchanged (type to replace)",
    c_ch_advanced: "More settings (the defaults suit most accounts)", c_ch_inbound: "Address to enter in the platform's console",
    c_ch_copy: "Copy", c_ch_copied: "Copied", c_ch_created: "Added {name}: connecting now.", c_ch_updated: "Saved {name}.",
    c_ch_fieldError: "Please check {field}.",
    c_chs_connecting: "Connecting…", c_chs_ok: "Connected", c_chs_error: "Error", c_chs_disabled: "Disabled",
    c_ch_type_email: "Email", c_ch_type_wechat: "WeChat", c_ch_type_weibo: "Weibo", c_ch_type_sms: "SMS", c_ch_type_voice: "Voice",
    c_chv_none: "none (plain)", c_chv_starttls: "STARTTLS", c_chv_ssl: "SSL/TLS", c_chv_seen: "mark as read", c_chv_move: "move to a folder",
    c_chf_imap_host: "IMAP server", c_chf_imap_port: "IMAP port", c_chf_imap_security: "IMAP security",
    c_chf_imap_user: "IMAP user", c_chf_imap_password: "IMAP password", c_chf_imap_folder: "Folder to read",
    c_chf_smtp_host: "SMTP server", c_chf_smtp_port: "SMTP port", c_chf_smtp_security: "SMTP security",
    c_chf_smtp_user: "SMTP user", c_chf_smtp_password: "SMTP password", c_chf_from_address: "From address",
    c_chf_from_name: "From name", c_chf_imap_processed: "After a mail is read", c_chf_imap_processed_folder: "Folder for read mail",
    c_chf_imap_idle: "Use IMAP IDLE (instant)", c_chf_imap_poll_seconds: "Check every (seconds)",
    c_chf_tls_verify: "Verify server certificates", c_chf_reply_plus_address: "Reply-To plus address (user+token@domain)",
    c_chf_subject_tag: "Tag subjects with [#token]",
    c_chh_imap_port: "Usually 993 (SSL) or 143", c_chh_smtp_port: "Usually 465 (SSL), 587 (STARTTLS) or 25",
    c_chh_smtp_user: "Empty: no sign-in; set with the SMTP password", c_chh_imap_processed_folder: "Only when read mail is moved",
    c_chh_imap_password: "QQ and 163 mailboxes want an authorisation code here",
  },
  zh: {
    c_nav_channels: "渠道接入", c_ch_new: "添加账号", c_ch_editTitle: "编辑 {name}", c_ch_type: "渠道",
    c_ch_name: "账号名称", c_ch_nameHint: "坐席用此账号发信时看到的名称",
    c_ch_hint: "接入客户联系的账号（邮箱等），所有账号的消息都进入工作台。",
    c_ch_none: "暂无渠道账号", c_ch_changed: "修改于 {time}", c_ch_enable: "启用", c_ch_disable: "停用",
    c_ch_choose: "请选择…", c_ch_default: "默认（{value}）", c_ch_unchanged: "不修改（输入新值以替换）",
    c_ch_advanced: "更多设置（一般保持默认即可）", c_ch_inbound: "填写到平台后台的回调地址",
    c_ch_copy: "复制", c_ch_copied: "已复制", c_ch_created: "已添加 {name}，正在连接。", c_ch_updated: "已保存 {name}。",
    c_ch_fieldError: "请检查「{field}」。",
    c_chs_connecting: "连接中…", c_chs_ok: "已连接", c_chs_error: "连接失败", c_chs_disabled: "已停用",
    c_ch_type_email: "邮件", c_ch_type_wechat: "微信", c_ch_type_weibo: "微博", c_ch_type_sms: "短信", c_ch_type_voice: "电话",
    c_chv_none: "无（明文）", c_chv_starttls: "STARTTLS", c_chv_ssl: "SSL/TLS", c_chv_seen: "标为已读", c_chv_move: "移到文件夹",
    c_chf_imap_host: "IMAP 服务器", c_chf_imap_port: "IMAP 端口", c_chf_imap_security: "IMAP 加密方式",
    c_chf_imap_user: "IMAP 用户名", c_chf_imap_password: "IMAP 密码", c_chf_imap_folder: "读取的文件夹",
    c_chf_smtp_host: "SMTP 服务器", c_chf_smtp_port: "SMTP 端口", c_chf_smtp_security: "SMTP 加密方式",
    c_chf_smtp_user: "SMTP 用户名", c_chf_smtp_password: "SMTP 密码", c_chf_from_address: "发件地址",
    c_chf_from_name: "发件人名称", c_chf_imap_processed: "邮件读取后", c_chf_imap_processed_folder: "已读邮件移入的文件夹",
    c_chf_imap_idle: "使用 IMAP IDLE（即时收信）", c_chf_imap_poll_seconds: "收信间隔（秒）",
    c_chf_tls_verify: "校验服务器证书", c_chf_reply_plus_address: "回复地址使用加号地址（user+token@domain）",
    c_chf_subject_tag: "主题中加入 [#编号]",
    c_chh_imap_port: "通常为 993（SSL）或 143", c_chh_smtp_port: "通常为 465（SSL）、587（STARTTLS）或 25",
    c_chh_smtp_user: "留空表示无需登录；与 SMTP 密码一起填写", c_chh_imap_processed_folder: "仅在“移到文件夹”时需要",
    c_chh_imap_password: "QQ 邮箱、163 邮箱请填写授权码",
  },
});
