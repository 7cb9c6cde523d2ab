"""Outbound: a stored message on its way to the customer's channel."""

from __future__ import annotations

from hub.context import Hub
from hub.domain import Conversation, Message, MessageType
from hub.errors import Conflict


async def deliver(hub: Hub, conversation: Conversation, message: Message) -> None:
    """Hand a stored outbound message to the conversation's channel. Private notes never
    leave the hub."""
    if message.type == MessageType.NOTE.value:
        return
    connector = hub.connectors.for_conversation(conversation)
    if connector is None:
        raise Conflict(f"no connector for channel {conversation.channel}", code="no_connector")
    await connector.send(conversation, message)
