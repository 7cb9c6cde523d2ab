// @ts-check
// Channels as the inbox shows them: a badge for every channel type, and each channel's own
// view of its messages where it has one (email: subject, addresses, quoted history, HTML).
import { addStrings, t } from "../i18n.js";
import { el } from "../shared.js";
import { attachmentNodes, registerChannel, textNode } from "../render.js";

/** @import { Message, Address } from "../types.js" */

// Constant markup only (no user data): small line icons for the channel badges.
/** @type {Record<string, string>} */
const ICONS = {
  webim: '<path d="M4 5h16v11H9l-5 4z"/>',
  wechat: '<path d="M9 4a6 5 0 0 0-3.5 9L5 16l3-1.5A6 5 0 1 0 9 4z"/><path d="M15 10a5 4 0 1 1-1 8l-2.5 1 .5-2.3A5 4 0 0 1 15 10z"/>',
  weibo: '<circle cx="10" cy="14" r="6"/><path d="M15 4a5 5 0 0 1 5 5M15 7a2 2 0 0 1 2 2"/>',
  email: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
  sms: '<rect x="6" y="2" width="12" height="20" rx="2"/><path d="M10 18h4"/>',
  voice: '<path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z"/>',
};
export const CHANNEL_TYPES = Object.keys(ICONS);

export function channelLabel(/** @type {string} */ channel) {
  return CHANNEL_TYPES.includes(channel) ? t(`ch_${channel}`) : channel;
}

export function channelBadge(/** @type {string} */ channel) {
  const known = CHANNEL_TYPES.includes(channel);
  const badge = el("span", { className: `badge ch-${known ? channel : "other"}`, testid: "channel-badge", dataset: { channel } });
  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.innerHTML = ICONS[known ? channel : "webim"]; // constant markup, no user data
  badge.append(icon, el("span", { textContent: channelLabel(channel) }));
  return badge;
}

/** "Name <address>" for each address, whatever shape the connector gave. */
export function addressText(/** @type {Address | Address[] | undefined} */ value) {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.map((a) => {
    if (typeof a === "string") return a;
    const address = a.address || a.email || "";
    return a.name && address ? `${a.name} <${address}>` : a.name || address;
  }).filter(Boolean).join(", ");
}

// Sanitised by the hub, and still never run: no scripts, no plugins, no forms, no requests
// beyond this hub's own files; links open outside. Same origin only so the frame can be sized.
const HTML_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; font-src data:";

function htmlBody(/** @type {string} */ html) {
  const frame = el("iframe", { className: "email-html", testid: "email-html", title: t("em_body") });
  frame.setAttribute("sandbox", "allow-same-origin allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.srcdoc = `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${HTML_POLICY}">` +
    `<base target="_blank"><style>body{margin:0;font:14px/1.5 system-ui,sans-serif;color:#1f2937;word-break:break-word}img{max-width:100%}</style>${html}`;
  frame.addEventListener("load", () => {
    const doc = frame.contentDocument;
    if (doc) frame.style.height = `${Math.min(doc.documentElement.scrollHeight + 4, 1200)}px`;
  });
  return frame;
}

/** @param {Message} m */
function emailBody(m) {
  const meta = m.meta || {};
  const rows = /** @type {const} */ ([["from", meta.from], ["to", meta.to], ["cc", meta.cc]])
    .map(([key, value]) => [key, addressText(value)])
    .filter(([, text]) => text);
  const head = el("div", { className: "email-head" },
    el("div", { className: "email-subject", testid: "email-subject", textContent: meta.subject || t("em_noSubject") }),
    el("dl", { className: "email-addresses" }, ...rows.flatMap(([key, text]) => [
      el("dt", { textContent: t(`em_${key}`) }),
      el("dd", { testid: `email-${key}`, textContent: text }),
    ])));
  const body = typeof meta.html === "string" && meta.html ? htmlBody(meta.html) : textNode(m.text || "");
  /** @type {Node[]} */
  const nodes = [head, body];
  if (typeof meta.quoted === "string" && meta.quoted.trim()) {
    nodes.push(el("details", { className: "email-quoted", testid: "email-quoted" },
      el("summary", { textContent: t("em_quoted") }),
      el("div", { className: "quoted-text", textContent: meta.quoted })));
  }
  return [el("div", { className: "email", testid: "email-message" }, ...nodes, ...attachmentNodes(m.attachments))];
}

registerChannel("email", {
  body: emailBody,
  preview: (m) => (typeof m.meta?.subject === "string" && m.meta.subject) || null,
});

addStrings({
  en: {
    em_from: "From", em_to: "To", em_cc: "Cc", em_noSubject: "(no subject)", em_quoted: "Show quoted text",
    em_body: "Email body", em_subject: "Subject", em_subjectAuto: "Re: the thread's subject",
    em_ccPlaceholder: "a@example.com, b@example.com",
  },
  zh: {
    em_from: "发件人", em_to: "收件人", em_cc: "抄送", em_noSubject: "（无主题）", em_quoted: "显示引用内容",
    em_body: "邮件正文", em_subject: "主题", em_subjectAuto: "Re: 原邮件主题",
    em_ccPlaceholder: "a@example.com, b@example.com",
  },
});
