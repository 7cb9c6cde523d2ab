"""Web chat's side of the channel interface: the visitor's tabs are Socket.IO sockets in one
room per visitor. Delivering a stored message is emitting it to that room; notifications
(queue position, who serves them, typing) are emitted there too. A visitor with no tab open
gets everything on the next `sync`: it is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.bus import EventBus
from hub.channels import Capabilities, Connector, Notification
from hub.domain import Channel, Conversation, ConversationRef, Message, SenderType
from hub.events import MessageCreated
from hub.realtime.rooms import VISITOR_NS, visitor_room

if TYPE_CHECKING:
    import socketio

WEBIM = Channel.WEBIM.value


class WebImConnector(Connector):
    channel = WEBIM
    capabilities = Capabilities(live=True, typing=True, attachments=True, buttons=True)

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(MessageCreated, self._echo_to_other_tabs)

    async def _echo_to_other_tabs(self, event: MessageCreated) -> None:
        """A visitor's own message reaches their other tabs (the sending one has its ack)."""
        if event.conversation.channel != WEBIM or event.message.sender.type != SenderType.CONTACT:
            return
        await self._emit(event.conversation, "message", event.public, skip=event.origin)

    async def _emit(
        self, conversation: ConversationRef, event: str, data: object, skip: str | None = None
    ) -> None:
        await self.sio.emit(
            event,
            data,
            to=visitor_room(conversation.tenant, conversation.contact_id),
            namespace=VISITOR_NS,
            skip_sid=skip,
        )

    async def send(self, conversation: Conversation, message: Message) -> str | None:
        await self._emit(conversation.ref(), "message", message.public())
        return None

    async def notify(self, conversation: ConversationRef, notification: Notification) -> None:
        if notification.kind == "status":
            await self._emit(
                conversation,
                "conversation.status",
                {"conversation_id": conversation.id, **notification.data},
            )
        elif notification.kind == "typing":
            await self._emit(
                conversation,
                "typing",
                {
                    "conversation_id": conversation.id,
                    "sender_type": SenderType.AGENT.value,
                    "on": notification.data["on"],
                },
            )
