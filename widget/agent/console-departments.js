// @ts-check
// Departments (部门): the tree the team chat's directory shows colleagues by; add, rename,
// move and remove departments, and place each agent in one.
import { addStrings, t } from "../i18n.js";
import { api, apiAll, el } from "../shared.js";
import { confirmButton, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { Agent } from "../types.js" */
/** @import { ConsoleSection } from "./console-common.js" */
/** @typedef {{id: string, name: string, parent_id: string | null}} Department */

/** Departments in tree order (parents before their children, siblings by name), with depth. */
function inTreeOrder(/** @type {Department[]} */ departments) {
  /** @type {Map<string | null, Department[]>} */
  const children = new Map();
  const known = new Set(departments.map((d) => d.id));
  for (const d of departments) {
    const parent = d.parent_id && known.has(d.parent_id) ? d.parent_id : null;
    children.set(parent, [...(children.get(parent) || []), d]);
  }
  /** @type {{department: Department, depth: number}[]} */
  const ordered = [];
  const walk = (/** @type {string | null} */ parent, /** @type {number} */ depth) => {
    for (const d of (children.get(parent) || []).sort((a, b) => a.name.localeCompare(b.name))) {
      ordered.push({ department: d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(null, 0);
  return ordered;
}

async function render() {
  const status = statusLine("department-error");
  const tree = el("div", { className: "rows", testid: "department-list" });
  const people = el("div", { className: "rows", testid: "department-people" });
  const name = el("input", { maxLength: 64, required: true, testid: "department-name", placeholder: t("c_dp_example") });
  const parent = el("select", { testid: "department-parent" });
  const add = el("button", { type: "submit", className: "primary", textContent: t("c_add"), testid: "department-add" });
  const form = el("form", { className: "panel inline wrap", testid: "department-form" },
    field(t("c_dp_name"), name), field(t("c_dp_parent"), parent), add);
  const root = el("div", {}, sectionHeader(t("c_nav_departments")),
    el("p", { className: "muted small", textContent: t("c_dp_hint") }), form, status.node, tree,
    el("h2", { textContent: t("c_dp_people") }), people);

  /** @type {Department[]} */
  let departments = [];
  /** @type {Agent[]} */
  let agents = [];

  /** A select of every department (and "none"), `selected` chosen, `except` and its subtree left out. */
  function departmentChoice(/** @type {string | null} */ selected, /** @type {string} */ testid, except = "") {
    const select = el("select", { testid });
    select.append(el("option", { value: "", textContent: t("c_dp_none") }));
    let skipping = -1;
    for (const { department, depth } of inTreeOrder(departments)) {
      if (skipping >= 0 && depth > skipping) continue;
      skipping = -1;
      if (department.id === except) { skipping = depth; continue; }
      select.append(el("option", { value: department.id, textContent: `${"— ".repeat(depth)}${department.name}` }));
    }
    select.value = selected || "";
    return select;
  }

  async function act(/** @type {() => Promise<unknown>} */ change) {
    status.clear();
    try {
      await change();
      await load();
      return true;
    } catch (err) {
      status.error(err);
      return false;
    }
  }

  function departmentRow(/** @type {Department} */ d, /** @type {number} */ depth) {
    const rename = el("input", { value: d.name, maxLength: 64, testid: "department-rename", ariaLabel: t("c_dp_name") });
    const move = departmentChoice(d.parent_id, "department-move", d.id);
    move.setAttribute("aria-label", t("c_dp_parent"));
    const save = el("button", { type: "button", textContent: t("c_save"), testid: "department-save" });
    save.onclick = () => act(() => api(`/api/v1/im/departments/${encodeURIComponent(d.id)}`,
      { method: "PATCH", body: { name: rename.value.trim(), parent_id: move.value || null } }));
    const remove = confirmButton(t("c_delete"), "department-delete",
      () => act(() => api(`/api/v1/im/departments/${encodeURIComponent(d.id)}`, { method: "DELETE" })));
    const members = agents.filter((a) => a.department_id === d.id).length;
    return el("div", { className: "row", testid: "department-item", dataset: { departmentId: d.id, name: d.name }, style: `margin-left:${depth * 24}px` },
      rename, move, el("span", { className: "muted small grow", testid: "department-count", textContent: t("c_dp_count", { n: members }) }),
      save, remove);
  }

  function personRow(/** @type {Agent} */ a) {
    const choice = departmentChoice(a.department_id || null, "department-of-agent");
    choice.setAttribute("aria-label", `${t("c_dp_place")} ${a.name}`);
    choice.onchange = () => act(() => api(`/api/v1/im/people/${encodeURIComponent(a.id)}/department`,
      { method: "PUT", body: { department_id: choice.value || null } }));
    return el("div", { className: "row", testid: "department-person", dataset: { agentId: a.id } },
      el("span", { className: "grow", textContent: `${a.name} · ${a.email}` }), choice);
  }

  async function load() {
    [departments, agents] = await Promise.all([
      api("/api/v1/im/departments").then((/** @type {{items: Department[]}} */ r) => r.items),
      apiAll("/api/v1/agents"),
    ]);
    const chosen = parent.value;
    parent.replaceChildren(...departmentChoice(null, "department-parent").children);
    parent.value = departments.some((d) => d.id === chosen) ? chosen : "";
    tree.replaceChildren(...inTreeOrder(departments).map(({ department, depth }) => departmentRow(department, depth)));
    if (!departments.length) tree.append(el("p", { className: "muted", testid: "department-empty", textContent: t("c_dp_empty") }));
    people.replaceChildren(...agents.filter((a) => !a.disabled).map(personRow));
  }

  form.onsubmit = async (e) => {
    e.preventDefault();
    const value = name.value.trim();
    if (!value) return;
    if (await act(() => api("/api/v1/im/departments", { method: "POST", body: { name: value, parent_id: parent.value || null } }))) name.value = "";
  };
  await load();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "departments", role: "admin", label: "c_nav_departments", render };

addStrings({
  en: {
    c_nav_departments: "Departments", c_dp_name: "Name", c_dp_parent: "Under", c_dp_none: "(top level / none)",
    c_dp_example: "Customer service", c_dp_hint: "Colleagues appear by department in the team chat; each agent belongs to one.",
    c_dp_people: "People", c_dp_place: "Department of", c_dp_count: "{n} people", c_dp_empty: "No departments yet",
    c_err_department_not_empty: "Move its people and departments elsewhere first.",
  },
  zh: {
    c_nav_departments: "部门管理", c_dp_name: "名称", c_dp_parent: "上级部门", c_dp_none: "（顶级 / 无）",
    c_dp_example: "客服部", c_dp_hint: "企业IM 按部门显示同事；每位坐席属于一个部门。",
    c_dp_people: "人员", c_dp_place: "所属部门：", c_dp_count: "{n} 人", c_dp_empty: "暂无部门",
    c_err_department_not_empty: "请先将其人员和下级部门移走。",
  },
});
