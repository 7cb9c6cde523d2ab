"""A real HTTP receiver for webhook tests: an aiohttp server on a free port that records
each delivery (headers and raw body) and answers the statuses it is told to."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.conftest import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return orjson.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", ""))


@dataclass
class Receiver:
    port: int
    # Answered in turn, then `then` for every later request.
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    received: list[Received] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._arrived:
            self.received.append(Received(dict(request.headers), body))
            self._arrived.notify_all()
        status = self.statuses.pop(0) if self.statuses else self.then
        return web.Response(status=status, text="ok" if status < 300 else "receiver says no")

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return self.received

    async def wait_for_event(self, event: str, timeout: float = 10.0) -> Received:
        def found() -> Received | None:
            return next((r for r in self.received if r.json["event"] == event), None)

        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        hit = found()
        assert hit is not None
        return hit

    def events(self) -> list[str]:
        return [r.json["event"] for r in self.received]


@asynccontextmanager
async def receiver_running(port: int | None = None, **options: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(port or free_port(), **options)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()
