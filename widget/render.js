// @ts-check
// What a message shows inside its bubble, chosen from a registry: a renderer per message kind
// (text, image, file, event, note) and, before it, an optional view per channel (email shows
// its headers and quoted history). Pages draw the bubble around it (sender, time, state).
// Everything from a message goes into the page as text; HTML only ever inside a sandbox.
import { addStrings, knownText, t } from "./i18n.js";
import { el, hubFileUrl } from "./shared.js";

/** @import { Message, Attachment } from "./types.js" */

/**
 * @typedef {{channel: string, viewer: "agent" | "visitor"}} RenderContext
 * @typedef {(m: Message, ctx: RenderContext) => Node[]} KindRenderer
 * @typedef {{
 *   body?: (m: Message, ctx: RenderContext) => Node[] | null,
 *   preview?: (m: Message) => string | null,
 * }} ChannelView
 *   `body` and `preview` answer null to leave a message to its kind's renderer.
 */

/** @type {Map<string, KindRenderer>} */
const kinds = new Map();
/** @type {Map<string, ChannelView>} */
const channels = new Map();

export function registerKind(/** @type {string} */ kind, /** @type {KindRenderer} */ renderer) {
  kinds.set(kind, renderer);
}

export function registerChannel(/** @type {string} */ channel, /** @type {ChannelView} */ view) {
  channels.set(channel, view);
}

/** The renderer a message goes to: notes and events by their nature, then its type. */
export function kindOf(/** @type {Message} */ m) {
  if (m.type === "note") return "note";
  if (m.type === "event" || m.sender.type === "system") return "event";
  return kinds.has(m.type) ? m.type : "text";
}

/** The nodes inside a message's bubble. */
export function renderBody(/** @type {Message} */ m, /** @type {RenderContext} */ ctx) {
  const own = kindOf(m) === "note" || kindOf(m) === "event" ? null : channels.get(ctx.channel)?.body?.(m, ctx);
  return own ?? /** @type {KindRenderer} */ (kinds.get(kindOf(m)))(m, ctx);
}

/** One line for lists and notifications. */
export function previewText(/** @type {Message} */ m, /** @type {string} */ channel) {
  const own = channels.get(channel)?.preview?.(m);
  if (own) return own;
  if (m.sender.type === "system") return systemText(m);
  if (m.text) return m.text;
  const names = (m.attachments || []).map((a) => a.name).filter(Boolean).join(", ");
  return names || (m.attachments?.length ? t("r_attachment") : "");
}

export function sizeText(/** @type {number | undefined} */ bytes) {
  if (!bytes || !(bytes > 0)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Message text, exactly as sent (never markup). */
export function textNode(/** @type {string} */ text) {
  return el("span", { className: "text", textContent: text });
}

export function imageNode(/** @type {Attachment} */ a, /** @type {string} */ url) {
  const img = el("img", { className: "thumb", src: url, alt: a.name || "", loading: "lazy", testid: "message-image" });
  const link = el("a", { href: url, target: "_blank", rel: "noopener" }, img);
  // A plain click opens the viewer in the page; a middle or modified click still opens a tab.
  link.addEventListener("click", (ev) => {
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    openImage(url, a.name || "");
  });
  return link;
}

/** @type {HTMLDialogElement | null} */
let viewer = null;

/** The picture full size over the page (Esc, the close button or a click outside it closes). */
export function openImage(/** @type {string} */ url, /** @type {string} */ name) {
  if (!viewer) {
    viewer = /** @type {HTMLDialogElement} */ (el("dialog", { className: "image-viewer", testid: "image-viewer" }));
    viewer.addEventListener("click", (ev) => { if (ev.target === viewer) viewer?.close(); });
    document.body.appendChild(viewer);
  }
  const dialog = viewer;
  const close = el("button", { type: "button", className: "viewer-close", textContent: "✕", testid: "image-viewer-close" });
  close.setAttribute("aria-label", t("r_close"));
  close.onclick = () => dialog.close();
  const original = el("a", { href: url, target: "_blank", rel: "noopener", className: "viewer-original",
    textContent: t("r_original"), testid: "image-viewer-original" });
  const img = el("img", { src: url, alt: name, testid: "image-viewer-image" });
  dialog.replaceChildren(img, el("div", { className: "viewer-bar" },
    el("span", { className: "viewer-name", textContent: name }), original, close));
  dialog.showModal();
}

export function fileNode(/** @type {Attachment} */ a, /** @type {string} */ url) {
  const size = sizeText(a.size);
  return el("a", { className: "file", href: url, download: a.name || "", testid: "message-file" },
    el("span", { className: "file-name", textContent: `📄 ${a.name || t("r_file")}` }),
    size ? el("span", { className: "file-size", textContent: size }) : null);
}

/** Images as thumbnails (opened full size in the viewer), other files as download links. */
export function attachmentNodes(/** @type {Attachment[] | undefined} */ attachments) {
  /** @type {Node[]} */
  const nodes = [];
  for (const a of attachments || []) {
    if (a.kept === false) {
      // A file a channel brought in that the hub could not keep (quota, disk): say so.
      nodes.push(el("span", { className: "file file-not-kept", testid: "message-file-not-kept",
        textContent: `📄 ${a.name || t("r_file")} · ${t("r_not_kept")}` }));
      continue;
    }
    const url = hubFileUrl(a.url);
    if (url) nodes.push(a.type === "image" ? imageNode(a, url) : fileNode(a, url));
  }
  return nodes;
}

const withText = (/** @type {Message} */ m) => (m.text ? [textNode(m.text)] : []);

registerKind("text", (m) => [textNode(m.text || ""), ...attachmentNodes(m.attachments)]);
// Pictures first, the caption under them.
registerKind("image", (m) => [...attachmentNodes(m.attachments), ...withText(m)]);
registerKind("file", (m) => [...withText(m), ...attachmentNodes(m.attachments)]);
/** A system message in the reader's language when its key is known (meta.system), else as stored. */
function systemText(/** @type {Message} */ m) {
  const known = typeof m.meta?.system === "string" ? knownText(`sys_${m.meta.system}`) : null;
  return known ?? (m.text || "");
}

// System lines (queued, transferred, closed …): text only, styled by the bubble's sender type.
registerKind("event", (m) => [textNode(systemText(m))]);
// Private notes (agents only, never sent to the customer): styled as a note, and labelled.
registerKind("note", (m) => [
  el("span", { className: "note-label", textContent: t("r_note") }),
  textNode(m.text || ""),
  ...attachmentNodes(m.attachments),
]);

addStrings({
  en: {
    r_attachment: "[attachment]", r_file: "file", r_note: "Private note", r_close: "Close",
    r_original: "Open original", r_not_kept: "not kept (no storage room)",
    sys_queue_timeout: "No agent is available right now: please leave a message and we will get back to you.",
    sys_queue_overflow: "All our agents are busy right now: please leave a message and we will get back to you.",
    sys_after_hours: "Our agents are away now (outside working hours): please leave a message and we will get back to you.",
    sys_bot_only: "Only our assistant answers here: please leave a message for our team.",
  },
  zh: {
    r_attachment: "[附件]", r_file: "文件", r_note: "内部备注", r_close: "关闭",
    r_original: "查看原图", r_not_kept: "未保存（存储空间不足）",
    sys_queue_timeout: "暂时没有坐席可以接待，请留言，我们会尽快联系您。",
    sys_queue_overflow: "当前坐席全忙，请留言，我们会尽快联系您。",
    sys_after_hours: "当前为非工作时间，客服已下班，请留言，我们会尽快联系您。",
    sys_bot_only: "此处仅由智能助理服务，如需人工请留言。",
  },
});
