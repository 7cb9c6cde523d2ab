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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from hub.domain import (
    ChannelAccount,
    Conversation,
    ConversationRef,
    Identity,
    Message,
    MessageType,
)

if TYPE_CHECKING:
    from hub.context import Hub


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
    # Sends are platform calls that can fail or hang: replies go through the durable outbox
    # (hub/outbox.py), retried and recorded. Web chat's emit cannot fail that way.
    outbox: bool = False
    # Whether sending a message again after a crash mid-send (outcome unknown) is safe: the
    # recipient recognises the copy (an email keeps its Message-ID). Otherwise the outbox
    # marks such a message failed and leaves the decision to the agent.
    resend_safe: bool = False
    # A conversation an agent starts is a thread of its own (a new email thread), rather
    # than the contact's one open conversation on the account (an SMS number).
    agent_threads: bool = False
    # Buttons (a bot's suggested questions) can be shown; elsewhere they go as numbered text.
    buttons: bool = False


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
    # Details a new contact starts with (an email channel knows the address, SMS the number).
    contact_email: str = ""
    contact_phone: str = ""
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


class ChannelError(Exception):
    """A channel's connection failed. `permanent`: a configuration or authentication problem
    that reconnecting soon will not fix (the account shows it; retries slow down)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


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
    # Channels that hold a connection to the platform (IMAP, an event socket): the hub runs
    # `run` in a supervised task that reconnects with back-off and keeps the account's status.
    holds_connection: ClassVar[bool] = False

    async def start(self) -> None:
        """Set up (no long-running work here: that is `run`). Default: nothing to do."""

    async def stop(self) -> None:
        """Release what `start` set up; pending outbound work stays durable for a retry."""

    async def run(self, connected: Callable[[], Awaitable[None]]) -> None:
        """Connect and serve until cancelled (connection-holding channels only); await
        `connected()` once the connection is up. Raise ChannelError (or anything else) when
        it fails or drops: the supervisor marks the account and reconnects after a back-off.
        Returning means the connection ended cleanly; it is opened again at once."""
        raise NotImplementedError

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

    def outbound_platform_id(self, conversation: Conversation, message_id: str) -> str | None:
        """The platform's id for an outbound message, where the hub chooses it before sending
        (an email's Message-ID): stored with the message, so the customer's answer, which
        names it, finds the conversation, and a resend carries the same one. Default: the
        platform assigns its ids itself."""
        return None

    def outbound_meta(
        self, conversation: Conversation, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """An agent's reply's channel fields (an email's subject and cc) checked and turned
        into the message's meta; raise hub.errors.Invalid for bad ones. Default: the channel
        has none, and any given are refused."""
        if options:
            from hub.errors import Invalid

            raise Invalid(
                f"{', '.join(sorted(options))}: not an option of the {self.channel} channel",
                code="invalid_options",
            )
        return {}


class ConfigError(Exception):
    """An account's configuration is not usable; `key` names the config key at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One key of an account's config as a form shows it (`GET /api/v1/channel-types`).
    `kind`: text | secret | integer | boolean | choice (one of `choices`). `required` is what
    is always required; keys required only together with another are left to check_config,
    whose error names them."""

    key: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | int | bool | None = None

    def public(self, secret_keys: frozenset[str]) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "secret": self.key in secret_keys,
            "required": self.required,
            "choices": list(self.choices),
            "default": self.default,
        }


class ChannelType(ABC):
    """What the core needs to know of a kind of channel to manage its accounts: how to check
    a configuration, which keys are secret, which keys a form asks for, where the platform
    calls back, and how to build a connector for one account. Each channel package provides
    one; hub/app.py registers it."""

    type: str
    secret_keys: frozenset[str] = frozenset()
    # The config keys in the order a form asks for them.
    fields: tuple[ConfigField, ...] = ()

    @abstractmethod
    def check_config(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The config as stored: every key checked, defaults filled in. Raise ConfigError
        naming the first bad key."""

    def inbound_path(self, account: ChannelAccount) -> str | None:
        """The path the platform calls on this hub for the account (webhooks), if any."""
        return None

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes for the platform's calls, shared by every account of the type (they
        find the account's connector in hub.connectors by the id in the path)."""
        return []

    @abstractmethod
    def connector(self, hub: Hub, account: ChannelAccount) -> Connector:
        """A connector for one account (built again whenever the account changes)."""

    def recipient(self, to: str) -> Identity:
        """The identity of someone an agent writes to first (`to` as typed: an email address,
        a phone number), normalised as inbound traffic names them; raise ValueError with a
        reason for a bad one. Default: the channel cannot start conversations."""
        raise ValueError(f"conversations cannot be started on the {self.type} channel")


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
