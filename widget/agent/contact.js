// @ts-check
// The contact panel: name, tags (coloured from the tenant's catalogue), visitor details,
// blacklist state with "lift", and the editable name / phone / email / notes.
import { t } from "../i18n.js";
import { $, el, api } from "../shared.js";
import { state, ui, contactName, longTime } from "./core.js";
import { channelLabel } from "./channels.js";

/** @import { Contact, Conversation } from "../types.js" */

function tagColor(/** @type {string} */ name) {
  return state.tags.find((x) => x.name === name)?.color || "#64748b";
}

/** Readable text on a catalogue colour: dark text on light colours, white on dark ones. */
function textOn(/** @type {string} */ hex) {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? "#111827" : "#ffffff";
}

async function saveTags(/** @type {string} */ contactId, /** @type {string[]} */ tags) {
  /** @type {Contact} */
  const contact = await api(`/api/v1/contacts/${encodeURIComponent(contactId)}`, { method: "PATCH", body: { tags } });
  state.contacts.set(contact.id, contact);
  renderSide();
}

function tagsBlock(/** @type {Contact} */ contact) {
  const tags = contact.tags || [];
  const chips = el("div", { className: "chips", testid: "contact-tags" }, ...tags.map((name) => {
    const color = tagColor(name);
    const remove = el("button", { type: "button", className: "chip-x", textContent: "×", testid: "contact-tag-remove" });
    remove.setAttribute("aria-label", t("removeTag", { tag: name }));
    remove.onclick = () => saveTags(contact.id, tags.filter((x) => x !== name));
    const chip = el("span", { className: "chip", testid: "contact-tag", dataset: { tag: name } }, el("span", { textContent: name }), remove);
    chip.style.background = color;
    chip.style.color = textOn(color);
    return chip;
  }));
  const listId = "tagCatalogue";
  const input = el("input", { placeholder: t("tagPlaceholder"), testid: "contact-tag-input", maxLength: 32 });
  input.setAttribute("list", listId);
  input.setAttribute("aria-label", t("tagPlaceholder"));
  const options = el("datalist", { id: listId }, ...state.tags.map((x) => el("option", { value: x.name })));
  const add = el("button", { type: "submit", textContent: t("addTag"), testid: "contact-tag-add" });
  const form = el("form", { className: "tag-add" }, input, options, add);
  form.onsubmit = (e) => {
    e.preventDefault();
    const name = input.value.trim();
    input.value = "";
    if (name && !tags.includes(name)) saveTags(contact.id, [...tags, name]);
  };
  // One click on a catalogue tag the contact does not have yet.
  const suggestions = el("div", { className: "chips suggestions" }, ...state.tags.filter((x) => !tags.includes(x.name)).map((x) => {
    const s = el("button", { type: "button", className: "chip outline", testid: "tag-suggestion", dataset: { tag: x.name }, textContent: `+ ${x.name}` });
    s.style.borderColor = x.color;
    s.style.color = x.color;
    s.onclick = () => saveTags(contact.id, [...tags, x.name]);
    return s;
  }));
  return el("section", {}, el("h4", { textContent: t("tags") }), chips, form, suggestions);
}

function blockBlock(/** @type {Contact} */ contact) {
  const until = contact.blocked_until ? new Date(contact.blocked_until) : null;
  if (!until || until <= new Date()) return null;
  const forever = until.getUTCFullYear() >= 9999;
  const reason = contact.attributes?.blocked_reason;
  const lift = el("button", { type: "button", textContent: t("unblock"), testid: "contact-unblock" });
  lift.onclick = async () => {
    /** @type {Contact} */
    const updated = await api(`/api/v1/contacts/${encodeURIComponent(contact.id)}/block`, { method: "DELETE" });
    state.contacts.set(updated.id, updated);
    renderSide();
    ui.pane();
  };
  return el("div", { className: "blocked", testid: "contact-blocked", role: "status" },
    el("strong", { textContent: forever ? t("blockedForever") : t("blockedUntil", { date: longTime(contact.blocked_until) }) }),
    reason ? el("span", { textContent: t("blockedReason", { reason }) }) : null, lift);
}

/** @param {string | undefined} url @param {string} [label] @returns {HTMLElement | string} */
function safeLink(url, label) {
  // Visitor-supplied URLs: only web addresses become links (no javascript: and the like).
  if (/^https?:\/\//i.test(url || "")) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", textContent: label || url, title: url });
  }
  return label || url || "";
}

function details(/** @type {Conversation} */ c, /** @type {Contact} */ contact) {
  const at = contact.attributes || {};
  const page = at.page_url ? safeLink(at.page_url, at.page_title || at.page_url) : at.page_title;
  /** @type {[string, unknown][]} */
  const rows = [
    ["f_channel", channelLabel(c.channel)],
    ["f_visits", contact.visit_count],
    ["f_first_seen", longTime(contact.created_at)],
    ["f_last_seen", longTime(contact.last_seen_at)],
    ["f_ip", at.ip], ["f_region", at.region], ["f_browser", at.browser], ["f_os", at.os],
    ["f_device", at.device ? [t(`dev_${at.device}`), at.device_model].filter(Boolean).join(" · ") : ""],
    ["f_page", page], ["f_referrer", at.referrer ? safeLink(at.referrer) : ""], ["f_first_source", at.first_source],
  ];
  const dl = el("dl", { testid: "contact-details" });
  for (const [key, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", { textContent: t(key) }), el("dd", { dataset: { field: key.slice(2) } }, value instanceof Node ? value : String(value)));
  }
  return el("section", {}, el("h4", { textContent: t("details") }), dl);
}

function editForm(/** @type {Contact} */ contact) {
  const form = el("form", { className: "contact-edit" });
  /** @type {Record<string, HTMLInputElement | HTMLTextAreaElement>} */
  const inputs = {};
  for (const key of /** @type {const} */ (["name", "phone", "email", "notes"])) {
    const f = el(key === "notes" ? "textarea" : "input", {
      value: contact[key] || "", testid: `contact-${key}`, dataset: { original: contact[key] || "" },
      placeholder: t(key === "notes" ? "contactNotes" : `leave_${key}`),
    });
    f.setAttribute("aria-label", f.placeholder);
    inputs[key] = f;
    form.append(f);
  }
  form.append(el("button", { type: "submit", textContent: t("save"), testid: "contact-save" }));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(inputs).map(([k, f]) => [k, f.value]));
    /** @type {Contact} */
    const updated = await api(`/api/v1/contacts/${encodeURIComponent(contact.id)}`, { method: "PATCH", body });
    state.contacts.set(updated.id, updated);
    renderSide();
    ui.list();
    ui.pane();
  };
  return el("section", {}, el("h4", { textContent: t("edit") }), form);
}

export function renderSide() {
  const side = $("side");
  const e = state.current ? state.convs.get(state.current) : undefined;
  const contact = e && state.contacts.get(e.conversation.contact_id);
  if (!e || !contact) { side.replaceChildren(); return; }
  // A live update redraws the panel: what the agent was typing (and has not saved) stays.
  const sameContact = side.dataset.contactId === contact.id;
  const drafts = sameContact
    ? [.../** @type {NodeListOf<HTMLInputElement | HTMLTextAreaElement>} */ (side.querySelectorAll(".contact-edit [data-original], .tag-add input"))]
      .filter((f) => f.value !== (f.dataset.original ?? "")).map((f) => [f.dataset.testid || "", f.value])
    : [];
  const active = document.activeElement;
  const focusedId = active instanceof HTMLElement && side.contains(active) ? active.dataset.testid : null;
  side.dataset.contactId = contact.id;
  const hide = el("button", { type: "button", className: "narrow-only side-close", testid: "contact-panel-close", textContent: "×" });
  hide.setAttribute("aria-label", t("back"));
  hide.onclick = () => document.body.classList.remove("show-side");
  side.replaceChildren(hide,
    el("h3", { textContent: contactName(e.conversation), testid: "contact-title" }),
    blockBlock(contact) || "", tagsBlock(contact), details(e.conversation, contact), editForm(contact));
  for (const [id, value] of drafts) {
    const f = side.querySelector(`[data-testid="${id}"]`);
    if (f instanceof HTMLInputElement || f instanceof HTMLTextAreaElement) f.value = value;
  }
  if (sameContact && focusedId) /** @type {HTMLElement | null} */ (side.querySelector(`[data-testid="${focusedId}"]`))?.focus();
}
