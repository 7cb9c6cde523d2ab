"""The socket layer as clients see it: python-socketio's server with the hub's options
(hub/realtime/server.py), against real clients. A peer that goes silent is dropped, a
long-polling client upgrades to the websocket, an event whose JSON cannot be read is
answered with an error ack, and a packet over the size limit is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from hub.realtime.server import MAX_PACKET_BYTES, socketio_options
from tests.conftest import RunningHub, free_port
from tests.raw_socket import RawSocket

NS = "/t"
WAIT = 10.0


@dataclass
class EchoServer:
    url: str
    connected: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    disconnected: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


@pytest.fixture
async def impatient_server() -> AsyncIterator[EchoServer]:
    """The hub's socket options, with pings every second and a peer given up on after 3 s."""
    sio = socketio.AsyncServer(
        **socketio_options(), max_http_buffer_size=MAX_PACKET_BYTES, ping_interval=1, ping_timeout=2
    )
    app = web.Application()
    sio.attach(app)
    port = free_port()
    server = EchoServer(f"http://127.0.0.1:{port}")

    async def on_connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        server.connected.put_nowait(sid)

    async def on_disconnect(sid: str, *_: Any) -> None:
        server.disconnected.put_nowait(sid)

    async def on_echo(sid: str, data: Any = None) -> Any:
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


async def test_a_silent_peer_is_dropped_and_a_live_one_is_kept(
    impatient_server: EchoServer,
) -> None:
    live = socketio.AsyncClient(reconnection=False)
    await live.connect(
        impatient_server.url, namespaces=[NS], transports=["websocket"], wait_timeout=WAIT
    )
    live_sid = await asyncio.wait_for(impatient_server.connected.get(), WAIT)
    session = aiohttp.ClientSession()
    try:
        ws = await session.ws_connect(
            f"{impatient_server.url}/socket.io/?EIO=4&transport=websocket"
        )
        assert (await ws.receive_str(timeout=WAIT)).startswith("0")
        await ws.send_str(f"40{NS},")
        silent_sid = await asyncio.wait_for(impatient_server.connected.get(), WAIT)
        # It never answers the server's pings nor sends anything else.
        gone = await asyncio.wait_for(impatient_server.disconnected.get(), WAIT)
        assert gone == silent_sid != live_sid
        async with asyncio.timeout(WAIT):
            while not ws.closed:
                await ws.receive()
        # The live client has been connected longer than the limit: its pongs kept it.
        assert live.connected
        assert await live.call("echo", "still here", namespace=NS, timeout=WAIT) == "still here"
        assert impatient_server.disconnected.empty()
    finally:
        await session.close()
        await live.disconnect()


async def test_a_long_polling_visitor_upgrades_to_the_websocket(running_hub: RunningHub) -> None:
    """The upgrade's probe goes through the hub's JSON codec, which must leave it alone."""
    client = socketio.AsyncClient(reconnection=False)
    sessions: asyncio.Queue[Any] = asyncio.Queue()
    client.on("session", sessions.put_nowait, namespace="/visitor")
    await client.connect(
        running_hub.base_url,
        namespaces=["/visitor"],
        auth={"tenant": "default"},
        transports=["polling", "websocket"],
        wait_timeout=WAIT,
    )
    try:
        await asyncio.wait_for(sessions.get(), WAIT)
        assert client.transport() == "websocket"
        ack = await client.call(
            "message", {"client_id": "up", "text": "after the upgrade"}, namespace="/visitor"
        )
        assert ack["ok"] is True and ack["message"]["text"] == "after the upgrade", ack
    finally:
        await client.disconnect()


async def test_events_whose_json_cannot_be_read_get_an_error_ack(
    running_hub: RunningHub,
) -> None:
    async with RawSocket(running_hub.base_url, "/visitor") as raw:
        assert (await raw.join({"tenant": "default"})).startswith("40/visitor,")
        ack = await raw.call_raw('["message",{"client_id":"x","text":"cut off', ack_id=7)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_json", ack
        ack = await raw.call_raw('["message",{"client_id":"x","text":"\\udfff"}]', ack_id=8)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_text", ack
        # Without an ack id there is nobody to answer; the socket goes on working.
        assert raw.ws is not None
        await raw.ws.send_str('42/visitor,["message",{')
        ack = await raw.call("message", {"client_id": "fine", "text": "fine"}, ack_id=9)
        assert ack["ok"] is True, ack


async def test_a_packet_over_the_size_limit_is_refused(running_hub: RunningHub) -> None:
    """Up to MAX_PACKET_BYTES a packet arrives and a text too long gets its error ack
    (tests/test_invalid_input.py); past it the websocket is closed with "message too big"."""
    async with RawSocket(running_hub.base_url, "/visitor") as raw:
        assert (await raw.join({"tenant": "default"})).startswith("40/visitor,")
        assert raw.ws is not None
        text = "x" * MAX_PACKET_BYTES
        await raw.ws.send_str(
            "42/visitor,1" + json.dumps(["message", {"client_id": "big", "text": text}])
        )
        async with asyncio.timeout(WAIT):
            while (message := await raw.ws.receive()).type not in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
            ):
                assert not str(message.data).startswith("43/visitor,1"), message
        assert raw.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
