"""Domain events: what happened, published by hub.actions after the write that made it true
is durable. Subscribers (the socket fan-out to staff, customer notifications through the
conversation's channel, and later webhooks, bots and reports) turn them into whatever their
side needs; actions never know who listens.

Events carry the records as they were written, so no subscriber has to read them back.
`origin` names the socket that caused the event (its own tab already has the answer in its
ack), where a subscriber should skip it; it is opaque to everybody else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.domain import (
    Agent,
    ChannelAccount,
    Contact,
    Conversation,
    ConversationRef,
    Delivery,
    Message,
)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event; `tenant` scopes who may hear of it."""

    @property
    def tenant(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ConversationEvent(Event):
    conversation: Conversation

    @property
    def tenant(self) -> str:
        return self.conversation.tenant


@dataclass(frozen=True, slots=True)
class MessageCreated(Event):
    """A message was stored in a conversation (any sender, notes included). It carries the
    conversation's address and who held it when the message was stored, not the whole
    record: a customer's message on an open conversation costs the store one write and no
    read, and the event is built from what that write answered."""

    conversation: ConversationRef
    status: str  # the conversation's status when the message was stored
    agent_id: str | None  # the agent holding it then
    message: Message
    public: dict[str, Any]  # message.public(), built once for every subscriber
    origin: str | None = None

    @property
    def tenant(self) -> str:
        return self.conversation.tenant


@dataclass(frozen=True, slots=True)
class MessageDeliveryChanged(Event):
    conversation: ConversationRef
    agent_id: str | None
    message_id: str
    delivery: Delivery

    @property
    def tenant(self) -> str:
        return self.conversation.tenant


@dataclass(frozen=True, slots=True)
class ConversationOpened(ConversationEvent):
    """A new conversation, before routing decides where it goes."""

    contact: Contact


@dataclass(frozen=True, slots=True)
class ConversationAssigned(ConversationEvent):
    """An agent holds the conversation now (routing, transfer, take-over)."""

    agent_name: str
    previous_agent_id: str | None
    contact: Contact | None
    history: list[Message]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationRequeued(ConversationEvent):
    """Its agent lost it (disconnect grace, transfer to a skill): it waits to be routed."""

    previous_agent_id: str | None


@dataclass(frozen=True, slots=True)
class ConversationClosed(ConversationEvent):
    reason: str
    # The customer is offered to leave a message (queue timeout on a live channel).
    leave_message: bool = False


@dataclass(frozen=True, slots=True)
class ConversationReopened(ConversationEvent):
    """A closed conversation is open again, on its way to the agent who reopened it (the
    assignment follows as usual)."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class ConversationUpdated(ConversationEvent):
    """Fields that lists show changed (rating, summary, tags) without a status change."""


@dataclass(frozen=True, slots=True)
class QueuePositionChanged(Event):
    conversation: ConversationRef
    position: int

    @property
    def tenant(self) -> str:
        return self.conversation.tenant


@dataclass(frozen=True, slots=True)
class QueueCountChanged(Event):
    tenant_id: str
    queued: int

    @property
    def tenant(self) -> str:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class Typing(Event):
    conversation: ConversationRef
    agent_id: str | None  # who holds the conversation (staff side); None while unheld
    sender_type: str  # contact | agent
    on: bool

    @property
    def tenant(self) -> str:
        return self.conversation.tenant


@dataclass(frozen=True, slots=True)
class AgentPresenceChanged(Event):
    agent: Agent
    status: str
    agents_online: int
    chosen: bool = False  # the agent set it (its own tabs follow), not a connect or drop

    @property
    def tenant(self) -> str:
        return self.agent.tenant


@dataclass(frozen=True, slots=True)
class AgentUpdated(Event):
    """An agent's profile or rights changed (roles, skills, maximum, name)."""

    agent: Agent

    @property
    def tenant(self) -> str:
        return self.agent.tenant


@dataclass(frozen=True, slots=True)
class AgentSignedOut(Event):
    """The agent's tokens were revoked (disabled, password changed): its open sessions end.
    On this node its sockets are closed now; a socket on another node is refused at its next
    event, which checks the token again."""

    agent: Agent
    reason: str  # "disabled" | "password_changed"

    @property
    def tenant(self) -> str:
        return self.agent.tenant


@dataclass(frozen=True, slots=True)
class ContactUpdated(Event):
    contact: Contact

    @property
    def tenant(self) -> str:
        return self.contact.tenant


@dataclass(frozen=True, slots=True)
class TagsChanged(Event):
    """The tenant's tag catalogue (names and colours) changed."""

    tenant_id: str
    items: list[dict[str, str]] = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class LeftMessageChanged(Event):
    """A message left (留言) arrived, was taken, noted, answered, handled or not handled
    again; `public` is the record as written."""

    tenant_id: str
    left_message_id: str
    handled: bool
    public: dict[str, Any] | None = None

    @property
    def tenant(self) -> str:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class ChannelAccountChanged(Event):
    """An account was created, changed (config, name, enabled) or removed: its connector is
    (re)started or stopped. `public` is its view for the console (secrets masked)."""

    account: ChannelAccount
    public: dict[str, Any]
    removed: bool = False

    @property
    def tenant(self) -> str:
        return self.account.tenant


@dataclass(frozen=True, slots=True)
class ChannelStatusChanged(Event):
    """An account's connection came up, failed or is being retried."""

    account: ChannelAccount
    public: dict[str, Any]

    @property
    def tenant(self) -> str:
        return self.account.tenant


@dataclass(frozen=True, slots=True)
class TenantSuspended(Event):
    """The platform administrator suspended the tenant (or resumed it): its visitors' sockets
    close and its channel accounts stop while it is suspended (hub/actions/tenants.py)."""

    tenant_id: str
    suspended: bool


# Online visitors and invitations to chat (hub/actions/online.py) ------------------------


@dataclass(frozen=True, slots=True)
class OnlineVisitorsChanged(Event):
    """Visitors arrived, moved or left since the last of these (batched: at most one per
    tenant per online_visitors_batch_seconds)."""

    tenant_id: str
    online: int

    @property
    def tenant(self) -> str:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class InvitationSent(Event):
    tenant_id: str
    contact_id: str
    invitation_id: str
    agent_id: str | None
    agent_name: str
    text: str
    style: dict[str, Any]

    @property
    def tenant(self) -> str:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class InvitationAnswered(Event):
    tenant_id: str
    contact_id: str
    invitation_id: str
    agent_id: str | None
    accepted: bool
    conversation_id: str | None = None

    @property
    def tenant(self) -> str:
        return self.tenant_id
