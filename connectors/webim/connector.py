"""Outbound web chat: delivering a stored message is emitting it to every tab of the visitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import Connector
from hub.domain import Channel, Conversation, Message
from hub.realtime.rooms import VISITOR_NS, visitor_room

if TYPE_CHECKING:
    import socketio


class WebImConnector(Connector):
    channel = Channel.WEBIM.value

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def send(self, conversation: Conversation, message: Message) -> str | None:
        # A visitor with no tab open gets it on the next `sync`: the message is stored.
        await self.sio.emit(
            "message",
            message.public(),
            to=visitor_room(conversation.tenant, conversation.contact_id),
            namespace=VISITOR_NS,
        )
        return None
