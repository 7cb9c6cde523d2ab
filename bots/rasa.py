"""The Rasa bridge: Rasa's REST channel (POST <rasa_url>/webhooks/rest/webhook).

Request, as Rasa documents it: {"sender": id, "message": text, "metadata": {...}}; the hub's
sender id is the conversation's id (stable for its whole life, so Rasa keeps one tracker per
conversation), and metadata carries the tenant, channel, conversation and contact.
Answer: a list of {"recipient_id", "text"?, "image"?, "buttons"?: [{"title", "payload"}],
"custom"?: {...}}. A custom payload {"handoff": true, "skill"?: name} asks for a human,
{"miss": true} counts a miss; an empty list counts as a miss too (nothing to say). A timeout,
a refused connection or an answer that is not that list hands the conversation to a human
rather than leaving the customer waiting."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bots.base import Bot, BotContext, BotMessage, BotTurn

log = logging.getLogger(__name__)
WEBHOOK = "/webhooks/rest/webhook"


class RasaBot(Bot):
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def reply(self, context: BotContext) -> BotTurn:
        settings = context.settings
        assert settings.rasa_url is not None
        conversation = context.conversation
        url = str(settings.rasa_url).rstrip("/") + WEBHOOK
        body = {
            "sender": conversation.id,
            "message": context.text,
            "metadata": {
                "tenant": conversation.tenant,
                "conversation_id": conversation.id,
                "channel": conversation.channel,
                "contact": _contact(context),
            },
        }
        try:
            async with self.session.post(
                url,
                json=body,
                timeout=aiohttp.ClientTimeout(total=settings.rasa_timeout_seconds),
            ) as response:
                if response.status != 200:
                    log.warning("Rasa answered %s at %s", response.status, url)
                    return BotTurn(handoff="error", understood=False)
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.warning("Rasa at %s failed: %r", url, exc)
            return BotTurn(handoff="error", understood=False)
        if not isinstance(answer, list):
            log.warning("Rasa at %s answered something other than a list", url)
            return BotTurn(handoff="error", understood=False)
        return _turn(answer)


def _contact(context: BotContext) -> dict[str, Any]:
    contact = context.contact
    if contact is None:
        return {"id": context.conversation.contact_id}
    return {"id": contact.id, "name": contact.name, "email": contact.email, "phone": contact.phone}


def _turn(answer: list[Any]) -> BotTurn:
    messages: list[BotMessage] = []
    handoff: str | None = None
    skill: str | None = None
    missed = not answer
    for item in answer:
        if not isinstance(item, dict):
            continue
        custom = item.get("custom")
        if isinstance(custom, dict):
            if custom.get("handoff"):
                handoff = "bot"
                skill = custom.get("skill") if isinstance(custom.get("skill"), str) else None
            if custom.get("miss"):
                missed = True
        buttons = [b for b in item.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        image = item.get("image") if isinstance(item.get("image"), str) else None
        if text or image or buttons:
            messages.append(
                BotMessage(
                    text=text,
                    image_url=image
                    if image and image.startswith(("https://", "http://"))
                    else None,
                    buttons=[str(b["title"]) for b in buttons],
                    payloads=[str(b.get("payload") or b["title"]) for b in buttons],
                )
            )
    return BotTurn(messages, understood=not missed, handoff=handoff, skill=skill)
