// @ts-check
// Integrations (集成): API tokens for other systems (shown once, revocable, with their last
// use) and webhooks (the events each URL hears, why the hub disabled one, the delivery log
// with a resend button). The API reference is one link away.
import { addStrings, t } from "../i18n.js";
import { api, el, appUrl } from "../shared.js";
import { checkbox, confirmButton, field, formatTime, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */

/**
 * @typedef {{id: string, name: string, created_by: string, created_at: string, last_used_at: string | null}} ApiToken
 * @typedef {{id: string, url: string, events: string[], enabled: boolean, disabled_reason: string, created_at: string}} Webhook
 * @typedef {{id: string, event_id: string, event: string, status: string, attempts: number, created_at: string,
 *   updated_at: string, next_attempt_at: string | null, response_status: number | null, last_error: string}} WebhookDelivery
 */

const EVENTS = ["conversation.created", "conversation.assigned", "conversation.closed", "message.created", "contact.updated"];

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function render() {
  const reference = el("a", { href: appUrl("/docs/api"), target: "_blank", rel: "noopener", textContent: t("c_in_reference"), testid: "integrations-reference" });
  const root = el("div", {}, sectionHeader(t("c_nav_integrations"), reference),
    el("p", { className: "muted small", textContent: t("c_in_hint") }));
  root.append(await tokensPanel(), await webhooksPanel());
  return root;
}

async function tokensPanel() {
  const list = el("div", { className: "rows", testid: "api-token-list" });
  const status = statusLine("api-token-status");
  const shown = el("div", { className: "panel", testid: "api-token-created", hidden: true });
  const name = el("input", { maxLength: 100, required: true, testid: "api-token-name", placeholder: "CRM" });
  const add = el("button", { type: "submit", className: "primary", textContent: t("c_in_createToken"), testid: "api-token-add" });
  const form = el("form", { className: "panel inline wrap", testid: "api-token-form" }, field(t("c_in_tokenName"), name), add);

  async function load() {
    /** @type {ApiToken[]} */
    const items = (await api("/api/v1/api-tokens")).items;
    list.replaceChildren(...items.map((token) => {
      const revoke = confirmButton(t("c_in_revoke"), "api-token-revoke", async () => {
        status.clear();
        try {
          await api(`/api/v1/api-tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" });
          shown.hidden = true;
          await load();
        } catch (err) { status.error(err); }
      });
      const used = token.last_used_at ? t("c_in_lastUsed", { time: formatTime(token.last_used_at) }) : t("c_in_neverUsed");
      return el("div", { className: "row", testid: "api-token-item", dataset: { id: token.id } },
        el("div", { className: "grow" }, el("div", { className: "name", textContent: token.name }),
          el("div", { className: "muted small", textContent: `${t("c_in_created", { time: formatTime(token.created_at) })} · ${used}` })),
        revoke);
    }));
    if (!items.length) list.append(el("p", { className: "muted", textContent: t("c_in_noTokens") }));
  }

  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    add.disabled = true;
    try {
      const created = await api("/api/v1/api-tokens", { method: "POST", body: { name: name.value.trim() } });
      name.value = "";
      const value = el("input", { readOnly: true, value: created.token, testid: "api-token-value", className: "grow" });
      const copy = el("button", { type: "button", textContent: t("c_in_copy"), testid: "api-token-copy" });
      copy.onclick = () => { value.select(); navigator.clipboard?.writeText(created.token).catch(() => {}); };
      shown.replaceChildren(el("p", { className: "small", textContent: t("c_in_shownOnce") }), el("div", { className: "inline" }, value, copy));
      shown.hidden = false;
      await load();
    } catch (err) {
      status.error(err);
    } finally {
      add.disabled = false;
    }
  };
  await load();
  return el("section", { testid: "api-tokens" }, el("h2", { textContent: t("c_in_tokens") }), form, status.node, shown, list);
}

async function webhooksPanel() {
  const list = el("div", { className: "rows", testid: "webhook-list" });
  const status = statusLine("webhook-status");
  const url = el("input", { type: "url", required: true, maxLength: 2000, testid: "webhook-url", placeholder: "https://example.com/hub-events" });
  const secret = el("input", { required: true, minLength: 16, maxLength: 200, value: randomSecret(), testid: "webhook-secret" });
  const boxes = EVENTS.map((name) => ({ name, ...checkbox(name, true, `webhook-event-${name}`) }));
  const add = el("button", { type: "submit", className: "primary", textContent: t("c_in_addWebhook"), testid: "webhook-add" });
  const form = el("form", { className: "panel", testid: "webhook-form" },
    field(t("c_in_url"), url), field(t("c_in_secret"), secret, t("c_in_secretHint")),
    el("fieldset", { className: "events" }, el("legend", { textContent: t("c_in_events") }), ...boxes.map((b) => b.row)), add);

  async function load() {
    /** @type {Webhook[]} */
    const items = (await api("/api/v1/webhooks")).items;
    list.replaceChildren(...items.map(webhookRow));
    if (!items.length) list.append(el("p", { className: "muted", textContent: t("c_in_noWebhooks") }));
  }

  function webhookRow(/** @type {Webhook} */ hook) {
    const state = hook.enabled
      ? el("span", { className: "small", testid: "webhook-state", dataset: { state: "enabled" }, textContent: t("c_in_enabled") })
      : el("span", { className: "small", testid: "webhook-state", dataset: { state: "disabled", kind: "error" }, textContent: t("c_in_disabled", { reason: hook.disabled_reason }) });
    const toggle = el("button", { type: "button", testid: "webhook-toggle", textContent: hook.enabled ? t("c_in_disable") : t("c_in_enable") });
    toggle.onclick = async () => {
      status.clear();
      toggle.disabled = true;
      try {
        await api(`/api/v1/webhooks/${encodeURIComponent(hook.id)}`, { method: "PATCH", body: { enabled: !hook.enabled } });
        await load();
      } catch (err) { status.error(err); toggle.disabled = false; }
    };
    const remove = confirmButton(t("c_delete"), "webhook-delete", async () => {
      status.clear();
      try {
        await api(`/api/v1/webhooks/${encodeURIComponent(hook.id)}`, { method: "DELETE" });
        await load();
      } catch (err) { status.error(err); }
    });
    const log = el("div", { className: "rows small", testid: "webhook-log", hidden: true });
    const showLog = el("button", { type: "button", testid: "webhook-show-log", textContent: t("c_in_log") });
    showLog.onclick = async () => {
      if (!log.hidden) { log.hidden = true; return; }
      await loadLog(hook, log);
      log.hidden = false;
    };
    return el("div", { className: "panel", testid: "webhook-item", dataset: { id: hook.id, enabled: String(hook.enabled) } },
      el("div", { className: "row" },
        el("div", { className: "grow" }, el("div", { className: "name", testid: "webhook-item-url", textContent: hook.url }),
          el("div", { className: "muted small", textContent: hook.events.join(", ") })),
        state, showLog, toggle, remove),
      log);
  }

  async function loadLog(/** @type {Webhook} */ hook, /** @type {HTMLElement} */ log) {
    /** @type {WebhookDelivery[]} */
    const items = (await api(`/api/v1/webhooks/${encodeURIComponent(hook.id)}/deliveries?limit=50`)).items;
    const refresh = el("button", { type: "button", testid: "webhook-log-refresh", textContent: t("c_in_refresh") });
    refresh.onclick = () => loadLog(hook, log).catch((err) => status.error(err));
    log.replaceChildren(refresh, ...items.map((d) => {
      const resend = el("button", { type: "button", testid: "webhook-resend", textContent: t("c_in_resend") });
      resend.onclick = async () => {
        resend.disabled = true;
        status.clear();
        try {
          await api(`/api/v1/webhooks/${encodeURIComponent(hook.id)}/deliveries/${encodeURIComponent(d.id)}/resend`, { method: "POST" });
          await loadLog(hook, log);
        } catch (err) { status.error(err); resend.disabled = false; }
      };
      const outcome = [t(`c_in_st_${d.status}`), t("c_in_attempts", { n: String(d.attempts) }),
        d.response_status ? `HTTP ${d.response_status}` : "", d.last_error].filter(Boolean).join(" · ");
      return el("div", { className: "row", testid: "webhook-delivery", dataset: { status: d.status, id: d.id } },
        el("span", { textContent: formatTime(d.created_at) }), el("span", { textContent: d.event }),
        el("span", { className: "grow", testid: "webhook-delivery-outcome", textContent: outcome }),
        d.status === "pending" ? null : resend);
    }));
    if (!items.length) log.append(el("p", { className: "muted", textContent: t("c_in_noDeliveries") }));
  }

  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    add.disabled = true;
    try {
      const events = boxes.filter((b) => b.box.checked).map((b) => b.name);
      await api("/api/v1/webhooks", { method: "POST", body: { url: url.value.trim(), events, secret: secret.value } });
      url.value = "";
      secret.value = randomSecret();
      status.ok(t("c_saved"));
      await load();
    } catch (err) {
      status.error(err);
    } finally {
      add.disabled = false;
    }
  };
  await load();
  return el("section", { testid: "webhooks" }, el("h2", { textContent: t("c_in_webhooks") }), form, status.node, list);
}

/** @type {ConsoleSection} */
export const section = { id: "integrations", role: "admin", label: "c_nav_integrations", render };

addStrings({
  en: {
    c_nav_integrations: "Integrations", c_in_reference: "API reference",
    c_in_hint: "Other systems call the REST API with an API token and hear of events through webhooks.",
    c_in_tokens: "API tokens", c_in_tokenName: "What uses it", c_in_createToken: "Create token", c_in_revoke: "Revoke",
    c_in_shownOnce: "Copy the token now: it is shown only this once. Send it as Authorization: Bearer <token>.",
    c_in_copy: "Copy", c_in_created: "created {time}", c_in_lastUsed: "last used {time}", c_in_neverUsed: "never used",
    c_in_noTokens: "No API tokens yet",
    c_in_webhooks: "Webhooks", c_in_url: "URL", c_in_secret: "Signing secret",
    c_in_secretHint: "Each delivery carries X-Hub-Signature-256: the HMAC-SHA256 of its body with this secret.",
    c_in_events: "Events", c_in_addWebhook: "Add webhook", c_in_noWebhooks: "No webhooks yet",
    c_in_enabled: "Enabled", c_in_disabled: "Disabled: {reason}", c_in_disable: "Disable", c_in_enable: "Enable",
    c_in_log: "Deliveries", c_in_refresh: "Refresh", c_in_resend: "Resend", c_in_noDeliveries: "No deliveries yet",
    c_in_attempts: "{n} attempts", c_in_st_pending: "Pending", c_in_st_delivered: "Delivered", c_in_st_failed: "Failed",
    c_err_invalid_webhook_url: "This URL cannot receive webhooks (it must be http(s) on a public address).",
    c_err_unknown_event: "Unknown event.", c_err_webhook_not_found: "This webhook was deleted.",
    c_err_api_token_not_found: "This token was already revoked.",
  },
  zh: {
    c_nav_integrations: "集成", c_in_reference: "API 参考",
    c_in_hint: "其他系统使用 API 令牌调用 REST API，并通过 Webhook 接收事件通知。",
    c_in_tokens: "API 令牌", c_in_tokenName: "用途", c_in_createToken: "创建令牌", c_in_revoke: "吊销",
    c_in_shownOnce: "请立即复制令牌：它只显示这一次。调用时发送 Authorization: Bearer <令牌>。",
    c_in_copy: "复制", c_in_created: "创建于 {time}", c_in_lastUsed: "最近使用 {time}", c_in_neverUsed: "从未使用",
    c_in_noTokens: "暂无 API 令牌",
    c_in_webhooks: "Webhook", c_in_url: "地址", c_in_secret: "签名密钥",
    c_in_secretHint: "每次投递都带有 X-Hub-Signature-256 头：用此密钥对请求体计算的 HMAC-SHA256。",
    c_in_events: "事件", c_in_addWebhook: "添加 Webhook", c_in_noWebhooks: "暂无 Webhook",
    c_in_enabled: "已启用", c_in_disabled: "已停用：{reason}", c_in_disable: "停用", c_in_enable: "启用",
    c_in_log: "投递记录", c_in_refresh: "刷新", c_in_resend: "重新发送", c_in_noDeliveries: "暂无投递",
    c_in_attempts: "尝试 {n} 次", c_in_st_pending: "等待中", c_in_st_delivered: "已送达", c_in_st_failed: "失败",
    c_err_invalid_webhook_url: "该地址不能接收 Webhook（必须是公网上的 http(s) 地址）。",
    c_err_unknown_event: "未知事件。", c_err_webhook_not_found: "该 Webhook 已被删除。",
    c_err_api_token_not_found: "该令牌已被吊销。",
  },
});
