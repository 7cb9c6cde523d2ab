"""The hub's cost per visitor message on its event loop, in process: python -m bench.hub_path

A real hub (create_app, SQLite store with its writer process, the ACD, the namespaces) with
Engine.IO sockets that have no transport: agents and visitors connect through the real
namespace handlers, then every visitor sends messages concurrently, each waiting for its
ack (window 1). Reports the event loop thread's CPU per message (time.thread_time), the
writer process's CPU per message (both its threads) and the rate. Packets the hub sends
stay on the sockets' queues and are dropped between rounds, so the network and websocket
writing are left out: what remains is decoding, dispatch, the hub's handler, the durable
append's loop side, the emits and the ack. `--profile` adds a cProfile of one more round.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from engineio.async_socket import AsyncSocket

from bench.servers import cpu_seconds
from config.settings import load_settings
from hub import gc_policy
from hub.actions.agents import do_create_agent
from hub.actions.routing import do_update_routing_settings, routing_settings
from hub.app import SIO, create_app
from hub.context import HUB

TENANT = "default"


class Harness:
    def __init__(self, visitors: int, agents: int) -> None:
        self.visitor_count = visitors
        self.agent_count = agents
        self.visitors: list[str] = []
        self.ack_ids = 0

    async def start(self, data_dir: Path) -> None:
        os.environ.setdefault("HUB_ADMIN_PASSWORD", "bench-password-1")
        settings = load_settings(overrides={"data_dir": data_dir, "log_level": "WARNING"})
        self.app = create_app(settings)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        self.hub = self.app[HUB]
        self.sio = self.app[SIO]
        current = await routing_settings(self.hub, TENANT)
        current.policy = "idle_first"
        current.history_agent_first = False
        await do_update_routing_settings(self.hub, TENANT, current)
        per_agent = -(-self.visitor_count // self.agent_count) + 10
        for number in range(self.agent_count):
            agent = await do_create_agent(
                self.hub,
                TENANT,
                name=f"agent {number}",
                email=f"agent{number}@bench.example",
                password="bench-password-1",
                roles=["agent"],
                skills=[],
                max_concurrent=per_agent,
            )
            sid = f"agent-{number}"
            await self._connect(
                sid, "/agent", {"token": self.hub.tokens.agent_token(TENANT, agent.id)}
            )
            await self._call(sid, "/agent", "presence", {"status": "ready"})
        for number in range(self.visitor_count):
            sid = f"visitor-{number}"
            await self._connect(sid, "/visitor", {"tenant": TENANT, "name": f"visitor {number}"})
            self.visitors.append(sid)
        await asyncio.gather(*(self._message(sid, 0) for sid in self.visitors))
        self.writer_pid = self.hub.store._writer.process.pid  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def _connect(self, eio_sid: str, namespace: str, auth: dict[str, Any]) -> None:
        socket = AsyncSocket(self.sio.eio, eio_sid)
        socket.connected = True
        socket.last_ping = None
        self.sio.eio.sockets[eio_sid] = socket
        environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "bench"}
        self.sio.environ[eio_sid] = environ
        await self.sio._handle_eio_message(eio_sid, f"0{namespace},{orjson.dumps(auth).decode()}")

    async def _call(self, eio_sid: str, namespace: str, event: str, data: Any) -> None:
        """Hand the server an event with an ack id, as the socket's reader would; the ack
        stays on the socket's queue."""
        self.ack_ids += 1
        packet = f"2{namespace},{self.ack_ids}{orjson.dumps([event, data]).decode()}"
        await self.sio._handle_eio_message(eio_sid, packet)

    async def _message(self, eio_sid: str, number: int) -> None:
        await self._call(
            eio_sid,
            "/visitor",
            "message",
            {"client_id": f"{eio_sid}-{number}", "text": f"bench {time.monotonic_ns()}"},
        )

    def drain(self) -> None:
        """Drop what the hub sent; a refused message stops the benchmark."""
        refused = 0
        for socket in self.sio.eio.sockets.values():
            queue = socket.queue
            while not queue.empty():
                sent = queue.get_nowait()
                queue.task_done()
                refused += isinstance(sent.data, str) and '"ok":false' in sent.data
        if refused:
            raise RuntimeError(f"the hub refused {refused} messages")

    async def round(self, per_visitor: int, start: int) -> tuple[float, float, float]:
        """Every visitor sends `per_visitor` messages one after another; all at once."""

        async def visitor(sid: str) -> None:
            for number in range(start, start + per_visitor):
                await self._message(sid, number)

        gc.collect()
        writer_before = cpu_seconds(self.writer_pid)
        cpu_before, wall_before = time.thread_time(), time.perf_counter()
        await asyncio.gather(*(visitor(sid) for sid in self.visitors))
        cpu, wall = time.thread_time() - cpu_before, time.perf_counter() - wall_before
        writer = cpu_seconds(self.writer_pid) - writer_before
        self.drain()  # outside the timing
        count = per_visitor * len(self.visitors)
        return cpu / count * 1e6, writer / count * 1e6, count / wall


async def run(args: argparse.Namespace) -> None:
    gc_policy.tune_for_serving()
    with tempfile.TemporaryDirectory(prefix="bench-hub-path-") as tmp:
        harness = Harness(args.visitors, args.agents)
        await harness.start(Path(tmp) / "data")
        gc.collect()
        gc.freeze()
        try:
            start = 1
            await harness.round(5, start)
            start += 5
            loop_us, writer_us, rates = [], [], []
            for _ in range(args.rounds):
                loop, writer, rate = await harness.round(args.messages, start)
                start += args.messages
                loop_us.append(loop)
                writer_us.append(writer)
                rates.append(rate)
            print(
                f"loop CPU {statistics.median(loop_us):.1f} us/msg (best {min(loop_us):.1f}), "
                f"writer CPU {statistics.median(writer_us):.1f} us/msg, "
                f"{statistics.median(rates):.0f} msgs/s"
            )
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await harness.round(args.messages, start)
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats(args.sort).print_stats(args.top)
        finally:
            await harness.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_path", description=__doc__)
    parser.add_argument("--visitors", type=int, default=400)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--messages", type=int, default=20, help="per visitor per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
