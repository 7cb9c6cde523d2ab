"""The client managers that send emitted events without a task per recipient: the same
packets reach the same sockets as with python-socketio's AsyncManager."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio
from engineio.async_socket import AsyncSocket

from hub.realtime.fanout import DirectSendManager, DirectSendRedisManager
from hub.realtime.server import socketio_options

AGENT_NS = "/agent"
MESSAGE = {
    "id": "m1",
    "conversation_id": "c1",
    "seq": 3,
    "sender": {"type": "contact", "id": "v1", "name": "Visitor"},
    "type": "text",
    "text": "hello",
    "attachments": [],
    "client_id": "k1",
    "created_at": "2024-01-01T00:00:00.000Z",
}
# socket name -> rooms it joins in AGENT_NS
SOCKETS = {
    "agent_tab_1": ["a:t:agent"],
    "agent_tab_2": ["a:t:agent"],
    "supervisor": ["w:t:c1", "sup:t"],
    "supervisor_agent": ["w:t:c1", "a:t:agent"],
    "colleague": ["a:t:other"],
}


class Node:
    """An AsyncServer with the hub's options and fake engine.io sockets: what each socket
    is sent can be read back from its send queue."""

    def __init__(self, manager: socketio.AsyncManager) -> None:
        options = socketio_options()
        options["client_manager"] = manager
        self.sio = socketio.AsyncServer(**options)
        self.sids: dict[str, str] = {}

    async def connect(self, name: str, rooms: list[str], namespace: str = AGENT_NS) -> str:
        socket = AsyncSocket(self.sio.eio, f"eio-{name}")
        socket.connected = True
        socket.last_ping = None  # the handshake's first ping was answered
        self.sio.eio.sockets[socket.sid] = socket
        sid = await self.sio.manager.connect(socket.sid, namespace)
        for room in rooms:
            await self.sio.manager.enter_room(sid, namespace, room)
        self.sids[name] = sid
        return sid

    def socket(self, name: str) -> AsyncSocket:
        return self.sio.eio.sockets[f"eio-{name}"]

    def sent(self) -> dict[str, list[Any]]:
        """Everything queued for each socket since the last call, encoded."""
        out: dict[str, list[Any]] = {}
        for name in self.sids:
            queue = self.socket(name).queue
            out[name] = []
            while not queue.empty():
                out[name].append(queue.get_nowait().encode())
        return out


async def _node(manager: socketio.AsyncManager) -> Node:
    node = Node(manager)
    for name, rooms in SOCKETS.items():
        await node.connect(name, rooms)
    return node


Emit = Callable[[Node], Awaitable[None]]

EMITS: dict[str, Emit] = {
    "two rooms, one shared member": lambda n: n.sio.emit(
        "message", MESSAGE, to=["w:t:c1", "a:t:agent"], namespace=AGENT_NS
    ),
    "watch room missing": lambda n: n.sio.emit(
        "message", MESSAGE, to=["w:t:nobody", "a:t:agent"], namespace=AGENT_NS
    ),
    "skip the sender's tab": lambda n: n.sio.emit(
        "message",
        MESSAGE,
        to=["w:t:c1", "a:t:agent"],
        namespace=AGENT_NS,
        skip_sid=n.sids["agent_tab_1"],
    ),
    "skip a list": lambda n: n.sio.emit(
        "message",
        MESSAGE,
        to="a:t:agent",
        namespace=AGENT_NS,
        skip_sid=[n.sids["agent_tab_1"], n.sids["supervisor_agent"]],
    ),
    "one socket": lambda n: n.sio.emit(
        "presence", {"status": "online"}, to=n.sids["colleague"], namespace=AGENT_NS
    ),
    "whole namespace": lambda n: n.sio.emit("queue", {"waiting": 2}, namespace=AGENT_NS),
    "tuple is several arguments": lambda n: n.sio.emit(
        "pair", ("a", {"b": 1}), to="a:t:agent", namespace=AGENT_NS
    ),
    "no data": lambda n: n.sio.emit("ping", None, to="sup:t", namespace=AGENT_NS),
    "binary attachment": lambda n: n.sio.emit(
        "file", {"name": "a.bin", "data": b"\x00\x01"}, to="a:t:agent", namespace=AGENT_NS
    ),
    "empty room": lambda n: n.sio.emit("message", MESSAGE, to="a:t:gone", namespace=AGENT_NS),
    "unknown namespace": lambda n: n.sio.emit("message", MESSAGE, to="x", namespace="/nope"),
}


@pytest.mark.parametrize("case", list(EMITS))
async def test_same_packets_to_the_same_sockets_as_the_library(case: str) -> None:
    library = await _node(socketio.AsyncManager())
    direct = await _node(DirectSendManager())
    library.sent(), direct.sent()  # the CONNECT packets
    await EMITS[case](library)
    await EMITS[case](direct)
    expected = library.sent()
    assert direct.sent() == expected
    if case not in ("empty room", "unknown namespace"):
        assert any(expected.values())


async def test_the_emit_does_not_wait_on_the_event_loop() -> None:
    node = await _node(DirectSendManager())
    node.sent()
    emitting = node.sio.emit("message", MESSAGE, to=["w:t:c1", "a:t:agent"], namespace=AGENT_NS)
    # Finished at the first step: no task, no future, no turn of the loop.
    with pytest.raises(StopIteration):
        emitting.send(None)
    sent = node.sent()
    assert [name for name, packets in sent.items() if packets] == [
        "agent_tab_1",
        "agent_tab_2",
        "supervisor",
        "supervisor_agent",
    ]


async def test_a_socket_with_an_overdue_ping_is_closed_outside_the_emitter() -> None:
    node = await _node(DirectSendManager())
    node.sent()
    emitter = asyncio.current_task()
    disconnected_in: list[asyncio.Task[Any] | None] = []

    async def on_disconnect(sid: str, reason: str) -> None:
        disconnected_in.append(asyncio.current_task())

    node.sio.on("disconnect", on_disconnect, namespace=AGENT_NS)
    node.socket("agent_tab_2").last_ping = time.time() - node.sio.eio.ping_timeout - 1

    await node.sio.emit("message", MESSAGE, to="a:t:agent", namespace=AGENT_NS)

    # python-engineio closed the silent tab, in a task of its own (as with the library's
    # manager), so the disconnect handler did not run inside the emitting code.
    assert len(disconnected_in) == 1 and disconnected_in[0] is not emitter
    assert node.socket("agent_tab_2").closed
    sent = node.sent()
    assert len(sent["agent_tab_1"]) == 1 and len(sent["supervisor_agent"]) == 1


async def test_one_failing_socket_does_not_keep_the_event_from_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = await _node(DirectSendManager())
    node.sent()
    broken = node.socket("agent_tab_1")

    async def refuse(_: object) -> None:
        raise RuntimeError("send failed")

    broken.send = refuse  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="hub.realtime.fanout"):
        await node.sio.emit("message", MESSAGE, to="a:t:agent", namespace=AGENT_NS)
    sent = node.sent()
    assert len(sent["agent_tab_2"]) == 1 and len(sent["supervisor_agent"]) == 1
    assert "send failed" in caplog.text


async def test_emits_with_a_callback_are_left_to_the_library() -> None:
    node = await _node(DirectSendManager())
    node.sent()
    await node.sio.emit(
        "question", {"q": 1}, to=node.sids["colleague"], namespace=AGENT_NS, callback=print
    )
    (packet,) = node.sent()["colleague"]
    assert packet.startswith('42/agent,1["question"')  # an ack id is asked for


async def test_redis_manager_relays_through_the_queue_and_sends_directly() -> None:
    """The pub/sub emit path still runs (publish to the other nodes), and the local
    delivery it ends in is the direct one."""
    manager = DirectSendRedisManager("redis://127.0.0.1:1/0")
    published: list[dict[str, Any]] = []

    async def publish(message: dict[str, Any]) -> None:
        published.append(message)

    manager._publish = publish  # type: ignore[method-assign]
    node = await _node(manager)
    node.sent()
    emitting = node.sio.emit("message", MESSAGE, to=["w:t:c1", "a:t:agent"], namespace=AGENT_NS)
    with pytest.raises(StopIteration):
        emitting.send(None)
    assert published and published[0]["room"] == ["w:t:c1", "a:t:agent"]
    assert len(node.sent()["agent_tab_1"]) == 1

    # An event published by another node is delivered the same way.
    await manager._handle_emit({**published[0], "host_id": "another-node"})
    assert len(node.sent()["supervisor"]) == 1
