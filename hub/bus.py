"""The domain event bus: actions publish typed events (hub/events.py) after their writes are
durable; subscribers are registered once by the app factory.

Delivery is in process and in order: `publish` awaits each subscriber of the event's type
in the order they subscribed, so a subscriber sees one action's events in the order the
action published them, and an action's next step runs after its event was handed on (the
socket fan-out has queued the packets by then). A failing subscriber is logged and skipped:
the write the event announces is already durable, so the action itself must not fail for
it, and the other subscribers still hear of it."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hub.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Subscriber = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[type[Event], list[Subscriber]] = defaultdict(list)
        # Resolved per concrete event type on first publish: a subscriber to a base class
        # (ConversationEvent) hears every subclass.
        self._resolved: dict[type[Event], tuple[Subscriber, ...]] = {}

    def subscribe(self, kind: type[E], subscriber: Callable[[E], Awaitable[None]]) -> None:
        self._subscribers[kind].append(subscriber)
        self._resolved.clear()

    def _for(self, kind: type[Event]) -> tuple[Subscriber, ...]:
        found = self._resolved.get(kind)
        if found is None:
            found = tuple(
                subscriber
                for base in reversed(kind.__mro__)
                for subscriber in self._subscribers.get(base, ())  # type: ignore[call-overload]
            )
            self._resolved[kind] = found
        return found

    async def publish(self, event: Event) -> None:
        for subscriber in self._for(type(event)):
            try:
                await subscriber(event)
            except Exception:
                log.exception("a subscriber of %s failed", type(event).__name__)
