"""Routing: offer conversations to the ACD, persist its decisions, announce them, and run the
queue-timeout and disconnect-grace timers.

The ACD decides atomically in memory (or Redis); this module makes each decision durable
(compare-and-set on the conversation's status, so a close racing an assignment never loses)
and only then emits."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from hub.acd.base import AcdChange, Assignment
from hub.actions import events
from hub.context import Hub
from hub.domain import (
    Conversation,
    ConversationStatus,
    Message,
    MessageType,
    RoutingSettings,
    Sender,
    SenderType,
    new_id,
    utcnow,
)

log = logging.getLogger(__name__)

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
CLOSED = ConversationStatus.CLOSED.value

QUEUE_TIMEOUT_TEXT = (
    "暂时没有坐席可以接待，请留言，我们会尽快联系您。 "
    "No agent is available right now: please leave a message and we will get back to you."
)
ASSIGNED_HISTORY = 50


def queue_timer(conversation_id: str) -> tuple[str, str]:
    return ("queue-timeout", conversation_id)


def grace_timer(tenant: str, agent_id: str) -> tuple[str, str, str]:
    return ("disconnect-grace", tenant, agent_id)


async def routing_settings(hub: Hub, tenant: str) -> RoutingSettings:
    cached = hub.routing.get(tenant)
    if cached is None:
        stored = await hub.store.get_settings(tenant, "routing")
        cached = RoutingSettings(**stored) if stored else RoutingSettings()
        hub.routing[tenant] = cached
        await hub.acd.set_policy(tenant, cached.policy)
    return cached


def conversation_status_event(
    conversation: Conversation, *, agent_name: str | None = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"conversation_id": conversation.id, "status": conversation.status}
    if conversation.agent_id and conversation.status == ASSIGNED:
        data["agent"] = {"id": conversation.agent_id, "name": agent_name or ""}
    data.update(extra)
    return data


async def _history_agent(hub: Hub, conversation: Conversation) -> str | None:
    """The agent who served this contact's most recent earlier conversation."""
    earlier = await hub.store.list_conversations(
        conversation.tenant, contact_id=conversation.contact_id, limit=5
    )
    for previous in earlier:
        if previous.id != conversation.id and previous.agent_id:
            return previous.agent_id
    return None


async def do_route(hub: Hub, conversation: Conversation) -> None:
    """Offer an unheld, open conversation to the ACD: assigned at once, or queued."""
    tenant = conversation.tenant
    settings = await routing_settings(hub, tenant)
    preferred = await _history_agent(hub, conversation) if settings.history_agent_first else None
    hub.waiting_contacts[conversation.id] = conversation.contact_id
    change = await hub.acd.offer(
        tenant,
        conversation.id,
        skill=conversation.skill,
        since=conversation.created_at.timestamp(),
        preferred_agent_id=preferred,
    )
    if not any(a.conversation_id == conversation.id for a in change.assignments):
        hub.timers.schedule(
            queue_timer(conversation.id),
            settings.queue_timeout_seconds,
            lambda: queue_timed_out(hub, tenant, conversation.id),
        )
    await apply_change(hub, tenant, change)


async def apply_change(hub: Hub, tenant: str, change: AcdChange) -> None:
    for assignment in change.assignments:
        await persist_assignment(hub, tenant, assignment)
    if change.queues_changed:
        for skill in change.queues_changed:
            await _push_positions(hub, tenant, skill)
        await events.to_staff(
            hub, tenant, "queue.updated", {"queued": await hub.acd.queued_count(tenant)}
        )


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
    _forget_waiting(hub, conversation.id)
    agent = await store.get_agent(tenant, assignment.agent_id)
    contact = await store.get_contact(tenant, conversation.contact_id)
    history = await store.list_messages(
        tenant,
        conversation.id,
        after_seq=max(0, conversation.last_seq - ASSIGNED_HISTORY),
        limit=ASSIGNED_HISTORY,
    )
    agent_name = agent.name if agent else ""
    await events.to_visitor(
        hub,
        tenant,
        conversation.contact_id,
        "conversation.status",
        conversation_status_event(conversation, agent_name=agent_name),
    )
    if previous_agent and previous_agent != assignment.agent_id:
        await events.to_agent(
            hub,
            tenant,
            previous_agent,
            "conversation.transferred",
            {"conversation_id": conversation.id, "to_agent_id": assignment.agent_id},
        )
    payload: dict[str, Any] = {
        "conversation": conversation.public(),
        "contact": contact.public() if contact else None,
        "messages": [m.public() for m in history],
    }
    if note is not None:
        payload["note"] = note.text
    await events.to_agent(hub, tenant, assignment.agent_id, "conversation.assigned", payload)
    await events.to_staff(
        hub, tenant, "conversation.updated", {"conversation": conversation.public()}
    )


def _forget_waiting(hub: Hub, conversation_id: str) -> None:
    hub.timers.cancel(queue_timer(conversation_id))
    hub.waiting_contacts.pop(conversation_id, None)
    hub.last_pushed_position.pop(conversation_id, None)


async def _push_positions(hub: Hub, tenant: str, skill: str | None) -> None:
    waiting = await hub.acd.queue(tenant, skill)
    for position, conversation_id in enumerate(waiting, start=1):
        if hub.last_pushed_position.get(conversation_id) == position:
            continue
        contact_id = hub.waiting_contacts.get(conversation_id)
        if contact_id is None:
            continue
        hub.last_pushed_position[conversation_id] = position
        await events.to_visitor(
            hub,
            tenant,
            contact_id,
            "conversation.status",
            {"conversation_id": conversation_id, "status": QUEUED, "queue_position": position},
        )


async def queue_timed_out(hub: Hub, tenant: str, conversation_id: str) -> None:
    if await hub.acd.position(tenant, conversation_id) is None:
        return
    change = await hub.acd.release(tenant, conversation_id)
    conversation = await hub.store.get_conversation(tenant, conversation_id)
    if conversation is not None and conversation.status == QUEUED:
        conversation.status = CLOSED
        conversation.closed_at = utcnow()
        conversation.close_reason = "queue_timeout"
        closed = await hub.store.update_conversation(
            conversation, ["status", "closed_at", "close_reason"], expect={"status": QUEUED}
        )
        if closed:
            await post_system_message(hub, conversation, QUEUE_TIMEOUT_TEXT)
            await events.to_visitor(
                hub,
                tenant,
                conversation.contact_id,
                "conversation.status",
                conversation_status_event(conversation, reason="queue_timeout", leave_message=True),
            )
            await events.to_staff(
                hub, tenant, "conversation.updated", {"conversation": conversation.public()}
            )
    _forget_waiting(hub, conversation_id)
    await apply_change(hub, tenant, change)


async def post_system_message(hub: Hub, conversation: Conversation, text: str) -> Message:
    message = Message(
        id=new_id(),
        tenant=conversation.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.SYSTEM.value, name="system"),
        type=MessageType.TEXT.value,
        text=text,
    )
    stored = (await hub.store.append_message(message)).message
    await events.to_visitor(
        hub, conversation.tenant, conversation.contact_id, "message", stored.public()
    )
    await events.to_conversation_staff(hub, conversation, "message", stored.public())
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
    if before_agent:
        await events.to_agent(
            hub,
            conversation.tenant,
            before_agent,
            "conversation.transferred",
            {"conversation_id": conversation.id, "to_agent_id": None, "skill": updated.skill},
        )
    await do_route(hub, updated)
    return True


async def on_grace_expired(hub: Hub, tenant: str, agent_id: str) -> None:
    if hub.agent_sessions.connected((tenant, agent_id)):
        return
    for conversation_id in await hub.acd.take_holdings(tenant, agent_id):
        conversation = await hub.store.get_conversation(tenant, conversation_id)
        if conversation is None or not conversation.is_open:
            continue
        await requeue(hub, conversation)


async def do_update_routing_settings(
    hub: Hub, tenant: str, settings: RoutingSettings
) -> RoutingSettings:
    await hub.store.put_settings(tenant, "routing", settings.public())
    hub.routing[tenant] = settings
    await hub.acd.set_policy(tenant, settings.policy)
    return settings
