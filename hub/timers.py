"""Named one-shot timers (queue timeout, disconnect grace): scheduling a name again replaces
the earlier timer, so there is never more than one per conversation or agent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)


class Timers:
    def __init__(self) -> None:
        self._handles: dict[Hashable, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()

    def schedule(
        self, key: Hashable, delay: float, callback: Callable[[], Awaitable[None]]
    ) -> None:
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self._handles[key] = loop.call_later(max(delay, 0.0), self._fire, key, callback)

    def cancel(self, key: Hashable) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, key: Hashable, callback: Callable[[], Awaitable[None]]) -> None:
        self._handles.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._run(key, callback))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: Hashable, callback: Callable[[], Awaitable[None]]) -> None:
        try:
            await callback()
        except Exception:
            log.exception("timer %r failed", key)

    async def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
