"""The one interface every channel connector implements.

A connector knows its platform and nothing else. Inbound, it turns platform payloads into
`InboundMessage` and hands them to `hub.actions.messages.receive_inbound`. Outbound, the hub
calls `send` after the reply is durably stored; rich types the platform cannot show fall back
to text. Platform quirks are commented where they live, inside the connector.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.domain import Conversation, Identity, Message

if TYPE_CHECKING:
    from hub.context import Hub


@dataclass(slots=True)
class InboundMessage:
    """A customer's message as the hub sees it, whatever the channel."""

    tenant: str
    channel: str
    identity: Identity
    text: str = ""
    type: str = "text"
    attachments: list[dict[str, Any]] = field(default_factory=list)
    client_id: str | None = None  # the sender's retry key (web chat)
    platform_message_id: str | None = None  # the platform's id, for deduplication
    contact_name: str = ""
    skill: str | None = None


class Connector(ABC):
    channel: str

    async def start(self, hub: Hub) -> None:
        """Open platform connections (IMAP IDLE, event socket …). Default: nothing to open."""

    async def stop(self) -> None:
        """Close them; pending outbound work is finished or left durable for a retry."""

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes the platform calls back (webhooks)."""
        return []

    @abstractmethod
    async def send(self, conversation: Conversation, message: Message) -> str | None:
        """Deliver a stored outbound message; return the platform's message id if any.
        Connectors that address people by a platform id read the contact themselves."""
