"""Routing: offer conversations to the ACD, persist its decisions, announce them, and run the
queue-timeout, queue-overflow and disconnect-grace timers.

The ACD decides atomically in memory (or Redis); this module makes each decision durable
(compare-and-set on the conversation's status, so a close racing an assignment never loses)
and only then publishes it."""

from __future__ import annotations

import logging
from dataclasses import replace

from hub.acd.base import AcdChange, Assignment
from hub.actions.delivery import deliver
from hub.context import Hub
from hub.domain import (
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Message,
    MessageType,
    OverflowRule,
    RoutingSettings,
    Sender,
    SenderType,
    new_id,
    utcnow,
)
from hub.events import (
    ConversationAssigned,
    ConversationClosed,
    ConversationRequeued,
    MessageCreated,
    QueueCountChanged,
    QueuePositionChanged,
)

log = logging.getLogger(__name__)

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
CLOSED = ConversationStatus.CLOSED.value

# System messages are stored by key (meta.system) for each reader to show in their own
# language; the text is the English one, for API clients that do not know the key.
SYSTEM_TEXTS = {
    "queue_timeout": (
        "No agent is available right now: please leave a message and we will get back to you."
    ),
    "queue_overflow": (
        "All our agents are busy right now: please leave a message and we will get back to you."
    ),
    "after_hours": (
        "Our agents are away now (outside working hours): please leave a message and we will"
        " get back to you."
    ),
    "bot_only": "Only our assistant answers here: please leave a message for our team.",
}
ASSIGNED_HISTORY = 50


def queue_timer(conversation_id: str) -> tuple[str, str]:
    return ("queue-timeout", conversation_id)


def overflow_timer(conversation_id: str) -> tuple[str, str]:
    return ("queue-overflow", conversation_id)


def stop_queue_timers(hub: Hub, conversation_id: str) -> None:
    """The conversation left its queue (assigned, closed): its waits end."""
    hub.timers.cancel(queue_timer(conversation_id))
    hub.timers.cancel(overflow_timer(conversation_id))


def grace_timer(tenant: str, agent_id: str) -> tuple[str, str, str]:
    return ("disconnect-grace", tenant, agent_id)


async def routing_settings(hub: Hub, tenant: str) -> RoutingSettings:
    """Read on every routing decision, so kept beside the ACD state (and loaded from the
    store the first time)."""
    settings = await hub.acd.settings(tenant)
    if settings is None:
        stored = await hub.store.get_settings(tenant, "routing")
        settings = RoutingSettings.from_public(stored) if stored else RoutingSettings()
        await hub.acd.configure(tenant, settings)
    return settings


def is_live(hub: Hub, conversation: Conversation) -> bool:
    """Whether the customer waits at a screen (web chat), so that a queue timeout and system
    messages make sense; an email customer is not waiting there."""
    connector = hub.connectors.for_conversation(conversation)
    return connector is not None and connector.capabilities.live


def schedule_overflow(hub: Hub, conversation: Conversation, settings: RoutingSettings) -> None:
    """The wait of the overflow rule of the queue the conversation waits in (after a
    restart)."""
    rule = settings.overflow_of(conversation.skill)
    if rule is not None and can_overflow(hub, conversation, rule):
        _wait_to_overflow(hub, conversation, rule)


def _wait_to_overflow(hub: Hub, conversation: Conversation, rule: OverflowRule) -> None:
    if rule.after_seconds is None:
        return
    tenant, conversation_id, skill = conversation.tenant, conversation.id, conversation.skill
    hub.timers.schedule(
        overflow_timer(conversation_id),
        rule.after_seconds,
        lambda: overflow_waited(hub, tenant, conversation_id, skill),
    )


def can_overflow(hub: Hub, conversation: Conversation, rule: OverflowRule) -> bool:
    # Only a customer at a screen can be asked to leave a message instead (as on timeout).
    return not rule.leave_message or is_live(hub, conversation)


def schedule_queue_timeout(hub: Hub, conversation: Conversation, timeout: float) -> None:
    if is_live(hub, conversation):
        tenant, conversation_id = conversation.tenant, conversation.id
        hub.timers.schedule(
            queue_timer(conversation_id),
            timeout,
            lambda: queue_timed_out(hub, tenant, conversation_id),
        )


async def _history_agent(hub: Hub, conversation: Conversation) -> str | None:
    """The agent who served this contact's most recent earlier conversation."""
    earlier = await hub.store.list_conversations(
        conversation.tenant, contact_id=conversation.contact_id, limit=5
    )
    for previous in earlier:
        if previous.id != conversation.id and previous.agent_id:
            return previous.agent_id
    return None


async def route_new(hub: Hub, conversation: Conversation) -> None:
    """A conversation just opened: the bot may take it (hub/intake.py), else it is routed."""
    if hub.bot_intake is not None and await hub.bot_intake.take(conversation):
        return
    await do_route(hub, conversation)


async def do_route(hub: Hub, conversation: Conversation) -> None:
    """Offer an unheld, open conversation to the ACD: assigned at once, or queued."""
    tenant = conversation.tenant
    settings = await routing_settings(hub, tenant)
    preferred = await _history_agent(hub, conversation) if settings.history_agent_first else None
    change = await hub.acd.offer(
        tenant,
        conversation.id,
        skill=conversation.skill,
        since=conversation.created_at.timestamp(),
        ref=conversation.ref(),
        preferred_agent_id=preferred,
    )
    queued = not any(a.conversation_id == conversation.id for a in change.assignments)
    if queued:
        schedule_queue_timeout(hub, conversation, settings.queue_timeout_seconds)
        # Before positions are pushed: a conversation overflowing at once is told only its
        # place in the queue it moves to.
        await watch_overflow(hub, conversation, settings)
    await apply_change(hub, tenant, change)


async def watch_overflow(hub: Hub, conversation: Conversation, settings: RoutingSettings) -> None:
    """A conversation has joined its skill's queue: it overflows at once when more than the
    rule's max_queue wait ahead of it, else after the rule's wait."""
    rule = settings.overflow_of(conversation.skill)
    if rule is None or not can_overflow(hub, conversation, rule):
        return
    if rule.max_queue is not None:
        position = await hub.acd.position(conversation.tenant, conversation.id)
        if position is not None and position > rule.max_queue:
            await overflow(hub, conversation, rule)
            return
    _wait_to_overflow(hub, conversation, rule)


async def overflow_waited(hub: Hub, tenant: str, conversation_id: str, skill: str | None) -> None:
    """The overflow wait of `skill`'s queue is over (the rule as set now applies)."""
    conversation = await hub.store.get_conversation(tenant, conversation_id)
    if conversation is None:
        return
    rule = (await routing_settings(hub, tenant)).overflow_of(skill)
    if rule is not None and rule.after_seconds is not None:
        await overflow(hub, conversation, rule)


async def overflow(hub: Hub, conversation: Conversation, rule: OverflowRule) -> None:
    """Move a waiting conversation on by its queue's rule: once per step, since a conversation
    no longer waiting in the rule's queue (assigned, closed, moved on) is left alone."""
    if conversation.status != QUEUED or conversation.skill != rule.skill:
        return
    tenant = conversation.tenant
    if rule.leave_message:
        await end_in_queue(hub, tenant, conversation.id, "queue_overflow")
        return
    change = await hub.acd.move_queued(tenant, conversation.id, rule.to_skill)
    if not change.queues_changed:
        return  # it stopped waiting meanwhile
    hub.timers.cancel(overflow_timer(conversation.id))
    moved = replace(conversation, skill=rule.to_skill)
    await hub.store.update_conversation(moved, ["skill"], expect={"skill": rule.skill})
    await apply_change(hub, tenant, change)
    if not change.assignments:
        await watch_overflow(hub, moved, await routing_settings(hub, tenant))


async def apply_change(hub: Hub, tenant: str, change: AcdChange) -> None:
    for assignment in change.assignments:
        await persist_assignment(hub, tenant, assignment)
    if change.queues_changed:
        for skill in change.queues_changed:
            # Only customers whose place changed hear of it.
            for ref, position in await hub.acd.take_position_changes(tenant, skill):
                await hub.bus.publish(QueuePositionChanged(ref, position))
        await hub.bus.publish(QueueCountChanged(tenant, await hub.acd.queued_count(tenant)))


async def persist_assignment(
    hub: Hub, tenant: str, assignment: Assignment, *, note: Message | None = None
) -> None:
    store = hub.store
    for _attempt in range(3):
        conversation = await store.get_conversation(tenant, assignment.conversation_id)
        if conversation is None or not conversation.is_open:
            # Closed while the ACD was deciding: give the capacity back.
            await apply_change(
                hub, tenant, await hub.acd.release(tenant, assignment.conversation_id)
            )
            return
        before = conversation.status
        previous_agent = conversation.agent_id
        conversation.status = ASSIGNED
        conversation.agent_id = assignment.agent_id
        conversation.assigned_at = utcnow()
        written = await store.update_conversation(
            conversation,
            ["status", "agent_id", "assigned_at"],
            expect={"status": before, "agent_id": previous_agent},
        )
        if written:
            break
    else:
        log.error("could not persist assignment %s", assignment)
        return
    stop_queue_timers(hub, conversation.id)
    agent = await store.get_agent(tenant, assignment.agent_id)
    contact = await store.get_contact(tenant, conversation.contact_id)
    history = await store.list_messages(
        tenant,
        conversation.id,
        after_seq=max(0, conversation.last_seq - ASSIGNED_HISTORY),
        limit=ASSIGNED_HISTORY,
    )
    await hub.bus.publish(
        ConversationAssigned(
            conversation,
            agent_name=agent.name if agent else "",
            previous_agent_id=previous_agent,
            contact=contact,
            history=history,
            note=note.text if note is not None else None,
        )
    )


async def queue_timed_out(hub: Hub, tenant: str, conversation_id: str) -> None:
    await end_in_queue(hub, tenant, conversation_id, "queue_timeout")


async def end_in_queue(hub: Hub, tenant: str, conversation_id: str, reason: str) -> None:
    """Nobody will answer soon: close a waiting conversation and ask the customer to leave a
    message (the reason is also the key of the system message)."""
    if await hub.acd.position(tenant, conversation_id) is None:
        return
    stop_queue_timers(hub, conversation_id)
    change = await hub.acd.release(tenant, conversation_id)
    conversation = await hub.store.get_conversation(tenant, conversation_id)
    if conversation is not None and conversation.status == QUEUED:
        conversation.status = CLOSED
        conversation.closed_at = utcnow()
        conversation.close_reason = reason
        closed = await hub.store.update_conversation(
            conversation, ["status", "closed_at", "close_reason"], expect={"status": QUEUED}
        )
        if closed:
            await post_system_message(hub, conversation, reason)
            await hub.bus.publish(
                ConversationClosed(conversation, reason=reason, leave_message=True)
            )
    await apply_change(hub, tenant, change)


async def post_system_message(hub: Hub, conversation: Conversation, key: str) -> Message:
    """A message from the hub itself, shown to the customer on live channels only (an email
    customer gets no "please wait" mail) and always to the staff."""
    message = Message(
        id=new_id(),
        tenant=conversation.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.SYSTEM.value, name="system"),
        type=MessageType.TEXT.value,
        text=SYSTEM_TEXTS[key],
        meta={"system": key},
        delivery=Delivery(DeliveryStatus.SENT.value) if is_live(hub, conversation) else None,
    )
    result = await hub.store.append_message(message)
    stored = result.message
    await hub.bus.publish(
        MessageCreated(
            conversation.ref(), conversation.status, conversation.agent_id, stored, stored.public()
        )
    )
    if stored.delivery is not None:
        await deliver(hub, conversation, stored)
    return stored


async def requeue(hub: Hub, conversation: Conversation, *, skill: str | None = None) -> bool:
    """Put a conversation nobody holds any more back into routing (grace expired, transfer to
    a skill). It keeps its original arrival time, so it goes ahead of newer waiters."""
    before_status, before_agent = conversation.status, conversation.agent_id
    updated = replace(conversation, status=QUEUED, agent_id=None, queued_at=utcnow())
    fields = ["status", "agent_id", "queued_at"]
    if skill is not None:
        updated.skill = skill
        fields.append("skill")
    written = await hub.store.update_conversation(
        updated, fields, expect={"status": before_status, "agent_id": before_agent}
    )
    if not written:
        return False
    await hub.bus.publish(ConversationRequeued(updated, previous_agent_id=before_agent))
    await do_route(hub, updated)
    return True


async def on_grace_expired(hub: Hub, tenant: str, agent_id: str) -> None:
    if hub.presence.connected((tenant, agent_id)):
        return
    hub.presence.end_session((tenant, agent_id))
    for conversation_id in await hub.acd.take_holdings(tenant, agent_id):
        conversation = await hub.store.get_conversation(tenant, conversation_id)
        if conversation is None or not conversation.is_open:
            continue
        await requeue(hub, conversation)


async def do_update_routing_settings(
    hub: Hub, tenant: str, settings: RoutingSettings
) -> RoutingSettings:
    await hub.store.put_settings(tenant, "routing", settings.public())
    await hub.acd.configure(tenant, settings)
    return settings
