"""The loop of a durable queue's worker (the channel outbox, the webhook queue): claim what
is due and attempt it, again at once while there was work, otherwise after a poll interval
or as soon as it is woken (new work written on this node). Polling picks up what other nodes
queued, retries that came due and leases that ran out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class DueWorkLoop:
    def __init__(
        self, name: str, run_once: Callable[[], Awaitable[bool]], poll_seconds: float
    ) -> None:
        """`run_once` claims and attempts one batch, answering whether anything was due."""
        self.name = name
        self._run_once = run_once
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                busy = await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s could not take its next batch", self.name)
                busy = False
            if busy:
                continue  # there may be more due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
