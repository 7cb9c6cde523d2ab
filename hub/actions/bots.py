"""What a bot does to conversations: hold a new one (status `bot`), answer in it (durable
messages with sender type `bot`, delivered through the conversation's channel like an
agent's), hand it to the agents (routed like a new conversation), or close it.

The bots package (bots/) decides when; these actions make each step durable (compare-and-set
on the status, so a bot and an agent acting at once never both win) and then announce it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.actions.delivery import connector_for, deliver, initial_delivery
from hub.actions.routing import do_route, is_live, post_system_message
from hub.channels import Notification
from hub.context import Hub
from hub.domain import (
    Conversation,
    ConversationStatus,
    Message,
    MessageType,
    Sender,
    SenderType,
    new_id,
    utcnow,
)
from hub.events import (
    ConversationClosed,
    ConversationUpdated,
    MessageCreated,
)

BOT = ConversationStatus.BOT.value
QUEUED = ConversationStatus.QUEUED.value
CLOSED = ConversationStatus.CLOSED.value
BOT_NAME = "bot"


async def do_hold_for_bot(hub: Hub, conversation: Conversation) -> Conversation | None:
    """A new, unrouted conversation becomes the bot's. None if it was no longer waiting."""
    held = replace(conversation, status=BOT, meta={**conversation.meta, "bot": {"held": True}})
    written = await hub.store.update_conversation(
        held, ["status", "meta"], expect={"status": conversation.status, "agent_id": None}
    )
    if not written:
        return None
    await hub.bus.publish(ConversationUpdated(held))
    connector = hub.connectors.for_conversation(held)
    if connector is not None:
        await connector.notify(held.ref(), Notification("status", {"status": BOT}))
    return held


async def do_send_bot_message(
    hub: Hub,
    conversation: Conversation,
    text: str,
    *,
    buttons: list[str] | None = None,
    image: dict[str, Any] | None = None,
    image_url: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """A bot's answer. Buttons go as `meta.buttons` where the channel shows them, and as
    numbered lines of text elsewhere (the customer answers with the number). `image` is an
    attachment stored on this hub (do_save_inbound_attachment); a channel that cannot send
    files, or an image that could not be kept, gets `image_url` in the text instead."""
    connector = connector_for(hub, conversation)
    options = [b for b in (buttons or []) if b]
    body = text
    extra: dict[str, Any] = dict(meta or {})
    if options:
        extra["buttons"] = options
        if not connector.capabilities.buttons:
            numbered = "\n".join(f"{n}. {option}" for n, option in enumerate(options, 1))
            body = f"{text}\n{numbered}" if text else numbered
    limit = connector.capabilities.max_text
    if limit is not None and len(body) > limit:
        body = body[: limit - 1] + "…"
    attachments = [image] if image is not None and image.get("url") else []
    if image_url and not attachments:
        body = f"{body}\n{image_url}" if body else image_url
    now = utcnow()
    message_id = new_id()
    message = Message(
        id=message_id,
        tenant=conversation.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.BOT.value, name=BOT_NAME),
        type=MessageType.IMAGE.value if attachments else MessageType.TEXT.value,
        text=body,
        attachments=attachments,
        platform_message_id=connector.outbound_platform_id(conversation, message_id),
        created_at=now,
        meta={**connector.outbound_meta(conversation, {}), "bot": extra},
        delivery=initial_delivery(connector, now),
    )
    stored = (await hub.store.append_message(message)).message
    await hub.bus.publish(
        MessageCreated(conversation.ref(), conversation.status, None, stored, stored.public(), None)
    )
    await deliver(hub, conversation, stored)
    return stored


async def do_hand_off(
    hub: Hub,
    conversation: Conversation,
    trigger: str,
    *,
    skill: str | None = None,
    close_reason: str | None = None,
) -> Conversation | None:
    """The bot lets go: the conversation is routed like a new one (keeping its arrival), or,
    with `close_reason` (after hours, a bot-only channel) and a customer at a screen, closed
    with the leave-a-message offer. None if the bot no longer held it."""
    bot_meta = {**conversation.meta.get("bot", {}), "handoff": trigger}
    if close_reason is not None and is_live(hub, conversation):
        closed = replace(
            conversation,
            status=CLOSED,
            closed_at=utcnow(),
            close_reason=close_reason,
            meta={**conversation.meta, "bot": bot_meta},
        )
        if not await hub.store.update_conversation(
            closed, ["status", "closed_at", "close_reason", "meta"], expect={"status": BOT}
        ):
            return None
        await post_system_message(hub, closed, close_reason)
        await hub.bus.publish(ConversationClosed(closed, reason=close_reason, leave_message=True))
        return closed
    queued = replace(
        conversation,
        status=QUEUED,
        queued_at=utcnow(),
        skill=skill if skill is not None else conversation.skill,
        meta={**conversation.meta, "bot": bot_meta},
    )
    if not await hub.store.update_conversation(
        queued, ["status", "queued_at", "skill", "meta"], expect={"status": BOT}
    ):
        return None
    await hub.bus.publish(ConversationUpdated(queued))
    await do_route(hub, queued)
    return queued


async def do_bot_close(hub: Hub, conversation: Conversation, reason: str) -> bool:
    """The bot ends a conversation it holds (the customer went quiet after their answers)."""
    closed = replace(conversation, status=CLOSED, closed_at=utcnow(), close_reason=reason)
    if not await hub.store.update_conversation(
        closed, ["status", "closed_at", "close_reason"], expect={"status": BOT}
    ):
        return False
    await hub.bus.publish(ConversationClosed(closed, reason=reason))
    return True
