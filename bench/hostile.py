"""python -m bench hostile: normal visitors beside a hostile one.

The hub runs with its default visitor limits, behind loopback as a trusted proxy, so every
simulated visitor has its own address (X-Forwarded-For) as it would behind a real proxy.
Normal visitors, each from its own address, chat at a person's pace (one message every
`interval` seconds, within the limits), and every message's ack time is recorded. In the
second phase a hostile visitor runs beside them, from one address in a process of its own:
a message flood on one socket, as many sockets as the address may open (and more), new
contacts without end, reserved event names and junk payloads (reconnecting whenever the hub
disconnects it). A warm-up phase comes first and is not counted.
Reported: the normal visitors' p99 ack latency and ack rate in each phase and their ratios
(hostile / quiet), and what the hub refused the hostile visitor.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import socketio

from bench.servers import ServerProcess, prepare_hub_agents
from bench.stats import percentile_ms, ratio

HOSTILE_ADDRESS = "203.0.113.66"
# The hub's defaults, except loopback as a trusted proxy: each visitor sends its own address.
HOSTILE_HUB_ENV = {"HUB_TRUSTED_PROXIES": "127.0.0.1"}
ACK_TIMEOUT = 10.0


@dataclass(frozen=True)
class HostileConfig:
    visitors: int
    interval: float  # seconds between one normal visitor's messages
    seconds: float  # length of each phase
    agents: int

    @classmethod
    def for_run(cls, quick: bool) -> HostileConfig:
        if quick:
            return cls(visitors=10, interval=1.0, seconds=5.0, agents=2)
        return cls(visitors=60, interval=2.0, seconds=40.0, agents=10)


def _visitor_address(number: int) -> str:
    return f"198.51.{100 + number // 250}.{number % 250 + 1}"


async def _connect(base_url: str, address: str, auth: dict[str, Any]) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        base_url,
        namespaces=["/visitor"],
        auth=auth,
        transports=["websocket"],
        headers={"X-Forwarded-For": address},
        wait_timeout=ACK_TIMEOUT,
    )
    return client


async def _normal_visitor(
    base_url: str, number: int, config: HostileConfig, deadline: float, samples: list[int]
) -> Counter[str]:
    outcome: Counter[str] = Counter()
    client = await _connect(base_url, _visitor_address(number), {"tenant": "default"})
    # Spread the visitors over the interval instead of sending in lockstep.
    await asyncio.sleep(config.interval * number / config.visitors)
    sent = 0
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter_ns()
            try:
                ack = await client.call(
                    "message",
                    {"client_id": f"n{number}-{sent}", "text": f"hello {sent}"},
                    namespace="/visitor",
                    timeout=ACK_TIMEOUT,
                )
            except socketio.exceptions.TimeoutError:
                outcome["no_ack"] += 1
            else:
                if ack.get("ok"):
                    samples.append(time.perf_counter_ns() - started)
                    outcome["ok"] += 1
                else:
                    outcome[ack["error"]["code"]] += 1
            sent += 1
            await asyncio.sleep(
                max(0.0, config.interval - (time.perf_counter_ns() - started) / 1e9)
            )
    finally:
        await client.disconnect()
    return outcome


async def _normal_phase(base_url: str, config: HostileConfig) -> dict[str, Any]:
    samples: list[int] = []
    deadline = time.monotonic() + config.seconds
    outcomes = await asyncio.gather(
        *[
            _normal_visitor(base_url, number, config, deadline, samples)
            for number in range(config.visitors)
        ]
    )
    total: Counter[str] = sum(outcomes, Counter())
    samples.sort()
    sent = sum(total.values())
    return {
        "sent": sent,
        "outcomes": dict(total),
        "ack_rate": round(total["ok"] / sent, 4) if sent else None,
        "p50_ms": percentile_ms(samples, 0.50),
        "p99_ms": percentile_ms(samples, 0.99),
    }


# The hostile visitor ----------------------------------------------------------------------


async def _flood(base_url: str, deadline: float, tally: Counter[str]) -> None:
    """Messages as fast as the hub answers them, on one socket, a new one whenever the hub
    drops it."""
    while time.monotonic() < deadline:
        try:
            client = await _connect(base_url, HOSTILE_ADDRESS, {"tenant": "default"})
        except socketio.exceptions.ConnectionError:
            tally["flood_reconnect_refused"] += 1
            await asyncio.sleep(0.05)
            continue
        tally["flood_sockets"] += 1
        try:
            await _flood_socket(client, deadline, tally)
        except (socketio.exceptions.SocketIOError, ConnectionError):
            tally["flood_dropped"] += 1
        finally:
            await client.disconnect()


async def _flood_socket(client: socketio.AsyncClient, deadline: float, tally: Counter[str]) -> None:
    sent = 0
    while time.monotonic() < deadline and client.connected:
        batch = [
            client.call(
                "message",
                {"client_id": f"h{sent + i}", "text": "spam " * 50},
                namespace="/visitor",
                timeout=ACK_TIMEOUT,
            )
            for i in range(50)
        ]
        sent += len(batch)
        for ack in await asyncio.gather(*batch, return_exceptions=True):
            key = (
                "no_ack"
                if isinstance(ack, BaseException)
                else ("accepted" if ack.get("ok") else ack["error"]["code"])
            )
            tally[f"flood_{key}"] += 1
        # Junk beside it: reserved names, unknown events, nesting past the limit.
        for event, data in (
            ("connect", {"REMOTE_ADDR": "6.6.6.6"}),
            ("disconnect", "x"),
            ("no_such_event", {}),
            ("message", {"text": _nested(40)}),
        ):
            ack = await client.call(event, data, namespace="/visitor", timeout=ACK_TIMEOUT)
            tally[f"junk_{ack['error']['code']}"] += 1


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


async def _sockets(base_url: str, deadline: float, tally: Counter[str]) -> None:
    """New sockets (and so new contacts) from one address, as many as it is let open."""
    opened: list[socketio.AsyncClient] = []
    try:
        while time.monotonic() < deadline:
            try:
                opened.append(await _connect(base_url, HOSTILE_ADDRESS, {"tenant": "default"}))
                tally["sockets_opened"] += 1
            except socketio.exceptions.ConnectionError:
                tally["sockets_refused"] += 1
                await asyncio.sleep(0.05)
    finally:
        await asyncio.gather(*(client.disconnect() for client in opened))


async def _hostile(base_url: str, seconds: float) -> dict[str, int]:
    tally: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(_flood(base_url, deadline, tally), _sockets(base_url, deadline, tally))
    return dict(tally)


def _hostile_process(base_url: str, seconds: float, results: Any) -> None:
    results.put(asyncio.run(_hostile(base_url, seconds)))


# The scenario -----------------------------------------------------------------------------


async def _prepare_agents(base_url: str, config: HostileConfig) -> list[socketio.AsyncClient]:
    """Ready agents, so conversations are assigned and messages fan out as in a real hub."""
    clients = []
    for token in await prepare_hub_agents(base_url, config.agents, max_concurrent=1000):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            base_url,
            namespaces=["/agent"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=ACK_TIMEOUT,
        )
        await client.call("presence", {"status": "ready"}, namespace="/agent")
        clients.append(client)
    return clients


async def _measure(base_url: str, config: HostileConfig, log: Any) -> dict[str, Any]:
    agents = await _prepare_agents(base_url, config)
    try:
        # Discarded: the first connections and conversations of a fresh hub (its caches,
        # the writer's first pages) would otherwise count against the quiet phase.
        log("hostile: warm-up")
        await _normal_phase(base_url, replace(config, seconds=min(config.seconds, 10.0)))
        log(f"hostile: quiet phase, {config.visitors} visitors for {config.seconds:.0f}s")
        quiet = await _normal_phase(base_url, config)
        log(f"hostile: hostile phase, {config.visitors} visitors and one hostile")
        results: Any = multiprocessing.get_context("spawn").Queue()
        hostile = multiprocessing.get_context("spawn").Process(
            target=_hostile_process, args=(base_url, config.seconds + 2, results)
        )
        hostile.start()
        try:
            await asyncio.sleep(1.0)  # the hostile one is at full speed first
            attacked = await _normal_phase(base_url, config)
            hostile_tally = await asyncio.to_thread(results.get, True, config.seconds + 60)
        finally:
            hostile.join(30)
            if hostile.is_alive():
                hostile.kill()
    finally:
        await asyncio.gather(*(client.disconnect() for client in agents))
    return {"quiet": quiet, "hostile": attacked, "hostile_visitor": hostile_tally}


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = HostileConfig.for_run(quick)
    with ServerProcess("hub", hub_env=dict(HOSTILE_HUB_ENV)) as hub:
        measured = asyncio.run(_measure(hub.base_url, config, log))
    quiet, attacked = measured["quiet"], measured["hostile"]
    return {
        "scenario": "hostile",
        "visitors": config.visitors,
        "interval_s": config.interval,
        "phase_s": config.seconds,
        "p99_ratio": ratio(attacked["p99_ms"], quiet["p99_ms"]),
        "ack_rate_ratio": ratio(attacked["ack_rate"], quiet["ack_rate"]),
        "quiet_p99_ms": quiet["p99_ms"],
        "hostile_p99_ms": attacked["p99_ms"],
        "quiet_ack_rate": quiet["ack_rate"],
        "hostile_ack_rate": attacked["ack_rate"],
        "details": measured,
    }
