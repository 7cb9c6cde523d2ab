// @ts-check
// Agents (坐席管理): list, create, edit, disable and enable again.
import { addStrings, t } from "../i18n.js";
import { api, apiAll, el } from "../shared.js";
import { checkbox, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { Agent } from "../types.js" */
/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

const ROLES = ["admin", "supervisor", "agent"];

function parseSkills(/** @type {string} */ text) {
  return [...new Set(text.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean))];
}

async function render(/** @type {ConsoleContext} */ ctx) {
  const list = el("div", { className: "rows", testid: "agents-list" });
  const formBox = el("div");
  const add = el("button", { type: "button", className: "primary", textContent: t("c_ag_new"), testid: "agent-new" });
  const root = el("div", {}, sectionHeader(t("c_nav_agents"), add), formBox, list);
  /** @type {Agent[]} */
  let agents = [];

  async function load() {
    agents = await apiAll("/api/v1/agents?include_disabled=true");
    list.replaceChildren(...agents.map(row));
  }

  function row(/** @type {Agent} */ a) {
    const edit = el("button", { type: "button", textContent: t("c_edit"), testid: "agent-edit", ariaLabel: `${t("c_edit")} ${a.name}` });
    edit.onclick = () => openForm(a);
    const state = a.disabled ? t("c_ag_disabled") : t(`c_presence_${a.presence}`);
    return el("div", { className: `row${a.disabled ? " disabled" : ""}`, testid: "agent-row", dataset: { agentId: a.id, email: a.email } },
      el("div", { className: "grow" },
        el("div", { className: "name", textContent: a.name }),
        el("div", { className: "muted small", textContent: a.email })),
      el("div", { className: "chips" }, ...a.roles.map((r) => el("span", { className: "chip role", textContent: t(`c_role_${r}`) }))),
      el("div", { className: "chips" }, ...a.skills.map((s) => el("span", { className: "chip", textContent: s }))),
      el("div", { className: "small", textContent: t("c_ag_maxShort", { n: a.max_concurrent }) }),
      el("div", { className: "small", testid: "agent-state", textContent: state }),
      edit);
  }

  function openForm(/** @type {Agent | null} */ agent) {
    const editing = !!agent;
    const self = agent?.id === ctx.me.id;
    const name = el("input", { value: agent?.name || "", required: true, maxLength: 100, testid: "agent-name", autocomplete: "off" });
    const email = el("input", { type: "email", value: agent?.email || "", required: true, maxLength: 320, testid: "agent-email", autocomplete: "off" });
    const password = el("input", { type: "password", minLength: 8, required: !editing, testid: "agent-password", autocomplete: "new-password" });
    /** @type {Record<string, HTMLInputElement>} */
    const roles = {};
    const roleRows = ROLES.map((r) => {
      const { box, row: line } = checkbox(t(`c_role_${r}`), agent ? agent.roles.includes(r) : r === "agent", `agent-role-${r}`);
      // An administrator cannot lock themselves out of the console from here.
      if (self && r === "admin") box.disabled = true;
      roles[r] = box;
      return line;
    });
    const skills = el("input", { value: agent?.skills.join(", ") || "", testid: "agent-skills", placeholder: "sales, billing" });
    const max = el("input", { type: "number", min: 0, max: 1000, value: agent?.max_concurrent ?? "", testid: "agent-max", placeholder: t("c_ag_default") });
    const disabled = checkbox(t("c_ag_disable"), agent?.disabled, "agent-disabled");
    if (self) disabled.box.disabled = true;
    const status = statusLine("agent-error");
    const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "agent-save" });
    const cancel = el("button", { type: "button", textContent: t("c_cancel"), testid: "agent-cancel" });
    const form = el("form", { className: "panel form-grid", testid: "agent-form" },
      el("h2", { textContent: editing ? t("c_ag_editTitle", { name: agent.name }) : t("c_ag_new") }),
      field(t("c_ag_name"), name), field(t("c_ag_email"), email),
      field(t("c_ag_password"), password, editing ? t("c_ag_passwordKeep") : t("c_ag_passwordRule")),
      el("fieldset", { className: "field" }, el("legend", { textContent: t("c_ag_roles") }), ...roleRows),
      field(t("c_ag_skills"), skills, t("c_ag_skillsHint")),
      field(t("c_ag_max"), max, editing ? "" : t("c_ag_maxHint")),
      editing ? disabled.row : null,
      status.node, el("div", { className: "actions" }, save, cancel));
    cancel.onclick = () => formBox.replaceChildren();
    form.onsubmit = async (e) => {
      e.preventDefault();
      status.clear();
      /** @type {{name: string, email: string, roles: string[], skills: string[], max_concurrent?: number, password?: string, disabled?: boolean}} */
      const body = {
        name: name.value.trim(),
        email: email.value.trim(),
        roles: ROLES.filter((r) => roles[r].checked),
        skills: parseSkills(skills.value),
      };
      if (max.value !== "") body.max_concurrent = Number(max.value);
      if (password.value) body.password = password.value;
      if (editing && !self) body.disabled = disabled.box.checked;
      if (!body.roles.length) { status.error(new Error(t("c_ag_needRole"))); return; }
      save.disabled = true;
      try {
        if (editing) await api(`/api/v1/agents/${encodeURIComponent(agent.id)}`, { method: "PATCH", body });
        else await api("/api/v1/agents", { method: "POST", body });
        formBox.replaceChildren(el("p", { className: "status-line", dataset: { kind: "ok" }, role: "status", testid: "agent-saved",
          textContent: t(editing ? "c_ag_updated" : "c_ag_created", { name: body.name }) }));
        await load();
      } catch (err) {
        status.error(err);
      } finally {
        save.disabled = false;
      }
    };
    formBox.replaceChildren(form);
    name.focus();
  }

  add.onclick = () => openForm(null);
  await load();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "agents", role: "admin", label: "c_nav_agents", render };

addStrings({
  en: {
    c_ag_new: "New agent", c_ag_editTitle: "Edit {name}", c_ag_name: "Name", c_ag_email: "Email (sign-in)",
    c_ag_password: "Password", c_ag_passwordRule: "At least 8 characters", c_ag_passwordKeep: "Leave empty to keep the current password",
    c_ag_roles: "Roles", c_ag_skills: "Skills (skill groups)", c_ag_skillsHint: "Separated by commas, e.g. sales, billing",
    c_ag_max: "Maximum concurrent conversations", c_ag_maxHint: "Empty: the routing default", c_ag_default: "default",
    c_ag_disable: "Disabled (cannot sign in, gets no conversations)", c_ag_disabled: "Disabled", c_ag_maxShort: "max {n}",
    c_ag_created: "Created {name}: they can sign in now.", c_ag_updated: "Saved {name}.", c_ag_needRole: "Choose at least one role.",
    c_role_admin: "Administrator", c_role_supervisor: "Supervisor", c_role_agent: "Agent",
  },
  zh: {
    c_ag_new: "新建坐席", c_ag_editTitle: "编辑 {name}", c_ag_name: "姓名", c_ag_email: "邮箱（登录账号）",
    c_ag_password: "密码", c_ag_passwordRule: "至少 8 位", c_ag_passwordKeep: "留空则不修改密码",
    c_ag_roles: "角色", c_ag_skills: "技能组", c_ag_skillsHint: "用逗号分隔，例如 sales, billing",
    c_ag_max: "最大同时接待数", c_ag_maxHint: "留空使用分配策略中的默认值", c_ag_default: "默认",
    c_ag_disable: "停用（不能登录，不分配会话）", c_ag_disabled: "已停用", c_ag_maxShort: "上限 {n}",
    c_ag_created: "已创建 {name}，现在可以登录。", c_ag_updated: "已保存 {name}。", c_ag_needRole: "请至少选择一个角色。",
    c_role_admin: "管理员", c_role_supervisor: "班长", c_role_agent: "坐席",
  },
});
