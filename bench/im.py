"""im: one team-chat group of M members, C of them connected (one `/im` socket each), S of
the connected ones sending messages back to back (each waits for its ack). Per server:
messages acknowledged per second, deliveries per second (each message reaches the C - 1
other connected members) and the delivery latency from send to receipt, p50 and p99.

The hub is compared with bench/im_baseline.py, a bare python-socketio server with the
same socket options that acks and emits to one room: no storage, no membership check, no
per-member rooms. Both run in interleaved rounds (the order rotating), as bench/relay.py
does, so the machine's drift hits both alike. The sockets live in `workers` processes;
send times travel in the message text (time.time_ns, one clock on one machine).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio

from bench.servers import ServerProcess, cpu_seconds
from bench.stats import merge_latencies, percentile_ms, ratio

CONNECT_TIMEOUT = 60.0
# After the senders stop, receivers wait this long past the last delivery before reporting.
DRAIN_QUIET = 0.5
DRAIN_MAX = 10.0


@dataclass(frozen=True)
class ImConfig:
    members: int
    connected: int
    senders: int
    duration: float
    rounds: int
    workers: int
    # The paced phase: each sender one message every this many seconds (a busy group's
    # pace), for the latency without the load generator's own backlog in it.
    paced_interval: float = 1.0

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> ImConfig:
        if quick:
            return cls(members=50, connected=20, senders=4, duration=2.0, rounds=1, workers=workers)
        return cls(members=500, connected=200, senders=10, duration=5.0, rounds=3, workers=workers)


SECRET = "bench-im-secret"
TENANT = "default"


def _member_ids(config: ImConfig) -> list[str]:
    return [f"member{n:04d}" for n in range(config.members)]


def _fill(data_dir: Path, config: ImConfig) -> str:
    """Writes the members and their group straight into the hub's store before it starts:
    creating 500 agents over REST would hash 500 passwords (argon2, slow by design) for a
    benchmark of something else. The tokens are signed with the hub's secret, as a sign-in
    would sign them. Returns the group's id."""
    from hub.actions.bootstrap import DEFAULT_TENANT
    from hub.domain import Agent, Tenant
    from hub.im.model import ImThread
    from hub.storage.sqlite import SqliteStore

    async def fill() -> None:
        store = SqliteStore(data_dir / "hub.sqlite3")
        await store.open()
        try:
            await store.create_tenant(Tenant(id=DEFAULT_TENANT, name="Default"))
            for n, agent_id in enumerate(_member_ids(config)):
                await store.create_agent(
                    Agent(
                        id=agent_id,
                        tenant=TENANT,
                        name=f"Member {n}",
                        email=f"{agent_id}@example.com",
                        password_hash="unused",
                    )
                )
            members = _member_ids(config)
            await store.create_im_thread(
                ImThread(
                    id="bench-group",
                    tenant=TENANT,
                    kind="group",
                    members=members,
                    name="Everybody",
                    owner_id=members[0],
                )
            )
        finally:
            await store.close()

    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    asyncio.run(fill())
    return "bench-group"


def _tokens(config: ImConfig) -> list[str]:
    from hub.security import Tokens

    tokens = Tokens(SECRET, agent_ttl_seconds=86_400)
    return [
        tokens.agent_token(TENANT, agent_id) for agent_id in _member_ids(config)[: config.connected]
    ]


async def _worker_main(
    url: str,
    tokens: list[str],
    senders: int,
    thread_id: str,
    duration: float,
    interval: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    latencies = array("q")
    received = 0
    last_delivery = time.monotonic()
    clients = []

    def on_message(data: Any) -> None:
        nonlocal received, last_delivery
        now = time.time_ns()
        received += 1
        last_delivery = time.monotonic()
        try:
            latencies.append(now - int(data["text"]))
        except (KeyError, TypeError, ValueError):
            pass

    for token in tokens:
        client = socketio.AsyncClient(reconnection=False)
        client.on("message", on_message, namespace="/im")
        await client.connect(
            url,
            namespaces=["/im"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT,
        )
        clients.append(client)
    ready.put(len(clients))
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    end = time.monotonic() + duration
    acked = 0
    failed = 0

    async def send(client: socketio.AsyncClient, number: int) -> None:
        nonlocal acked, failed
        sent = 0
        next_send = time.monotonic() + interval * number / max(1, senders)
        while time.monotonic() < end:
            if interval:
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send += interval
            sent += 1
            ack = await client.call(
                "message",
                {
                    "thread_id": thread_id,
                    "client_id": f"b{os.getpid()}-{number}-{sent}",
                    "text": str(time.time_ns()),
                },
                namespace="/im",
                timeout=30,
            )
            if ack.get("ok"):
                acked += 1
            else:
                failed += 1

    await asyncio.gather(*(send(c, n) for n, c in enumerate(clients[:senders])))
    drain_end = time.monotonic() + DRAIN_MAX
    while time.monotonic() < drain_end and time.monotonic() - last_delivery < DRAIN_QUIET:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # a benchmark's drain: stop once deliveries went quiet
    still = sum(client.connected for client in clients)
    for client in clients:
        await client.disconnect()
    results.put(
        {
            "acked": acked,
            "failed": failed,
            "received": received,
            "still_connected": still,
            "latencies": latencies.tobytes(),
        }
    )


def _worker(*args: Any) -> None:
    asyncio.run(_worker_main(*args))


def _phase(
    server: ServerProcess, tokens: list[str], thread_id: str, config: ImConfig, interval: float
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    slices = [tokens[n :: config.workers] for n in range(config.workers)]
    shares = [
        config.senders // config.workers + (n < config.senders % config.workers)
        for n in range(config.workers)
    ]
    processes = [
        context.Process(
            target=_worker,
            args=(
                server.base_url,
                part,
                share,
                thread_id,
                config.duration,
                interval,
                ready,
                go,
                results,
            ),
        )
        for part, share in zip(slices, shares, strict=True)
    ]
    for process in processes:
        process.start()
    try:
        connected = sum(ready.get(timeout=CONNECT_TIMEOUT * 4) for _ in processes)
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        go.set()
        reports = [results.get(timeout=config.duration + DRAIN_MAX + 60) for _ in processes]
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    acked = sum(r["acked"] for r in reports)
    latencies = merge_latencies(r["latencies"] for r in reports)
    return {
        "connected": connected,
        "messages_per_s": acked / config.duration,
        "deliveries_per_s": sum(r["received"] for r in reports) / config.duration,
        "failed": sum(r["failed"] for r in reports),
        "expected_deliveries": acked * (connected - 1),
        "received": sum(r["received"] for r in reports),
        "still_connected": sum(r["still_connected"] for r in reports),
        "latencies": latencies,
        "server_cpu_share": round(cpu / elapsed, 3) if elapsed else None,
    }


def run(quick: bool, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    config = ImConfig.for_run(quick, workers)
    result: dict[str, Any] = {"scenario": "im", "config": config.__dict__}
    with (
        ServerProcess("baseline", baseline_module="bench.im_baseline") as baseline,
        ServerProcess(
            "hub",
            prepare=lambda data_dir: _fill(data_dir, config),
            hub_env={"HUB_SECRET_KEY": SECRET},
        ) as hub,
    ):
        setups = {
            "baseline": (baseline, [f"baseline-{n}" for n in range(config.connected)], "group"),
            "hub": (hub, _tokens(config), "bench-group"),
        }
        phases = {"saturated": 0.0, "paced": config.paced_interval}
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {
            (phase, name): [] for phase in phases for name in setups
        }
        for number in range(config.rounds):
            order = ["baseline", "hub"] if number % 2 == 0 else ["hub", "baseline"]
            for phase, interval in phases.items():
                for name in order:
                    server, its_tokens, its_thread = setups[name]
                    log(f"im: round {number + 1}/{config.rounds}, {phase}, {name}")
                    runs[(phase, name)].append(
                        _phase(server, its_tokens, its_thread, config, interval)
                    )
    for (phase, name), measured in runs.items():
        result.setdefault(phase, {})[name] = _summary(measured)
    for phase in phases:
        hub_figures, base = result[phase]["hub"], result[phase]["baseline"]
        result[phase]["messages_ratio"] = ratio(
            hub_figures["messages_per_s"], base["messages_per_s"]
        )
        result[phase]["p99_ratio"] = ratio(hub_figures["delivery_p99_ms"], base["delivery_p99_ms"])
    return result


def _summary(phases: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(ns for phase in phases for ns in phase["latencies"])
    return {
        "connected": min(p["connected"] for p in phases),
        "messages_per_s": round(statistics.median(p["messages_per_s"] for p in phases), 1),
        "deliveries_per_s": round(statistics.median(p["deliveries_per_s"] for p in phases), 1),
        "delivered_share": round(
            sum(p["received"] for p in phases)
            / max(1, sum(p["expected_deliveries"] for p in phases)),
            4,
        ),
        "failed": sum(p["failed"] for p in phases),
        "still_connected": min(p["still_connected"] for p in phases),
        "delivery_p50_ms": percentile_ms(latencies, 0.50),
        "delivery_p99_ms": percentile_ms(latencies, 0.99),
        "server_cpu_share": statistics.median(p["server_cpu_share"] or 0 for p in phases),
    }
