"""Plain data types shared by every layer.

Records are dataclasses: storage backends persist them field by field, actions create and
change them, views turn them into the public JSON of docs/protocol.md with `public()`.
Every record carries its tenant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def new_id() -> str:
    """Short, URL-safe, unguessable identifiers (visitor-facing ids must not be enumerable)."""
    return secrets.token_hex(12)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Channel(StrEnum):
    WEBIM = "webim"
    WECHAT = "wechat"
    WEIBO = "weibo"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class ConversationStatus(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class SenderType(StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class MessageType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    EVENT = "event"
    NOTE = "note"  # private: agents only, never sent to the customer's channel


class RoutingPolicy(StrEnum):
    IDLE_FIRST = "idle_first"
    ROUND_ROBIN = "round_robin"


class Presence(StrEnum):
    READY = "ready"
    NOT_READY = "not_ready"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(slots=True)
class Tenant:
    id: str
    name: str
    created_at: datetime = field(default_factory=utcnow)
    # Set by the platform administrator: its agents and visitors are refused meanwhile.
    suspended: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "suspended": self.suspended,
            "created_at": iso(self.created_at),
        }


@dataclass(slots=True)
class Agent:
    id: str
    tenant: str
    name: str
    email: str
    password_hash: str
    roles: list[str] = field(default_factory=lambda: [Role.AGENT.value])
    skills: list[str] = field(default_factory=list)
    max_concurrent: int = 5
    disabled: bool = False
    created_at: datetime = field(default_factory=utcnow)
    # Carried by every token signed for the agent; raised when its password changes or it is
    # disabled, so tokens signed before stop working at once (hub/actions/agents.py).
    token_version: int = 0
    # The enterprise IM's directory: the department it belongs to, when it last signed in.
    department_id: str | None = None
    last_login_at: datetime | None = None

    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles

    def is_supervisor(self) -> bool:
        return Role.ADMIN.value in self.roles or Role.SUPERVISOR.value in self.roles

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "roles": list(self.roles),
            "skills": list(self.skills),
            "max_concurrent": self.max_concurrent,
            "department_id": self.department_id,
        }


@dataclass(slots=True, frozen=True)
class Identity:
    """How one channel knows a person: (channel, external id), e.g. ("wechat", openid)."""

    channel: str
    external_id: str


@dataclass(slots=True)
class Contact:
    id: str
    tenant: str
    name: str = ""
    email: str = ""
    phone: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)  # visitor details: UA, page, IP …
    visit_count: int = 0
    blocked_until: datetime | None = None  # blacklisted (拉黑) until then
    created_at: datetime = field(default_factory=utcnow)
    last_seen_at: datetime = field(default_factory=utcnow)
    # Set once an agent merged this contact into another: its identities and conversations
    # moved there, and whoever still names this one (a visitor's token) is led there.
    merged_into: str | None = None
    # What merges brought into this contact: [{contact_id, at, by, identities, conversations}].
    merged_from: list[dict[str, Any]] = field(default_factory=list)

    def is_blocked(self, now: datetime) -> bool:
        return self.blocked_until is not None and self.blocked_until > now

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "notes": self.notes,
            "tags": list(self.tags),
            "identities": [
                {"channel": i.channel, "external_id": i.external_id} for i in self.identities
            ],
            "attributes": dict(self.attributes),
            "visit_count": self.visit_count,
            "blocked_until": iso(self.blocked_until),
            "created_at": iso(self.created_at),
            "last_seen_at": iso(self.last_seen_at),
            "merged_into": self.merged_into,
            "merged_from": list(self.merged_from),
        }


@dataclass(slots=True)
class Rating:
    score: int
    comment: str = ""


def open_key(channel: str, channel_id: str | None, contact_id: str, thread_key: str) -> str:
    """What makes a conversation "the open one": a contact has at most one open conversation
    per channel account and thread. Stores keep it unique among open conversations, so two
    nodes (or two webhooks at once) never open a second one."""
    return f"{channel}|{channel_id or ''}|{contact_id}|{thread_key}"


@dataclass(slots=True)
class Conversation:
    id: str
    tenant: str
    channel: str
    contact_id: str
    status: str = ConversationStatus.QUEUED.value
    agent_id: str | None = None
    skill: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    queued_at: datetime | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    summary: str = ""
    rating: Rating | None = None
    tags: list[str] = field(default_factory=list)
    last_seq: int = 0
    last_message_at: datetime | None = None
    last_message_preview: str = ""
    # Counted by the store as messages are appended (codec.message_direction), for reports.
    messages_in: int = 0
    messages_out: int = 0
    # The channel account it arrived on (None for web chat, the tenant's one widget) and the
    # thread within it ("" where all of a contact's messages are one thread; a call's id).
    channel_id: str | None = None
    thread_key: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # channel details (email: subject)

    @property
    def is_open(self) -> bool:
        return self.status != ConversationStatus.CLOSED.value

    @property
    def open_key(self) -> str | None:
        if not self.is_open:
            return None
        return open_key(self.channel, self.channel_id, self.contact_id, self.thread_key)

    def ref(self) -> ConversationRef:
        return ConversationRef(self.tenant, self.id, self.contact_id, self.channel, self.channel_id)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "channel": self.channel,
            "channel_id": self.channel_id,
            "thread_key": self.thread_key,
            "meta": dict(self.meta),
            "contact_id": self.contact_id,
            "status": self.status,
            "agent_id": self.agent_id,
            "skill": self.skill,
            "created_at": iso(self.created_at),
            "queued_at": iso(self.queued_at),
            "assigned_at": iso(self.assigned_at),
            "first_response_at": iso(self.first_response_at),
            "closed_at": iso(self.closed_at),
            "close_reason": self.close_reason,
            "summary": self.summary,
            "rating": (
                {"score": self.rating.score, "comment": self.rating.comment}
                if self.rating
                else None
            ),
            "tags": list(self.tags),
            "last_seq": self.last_seq,
            "last_message_at": iso(self.last_message_at),
            "last_message_preview": self.last_message_preview,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
        }


@dataclass(slots=True, frozen=True)
class ConversationRef:
    """Enough to address a conversation's customer on its channel without reading it."""

    tenant: str
    id: str
    contact_id: str
    channel: str
    channel_id: str | None = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(slots=True)
class Delivery:
    """Where an outbound message is on its way to the customer.

    While `pending` on a channel with an outbox, `due_at` is when the next attempt may
    start; an attempt under way holds the message until `due_at` = its start + the lease,
    and `attempt_started_at` says since when (a crash mid-send leaves it there: the outbox
    then knows the outcome is unknown)."""

    status: str
    updated_at: datetime = field(default_factory=utcnow)
    error: dict[str, str] | None = None  # {code, message} when failed
    attempts: int = 0
    due_at: datetime | None = None
    attempt_started_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        """In the outbox: an attempt is due, or under way."""
        return self.status == DeliveryStatus.PENDING.value and self.due_at is not None

    def public(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "updated_at": iso(self.updated_at)}
        if self.error is not None:
            body["error"] = dict(self.error)
        if self.attempts:
            body["attempts"] = self.attempts
        return body


@dataclass(slots=True, frozen=True)
class Sender:
    type: str
    id: str | None = None
    name: str = ""


@dataclass(slots=True)
class Message:
    id: str
    tenant: str
    conversation_id: str
    sender: Sender
    type: str = MessageType.TEXT.value
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    client_id: str | None = None
    platform_message_id: str | None = None
    seq: int = 0  # assigned by the store when the message is appended
    created_at: datetime = field(default_factory=utcnow)
    meta: dict[str, Any] = field(default_factory=dict)  # channel details (email: subject, cc …)
    delivery: Delivery | None = None  # outbound messages only

    def stored_as(self, seq: int, created_at: datetime) -> Message:
        """This message as the store keeps it: its seq, and its time as stored (a store may
        keep fewer digits). Positional, for the message path: dataclasses.replace costs 5x."""
        return Message(
            self.id,
            self.tenant,
            self.conversation_id,
            self.sender,
            self.type,
            self.text,
            self.attachments,
            self.client_id,
            self.platform_message_id,
            seq,
            created_at,
            self.meta,
            self.delivery,
        )

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": {"type": self.sender.type, "id": self.sender.id, "name": self.sender.name},
            "type": self.type,
            "text": self.text,
            "attachments": list(self.attachments),
            "client_id": self.client_id,
            "created_at": iso(self.created_at),
            "meta": self.meta,
            "delivery": self.delivery.public() if self.delivery is not None else None,
        }


class ChannelStatus(StrEnum):
    CONNECTING = "connecting"
    OK = "ok"
    ERROR = "error"
    DISABLED = "disabled"


@dataclass(slots=True)
class ChannelAccount:
    """A channel account of a tenant: a mailbox, a WeChat official account, an SMS gateway
    login, a FreeSWITCH. `config` holds what the admin set (secrets included, never shown);
    `state` what its connector keeps between runs (an IMAP mailbox's last UID)."""

    id: str
    tenant: str
    type: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    status: str = ChannelStatus.CONNECTING.value
    last_error: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class LeftMessage:
    """A message left (留言) when nobody could answer: for agents to follow up."""

    id: str
    tenant: str
    contact_id: str
    text: str
    name: str = ""
    phone: str = ""
    email: str = ""
    conversation_id: str | None = None  # the visitor's conversation it was left from
    handled: bool = False
    created_at: datetime = field(default_factory=utcnow)
    # An agent took it to follow up (others see it taken), with their call-back note and
    # the conversations they started to answer it (an email).
    agent_id: str | None = None
    agent_name: str = ""
    taken_at: datetime | None = None
    note: str = ""
    reply_conversation_ids: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact_id": self.contact_id,
            "conversation_id": self.conversation_id,
            "name": self.name,
            "phone": self.phone,
            "email": self.email,
            "text": self.text,
            "handled": self.handled,
            "created_at": iso(self.created_at),
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "taken_at": iso(self.taken_at),
            "note": self.note,
            "reply_conversation_ids": list(self.reply_conversation_ids),
        }


class UploaderType(StrEnum):
    CONTACT = "contact"  # a web visitor, through POST /api/v1/uploads
    AGENT = "agent"
    CHANNEL = "channel"  # brought in by a channel account (an email's attachments)


@dataclass(slots=True)
class Upload:
    """A file the hub stores for messages (hub/uploads.py), recorded so that quotas can
    count it, a message may attach only its sender's files, and a file no message took is
    removed after a grace period. `id` is the stored file name (random hex and extension),
    the last part of the attachment URL; `message_id` is set once a message uses it."""

    id: str
    tenant: str
    uploader_type: str
    uploader_id: str
    size: int
    mime: str
    name: str = ""
    created_at: datetime = field(default_factory=utcnow)
    message_id: str | None = None


def upload_ids(attachments: list[dict[str, Any]]) -> list[str]:
    """The uploads a message's attachments name (the last part of each stored file's URL;
    an attachment a channel brought in but the hub did not keep has no URL)."""
    return [
        url.rsplit("/", 1)[-1]
        for url in (a.get("url") for a in attachments)
        if isinstance(url, str) and url.startswith("/uploads/")
    ]


LEAVE_MESSAGE = "leave_message"


@dataclass(frozen=True, slots=True)
class OverflowRule:
    """One skill's queue overflow (skill None: the queue of no skill): after `after_seconds`
    of waiting, or when the queue is longer than `max_queue` as a conversation joins it, that
    conversation moves to `to_skill`'s queue, or ends with the leave-a-message prompt."""

    skill: str | None
    to_skill: str | None = None
    leave_message: bool = False
    after_seconds: float | None = None
    max_queue: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "after_seconds": self.after_seconds,
            "max_queue": self.max_queue,
            "to": LEAVE_MESSAGE if self.leave_message else {"skill": self.to_skill},
        }

    @staticmethod
    def from_public(data: dict[str, Any]) -> OverflowRule:
        to = data["to"]
        return OverflowRule(
            skill=data["skill"],
            to_skill=None if to == LEAVE_MESSAGE else to["skill"],
            leave_message=to == LEAVE_MESSAGE,
            after_seconds=data.get("after_seconds"),
            max_queue=data.get("max_queue"),
        )


@dataclass(slots=True)
class RoutingSettings:
    policy: str = RoutingPolicy.IDLE_FIRST.value
    history_agent_first: bool = True
    default_max_concurrent: int = 5
    queue_timeout_seconds: int = 600
    disconnect_grace_seconds: int = 30
    overflow: tuple[OverflowRule, ...] = ()

    def overflow_of(self, skill: str | None) -> OverflowRule | None:
        """The rule of one skill's queue (at most one each)."""
        return next((rule for rule in self.overflow if rule.skill == skill), None)

    def public(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "history_agent_first": self.history_agent_first,
            "default_max_concurrent": self.default_max_concurrent,
            "queue_timeout_seconds": self.queue_timeout_seconds,
            "disconnect_grace_seconds": self.disconnect_grace_seconds,
            "overflow": [rule.public() for rule in self.overflow],
        }

    @staticmethod
    def from_public(data: dict[str, Any]) -> RoutingSettings:
        """From public() (as stored; settings stored before overflow existed have none)."""
        rules = tuple(OverflowRule.from_public(rule) for rule in data.get("overflow", ()))
        return RoutingSettings(**{k: v for k, v in data.items() if k != "overflow"}, overflow=rules)


@dataclass(slots=True)
class AppendResult:
    """What the store answers to an append: the stored message, and whether it is new.

    `created` is False when the client id (or the platform message id) was seen before; the
    message is then the original one, unchanged.
    """

    message: Message
    created: bool
    # The conversation's status and holder when the message was stored (a new message):
    # who should see it, without reading the conversation again.
    status: str | None = None
    agent_id: str | None = None
