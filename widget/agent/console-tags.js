// @ts-check
// Tags (标签): the tenant's tag catalogue with colours, offered when agents tag contacts.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { confirmButton, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { Tag } from "../types.js" */
/** @import { ConsoleContext, ConsoleSection } from "./console-common.js" */

const DEFAULT_COLOR = "#64748b";

async function render(/** @type {ConsoleContext} */ ctx) {
  /** @type {Tag[]} */
  let items = (await api("/api/v1/tags")).items;
  const list = el("div", { className: "rows", testid: "tags-list" });
  const status = statusLine("tag-error");
  const name = el("input", { maxLength: 32, required: true, testid: "tag-name", placeholder: "VIP客户" });
  const color = el("input", { type: "color", value: "#dc2626", testid: "tag-color" });
  const add = el("button", { type: "submit", className: "primary", textContent: t("c_add"), testid: "tag-add" });
  const form = el("form", { className: "panel inline wrap", testid: "tag-form" }, field(t("c_tg_name"), name), field(t("c_tg_color"), color), add);
  const root = el("div", {}, sectionHeader(t("c_nav_tags")), el("p", { className: "muted small", textContent: t("c_tg_hint") }), form, status.node, list);

  // Each save sends the whole list, so a stale list must never replace a fresh one: the
  // tags.updated echo of an earlier save of ours can arrive after a later save's answer.
  let saving = 0;
  const ours = new Set();
  async function saveAll(/** @type {Tag[]} */ next) {
    status.clear();
    saving += 1;
    try {
      items = (await api("/api/v1/tags", { method: "PUT", body: { items: next } })).items;
      ours.add(JSON.stringify(items));
      render();
      return true;
    } catch (err) {
      status.error(err);
      return false;
    } finally {
      saving -= 1;
    }
  }

  function render() {
    list.replaceChildren(...items.map((tag, i) => {
      const swatch = el("input", { type: "color", value: tag.color || DEFAULT_COLOR, testid: "tag-item-color", ariaLabel: `${t("c_tg_color")} ${tag.name}` });
      swatch.onchange = () => saveAll(items.map((x, j) => (j === i ? { ...x, color: swatch.value } : x)));
      const remove = confirmButton(t("c_delete"), "tag-delete", () => saveAll(items.filter((_, j) => j !== i)));
      return el("div", { className: "row", testid: "tag-item", dataset: { name: tag.name, color: tag.color } },
        el("span", { className: "tag-pill", style: `background:${/^#[0-9a-f]{6}$/i.test(tag.color) ? tag.color : DEFAULT_COLOR}`, textContent: tag.name }),
        el("span", { className: "grow" }), swatch, remove);
    }));
    if (!items.length) list.append(el("p", { className: "muted", textContent: t("c_tg_none") }));
  }

  form.onsubmit = async (e) => {
    e.preventDefault();
    const value = name.value.trim();
    if (!value) return;
    if (await saveAll([...items, { name: value, color: color.value }])) name.value = "";
  };
  // Another admin's edit arrives as tags.updated.
  ctx.listen("tags.updated", ({ items: fresh }) => {
    if (saving || ours.has(JSON.stringify(fresh))) return;
    items = fresh;
    render();
  });
  render();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "tags", role: "admin", label: "c_nav_tags", render };

addStrings({
  en: { c_tg_name: "Tag name", c_tg_color: "Colour", c_tg_hint: "Agents pick these tags for contacts (e.g. VIP客户, 重点关注).", c_tg_none: "No tags yet",
    c_err_duplicate_tag: "This tag already exists." },
  zh: { c_tg_name: "标签名称", c_tg_color: "颜色", c_tg_hint: "坐席可以为客户选择这些标签（例如 VIP客户、重点关注）。", c_tg_none: "暂无标签",
    c_err_duplicate_tag: "该标签已存在。" },
});
