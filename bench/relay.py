"""relay: V visitors with conversations assigned to A agents send messages and wait for acks.

Per server: acknowledged messages per second at saturation, closed loop with one message in
flight per visitor (window 1) and pipelined (several in flight), then an open-loop phase at
half the baseline's saturation rate for visitor→agent latency. The baseline runs first, so
both servers get the same offered rate in the latency phase.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.loadgen import LoadGenerator
from bench.servers import ServerProcess, agent_tokens, cpu_seconds
from bench.stats import merge_latencies, percentile_ms, ratio

ROUTING_WAIT = 30.0
ROUTING_STALL = 2.0
PHASE_START_DELAY = 0.5
# Below this share of visitors started the run is not worth measuring.
MIN_STARTED_SHARE = 0.9


@dataclass(frozen=True)
class RelayConfig:
    visitors: int
    agents: int
    duration: float
    pipeline_window: int
    workers: int

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> RelayConfig:
        if quick:
            return cls(visitors=40, agents=4, duration=2.0, pipeline_window=4, workers=workers)
        return cls(visitors=400, agents=40, duration=10.0, pipeline_window=4, workers=workers)


def wait_assigned(generator: LoadGenerator, expected: int) -> int:
    """Wait until the agents have been assigned `expected` conversations, or the count has
    stopped growing for ROUTING_STALL seconds, or ROUTING_WAIT has passed."""
    deadline = time.monotonic() + ROUTING_WAIT
    assigned, last_growth = 0, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_growth < ROUTING_STALL:
        count = sum(reply["assigned"] for reply in generator.command("assigned"))
        if count > assigned:
            assigned, last_growth = count, time.monotonic()
        if assigned >= expected:
            break
        time.sleep(0.2)
    return assigned


def _phase(generator: LoadGenerator, pid: int, phase: dict[str, Any]) -> dict[str, Any]:
    """Run one phase on every worker at once; sum what they saw."""
    start_at = time.monotonic() + PHASE_START_DELAY
    server_cpu_before = cpu_seconds(pid)
    replies = generator.command(
        "run", [phase | {"start_at": start_at} for _ in range(generator.worker_count)]
    )
    server_cpu = cpu_seconds(pid) - server_cpu_before
    duration = phase["duration"]
    acked = sum(reply["acked"] for reply in replies)
    ack_latency = merge_latencies(reply["ack_latency_ns"] for reply in replies)
    delivery_latency = merge_latencies(reply["delivery_latency_ns"] for reply in replies)
    generator_cpu = sum(reply["cpu_s"] for reply in replies)
    wall = max(reply["wall_s"] for reply in replies) or duration
    return {
        "msgs_per_s": round(acked / duration, 1),
        "acked": acked,
        "errors": sum(reply["errors"] for reply in replies),
        "skipped": sum(reply["skipped"] for reply in replies),
        "delivered": sum(reply["delivered"] for reply in replies),
        "ack_p50_ms": percentile_ms(ack_latency, 0.50),
        "ack_p99_ms": percentile_ms(ack_latency, 0.99),
        "delivery_p50_ms": percentile_ms(delivery_latency, 0.50),
        "delivery_p99_ms": percentile_ms(delivery_latency, 0.99),
        # CPU cores used: the generator's processes and the server (including drain time).
        "generator_cores": round(generator_cpu / wall, 2),
        "server_cores": round(server_cpu / (wall + 0.2), 2),
    }


def measure(
    kind: str,
    config: RelayConfig,
    latency_rate: float | None,
    log: Any,
    socket_layer: str = "bare",
) -> dict[str, Any]:
    """All phases against one fresh server. `latency_rate` None means: half of this server's
    own saturation (used for the baseline, which runs first)."""
    label = kind if socket_layer == "bare" else f"{kind} on the hub's socket layer"
    with ServerProcess(kind, socket_layer=socket_layer) as server:
        per_agent = -(-config.visitors // config.agents) + 10
        tokens = agent_tokens(server, config.agents, per_agent)
        with LoadGenerator(server.base_url, tokens, config.workers) as generator:
            generator.command("agents")
            connected = generator.command(
                "visitors",
                [
                    {"count": count, "concurrency": 50, "warmup": 1}
                    for count in generator.split(config.visitors)
                ],
            )
            started = sum(reply["connected"] for reply in connected)
            retries = sum(reply["warmup_retries"] for reply in connected)
            if retries:
                log(f"relay {label}: {retries} first messages needed a retry")
            failures = [r["first_failure"] for r in connected if r["first_failure"]]
            if started < config.visitors * MIN_STARTED_SHARE:
                raise RuntimeError(f"{label}: only {started} visitors started: {failures[:1]}")
            if failures:
                log(f"relay {label}: {config.visitors - started} visitors failed: {failures[0]}")
            assigned = wait_assigned(generator, started)
            if assigned < started:
                # Measured anyway (their messages are still stored and acked), but reported:
                # a conversation left waiting while agents have room is a routing fault.
                log(f"relay {label}: only {assigned} of {started} conversations were assigned")
            window_1 = _phase(
                generator, server.pid, {"mode": "window", "window": 1, "duration": config.duration}
            )
            log(f"relay {label} window 1: {window_1['msgs_per_s']} msgs/s")
            pipelined = _phase(
                generator,
                server.pid,
                {"mode": "window", "window": config.pipeline_window, "duration": config.duration},
            )
            log(f"relay {label} window {config.pipeline_window}: {pipelined['msgs_per_s']} msgs/s")
            saturation = max(window_1["msgs_per_s"], pipelined["msgs_per_s"])
            rate = latency_rate if latency_rate is not None else saturation / 2
            own_half = None
            if saturation / 2 < rate:
                # Offered more than it can take, this server's latency is its backlog; at half
                # its own saturation it shows what a visitor waits when it is not overloaded.
                # Measured first: the overloaded phase leaves a backlog behind it.
                own_half = _phase(
                    generator,
                    server.pid,
                    {
                        "mode": "rate",
                        "rate": saturation / 2 / generator.worker_count,
                        "duration": config.duration,
                    },
                )
                own_half["offered_msgs_per_s"] = round(saturation / 2, 1)
                log(
                    f"relay {label} at its own half, {saturation / 2:.0f} msgs/s: delivery p50 "
                    f"{own_half['delivery_p50_ms']} ms p99 {own_half['delivery_p99_ms']} ms"
                )
            per_worker = rate / generator.worker_count
            latency = _phase(
                generator,
                server.pid,
                {"mode": "rate", "rate": per_worker, "duration": config.duration},
            )
            latency["offered_msgs_per_s"] = round(rate, 1)
            log(
                f"relay {label} at {rate:.0f} msgs/s: delivery p50 {latency['delivery_p50_ms']} ms"
                f" p99 {latency['delivery_p99_ms']} ms"
            )
    return {
        "visitors_started": started,
        "visitor_failures": failures[:3],
        "first_message_retries": retries,
        "conversations_assigned": assigned,
        "saturation_msgs_per_s": saturation,
        "window_1": window_1,
        "pipelined": pipelined,
        "latency": latency,
        "latency_at_own_half": own_half,
    }


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = RelayConfig.for_run(quick, workers)
    baseline = measure("baseline", config, None, log)
    hub = measure("hub", config, baseline["saturation_msgs_per_s"] / 2, log)
    # The same bare relay on the hub's own socket layer: what the hub costs beyond it.
    tuned = measure(
        "baseline", config, baseline["saturation_msgs_per_s"] / 2, log, socket_layer="hub"
    )
    generator_cores = max(
        result[phase]["generator_cores"]
        for result in (baseline, hub, tuned)
        for phase in ("window_1", "pipelined", "latency", "latency_at_own_half")
        if result[phase] is not None
    )
    return {
        "scenario": "relay",
        "hub_msgs_per_s": hub["saturation_msgs_per_s"],
        "baseline_msgs_per_s": baseline["saturation_msgs_per_s"],
        "throughput_ratio": ratio(hub["saturation_msgs_per_s"], baseline["saturation_msgs_per_s"]),
        "hub_window_1_msgs_per_s": hub["window_1"]["msgs_per_s"],
        "baseline_window_1_msgs_per_s": baseline["window_1"]["msgs_per_s"],
        "window_1_ratio": ratio(hub["window_1"]["msgs_per_s"], baseline["window_1"]["msgs_per_s"]),
        "hub_pipelined_msgs_per_s": hub["pipelined"]["msgs_per_s"],
        "baseline_pipelined_msgs_per_s": baseline["pipelined"]["msgs_per_s"],
        "pipelined_ratio": ratio(
            hub["pipelined"]["msgs_per_s"], baseline["pipelined"]["msgs_per_s"]
        ),
        "latency_offered_msgs_per_s": hub["latency"]["offered_msgs_per_s"],
        "hub_p50_ms": hub["latency"]["delivery_p50_ms"],
        "baseline_p50_ms": baseline["latency"]["delivery_p50_ms"],
        "hub_p99_ms": hub["latency"]["delivery_p99_ms"],
        "baseline_p99_ms": baseline["latency"]["delivery_p99_ms"],
        "p50_ratio": ratio(
            hub["latency"]["delivery_p50_ms"], baseline["latency"]["delivery_p50_ms"]
        ),
        "p99_ratio": ratio(
            hub["latency"]["delivery_p99_ms"], baseline["latency"]["delivery_p99_ms"]
        ),
        # Against the baseline running the hub's socket layer (packet class, client manager).
        "tuned_baseline_msgs_per_s": tuned["saturation_msgs_per_s"],
        "throughput_ratio_vs_tuned": ratio(
            hub["saturation_msgs_per_s"], tuned["saturation_msgs_per_s"]
        ),
        "tuned_baseline_p99_ms": tuned["latency"]["delivery_p99_ms"],
        "p99_ratio_vs_tuned": ratio(
            hub["latency"]["delivery_p99_ms"], tuned["latency"]["delivery_p99_ms"]
        ),
        "hub_own_half_p99_ms": (hub["latency_at_own_half"] or {}).get("delivery_p99_ms"),
        # The generator's heaviest phase, in cores and as a share of the machine: it must stay
        # well below what the server under test needs.
        "generator_cores_max": generator_cores,
        "generator_cpu_share": round(generator_cores / (os.cpu_count() or 1), 3),
        "hub_visitors_started": hub["visitors_started"],
        "hub_conversations_assigned": hub["conversations_assigned"],
        "hub_first_message_retries": hub["first_message_retries"],
        "hub_errors": {
            phase: hub[phase]["errors"] for phase in ("window_1", "pipelined", "latency")
        },
        "config": {
            "visitors": config.visitors,
            "agents": config.agents,
            "phase_seconds": config.duration,
            "pipeline_window": config.pipeline_window,
            "generator_processes": config.workers,
        },
        "hub": hub,
        "baseline": baseline,
        "tuned_baseline": tuned,
    }
