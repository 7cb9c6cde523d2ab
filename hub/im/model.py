"""The enterprise IM's records: departments, threads (direct chats and groups) and their
messages. Plain data, like hub.domain; the store keeps them in tables of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.domain import iso, utcnow


class ThreadKind(StrEnum):
    DIRECT = "direct"
    GROUP = "group"


@dataclass(slots=True)
class Department:
    id: str
    tenant: str
    name: str
    parent_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "parent_id": self.parent_id}


def direct_key(first: str, second: str) -> str:
    """One direct thread per pair, whoever starts it: the pair in a fixed order."""
    low, high = sorted((first, second))
    return f"{low}:{high}"


@dataclass(slots=True)
class ImThread:
    id: str
    tenant: str
    kind: str
    members: list[str]
    name: str = ""
    description: str = ""
    announcement: str = ""
    announcement_at: datetime | None = None
    owner_id: str | None = None
    admins: list[str] = field(default_factory=list)
    # Members who silenced the group: they are not notified, except when mentioned.
    muted: list[str] = field(default_factory=list)
    direct_key: str | None = None
    dissolved: bool = False
    last_seq: int = 0
    last_message_at: datetime | None = None
    last_message_preview: str = ""
    created_at: datetime = field(default_factory=utcnow)
    # Raised by every change of the thread's own fields: changes are compare-and-set on it,
    # so two admins editing the member list at once never drop each other's edit.
    version: int = 0

    def is_member(self, agent_id: str) -> bool:
        return not self.dissolved and agent_id in self.members

    def can_manage(self, agent_id: str) -> bool:
        return self.is_member(agent_id) and (agent_id == self.owner_id or agent_id in self.admins)

    @property
    def active_at(self) -> datetime:
        """The thread list's order: its newest message, or its creation."""
        return self.last_message_at or self.created_at

    def public(self, viewer: str, *, read_seq: int = 0, peer_read_seq: int | None = None):
        """As `viewer` sees it: their unread count, and in a direct chat how far the other
        side has read."""
        shown: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "description": self.description,
            "announcement": self.announcement,
            "announcement_at": iso(self.announcement_at),
            "owner_id": self.owner_id,
            "admins": list(self.admins),
            "members": list(self.members),
            "muted": viewer in self.muted,
            "dissolved": self.dissolved,
            "unread": max(0, self.last_seq - read_seq),
            "read_seq": read_seq,
            "last_seq": self.last_seq,
            "last_message_at": iso(self.last_message_at),
            "last_message_preview": self.last_message_preview,
            "created_at": iso(self.created_at),
        }
        if self.kind == ThreadKind.DIRECT.value:
            shown["peer_read_seq"] = peer_read_seq or 0
        return shown


@dataclass(slots=True)
class ImSender:
    id: str
    name: str = ""


@dataclass(slots=True)
class ImMessage:
    id: str
    tenant: str
    thread_id: str
    sender: ImSender
    type: str = "text"  # text | image | file | consult (a customer conversation's link)
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    # The message this one quotes: {seq, sender_name, text} as it was (a preview).
    quote: dict[str, Any] | None = None
    # A consult link: {conversation_id} of a customer conversation of the tenant.
    consult: dict[str, Any] | None = None
    client_id: str | None = None
    seq: int = 0  # assigned by the store
    created_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "thread_id": self.thread_id,
            "seq": self.seq,
            "sender": {"type": "agent", "id": self.sender.id, "name": self.sender.name},
            "type": self.type,
            "text": self.text,
            "attachments": list(self.attachments),
            "mentions": list(self.mentions),
            "quote": self.quote,
            "consult": self.consult,
            "client_id": self.client_id,
            "created_at": iso(self.created_at),
        }


@dataclass(slots=True)
class ImAppended:
    """What `append_im_message` did: the message as stored (the original for a repeated
    client id, `created` False) and the thread as of that append (its members then are the
    ones who receive it)."""

    message: ImMessage
    created: bool
    thread: ImThread
