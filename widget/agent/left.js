// @ts-check
// Left messages (留言): what visitors left when nobody could answer. An agent takes one (the
// others see it taken), notes the call-back, answers by email, marks it handled.
import { t } from "../i18n.js";
import { $, el, api } from "../shared.js";
import { explained } from "../refusals.js";
import { shortTime, state, ui, dialog, entry, addMessage } from "./core.js";

/** @import { ChannelAccountName, Conversation, Message } from "../types.js" */
/**
 * @typedef {{id: string, contact_id: string, conversation_id?: string | null, name?: string, phone?: string,
 *   email?: string, text: string, handled: boolean, created_at: string, agent_id?: string | null,
 *   agent_name?: string, taken_at?: string | null, note?: string, reply_conversation_ids?: string[]}} LeftMessage
 */

/** @type {LeftMessage[]} */
let items = [];
/** The cursor of the next page (the hub lists 100 at a time), null at the end. */
/** @type {string | null} */
let next = null;

export async function refreshLeftMessages() {
  try { ({ items, next } = await api("/api/v1/left-messages")); } catch { return; }
  renderLeft();
}

async function loadMore() {
  if (!next) return;
  /** @type {{items: LeftMessage[], next: string | null}} */
  let page;
  try { page = await api(`/api/v1/left-messages?cursor=${encodeURIComponent(next)}`); } catch { return; }
  const known = new Set(items.map((m) => m.id));
  items = [...items, ...page.items.filter((m) => !known.has(m.id))];
  next = page.next;
  renderLeft();
}

/** A change from the hub (`left_message.updated`): a new one, or one taken, noted, handled. */
export function leftMessageUpdated(/** @type {{id: string, handled: boolean, left_message?: LeftMessage | null}} */ { id, handled, left_message }) {
  const index = items.findIndex((m) => m.id === id);
  if (left_message) {
    if (index >= 0) items[index] = left_message;
    else items.unshift(left_message);
  } else if (index >= 0) items[index].handled = handled;
  else { refreshLeftMessages(); return; }
  renderLeft();
}

/** @param {string} path @param {string} method @param {unknown} [body] */
async function change(path, method, body) {
  /** @type {LeftMessage} */
  const updated = await api(path, { method, body });
  leftMessageUpdated({ id: updated.id, handled: updated.handled, left_message: updated });
}

function openReply(/** @type {LeftMessage} */ m) {
  api("/api/v1/channel-accounts").then((/** @type {{items: ChannelAccountName[]}} */ body) => {
    const accounts = body.items.filter((a) => a.type === "email");
    const account = el("select", { testid: "left-reply-from" }, ...accounts.map((a) => el("option", { value: a.id, textContent: a.name })));
    account.setAttribute("aria-label", t("newEmailFrom"));
    const subject = el("input", { testid: "left-reply-subject", placeholder: t("em_subject") });
    subject.setAttribute("aria-label", t("em_subject"));
    const text = el("textarea", { testid: "left-reply-text", required: true, rows: 6, placeholder: t("newEmailText") });
    text.setAttribute("aria-label", t("newEmailText"));
    const clientId = crypto.randomUUID();
    const fields = accounts.length
      ? [el("p", { className: "muted", textContent: `${t("newEmailTo")}: ${m.email}` }), account, subject, text]
      : [el("p", { className: "muted", testid: "new-email-none", textContent: t("newEmailNoAccount") })];
    dialog("left-reply-dialog", t("leftReplyTitle"), fields, t("send"), async () => {
      if (!accounts.length) return;
      /** @type {{left_message: LeftMessage, conversation: Conversation, message: Message}} */
      let started;
      try {
        started = await api(`/api/v1/left-messages/${encodeURIComponent(m.id)}/reply`, { method: "POST", body: {
          channel_id: account.value, subject: subject.value.trim(), text: text.value.trim(), client_id: clientId,
        } });
      } catch (err) {
        throw explained(err, "leftReplyErr_");
      }
      leftMessageUpdated({ id: m.id, handled: started.left_message.handled, left_message: started.left_message });
      addMessage(entry(started.conversation), started.message);
      state.tab = "mine";
      await ui.select(started.conversation.id);
    }, "left-reply-send");
  }).catch(() => {});
}

function leftItem(/** @type {LeftMessage} */ m) {
  const path = `/api/v1/left-messages/${encodeURIComponent(m.id)}`;
  const mine = m.agent_id === state.me?.id;
  const supervisor = (state.me?.roles || []).some((r) => r === "supervisor" || r === "admin");
  const mayAct = !m.agent_id || mine || supervisor;
  /** @type {(text: string, testid: string, onclick: () => Promise<void>) => HTMLButtonElement} */
  const action = (text, testid, onclick) => {
    const b = el("button", { type: "button", className: "link", testid, textContent: text });
    b.onclick = async () => { b.disabled = true; try { await onclick(); } catch { /* the list stays as it was */ } finally { b.disabled = false; } };
    return b;
  };
  const controls = [];
  if (!m.agent_id || (!mine && supervisor)) controls.push(action(t("leftTake"), "left-message-take", () => change(`${path}/take`, "POST")));
  if (mayAct) {
    controls.push(action(m.handled ? t("markUnhandled") : t("markHandled"), "left-message-handle", () => change(path, "PATCH", { handled: !m.handled })));
    if (m.email) {
      const reply = el("button", { type: "button", className: "link", testid: "left-message-reply", textContent: t("leftReply") });
      reply.onclick = () => openReply(m);
      controls.push(reply);
    }
  }
  const taken = m.agent_id
    ? el("span", { className: "taken", testid: "left-message-taken", dataset: { agentId: m.agent_id },
      textContent: mine ? t("leftTakenByMe") : t("leftTakenBy", { name: m.agent_name || "" }) })
    : null;
  const note = el("textarea", { className: "left-note", testid: "left-message-note", rows: 2, placeholder: t("leftNote"), value: m.note || "" });
  note.setAttribute("aria-label", t("leftNote"));
  note.readOnly = !mayAct;
  const saveNote = action(t("leftNoteSave"), "left-message-note-save", () => change(path, "PATCH", { note: note.value }));
  /** @type {HTMLElement[]} */
  const links = [];
  for (const id of [m.conversation_id, ...(m.reply_conversation_ids || [])]) {
    if (!id) continue;
    const open = el("button", { type: "button", className: "link", testid: "left-message-open", dataset: { conversationId: id }, textContent: t("leftOpenConv") });
    open.onclick = () => ui.select(id);
    links.push(open);
  }
  return el("div", { className: "item left" + (m.handled ? " handled" : ""), testid: "left-message",
    dataset: { handled: String(m.handled), id: m.id, taken: String(Boolean(m.agent_id)), noted: String(Boolean(m.note)) } },
  el("span", { className: "row" },
    el("span", { className: "who", textContent: m.name || m.phone || m.email }),
    el("span", { className: "time", textContent: shortTime(m.created_at) })),
  el("span", { className: "contact", textContent: [m.phone, m.email].filter(Boolean).join(" · ") }),
  el("span", { className: "preview full", textContent: m.text }),
  taken || "",
  (m.note || mayAct) ? note : "", mayAct ? saveNote : "",
  el("span", { className: "row" }, m.handled ? el("span", { className: "status st-closed", textContent: t("handled") }) : el("span"),
    el("span", { className: "left-actions" }, ...links, ...controls)));
}

function renderLeft() {
  // Open ones first (newest first within each group, as the hub lists them).
  const sorted = [...items.filter((m) => !m.handled), ...items.filter((m) => m.handled)];
  $("leftCount").textContent = String(items.filter((m) => !m.handled).length || "");
  // A note being typed survives a redraw caused by someone else's change.
  const drafts = new Map([...$("left").querySelectorAll("[data-testid=left-message]")].map((node) => {
    const field = /** @type {HTMLTextAreaElement | null} */ (node.querySelector(".left-note"));
    return [/** @type {HTMLElement} */ (node).dataset.id, field && document.activeElement === field ? field.value : null];
  }));
  const more = next ? el("button", { type: "button", className: "link more", testid: "left-more", textContent: t("loadMore") }) : null;
  if (more) more.onclick = () => { more.disabled = true; loadMore(); };
  $("left").replaceChildren(...sorted.map((m) => {
    const node = leftItem(m);
    const draft = drafts.get(m.id);
    const field = /** @type {HTMLTextAreaElement | null} */ (node.querySelector(".left-note"));
    if (typeof draft === "string" && field) field.value = draft;
    return node;
  }), ...(more ? [more] : []));
}
