"""A Socket.IO client speaking the wire protocol itself, over aiohttp's websocket: for
packets python-socketio's client would never send (lone surrogates, reserved event names
with forged arguments, unreadable JSON)."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

import aiohttp

WAIT = 10.0


class RawSocket:
    def __init__(self, base_url: str, namespace: str, headers: dict[str, str] | None = None):
        self.url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.namespace = namespace
        self.headers = headers or {}
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: list[Any] = []

    async def __aenter__(self) -> RawSocket:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, headers=self.headers)
        opened = await self._frame()
        assert opened.startswith("0"), opened
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.session is not None and self.ws is not None
        await self.ws.close()
        await self.session.close()

    async def _frame(self) -> str:
        assert self.ws is not None
        while True:
            message = await asyncio.wait_for(self.ws.receive(), WAIT)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"websocket {message.type.name}")
            if message.data == "2":  # engine.io ping
                await self.ws.send_str("3")
                continue
            if message.data.startswith(f"41{self.namespace},"):
                raise ConnectionError("the hub disconnected this socket from the namespace")
            return message.data

    async def join(self, auth: dict[str, Any] | str) -> str:
        """Connect to the namespace (`auth` a dict, or raw JSON text); the CONNECT or
        CONNECT_ERROR answer."""
        assert self.ws is not None
        raw = auth if isinstance(auth, str) else json.dumps(auth)
        await self.ws.send_str(f"40{self.namespace},{raw}")
        prefix = f"4{{}}{self.namespace},"
        while True:
            frame = await self._frame()
            if frame.startswith(prefix.format(0)) or frame.startswith(prefix.format(4)):
                return frame
            self.events.append(frame)

    async def call_raw(self, payload: str, ack_id: int = 1) -> Any:
        """Send an EVENT whose JSON array is `payload` verbatim; its ack's first argument."""
        assert self.ws is not None
        await self.ws.send_str(f"42{self.namespace},{ack_id}{payload}")
        prefix = f"43{self.namespace},{ack_id}"
        while True:
            frame = await self._frame()
            if frame.startswith(prefix):
                return json.loads(frame[len(prefix) :])[0]
            self.events.append(frame)

    async def call(self, event: str, *args: Any, ack_id: int = 1) -> Any:
        return await self.call_raw(json.dumps([event, *args]), ack_id)
