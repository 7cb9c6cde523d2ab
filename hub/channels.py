"""The one interface every channel connector implements, owned by the core.

A connector knows its platform and nothing else. Inbound, it turns platform traffic into
`InboundMessage`s and hands them to `hub.actions.messages.receive_inbound`. Outbound, the
hub calls `send` with a stored message; rich types the platform cannot show fall back to
text. `notify` tells the customer what is not a message (queue position, who serves them,
typing), as far as the channel can show it: `capabilities` say what it can. Platform quirks
are commented where they live, inside the connector.

Connectors import `hub`; the core never imports `connectors` (only hub/app.py wires them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.domain import Conversation, ConversationRef, Identity, Message, MessageType


@dataclass(frozen=True, slots=True)
class Capabilities:
    # The customer is there, waiting for an answer now (web chat, WeChat): queue positions,
    # the queue timeout and its leave-a-message offer, and system messages make sense.
    # Email and SMS customers are not waiting at a screen: their conversations queue
    # without a timeout and hear nothing until an agent writes.
    live: bool = False
    typing: bool = False
    attachments: bool = False
    # The longest text one outbound message may carry (None: no limit of the channel's own).
    max_text: int | None = None


@dataclass(slots=True)
class InboundMessage:
    """A customer's message as the hub sees it, whatever the channel."""

    tenant: str
    channel: str
    identity: Identity
    text: str = ""
    type: str = MessageType.TEXT.value
    attachments: list[dict[str, Any]] = field(default_factory=list)
    client_id: str | None = None  # the sender's retry key (web chat)
    platform_message_id: str | None = None  # the platform's id, for deduplication
    contact_name: str = ""
    skill: str | None = None
    channel_id: str | None = None  # the channel account (None: web chat)
    thread_key: str = ""  # a thread within the account ("" : one per contact)
    meta: dict[str, Any] = field(default_factory=dict)
    # Channel details for a conversation this message opens (email: its subject).
    conversation_meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """Something the customer should see that is not a message.

    kind: "queued" (position), "assigned" (agent_name), "closed" (reason, leave_message),
    "typing" (on)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send that did not go through. `permanent`: retrying cannot help (refused by the
    platform, outside the reply window, unknown recipient); otherwise it is retried."""

    def __init__(self, message: str, *, code: str = "delivery_failed", permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent


class Connector(ABC):
    channel: str
    capabilities: Capabilities = Capabilities()

    async def start(self) -> None:
        """Open platform connections (IMAP IDLE, event socket …). Default: nothing to open."""

    async def stop(self) -> None:
        """Close them; pending outbound work stays durable for a retry."""

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes the platform calls back (webhooks)."""
        return []

    @abstractmethod
    async def send(self, conversation: Conversation, message: Message) -> str | None:
        """Deliver a stored outbound message; return the platform's message id if any.
        Raise DeliveryError when it did not go through. Connectors that address people by
        a platform id read the contact themselves."""

    async def notify(self, conversation: ConversationRef, notification: Notification) -> None:
        """Show the customer a notification, if the channel can. Default: it cannot."""


class Connectors:
    """The running connectors, by channel and account: web chat is one connector for every
    tenant (account None); each channel account gets a connector of its own."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str | None], Connector] = {}

    def add(self, connector: Connector, channel_id: str | None = None) -> None:
        self._by_key[(connector.channel, channel_id)] = connector

    def remove(self, channel: str, channel_id: str | None) -> Connector | None:
        return self._by_key.pop((channel, channel_id), None)

    def get(self, channel: str, channel_id: str | None = None) -> Connector | None:
        return self._by_key.get((channel, channel_id))

    def for_conversation(self, conversation: Conversation | ConversationRef) -> Connector | None:
        return self.get(conversation.channel, conversation.channel_id)

    def all(self) -> list[Connector]:
        return list(self._by_key.values())
