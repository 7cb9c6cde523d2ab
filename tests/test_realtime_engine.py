"""The lean websocket loop (hub/realtime/engine.py) against real clients on a real server:
python-socketio clients over the websocket and over long-polling with an upgrade, and a raw
websocket that goes silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from hub.realtime.engine import LeanServer, LeanSocket
from hub.realtime.server import socketio_options
from tests.conftest import free_port

NS = "/t"
WAIT = 10.0


@dataclass
class EchoServer:
    sio: LeanServer
    url: str
    connected: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    disconnected: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def lean_sockets(self) -> list[bool]:
        return [isinstance(s, LeanSocket) for s in self.sio.eio.sockets.values()]


async def _serve(**engine_options: Any) -> AsyncIterator[EchoServer]:
    sio = LeanServer(**(socketio_options() | engine_options))
    app = web.Application()
    sio.attach(app)
    port = free_port()
    server = EchoServer(sio, f"http://127.0.0.1:{port}")

    async def on_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        server.connected.put_nowait(sid)

    async def on_disconnect(sid: str, *_: Any) -> None:
        server.disconnected.put_nowait(sid)

    async def on_echo(sid: str, data: Any = None) -> Any:
        await sio.emit("echoed", data, to=sid, namespace=NS)
        return data

    sio.on("connect", on_connect, namespace=NS)
    sio.on("disconnect", on_disconnect, namespace=NS)
    sio.on("echo", on_echo, namespace=NS)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def echo_server() -> AsyncIterator[EchoServer]:
    async for server in _serve():
        yield server


@pytest.fixture
async def impatient_server() -> AsyncIterator[EchoServer]:
    """Pings every second, gives up on a peer silent for 3 s; no monitor task, so only the
    websocket loop's watchdog can notice a silent peer."""
    async for server in _serve(ping_interval=1, ping_timeout=2, monitor_clients=False):
        yield server


async def _client(url: str, transports: list[str] | None = None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    received: list[Any] = []
    client.on("echoed", received.append, namespace=NS)
    client.received = received  # type: ignore[attr-defined]
    await client.connect(url, namespaces=[NS], transports=transports, wait_timeout=WAIT)
    return client


async def test_websocket_answers_and_events_arrive_in_order(echo_server: EchoServer) -> None:
    client = await _client(echo_server.url, ["websocket"])
    try:
        answers = [
            await client.call("echo", {"n": n}, namespace=NS, timeout=WAIT) for n in range(50)
        ]
        assert answers == [{"n": n} for n in range(50)]
        # Each event was queued before its ack, and one writer sends a socket's frames in order.
        assert client.received == [{"n": n} for n in range(50)]  # type: ignore[attr-defined]
        assert echo_server.lean_sockets() == [True]
    finally:
        await client.disconnect()
    await asyncio.wait_for(echo_server.disconnected.get(), WAIT)


async def test_a_long_polling_client_upgrades_to_the_websocket(echo_server: EchoServer) -> None:
    client = await _client(echo_server.url, ["polling", "websocket"])
    try:
        assert client.transport() == "websocket"
        (socket,) = echo_server.sio.eio.sockets.values()
        assert isinstance(socket, LeanSocket) and socket.upgraded
        assert await client.call("echo", "after the upgrade", namespace=NS, timeout=WAIT) == (
            "after the upgrade"
        )
    finally:
        await client.disconnect()


async def test_a_silent_peer_is_dropped_and_a_live_one_is_kept(
    impatient_server: EchoServer,
) -> None:
    live = await _client(impatient_server.url, ["websocket"])
    live_sid = await asyncio.wait_for(impatient_server.connected.get(), WAIT)
    session = aiohttp.ClientSession()
    try:
        ws = await session.ws_connect(
            f"{impatient_server.url}/socket.io/?EIO=4&transport=websocket"
        )
        opened = await ws.receive_str(timeout=WAIT)
        assert opened.startswith("0")
        await ws.send_str(f"40{NS},")
        silent_sid = await asyncio.wait_for(impatient_server.connected.get(), WAIT)
        # It never answers the server's pings nor sends anything else.
        gone = await asyncio.wait_for(impatient_server.disconnected.get(), WAIT)
        assert gone == silent_sid
        async with asyncio.timeout(WAIT):
            while not ws.closed:
                await ws.receive()
        # The live client has been connected longer than the limit: its pongs kept it.
        assert live.connected
        assert await live.call("echo", "still here", namespace=NS, timeout=WAIT) == "still here"
        assert impatient_server.disconnected.empty()
        assert live_sid != silent_sid
    finally:
        await session.close()
        await live.disconnect()


async def test_a_frame_over_the_size_limit_ends_the_connection() -> None:
    async for server in _serve(max_http_buffer_size=1000):
        client = await _client(server.url, ["websocket"])
        try:
            await client.emit("echo", "x" * 5000, namespace=NS)
            await asyncio.wait_for(server.disconnected.get(), WAIT)
            async with asyncio.timeout(WAIT):
                await client.wait()  # returns once the server has closed the connection
        finally:
            await client.disconnect()
