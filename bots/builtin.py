"""The built-in knowledge-base bot: offline, Chinese and English (bots/matching.py).

At or above the tenant's threshold it answers with the best article, in the visitor's
language when the article has one; between suggest_threshold and threshold it asks "did you
mean" with the best questions as buttons; below, it says it did not understand (a miss)."""

from __future__ import annotations

from bots.base import Bot, BotContext, BotMessage, BotTurn
from bots.knowledge import KnowledgeBase, answer_in, language_of

SUGGESTIONS = 3
TEXTS = {
    "did_you_mean": {"en": "Did you mean:", "zh": "您是不是想问："},
    "not_understood": {
        "en": "Sorry, I did not understand. Could you say it another way?",
        "zh": "抱歉，我没有理解您的问题，能换个说法吗？",
    },
}


class KnowledgeBaseBot(Bot):
    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    async def welcome(self, context: BotContext) -> list[BotMessage]:
        language = language_of(context.text)
        text = context.settings.welcome.get(language, "")  # type: ignore[call-overload]
        return [BotMessage(text)] if text else []

    async def reply(self, context: BotContext) -> BotTurn:
        language = language_of(context.text)
        hits = await self.knowledge.search(context.conversation.tenant, context.text, SUGGESTIONS)
        settings = context.settings
        if hits and hits[0].score >= settings.threshold:
            best = hits[0]
            return BotTurn(
                [BotMessage(answer_in(best.article, language))], matched=best.article["id"]
            )
        near = [hit for hit in hits if hit.score >= settings.suggest_threshold]
        if near:
            return BotTurn(
                [
                    BotMessage(
                        TEXTS["did_you_mean"][language],
                        buttons=[_question_in(hit.article, hit.question, language) for hit in near],
                    )
                ],
                understood=False,
            )
        return BotTurn([BotMessage(TEXTS["not_understood"][language])], understood=False)


def _question_in(article: dict[str, object], matched: str, language: str) -> str:
    """The question to offer: the one that matched, or the article's question in the
    visitor's language (its main question or one of its similar ones)."""
    from bots.matching import is_chinese

    if is_chinese(matched) == (language == "zh"):
        return matched
    candidates = [str(article["question"]), *[str(s) for s in article.get("similar", [])]]  # type: ignore[attr-defined]
    for candidate in candidates:
        if is_chinese(candidate) == (language == "zh"):
            return candidate
    return matched
