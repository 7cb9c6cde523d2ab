"""Where events go. Only hub.actions calls these, and only after the write they announce is
durable."""

from __future__ import annotations

from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager

from hub.context import Hub
from hub.domain import Conversation
from hub.realtime.rooms import (
    AGENT_NS,
    VISITOR_NS,
    agent_room,
    staff_room,
    visitor_room,
    watch_room,
)


async def to_visitor(
    hub: Hub,
    tenant: str,
    contact_id: str,
    event: str,
    data: dict[str, Any],
    *,
    skip_sid: str | None = None,
) -> None:
    room = visitor_room(tenant, contact_id)
    if skip_sid is not None and _nobody_else_in(hub, VISITOR_NS, room, skip_sid):
        return
    await hub.sio.emit(event, data, to=room, namespace=VISITOR_NS, skip_sid=skip_sid)


def _nobody_else_in(hub: Hub, namespace: str, room: str, sid: str) -> bool:
    """True when `sid` is the room's only socket, so an emit skipping it reaches nobody (and
    would only encode the packet for nothing). A pub/sub manager cannot know: other nodes may
    hold sockets in the room."""
    manager = hub.sio.manager
    if isinstance(manager, AsyncPubSubManager):
        return False
    members = manager.rooms.get(namespace, {}).get(room)
    return not members or (len(members) == 1 and sid in members)


async def to_agent(
    hub: Hub,
    tenant: str,
    agent_id: str,
    event: str,
    data: dict[str, Any],
    *,
    skip_sid: str | None = None,
) -> None:
    await hub.sio.emit(
        event, data, to=agent_room(tenant, agent_id), namespace=AGENT_NS, skip_sid=skip_sid
    )


async def to_conversation_staff(
    hub: Hub,
    conversation: Conversation,
    event: str,
    data: dict[str, Any],
    *,
    skip_sid: str | None = None,
) -> None:
    """The agent holding the conversation (every tab) and supervisors watching it."""
    rooms = [watch_room(conversation.tenant, conversation.id)]
    if conversation.agent_id:
        rooms.append(agent_room(conversation.tenant, conversation.agent_id))
    await hub.sio.emit(event, data, to=rooms, namespace=AGENT_NS, skip_sid=skip_sid)


async def to_staff(hub: Hub, tenant: str, event: str, data: dict[str, Any]) -> None:
    await hub.sio.emit(event, data, to=staff_room(tenant), namespace=AGENT_NS)
