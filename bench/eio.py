"""A lean Socket.IO v5 client over one raw Engine.IO 4 websocket.

The load generator must cost far less per message than the server it measures, so this
speaks the frames directly instead of going through python-socketio's client: one text
frame per packet, no polling upgrade, no reconnection logic, no per-event task.

Frames used (Engine.IO type digit, then the Socket.IO packet):
    0{"sid":…,"pingInterval":…}   open            2 / 3   ping / pong
    40/ns,{auth}                  connect         40/ns,{"sid":…}   connected
    44/ns,{error}                 refused         42/ns,<id>["event",data]   event
    43/ns,<id>[answer]            ack
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

CLOSE_TIMEOUT = 2.0

EventHandler = Callable[[str, Any], None]
AckHandler = Callable[[Any], None]


class ConnectRefused(Exception):
    """The server answered the namespace connect with an error packet."""


class SioSocket:
    """One websocket, one namespace. Acks are callbacks (cheaper than a future each)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        namespace: str,
        on_event: EventHandler | None = None,
    ) -> None:
        self._session = session
        self._url = f"{base_url}/socket.io/?EIO=4&transport=websocket"
        self.namespace = namespace
        self._event_prefix = f"42{namespace},"
        self._on_event = on_event
        self._ack_ids = itertools.count(1)
        self._pending_acks: dict[int, AckHandler] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Future[Any] | None = None
        self.closed = asyncio.Event()
        self._pongs: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending_acks)

    async def connect(self, auth: dict[str, Any], timeout: float) -> Any:
        """Open the websocket and the namespace; returns the server's connect payload."""
        async with asyncio.timeout(timeout):
            self._ws = await self._session.ws_connect(
                self._url,
                autoclose=False,
                autoping=True,
                max_msg_size=8 * 1024 * 1024,
                # An overloaded server answers the close handshake late; do not wait long.
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
            )
            opening = await self._ws.receive()
            if opening.type != aiohttp.WSMsgType.TEXT or not opening.data.startswith("0"):
                raise ConnectRefused(f"unexpected Engine.IO open packet: {opening.data!r}")
            self._connected = asyncio.get_running_loop().create_future()
            self._reader = asyncio.get_running_loop().create_task(self._read_loop())
            await self._ws.send_str(f"40{self.namespace}," + orjson.dumps(auth).decode())
            return await self._connected

    async def send(self, event: str, data: Any, on_ack: AckHandler | None = None) -> None:
        """Write one event frame; `on_ack` runs when its ack arrives. aiohttp only suspends
        here when the transport's buffer is over its high-water mark."""
        assert self._ws is not None
        body = orjson.dumps([event, data]).decode()
        if on_ack is None:
            await self._ws.send_str(self._event_prefix + body)
            return
        ack_id = next(self._ack_ids)
        self._pending_acks[ack_id] = on_ack
        await self._ws.send_str(f"{self._event_prefix}{ack_id}{body}")

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        """Send an event and wait for its ack."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def resolve(value: Any) -> None:
            if not answer.done():
                answer.set_result(value)

        await self.send(event, data, resolve)
        async with asyncio.timeout(timeout):
            return await answer

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            try:
                await self._ws.send_str(f"41{self.namespace},")
                await self._ws.close()
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                pass  # the server went first; nothing left to tidy
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                self._dispatch(frame.data)
        finally:
            self.closed.set()
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectRefused("closed before connecting"))

    def _dispatch(self, data: str) -> None:
        kind = data[0]
        if kind == "2":  # Engine.IO ping: the server drops us without a pong
            assert self._ws is not None
            pong = asyncio.ensure_future(self._ws.send_str("3"))
            self._pongs.add(pong)  # the loop keeps only weak references to tasks
            pong.add_done_callback(self._pongs.discard)
            return
        if kind != "4":
            return
        packet_type = data[1]
        rest = data[2:]
        if rest.startswith("/"):
            comma = rest.find(",")
            rest = rest[comma + 1 :] if comma >= 0 else ""
        if packet_type == "2" or packet_type == "3":
            digits = 0
            while digits < len(rest) and rest[digits].isdigit():
                digits += 1
            ack_id = int(rest[:digits]) if digits else None
            body = orjson.loads(rest[digits:])
            if packet_type == "3":
                handler = self._pending_acks.pop(ack_id, None) if ack_id is not None else None
                if handler is not None:
                    handler(body[0] if body else None)
            elif self._on_event is not None:
                self._on_event(body[0], body[1] if len(body) > 1 else None)
        elif packet_type == "0":
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(orjson.loads(rest) if rest else None)
        elif packet_type == "4":
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectRefused(rest))
