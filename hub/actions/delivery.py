"""Outbound: a stored message on its way to the customer's channel, and what became of it.

Web chat hands a message to the visitor's sockets at once. Every other channel's replies go
through the outbox: the message is stored with its delivery `pending` and due now, in the
same write that stores it (so an acknowledged reply is never forgotten, whatever happens
next), and hub/outbox.py sends it, retries it and records the outcome here."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from hub.actions.access import check_staff_conversation
from hub.channels import Connector
from hub.context import Hub
from hub.domain import (
    Agent,
    Conversation,
    Delivery,
    DeliveryStatus,
    Message,
    MessageType,
    utcnow,
)
from hub.errors import Conflict, Invalid, NotFound
from hub.events import MessageDeliveryChanged

PENDING, SENT, FAILED = (
    DeliveryStatus.PENDING.value,
    DeliveryStatus.SENT.value,
    DeliveryStatus.FAILED.value,
)


def connector_for(hub: Hub, conversation: Conversation) -> Connector:
    connector = hub.connectors.for_conversation(conversation)
    if connector is None:
        raise Conflict(
            f"the {conversation.channel} channel of this conversation is not running",
            code="channel_unavailable",
        )
    return connector


def initial_delivery(connector: Connector, now: datetime) -> Delivery:
    """How a new outbound message starts: in the outbox, due now; or sent (web chat)."""
    if connector.capabilities.outbox:
        return Delivery(PENDING, updated_at=now, due_at=now)
    return Delivery(SENT, updated_at=now)


async def deliver(hub: Hub, conversation: Conversation, message: Message) -> None:
    """Hand a stored outbound message to a channel that sends at once (web chat). Messages
    for outbox channels were stored pending: the outbox takes them from the store. Private
    notes never leave the hub."""
    if message.type == MessageType.NOTE.value:
        return
    if message.delivery is not None and message.delivery.waiting:
        return
    await connector_for(hub, conversation).send(conversation, message)


def retry_delay(hub: Hub, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, capped, with
    jitter so that replies that failed together (a mail server down) spread out."""
    settings = hub.settings
    delay = min(settings.outbox_retry_max_seconds, settings.outbox_retry_min_seconds * 2**attempts)
    return delay * random.uniform(0.8, 1.2)


async def record_delivery(
    hub: Hub,
    conversation: Conversation,
    message: Message,
    delivery: Delivery,
    *,
    expect: Delivery | None = None,
) -> bool:
    """Store a new delivery state for a message and tell the staff. With `expect`, only if
    the stored one is still that (the outbox's attempt; a platform's late report). True if
    written."""
    updated = replace(message, delivery=delivery)
    if not await hub.store.update_message(updated, ["delivery"], expect_delivery=expect):
        return False
    message.delivery = delivery
    await hub.bus.publish(
        MessageDeliveryChanged(conversation.ref(), conversation.agent_id, message.id, delivery)
    )
    return True


async def record_platform_status(
    hub: Hub,
    conversation: Conversation,
    message: Message,
    status: str,
    error: dict[str, str] | None = None,
) -> bool:
    """A platform's report on a sent message (an SMS delivery report, a bounced email):
    delivered, read, or failed with its reason. A report never takes a message back to an
    earlier state (delivered does not become sent again)."""
    order = [PENDING, SENT, DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value]
    current = message.delivery
    if current is None:
        return False
    if status != FAILED and status in order and current.status in order:
        if order.index(status) <= order.index(current.status):
            return False
    delivery = replace(current, status=status, error=error, updated_at=utcnow(), due_at=None)
    return await record_delivery(hub, conversation, message, delivery, expect=current)


async def do_retry_delivery(
    hub: Hub, actor: Agent, conversation_id: object, message_id: object
) -> Message:
    """An agent sends a failed message again (the reason was fixed, or they checked it did
    not arrive): it goes back into the outbox, due now, with its attempts counted afresh."""
    conversation = await check_staff_conversation(hub, actor, conversation_id, must_hold=True)
    if not isinstance(message_id, str) or not message_id:
        raise Invalid("message_id must be a string", code="invalid_message_id")
    message = await hub.store.get_message(conversation.tenant, conversation.id, message_id)
    if message is None:
        raise NotFound("no such message", code="message_not_found")
    current = message.delivery
    if current is None or current.status != FAILED:
        raise Conflict("only a failed message can be sent again", code="not_failed")
    connector = connector_for(hub, conversation)
    if not connector.capabilities.outbox:
        raise Conflict("this channel sends at once; nothing to retry", code="not_failed")
    now = utcnow()
    retried = Delivery(PENDING, updated_at=now, due_at=now)
    if not await record_delivery(hub, conversation, message, retried, expect=current):
        raise Conflict("the message changed meanwhile; try again", code="conflict")
    return message


def next_attempt(hub: Hub, attempt: Delivery, error: dict[str, str], now: datetime) -> Delivery:
    """After a failed attempt: due again after the back-off, or failed once the attempts are
    used up. The error is kept either way, so the agent sees why it is still pending."""
    attempts = attempt.attempts + 1
    if attempts >= hub.settings.outbox_max_attempts:
        return Delivery(FAILED, updated_at=now, error=error, attempts=attempts)
    due = now + timedelta(seconds=retry_delay(hub, attempts - 1))
    return Delivery(PENDING, updated_at=now, error=error, attempts=attempts, due_at=due)
