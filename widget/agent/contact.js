// @ts-check
// The contact panel: name, tags (coloured from the tenant's catalogue), visitor details,
// blacklist state with "lift", the editable name / phone / email / notes, a new email to the
// contact from one of the tenant's mailboxes, and merging another contact into this one.
import { t } from "../i18n.js";
import { $, el, api, ApiError } from "../shared.js";
import { explained } from "../refusals.js";
import { state, ui, contactName, longTime, dialog, entry, addMessage } from "./core.js";
import { channelLabel } from "./channels.js";

/** @import { ChannelAccountName, Contact, Conversation, Message } from "../types.js" */

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
  const error = el("div", { className: "error", role: "alert", testid: "contact-error" });
  form.append(error, el("button", { type: "submit", textContent: t("save"), testid: "contact-save" }));
  form.addEventListener("input", () => { error.textContent = ""; });
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(inputs).map(([k, f]) => [k, f.value]));
    /** @type {Contact} */
    let updated;
    try {
      updated = await api(`/api/v1/contacts/${encodeURIComponent(contact.id)}`, { method: "PATCH", body });
    } catch (err) {
      // Refused (a phone number that is not one): the reason, the typed values kept.
      const why = explained(err, "contactErr_");
      error.textContent = why instanceof Error ? why.message : String(why);
      return;
    }
    state.contacts.set(updated.id, updated);
    renderSide();
    ui.list();
    ui.pane();
  };
  return el("section", {}, el("h4", { textContent: t("edit") }), form);
}

/** An error of the hub in the agent's language where the inbox knows it (`prefix_code`). */
function emailOf(/** @type {Contact} */ contact) {
  return contact.email || contact.identities?.find((i) => i.channel === "email")?.external_id || "";
}

/** "New email": the agent writes first, from one of the tenant's mailboxes; the new thread opens. */
async function openNewEmail(/** @type {Contact} */ contact) {
  /** @type {ChannelAccountName[]} */
  const accounts = (await api("/api/v1/channel-accounts")).items.filter((/** @type {ChannelAccountName} */ a) => a.type === "email");
  const account = el("select", { testid: "new-email-account", required: true },
    ...accounts.map((a) => el("option", { value: a.id, textContent: a.name })));
  account.setAttribute("aria-label", t("newEmailFrom"));
  const to = el("input", { type: "email", testid: "new-email-to", required: true, value: emailOf(contact), placeholder: t("newEmailTo") });
  to.setAttribute("aria-label", t("newEmailTo"));
  const subject = el("input", { testid: "new-email-subject", maxLength: 250, placeholder: t("em_subject") });
  subject.setAttribute("aria-label", t("em_subject"));
  const text = el("textarea", { testid: "new-email-text", required: true, rows: 6, placeholder: t("newEmailText") });
  text.setAttribute("aria-label", t("newEmailText"));
  const fields = accounts.length
    ? [labelled(t("newEmailFrom"), account), labelled(t("newEmailTo"), to), labelled(t("em_subject"), subject), text]
    : [el("p", { className: "muted", testid: "new-email-none", textContent: t("newEmailNoAccount") })];
  // One id for every try of this email: a retry after a lost answer never sends it twice.
  const clientId = crypto.randomUUID();
  const form = dialog("new-email-dialog", t("newEmail"), fields, t("send"), async () => {
    if (!accounts.length) return;
    /** @type {string} */
    let opened;
    try {
      /** @type {{conversation: Conversation, message: Message}} */
      const started = await api("/api/v1/conversations", { method: "POST", body: {
        channel_id: account.value, to: to.value.trim(), subject: subject.value.trim(), text: text.value.trim(),
        client_id: clientId, name: contact.name || undefined, contact_id: contact.id,
      } });
      addMessage(entry(started.conversation), started.message);
      opened = started.conversation.id;
    } catch (err) {
      // The customer has one open there already (channels without threads of their own).
      const open = err instanceof ApiError && err.code === "conversation_open" ? err.details.conversation_id : null;
      if (typeof open !== "string") throw explained(err, "newEmailErr_");
      opened = open;
    }
    state.tab = "mine";
    await ui.select(opened);
  }, "new-email-send");
  if (!accounts.length) form.querySelector("[data-testid=new-email-send]")?.setAttribute("disabled", "");
}

function labelled(/** @type {string} */ label, /** @type {HTMLElement} */ control) {
  return el("label", { className: "dialog-field" }, el("span", { textContent: label }), control);
}

const MATCHES_SHOWN = 20;

/** "Merge": another contact (the same person on another channel) is merged into this one. */
async function openMerge(/** @type {Contact} */ contact) {
  const candidates = (/** @type {Contact[]} */ items) => items.filter((c) => c.id !== contact.id && !c.merged_into);
  // The most recently seen to start with; typed text is searched by the hub, over every contact.
  const recent = candidates((await api(`/api/v1/contacts?limit=${MATCHES_SHOWN + 1}`)).items);
  let others = recent;
  let asked = 0;
  const lookUp = async () => {
    const q = search.value.trim();
    const mine = ++asked;
    const found = q
      ? candidates((await api(`/api/v1/search/contacts?q=${encodeURIComponent(q)}&limit=${MATCHES_SHOWN + 1}`)).items)
      : recent;
    if (mine !== asked) return; // a later keystroke's answer wins
    others = found;
    show();
  };
  const search = el("input", { type: "search", testid: "merge-search", placeholder: t("mergeSearch") });
  search.setAttribute("aria-label", t("mergeSearch"));
  const results = el("div", { className: "merge-results", testid: "merge-results", role: "listbox" });
  const confirm = el("p", { className: "merge-confirm", testid: "merge-confirm" });
  /** @type {Contact | null} */
  let picked = null;
  const nameOf = (/** @type {Contact} */ c) => c.name || c.email || c.phone || `${t("visitor")} ${c.id.slice(0, 6)}`;
  const show = () => {
    const matches = others.slice(0, MATCHES_SHOWN);
    results.replaceChildren(...matches.map((c) => {
      const option = el("button", { type: "button", className: "merge-candidate", testid: "merge-candidate", role: "option",
        dataset: { contactId: c.id } },
        el("strong", { textContent: nameOf(c) }),
        el("span", { className: "muted", textContent: [c.email, c.phone, ...(c.identities || []).map((i) => channelLabel(i.channel))].filter(Boolean).join(" · ") }));
      option.setAttribute("aria-selected", String(picked?.id === c.id));
      option.onclick = () => { picked = c; show(); };
      return option;
    }));
    if (!matches.length) results.append(el("p", { className: "muted", textContent: t("mergeNone") }));
    confirm.textContent = picked ? t("mergeConfirm", { other: nameOf(picked), name: nameOf(contact) }) : t("mergePick");
    submit.disabled = !picked;
  };
  search.addEventListener("input", () => { lookUp().catch(() => {}); });
  const form = dialog("merge-dialog", t("mergeTitle"), [search, results, confirm], t("mergeSubmit"), async () => {
    if (!picked) throw new Error(t("mergePick"));
    const source = picked;
    try {
      /** @type {Contact} */
      const kept = await api(`/api/v1/contacts/${encodeURIComponent(contact.id)}/merge`, { method: "POST", body: { contact_id: source.id } });
      state.contacts.set(kept.id, kept);
      merged = { contactId: kept.id, text: t("mergedNow", { other: nameOf(source) }) };
    } catch (err) {
      throw explained(err, "mergeErr_");
    }
    renderSide();
    ui.list();
  }, "merge-submit");
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("[data-testid=merge-submit]"));
  show();
}

/** The last merge done here, said once in the panel of the contact it went into. */
/** @type {{contactId: string, text: string} | null} */
let merged = null;

function mergeBlock(/** @type {Contact} */ contact) {
  const log = contact.merged_from || [];
  const just = merged?.contactId === contact.id ? merged.text : "";
  if (!log.length && !just) return null;
  return el("section", { testid: "contact-merged" },
    el("h4", { textContent: t("mergedTitle") }),
    just ? el("p", { className: "ok", role: "status", testid: "contact-merge-done", textContent: just }) : null,
    el("ul", { className: "merged-from" }, ...log.map((m) => el("li", { testid: "contact-merged-from", dataset: { contactId: m.contact_id },
      textContent: t("mergedFrom", { name: m.name || m.contact_id.slice(0, 6), date: longTime(m.at) }) }))));
}

/** The agent writes first to a web visitor: a web chat assigned to them; the visitor's widget shows it. */
export function openWriteWeb(/** @type {Contact} */ contact) {
  const text = el("textarea", { testid: "write-web-text", required: true, rows: 4, placeholder: t("writeWebText") });
  text.setAttribute("aria-label", t("writeWebText"));
  const clientId = crypto.randomUUID();
  dialog("write-web-dialog", t("writeWebTitle"), [text], t("send"), async () => {
    /** @type {string} */
    let opened;
    try {
      /** @type {{conversation: Conversation, message: Message}} */
      const started = await api("/api/v1/conversations", { method: "POST", body: {
        contact_id: contact.id, text: text.value.trim(), client_id: clientId,
      } });
      addMessage(entry(started.conversation), started.message);
      opened = started.conversation.id;
    } catch (err) {
      const open = err instanceof ApiError && err.code === "conversation_open" ? err.details.conversation_id : null;
      if (typeof open !== "string") throw explained(err, "writeWebErr_");
      opened = open;
    }
    state.tab = "mine";
    await ui.select(opened);
  }, "write-web-send");
}

function actionsBlock(/** @type {Contact} */ contact) {
  const write = el("button", { type: "button", textContent: t("newEmail"), testid: "contact-new-email" });
  write.onclick = () => openNewEmail(contact).catch(() => {});
  const merge = el("button", { type: "button", textContent: t("merge"), testid: "contact-merge" });
  merge.onclick = () => openMerge(contact).catch(() => {});
  const web = (contact.identities || []).some((i) => i.channel === "webim")
    ? el("button", { type: "button", textContent: t("writeWeb"), testid: "contact-write-web" }) : null;
  if (web) web.onclick = () => openWriteWeb(contact);
  return el("div", { className: "contact-actions" }, write, web || "", merge);
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
    actionsBlock(contact), blockBlock(contact) || "", mergeBlock(contact) || "", tagsBlock(contact),
    details(e.conversation, contact), editForm(contact));
  for (const [id, value] of drafts) {
    const f = side.querySelector(`[data-testid="${id}"]`);
    if (f instanceof HTMLInputElement || f instanceof HTMLTextAreaElement) f.value = value;
  }
  if (sameContact && focusedId) /** @type {HTMLElement | null} */ (side.querySelector(`[data-testid="${focusedId}"]`))?.focus();
}
