"""The contact and open conversation of each contact with a connected web visitor, so a
visitor's message costs one store call (the append) instead of two reads before it.

What a hit promises: the same contact and conversation a fresh read would return at that
moment. How: the store brackets every write to a contact or to one of its conversations with
`changing(tenant, contact_id)` (hub.context wires it as `Store.contact_write_guard`). While
such a write is in flight the contact's entry is neither used nor filled, and when the write
ends (committed or not) the entry is emptied, so the next message reads the store again and
refills it. A fill only lands if no write for that contact began or ended since the reads it
is made of started.

What it assumes: this process makes every write to these records. Several hub processes
sharing one store (MongoDB with the Redis socket manager) would miss each other's writes, so
the app turns the cache off in that mode (`enabled=False`: every lookup misses).

Entries live while the contact has at least one visitor socket (tabs share one), so memory
follows connected visitors and nothing outlives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hub.domain import Contact, Conversation

Key = tuple[str, str]


@dataclass(slots=True)
class _Entry:
    sockets: int = 0
    generation: int = 0
    contact: Contact | None = None
    conversation: Conversation | None = None  # open when cached


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before the reads a fill is made of."""

    key: Key
    entry: _Entry
    generation: int


class ContactCache:
    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: dict[Key, _Entry] = {}
        # Kept apart from the entries: a socket may connect while a write is in flight.
        self._changing: dict[Key, int] = {}

    def attach(self, tenant: str, contact_id: str) -> None:
        if not self.enabled:
            return
        entry = self._entries.setdefault((tenant, contact_id), _Entry())
        entry.sockets += 1

    def detach(self, tenant: str, contact_id: str) -> None:
        key = (tenant, contact_id)
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.sockets -= 1
        if entry.sockets <= 0:
            del self._entries[key]

    def lookup(
        self, tenant: str, contact_id: str, channel: str
    ) -> tuple[Contact, Conversation] | None:
        key = (tenant, contact_id)
        entry = self._entries.get(key)
        if (
            entry is None
            or entry.contact is None
            or entry.conversation is None
            or entry.conversation.channel != channel
            or key in self._changing
        ):
            return None
        return entry.contact, entry.conversation

    def ticket(self, tenant: str, contact_id: str) -> Ticket | None:
        key = (tenant, contact_id)
        entry = self._entries.get(key)
        if entry is None or key in self._changing:
            return None
        return Ticket(key, entry, entry.generation)

    def fill(self, ticket: Ticket | None, contact: Contact, conversation: Conversation) -> None:
        if ticket is None or not conversation.is_open:
            return
        entry = self._entries.get(ticket.key)
        if (
            entry is not ticket.entry
            or entry.generation != ticket.generation
            or ticket.key in self._changing
        ):
            return
        entry.contact, entry.conversation = contact, conversation

    def forget(self, tenant: str, contact_id: str) -> None:
        entry = self._entries.get((tenant, contact_id))
        if entry is not None:
            entry.generation += 1
            entry.contact = entry.conversation = None

    @contextmanager
    def changing(self, tenant: str, contact_id: str) -> Iterator[None]:
        """Wrap every write to the contact or to one of its conversations."""
        key = (tenant, contact_id)
        self._changing[key] = self._changing.get(key, 0) + 1
        self.forget(tenant, contact_id)
        try:
            yield
        finally:
            left = self._changing[key] - 1
            if left:
                self._changing[key] = left
            else:
                del self._changing[key]
            self.forget(tenant, contact_id)
