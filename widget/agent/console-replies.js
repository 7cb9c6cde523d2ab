// @ts-check
// Quick replies (快捷回复): the tenant's canned answers, offered in the inbox composer with "/".
// The server stores the whole ordered list; every change here saves the list at once.
import { addStrings, t } from "../i18n.js";
import { api, el } from "../shared.js";
import { confirmButton, field, sectionHeader, statusLine } from "./console-common.js";

/** @import { QuickReply } from "../types.js" */
/** @import { ConsoleSection } from "./console-common.js" */

async function render() {
  /** @type {QuickReply[]} */
  let items = (await api("/api/v1/quick-replies")).items;
  const search = el("input", { type: "search", placeholder: t("c_qr_search"), testid: "qr-search", ariaLabel: t("c_qr_search") });
  const add = el("button", { type: "button", className: "primary", textContent: t("c_qr_add"), testid: "qr-add" });
  const formBox = el("div");
  const list = el("ol", { className: "rows qr-list", testid: "qr-list" });
  const status = statusLine("qr-error");
  const root = el("div", {}, sectionHeader(t("c_nav_quick_replies"), search, add), el("p", { className: "muted small", textContent: t("c_qr_hint") }), status.node, formBox, list);

  async function saveAll(/** @type {QuickReply[]} */ next) {
    status.clear();
    try {
      items = (await api("/api/v1/quick-replies", { method: "PUT", body: { items: next } })).items;
      render();
      return true;
    } catch (err) {
      status.error(err);
      return false;
    }
  }

  function move(/** @type {number} */ index, /** @type {number} */ by) {
    const next = [...items];
    const [entry] = next.splice(index, 1);
    next.splice(index + by, 0, entry);
    return saveAll(next);
  }

  function render() {
    const query = search.value.trim().toLowerCase();
    const shown = items.map((q, i) => /** @type {[QuickReply, number]} */ ([q, i])).filter(([q]) => !query || `${q.title} ${q.text}`.toLowerCase().includes(query));
    list.replaceChildren(...shown.map(([q, i]) => {
      const up = el("button", { type: "button", textContent: "↑", testid: "qr-up", ariaLabel: t("c_qr_up"), disabled: i === 0 });
      const down = el("button", { type: "button", textContent: "↓", testid: "qr-down", ariaLabel: t("c_qr_down"), disabled: i === items.length - 1 });
      up.onclick = () => move(i, -1);
      down.onclick = () => move(i, 1);
      const edit = el("button", { type: "button", textContent: t("c_edit"), testid: "qr-edit" });
      edit.onclick = () => openForm(i);
      const remove = confirmButton(t("c_delete"), "qr-delete", () => saveAll(items.filter((_, j) => j !== i)));
      return el("li", { className: "row", testid: "qr-item", dataset: { index: String(i) } },
        el("div", { className: "grow" },
          el("div", { className: "name", testid: "qr-item-title", textContent: q.title || t("c_qr_untitled") }),
          el("div", { className: "preview-text", testid: "qr-item-text", textContent: q.text })),
        el("div", { className: "row-actions" }, up, down, edit, remove));
    }));
    if (!shown.length) list.append(el("li", { className: "muted", testid: "qr-empty", textContent: query ? t("c_qr_noMatch") : t("c_qr_none") }));
  }

  function openForm(/** @type {number | null} */ index) {
    const entry = index === null ? { title: "", text: "" } : items[index];
    const title = el("input", { value: entry.title, maxLength: 100, testid: "qr-title", placeholder: t("c_qr_titleHint") });
    const text = el("textarea", { value: entry.text, maxLength: 2000, required: true, testid: "qr-text", rows: 4 });
    const save = el("button", { type: "submit", className: "primary", textContent: t("c_save"), testid: "qr-save" });
    const cancel = el("button", { type: "button", textContent: t("c_cancel") });
    const form = el("form", { className: "panel form-grid", testid: "qr-form" },
      field(t("c_qr_title"), title), field(t("c_qr_text"), text), el("div", { className: "actions" }, save, cancel));
    cancel.onclick = () => formBox.replaceChildren();
    form.onsubmit = async (e) => {
      e.preventDefault();
      const value = { title: title.value.trim(), text: text.value };
      const next = index === null ? [...items, value] : items.map((q, j) => (j === index ? value : q));
      save.disabled = true;
      if (await saveAll(next)) formBox.replaceChildren();
      save.disabled = false;
    };
    formBox.replaceChildren(form);
    title.focus();
  }

  add.onclick = () => openForm(null);
  search.oninput = render;
  render();
  return root;
}

/** @type {ConsoleSection} */
export const section = { id: "quick-replies", role: "admin", label: "c_nav_quick_replies", render };

addStrings({
  en: {
    c_qr_search: "Search quick replies", c_qr_add: "Add quick reply", c_qr_title: "Shortcut / title", c_qr_text: "Reply text",
    c_qr_titleHint: "e.g. shipping", c_qr_hint: "Agents type / in the composer to find a quick reply by its title or text.",
    c_qr_up: "Move up", c_qr_down: "Move down", c_qr_untitled: "(no title)", c_qr_none: "No quick replies yet", c_qr_noMatch: "No match",
  },
  zh: {
    c_qr_search: "搜索快捷回复", c_qr_add: "添加快捷回复", c_qr_title: "快捷键 / 标题", c_qr_text: "回复内容",
    c_qr_titleHint: "例如 发货", c_qr_hint: "坐席在输入框中输入 / 即可按标题或内容查找快捷回复。",
    c_qr_up: "上移", c_qr_down: "下移", c_qr_untitled: "（无标题）", c_qr_none: "暂无快捷回复", c_qr_noMatch: "没有匹配的快捷回复",
  },
});
