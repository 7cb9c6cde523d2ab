"""The socket fan-out to staff: one subscriber of the event bus that turns domain events into
the `/agent` namespace's server events (docs/protocol.md), addressed to rooms.

Rooms: every tab of one agent, every agent of a tenant, and the supervisors watching one
conversation read-only (hub/realtime/rooms.py). With the Redis client manager an emit
reaches the rooms' sockets on every node.
"""

from __future__ import annotations

from typing import Any

import socketio

from hub.bus import EventBus
from hub.domain import ConversationRef
from hub.events import (
    AgentPresenceChanged,
    ChannelAccountChanged,
    ChannelStatusChanged,
    ContactUpdated,
    ConversationAssigned,
    ConversationClosed,
    ConversationEvent,
    ConversationReopened,
    ConversationRequeued,
    ConversationUpdated,
    LeftMessageChanged,
    MessageCreated,
    MessageDeliveryChanged,
    QueueCountChanged,
    TagsChanged,
    Typing,
)
from hub.realtime.rooms import AGENT_NS, admins_room, agent_room, staff_room, watch_room


class StaffFanout:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(MessageCreated, self.message_created)
        bus.subscribe(MessageDeliveryChanged, self.delivery_changed)
        bus.subscribe(ConversationAssigned, self.assigned)
        bus.subscribe(ConversationRequeued, self.requeued)
        bus.subscribe(ConversationClosed, self.closed)
        bus.subscribe(ConversationUpdated, self.updated)
        bus.subscribe(ConversationReopened, self.reopened)
        bus.subscribe(QueueCountChanged, self.queue_count)
        bus.subscribe(Typing, self.typing)
        bus.subscribe(AgentPresenceChanged, self.presence_changed)
        bus.subscribe(ContactUpdated, self.contact_updated)
        bus.subscribe(TagsChanged, self.tags_changed)
        bus.subscribe(LeftMessageChanged, self.left_message_changed)
        bus.subscribe(ChannelAccountChanged, self.channel_changed)
        bus.subscribe(ChannelStatusChanged, self.channel_changed)

    async def _emit(self, event: str, data: Any, rooms: str | list[str], skip: str | None = None):
        await self.sio.emit(event, data, to=rooms, namespace=AGENT_NS, skip_sid=skip)

    @staticmethod
    def _conversation_rooms(conversation: ConversationRef, agent_id: str | None) -> list[str]:
        """The agent holding the conversation (every tab) and supervisors watching it."""
        rooms = [watch_room(conversation.tenant, conversation.id)]
        if agent_id:
            rooms.append(agent_room(conversation.tenant, agent_id))
        return rooms

    async def message_created(self, event: MessageCreated) -> None:
        rooms = self._conversation_rooms(event.conversation, event.agent_id)
        await self._emit("message", event.public, rooms, skip=event.origin)

    async def delivery_changed(self, event: MessageDeliveryChanged) -> None:
        await self._emit(
            "message.delivery",
            {
                "conversation_id": event.conversation.id,
                "message_id": event.message_id,
                "delivery": event.delivery.public(),
            },
            self._conversation_rooms(event.conversation, event.agent_id),
        )

    async def assigned(self, event: ConversationAssigned) -> None:
        conversation = event.conversation
        assert conversation.agent_id is not None
        tenant = conversation.tenant
        if event.previous_agent_id and event.previous_agent_id != conversation.agent_id:
            await self._emit(
                "conversation.transferred",
                {"conversation_id": conversation.id, "to_agent_id": conversation.agent_id},
                agent_room(tenant, event.previous_agent_id),
            )
        payload: dict[str, Any] = {
            "conversation": conversation.public(),
            "contact": event.contact.public() if event.contact else None,
            "messages": [m.public() for m in event.history],
        }
        if event.note is not None:
            payload["note"] = event.note
        await self._emit(
            "conversation.assigned", payload, agent_room(tenant, conversation.agent_id)
        )
        await self.updated(event)

    async def requeued(self, event: ConversationRequeued) -> None:
        conversation = event.conversation
        if event.previous_agent_id:
            await self._emit(
                "conversation.transferred",
                {
                    "conversation_id": conversation.id,
                    "to_agent_id": None,
                    "skill": conversation.skill,
                },
                agent_room(conversation.tenant, event.previous_agent_id),
            )

    async def closed(self, event: ConversationClosed) -> None:
        conversation = event.conversation
        await self._emit(
            "conversation.closed",
            {"conversation_id": conversation.id},
            self._conversation_rooms(conversation.ref(), conversation.agent_id),
        )
        await self.updated(event)

    async def reopened(self, event: ConversationReopened) -> None:
        await self._emit(
            "conversation.reopened",
            {"conversation_id": event.conversation.id, "agent_id": event.agent_id},
            staff_room(event.conversation.tenant),
        )
        await self.updated(event)

    async def updated(self, event: ConversationEvent) -> None:
        conversation = event.conversation
        await self._emit(
            "conversation.updated",
            {"conversation": conversation.public()},
            staff_room(conversation.tenant),
        )

    async def queue_count(self, event: QueueCountChanged) -> None:
        await self._emit("queue.updated", {"queued": event.queued}, staff_room(event.tenant))

    async def typing(self, event: Typing) -> None:
        if event.sender_type == "agent":
            return  # the customer's side: their channel shows it (hub/notifications.py)
        await self._emit(
            "typing",
            {
                "conversation_id": event.conversation.id,
                "sender_type": event.sender_type,
                "on": event.on,
            },
            self._conversation_rooms(event.conversation, event.agent_id),
        )

    async def presence_changed(self, event: AgentPresenceChanged) -> None:
        agent = event.agent
        if event.chosen:
            await self._emit(
                "presence", {"status": event.status}, agent_room(agent.tenant, agent.id)
            )
        await self._emit(
            "agent.presence",
            {"agent_id": agent.id, "status": event.status, "agents_online": event.agents_online},
            staff_room(agent.tenant),
        )

    async def contact_updated(self, event: ContactUpdated) -> None:
        await self._emit(
            "contact.updated", {"contact": event.contact.public()}, staff_room(event.tenant)
        )

    async def tags_changed(self, event: TagsChanged) -> None:
        await self._emit("tags.updated", {"items": event.items}, staff_room(event.tenant))

    async def left_message_changed(self, event: LeftMessageChanged) -> None:
        await self._emit(
            "left_message.updated",
            {
                "id": event.left_message_id,
                "handled": event.handled,
                "left_message": event.public,
            },
            staff_room(event.tenant),
        )

    async def channel_changed(self, event: ChannelAccountChanged | ChannelStatusChanged) -> None:
        if isinstance(event, ChannelAccountChanged) and event.removed:
            await self._emit("channel.removed", {"id": event.account.id}, admins_room(event.tenant))
            return
        await self._emit("channel.updated", {"channel": event.public}, admins_room(event.tenant))
