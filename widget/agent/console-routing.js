// @ts-check
// Routing settings (分配策略): policy, history agent first, default maximum, queue timeout, grace.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { checkbox, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */

async function render() {
  const current = await api("/api/v1/settings/routing");
  const policy = el("select", { testid: "routing-policy" },
    el("option", { value: "idle_first", textContent: t("c_rt_idle") }),
    el("option", { value: "round_robin", textContent: t("c_rt_rr") }));
  policy.value = current.policy;
  const history = checkbox(t("c_rt_history"), current.history_agent_first, "routing-history");
  /** @param {string} testid @param {number} value @param {number} min @param {number | "any"} step */
  const number = (testid, value, min, step) => el("input", { type: "number", min, step, value: String(value), required: true, testid });
  const max = number("routing-default-max", current.default_max_concurrent, 0, 1);
  max.max = "1000";
  const timeout = number("routing-queue-timeout", current.queue_timeout_seconds, 1, "any");
  const grace = number("routing-grace", current.disconnect_grace_seconds, 0, "any");
  const status = statusLine("routing-status");
  const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "routing-save" });
  const form = el("form", { className: "panel form-grid", testid: "routing-form" },
    field(t("c_rt_policy"), policy, t("c_rt_policyHint")),
    el("div", { className: "field" }, history.row, el("small", { className: "hint", textContent: t("c_rt_historyHint") })),
    field(t("c_rt_max"), max, t("c_rt_maxHint")),
    field(t("c_rt_timeout"), timeout, t("c_rt_timeoutHint")),
    field(t("c_rt_grace"), grace, t("c_rt_graceHint")),
    status.node, el("div", { className: "actions" }, save));
  form.onsubmit = async (e) => {
    e.preventDefault();
    status.clear();
    save.disabled = true;
    try {
      const saved = await api("/api/v1/settings/routing", {
        method: "PUT",
        body: {
          policy: policy.value,
          history_agent_first: history.box.checked,
          default_max_concurrent: Number(max.value),
          queue_timeout_seconds: Number(timeout.value),
          disconnect_grace_seconds: Number(grace.value),
        },
      });
      policy.value = saved.policy;
      history.box.checked = saved.history_agent_first;
      max.value = String(saved.default_max_concurrent);
      timeout.value = String(saved.queue_timeout_seconds);
      grace.value = String(saved.disconnect_grace_seconds);
      status.ok(t("c_saved"));
    } catch (err) {
      status.error(err);
    } finally {
      save.disabled = false;
    }
  };
  return el("div", {}, sectionHeader(t("c_nav_routing")), form);
}

/** @type {ConsoleSection} */
export const section = { id: "routing", role: "admin", label: "c_nav_routing", render };

addStrings({
  en: {
    c_rt_policy: "Policy", c_rt_idle: "Idle agent first (fewest conversations)", c_rt_rr: "Round robin (even rotation)",
    c_rt_policyHint: "How a new conversation picks among eligible agents.",
    c_rt_history: "History agent first", c_rt_historyHint: "A returning customer goes to the agent who served them last, when that agent is available.",
    c_rt_max: "Default maximum per agent", c_rt_maxHint: "For new agents created without their own maximum.",
    c_rt_timeout: "Queue timeout (seconds)", c_rt_timeoutHint: "After this wait the visitor is asked to leave a message.",
    c_rt_grace: "Disconnect grace (seconds)", c_rt_graceHint: "An agent who drops keeps their conversations this long before they are routed again.",
  },
  zh: {
    c_rt_policy: "分配策略", c_rt_idle: "空闲坐席优先（会话最少）", c_rt_rr: "坐席平均分配（轮询）",
    c_rt_policyHint: "新会话在可接待的坐席中如何选择。",
    c_rt_history: "历史服务坐席优先", c_rt_historyHint: "老客户优先分配给上次服务他的坐席（该坐席可接待时）。",
    c_rt_max: "默认最大接待数", c_rt_maxHint: "用于新建时未单独设置上限的坐席。",
    c_rt_timeout: "排队超时（秒）", c_rt_timeoutHint: "等待超过该时间后提示访客留言。",
    c_rt_grace: "断线保留时间（秒）", c_rt_graceHint: "坐席掉线后在此时间内保留其会话，超时后重新分配。",
  },
});
