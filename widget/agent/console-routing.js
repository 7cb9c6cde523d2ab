// @ts-check
// Routing settings (分配策略): policy, history agent first, default maximum, queue timeout, grace,
// queue overflow rules (排队溢出).
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { checkbox, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { ConsoleSection } from "./console-common.js" */
/** @typedef {{ skill: string | null, after_seconds: number | null, max_queue: number | null, to: { skill: string | null } | "leave_message" }} OverflowRule */

/** A queue name input: empty means the queue of no skill. @param {string | null} skill @param {string} testid */
const queueInput = (skill, testid) => el("input", { type: "text", maxLength: 64, value: skill ?? "", placeholder: t("c_rt_ofDefault"), testid });
/** @param {string} label @param {HTMLElement} control */
const labelled = (label, control) => el("label", { className: "field" }, el("span", { textContent: label }), control);
/** @param {string} value @param {number} min @param {string} step @param {string} testid */
const optionalNumber = (value, min, step, testid) => el("input", { type: "number", min: String(min), step, value, testid });

/** One editable rule; `read` gives it back as the API takes it. @param {OverflowRule} rule @param {() => void} onRemove */
function overflowRow(rule, onRemove) {
  const from = queueInput(rule.skill, "overflow-from");
  const after = optionalNumber(rule.after_seconds === null ? "" : String(rule.after_seconds), 0.1, "any", "overflow-after");
  const longest = optionalNumber(rule.max_queue === null ? "" : String(rule.max_queue), 0, "1", "overflow-max");
  const kind = el("select", { testid: "overflow-kind" },
    el("option", { value: "queue", textContent: t("c_rt_ofToQueue") }),
    el("option", { value: "leave_message", textContent: t("c_rt_ofLeave") }));
  kind.value = rule.to === "leave_message" ? "leave_message" : "queue";
  const to = queueInput(rule.to === "leave_message" ? null : rule.to.skill, "overflow-to");
  const target = labelled(t("c_rt_ofTo"), to);
  const showTarget = () => { target.hidden = kind.value === "leave_message"; };
  kind.onchange = showTarget;
  showTarget();
  const remove = el("button", { type: "button", textContent: t("c_rt_ofRemove"), testid: "overflow-remove" });
  const row = el("li", { className: "row", testid: "overflow-rule" },
    labelled(t("c_rt_ofFrom"), from), labelled(t("c_rt_ofAfter"), after), labelled(t("c_rt_ofMax"), longest),
    labelled(t("c_rt_ofThen"), kind), target, remove);
  remove.onclick = () => { row.remove(); onRemove(); };
  /** @type {(value: string) => string | null} */
  const queue = (value) => value.trim() || null;
  /** @returns {OverflowRule} */
  const read = () => ({
    skill: queue(from.value),
    after_seconds: after.value === "" ? null : Number(after.value),
    max_queue: longest.value === "" ? null : Number(longest.value),
    to: kind.value === "leave_message" ? "leave_message" : { skill: queue(to.value) },
  });
  return { row, read };
}

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
  /** @type {Map<HTMLElement, () => OverflowRule>} */
  const rules = new Map();
  const ruleList = el("ul", { className: "rows", testid: "overflow-rules" });
  /** @param {OverflowRule[]} list */
  const showRules = (list) => {
    rules.clear();
    ruleList.replaceChildren();
    for (const rule of list) addRule(rule);
  };
  /** @param {OverflowRule} rule */
  const addRule = (rule) => {
    const { row, read } = overflowRow(rule, () => rules.delete(row));
    rules.set(row, read);
    ruleList.append(row);
  };
  showRules(current.overflow ?? []);
  const add = el("button", { type: "button", textContent: t("c_rt_ofAdd"), testid: "overflow-add" });
  add.onclick = () => addRule({ skill: null, after_seconds: 60, max_queue: null, to: "leave_message" });
  const status = statusLine("routing-status");
  const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "routing-save" });
  const form = el("form", { className: "panel form-grid", testid: "routing-form" },
    field(t("c_rt_policy"), policy, t("c_rt_policyHint")),
    el("div", { className: "field" }, history.row, el("small", { className: "hint", textContent: t("c_rt_historyHint") })),
    field(t("c_rt_max"), max, t("c_rt_maxHint")),
    field(t("c_rt_timeout"), timeout, t("c_rt_timeoutHint")),
    field(t("c_rt_grace"), grace, t("c_rt_graceHint")),
    el("div", { className: "field" }, el("span", { textContent: t("c_rt_overflow") }), ruleList,
      el("div", { className: "actions" }, add), el("small", { className: "hint", textContent: t("c_rt_overflowHint") })),
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
          overflow: [...rules.values()].map((read) => read()),
        },
      });
      policy.value = saved.policy;
      history.box.checked = saved.history_agent_first;
      max.value = String(saved.default_max_concurrent);
      timeout.value = String(saved.queue_timeout_seconds);
      grace.value = String(saved.disconnect_grace_seconds);
      showRules(saved.overflow);
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
    c_rt_overflow: "Queue overflow", c_rt_overflowHint: "A waiting conversation moves on after the wait, or at once when more than the maximum wait ahead of it; it keeps its place by arrival.",
    c_rt_ofFrom: "Queue (skill)", c_rt_ofDefault: "default queue", c_rt_ofAfter: "After (seconds)", c_rt_ofMax: "Max waiting ahead",
    c_rt_ofThen: "Then", c_rt_ofToQueue: "move to queue", c_rt_ofLeave: "ask to leave a message", c_rt_ofTo: "Target queue",
    c_rt_ofRemove: "Remove", c_rt_ofAdd: "Add overflow rule",
  },
  zh: {
    c_rt_policy: "分配策略", c_rt_idle: "空闲坐席优先（会话最少）", c_rt_rr: "坐席平均分配（轮询）",
    c_rt_policyHint: "新会话在可接待的坐席中如何选择。",
    c_rt_history: "历史服务坐席优先", c_rt_historyHint: "老客户优先分配给上次服务他的坐席（该坐席可接待时）。",
    c_rt_max: "默认最大接待数", c_rt_maxHint: "用于新建时未单独设置上限的坐席。",
    c_rt_timeout: "排队超时（秒）", c_rt_timeoutHint: "等待超过该时间后提示访客留言。",
    c_rt_grace: "断线保留时间（秒）", c_rt_graceHint: "坐席掉线后在此时间内保留其会话，超时后重新分配。",
    c_rt_overflow: "排队溢出", c_rt_overflowHint: "排队会话等待超过设定时间，或前面排队人数超过上限时，转入其他队列（按原到达时间排序）或提示留言。",
    c_rt_ofFrom: "队列（技能组）", c_rt_ofDefault: "默认队列", c_rt_ofAfter: "等待（秒）", c_rt_ofMax: "排队人数超过",
    c_rt_ofThen: "然后", c_rt_ofToQueue: "转入队列", c_rt_ofLeave: "提示留言", c_rt_ofTo: "目标队列",
    c_rt_ofRemove: "删除", c_rt_ofAdd: "添加溢出规则",
  },
});
