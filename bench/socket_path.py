"""The socket layer's cost per relayed message, in process: python -m bench.socket_path

One message is what the relay scenario does per visitor message in the Socket.IO layer:
the visitor's `message` event is decoded and dispatched, its handler's answer is acked,
and the message is emitted to the agent. Engine.IO sockets are real python-engineio
sockets without a transport (what is sent stays on their queues), so the numbers leave
out the network, the websocket writer and the hub's storage, and contain everything the
server options change. Variants run interleaved in one process, so a busy machine slows
them alike:

  library      python-socketio's own packet class and client manager, the hub's codec
  hub          the hub's options (hub.realtime.server.socketio_options)
  hub-handler  the hub's options with the hub's way of answering: a namespace class, the
               `acked` wrapper, the emit to [watch room, agent room]

Prints microseconds per message (best and median of the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

import socketio
from engineio.async_socket import AsyncSocket

from hub.realtime.rooms import AGENT_NS, VISITOR_NS, agent_room, watch_room
from hub.realtime.server import acked, socketio_options

MESSAGE: dict[str, Any] = {
    "id": "01HZX4J3K9ABCDEF",
    "conversation_id": "01HZX4J3K0ABCDEF",
    "seq": 12,
    "sender": {"type": "contact", "id": "01HZX4J3K1ABCDEF", "name": "Visitor 12"},
    "type": "text",
    "text": "hello there, I have a question",
    "attachments": [],
    "client_id": "c-123",
    "created_at": "2024-01-01T00:00:00.000Z",
}
INBOUND = '2/visitor,17["message",{"text":"hello there, I have a question","client_id":"c-123"}]'
VARIANTS = ("library", "hub", "hub-handler")


class _VisitorNamespace(socketio.AsyncNamespace):
    @acked
    async def on_message(self, sid: str, data: object = None) -> dict[str, Any]:
        return {"message": MESSAGE}


class _Setup:
    def __init__(self, variant: str) -> None:
        options = socketio_options()
        if variant == "library":
            options["serializer"] = "default"
            options["client_manager"] = None
        self.sio = socketio.AsyncServer(**options)
        self.variant = variant
        self.agent_sid = ""

    async def start(self) -> None:
        if self.variant == "hub-handler":
            self.sio.register_namespace(_VisitorNamespace(VISITOR_NS))
        else:

            async def on_message(sid: str, data: object = None) -> dict[str, Any]:
                return {"ok": True, "message": MESSAGE}

            self.sio.on("message", on_message, namespace=VISITOR_NS)
        for eio_sid in ("visitor", "agent"):
            socket = AsyncSocket(self.sio.eio, eio_sid)
            socket.connected = True
            socket.last_ping = None
            self.sio.eio.sockets[eio_sid] = socket
        await self.sio.manager.connect("visitor", VISITOR_NS)
        self.agent_sid = await self.sio.manager.connect("agent", AGENT_NS)
        await self.sio.manager.enter_room(self.agent_sid, AGENT_NS, agent_room("t", "a1"))

    def _drain(self) -> None:
        for socket in self.sio.eio.sockets.values():
            while not socket.queue.empty():
                socket.queue.get_nowait()
                socket.queue.task_done()

    async def run(self, messages: int) -> float:
        """Microseconds per message."""
        to: str | list[str] = self.agent_sid
        if self.variant == "hub-handler":
            to = [watch_room("t", "c1"), agent_room("t", "a1")]
        started = time.perf_counter()
        for number in range(messages):
            await self.sio._handle_eio_message("visitor", INBOUND)
            await self.sio.emit("message", MESSAGE, to=to, namespace=AGENT_NS)
            if number % 64 == 0:
                self._drain()
        elapsed = time.perf_counter() - started
        self._drain()
        return elapsed / messages * 1e6


async def measure(messages: int, rounds: int) -> dict[str, list[float]]:
    setups = {variant: _Setup(variant) for variant in VARIANTS}
    for setup in setups.values():
        await setup.start()
        await setup.run(messages // 10)  # warm up
    results: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(rounds):
        for variant, setup in setups.items():
            gc.collect()
            results[variant].append(await setup.run(messages))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.socket_path", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    results = asyncio.run(measure(args.messages, args.rounds))
    for variant, timings in results.items():
        print(
            f"{variant:12s} best {min(timings):6.2f}  median {statistics.median(timings):6.2f}"
            " us/message (decode + dispatch + ack + emit)"
        )


if __name__ == "__main__":
    main()
