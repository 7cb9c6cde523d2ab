// @ts-check
// Knowledge-base suggestions above the composer: for the latest customer message of the open
// conversation, the best articles' answers (GET /api/v1/kb/suggestions); a click puts one in
// the composer, to edit and send.
import { addStrings, t } from "../i18n.js";
import { el, api } from "../shared.js";

addStrings({
  en: { sg_title: "Suggested answers", sg_use: "Use this answer" },
  zh: { sg_title: "推荐答案", sg_use: "使用此答案" },
});

/** @typedef {{article: {id: string, question: string, answer: string, answers?: Record<string, string>}, score: number}} Suggestion */

/** @type {{conversationId: string, box: HTMLElement, input: HTMLTextAreaElement} | null} */
let shown = null;

/** The (empty) suggestions box of a conversation's composer; filled by refresh. */
export function suggestionsBox(/** @type {string} */ conversationId, /** @type {HTMLTextAreaElement} */ input) {
  const box = el("div", { className: "suggestions", testid: "kb-suggestions", hidden: true });
  shown = { conversationId, box, input };
  refreshSuggestions(conversationId);
  return box;
}

/** Ask again (a customer message arrived in the shown conversation). */
export async function refreshSuggestions(/** @type {string} */ conversationId) {
  const target = shown;
  if (!target || target.conversationId !== conversationId) return;
  /** @type {{items: Suggestion[]}} */
  let found;
  try {
    found = await api(`/api/v1/kb/suggestions?conversation_id=${encodeURIComponent(conversationId)}`);
  } catch {
    return; // suggestions are a help, never in the way
  }
  if (shown !== target) return;
  const { box, input } = target;
  const items = found.items.map(({ article }) => {
    const answer = article.answer;
    const item = el("button", { type: "button", className: "suggestion", testid: "kb-suggestion", title: t("sg_use") },
      el("span", { className: "suggestion-q", textContent: article.question }),
      el("span", { className: "suggestion-a", textContent: answer }));
    item.onclick = () => {
      input.value = answer;
      input.dispatchEvent(new Event("input"));
      input.focus();
    };
    return item;
  });
  box.replaceChildren(el("div", { className: "suggestions-title", textContent: t("sg_title") }), ...items);
  box.hidden = items.length === 0;
}
