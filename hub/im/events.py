"""The enterprise IM's domain events, published by hub/im/actions.py after the write."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.events import Event
from hub.im.model import ImMessage, ImThread


@dataclass(frozen=True, slots=True)
class ImEvent(Event):
    thread: ImThread  # as of the write: its members are the ones who hear of it

    @property
    def tenant(self) -> str:
        return self.thread.tenant


@dataclass(frozen=True, slots=True)
class ImMessageCreated(ImEvent):
    message: ImMessage
    origin: str | None = None  # the sending socket (its ack carries the message)


@dataclass(frozen=True, slots=True)
class ImThreadChanged(ImEvent):
    """Created, renamed, members added or removed, ownership moved, dissolved. `removed`:
    agents who are no longer members (told that they left, and nothing else)."""

    removed: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ImRead(ImEvent):
    agent_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class ImTyping(ImEvent):
    agent_id: str
    name: str
    on: bool
    origin: str | None = None
