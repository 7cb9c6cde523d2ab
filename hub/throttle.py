"""A sliding-window counter: at most `limit` events per key within `window` seconds."""

from __future__ import annotations

import time
from collections import deque


class Throttle:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def exceeded(self, key: str) -> bool:
        return len(self._recent(key, time.monotonic())) >= self.limit

    def record(self, key: str) -> None:
        now = time.monotonic()
        events = self._recent(key, now)
        events.append(now)
        self._events[key] = events

    def clear(self, key: str) -> None:
        self._events.pop(key, None)
