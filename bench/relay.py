"""relay: V visitors with conversations assigned to A agents send messages and wait for acks.

Per server: acknowledged messages per second at saturation, closed loop with one message in
flight per visitor (window 1) and pipelined (several in flight), then an open-loop phase at
half the baseline's saturation rate for visitor→agent latency, and one at a person's typing
pace (each visitor a message every CHAT_PACE_SECONDS: the product's real load, far below
saturation) for the latency a chatting visitor sees.

The servers under test (the bare baseline and the hub) are both started, connected and
routed first; then each phase runs in **rounds**, one short run per server per round, in an
order that rotates from round to round. The machine is shared and its speed drifts over
minutes, so a server measured for a whole block after another is compared with a different
machine; interleaved rounds see the same drift. Rates are the median over the rounds;
latency percentiles are taken over every sample of every round; `*_ratio_rounds` gives the
hub / baseline ratio of each round, as a spread.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import LoadGenerator
from bench.servers import ServerProcess, agent_tokens, cpu_seconds
from bench.stats import merge_latencies, percentile_ms, ratio

ROUTING_WAIT = 30.0
ROUTING_STALL = 2.0
PHASE_START_DELAY = 0.5
# Below this share of visitors started the run is not worth measuring.
MIN_STARTED_SHARE = 0.9
# A person typing: one message every few seconds per visitor (the hostile scenario's pace).
CHAT_PACE_SECONDS = 2.0


@dataclass(frozen=True)
class RelayConfig:
    visitors: int
    agents: int
    duration: float  # of one phase run; each phase runs `rounds` times per server
    pipeline_window: int
    workers: int
    rounds: int

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> RelayConfig:
        if quick:
            return cls(
                visitors=40, agents=4, duration=2.0, pipeline_window=4, workers=workers, rounds=1
            )
        return cls(
            visitors=400, agents=40, duration=5.0, pipeline_window=4, workers=workers, rounds=3
        )


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


@dataclass
class PhaseRun:
    """What the workers saw in one run of one phase against one server."""

    acked: int
    errors: int
    skipped: int
    delivered: int
    ack_ns: list[int]
    delivery_ns: list[int]
    duration: float
    generator_cores: float
    server_cores: float

    @property
    def msgs_per_s(self) -> float:
        return round(self.acked / self.duration, 1)


def run_phase(generator: LoadGenerator, pid: int, phase: dict[str, Any]) -> PhaseRun:
    """Run one phase on every worker at once; sum what they saw."""
    start_at = time.monotonic() + PHASE_START_DELAY
    server_cpu_before = cpu_seconds(pid)
    replies = generator.command(
        "run", [phase | {"start_at": start_at} for _ in range(generator.worker_count)]
    )
    server_cpu = cpu_seconds(pid) - server_cpu_before
    wall = max(reply["wall_s"] for reply in replies) or phase["duration"]
    return PhaseRun(
        acked=sum(reply["acked"] for reply in replies),
        errors=sum(reply["errors"] for reply in replies),
        skipped=sum(reply["skipped"] for reply in replies),
        delivered=sum(reply["delivered"] for reply in replies),
        ack_ns=merge_latencies(reply["ack_latency_ns"] for reply in replies),
        delivery_ns=merge_latencies(reply["delivery_latency_ns"] for reply in replies),
        duration=phase["duration"],
        # CPU cores used: the generator's processes and the server (including drain time).
        generator_cores=sum(reply["cpu_s"] for reply in replies) / wall,
        server_cores=server_cpu / (wall + 0.2),
    )


def summarise(runs: Sequence[PhaseRun]) -> dict[str, Any]:
    """One phase over its rounds: the median rate, percentiles over every sample."""
    ack_ns = sorted(ns for run in runs for ns in run.ack_ns)
    delivery_ns = sorted(ns for run in runs for ns in run.delivery_ns)
    return {
        "msgs_per_s": round(statistics.median(run.msgs_per_s for run in runs), 1),
        "rounds_msgs_per_s": [run.msgs_per_s for run in runs],
        "acked": sum(run.acked for run in runs),
        "errors": sum(run.errors for run in runs),
        "skipped": sum(run.skipped for run in runs),
        "delivered": sum(run.delivered for run in runs),
        "ack_p50_ms": percentile_ms(ack_ns, 0.50),
        "ack_p99_ms": percentile_ms(ack_ns, 0.99),
        "delivery_p50_ms": percentile_ms(delivery_ns, 0.50),
        "delivery_p99_ms": percentile_ms(delivery_ns, 0.99),
        "generator_cores": round(statistics.fmean(run.generator_cores for run in runs), 2),
        "server_cores": round(statistics.fmean(run.server_cores for run in runs), 2),
    }


@dataclass
class Subject:
    """One server under test, connected and routed, with what its phases measured."""

    label: str
    server: ServerProcess
    generator: LoadGenerator
    started: int
    retries: int
    failures: list[str]
    assigned: int
    runs: dict[str, list[PhaseRun]] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)  # open-loop phases: msgs/s

    def run(self, name: str, phase: dict[str, Any]) -> PhaseRun:
        result = run_phase(self.generator, self.server.pid, phase)
        self.runs.setdefault(name, []).append(result)
        return result

    def run_at(self, name: str, rate: float, duration: float) -> PhaseRun:
        """An open-loop phase: `rate` messages per second in all, spread over the workers."""
        self.offered[name] = rate
        per_worker = rate / self.generator.worker_count
        return self.run(name, {"mode": "rate", "rate": per_worker, "duration": duration})

    def saturation(self) -> float:
        return max(
            summarise(self.runs["window_1"])["msgs_per_s"],
            summarise(self.runs["pipelined"])["msgs_per_s"],
        )

    def result(self) -> dict[str, Any]:
        phases = {name: summarise(runs) for name, runs in self.runs.items()}
        for name, rate in self.offered.items():
            phases[name]["offered_msgs_per_s"] = round(rate, 1)
        return {
            "visitors_started": self.started,
            "visitor_failures": self.failures[:3],
            "first_message_retries": self.retries,
            "conversations_assigned": self.assigned,
            "saturation_msgs_per_s": self.saturation(),
            "window_1": phases["window_1"],
            "pipelined": phases["pipelined"],
            "latency": phases["latency"],
            "latency_at_own_half": phases.get("latency_at_own_half"),
            "chat_pace": phases["chat_pace"],
        }


def connect(stack: ExitStack, kind: str, config: RelayConfig, log: Any) -> Subject:
    """Start a server, its agents and visitors, and wait for the conversations to be routed.
    Server and generator stop when `stack` closes."""
    label = kind
    server = stack.enter_context(ServerProcess(kind))
    per_agent = -(-config.visitors // config.agents) + 10
    tokens = agent_tokens(server, config.agents, per_agent)
    generator = stack.enter_context(LoadGenerator(server.base_url, tokens, config.workers))
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
        # Measured anyway (their messages are still stored and acked), but reported: a
        # conversation left waiting while agents have room is a routing fault.
        log(f"relay {label}: only {assigned} of {started} conversations were assigned")
    return Subject(label, server, generator, started, retries, failures, assigned)


def rotated(subjects: Sequence[Subject], round_number: int) -> list[Subject]:
    """The order of one round: each server takes each position in turn."""
    shift = round_number % len(subjects)
    return [*subjects[shift:], *subjects[:shift]]


def measure(subjects: Sequence[Subject], config: RelayConfig, log: Any) -> None:
    """Every phase, in rounds; the latency phases offer half the first subject's (the bare
    baseline's) saturation to every server."""
    window = config.pipeline_window
    for name, phase in (
        ("window_1", {"mode": "window", "window": 1, "duration": config.duration}),
        ("pipelined", {"mode": "window", "window": window, "duration": config.duration}),
    ):
        for round_number in range(config.rounds):
            for subject in rotated(subjects, round_number):
                result = subject.run(name, phase)
                log(
                    f"relay {subject.label} {name} round {round_number + 1}: "
                    f"{result.msgs_per_s} msgs/s"
                )
    rate = subjects[0].saturation() / 2
    for round_number in range(config.rounds):
        for subject in rotated(subjects, round_number):
            own_half = subject.saturation() / 2
            if own_half < rate:
                # Offered more than it can take, this server's latency is its backlog; at half
                # its own saturation it shows what a visitor waits when it is not overloaded.
                # Measured first: the overloaded phase leaves a backlog behind it.
                result = subject.run_at("latency_at_own_half", own_half, config.duration)
                log(
                    f"relay {subject.label} at its own half, {own_half:.0f} msgs/s, round "
                    f"{round_number + 1}: delivery p99 {percentile_ms(result.delivery_ns, 0.99)} ms"
                )
            result = subject.run_at("latency", rate, config.duration)
            log(
                f"relay {subject.label} at {rate:.0f} msgs/s, round {round_number + 1}: delivery "
                f"p50 {percentile_ms(result.delivery_ns, 0.5)} ms "
                f"p99 {percentile_ms(result.delivery_ns, 0.99)} ms"
            )
    for round_number in range(config.rounds):
        for subject in rotated(subjects, round_number):
            pace = subject.started / CHAT_PACE_SECONDS
            result = subject.run_at("chat_pace", pace, config.duration)
            log(
                f"relay {subject.label} at chat pace, {pace:.0f} msgs/s, round "
                f"{round_number + 1}: delivery p50 {percentile_ms(result.delivery_ns, 0.5)} ms "
                f"p99 {percentile_ms(result.delivery_ns, 0.99)} ms"
            )


def paired_ratios(hub: Subject, baseline: Subject, name: str) -> list[float | None]:
    """hub / baseline rate of each round of one phase (the pairs ran minutes apart at most)."""
    return [
        ratio(mine.msgs_per_s, theirs.msgs_per_s)
        for mine, theirs in zip(hub.runs[name], baseline.runs[name], strict=True)
    ]


def paired_p99_ratios(hub: Subject, baseline: Subject, name: str = "latency") -> list[float | None]:
    """hub / baseline delivery p99 of each round of an open-loop phase: the spread behind
    `p99_ratio`, which is taken over the samples of every round."""
    return [
        ratio(percentile_ms(mine.delivery_ns, 0.99), percentile_ms(theirs.delivery_ns, 0.99))
        for mine, theirs in zip(hub.runs[name], baseline.runs[name], strict=True)
    ]


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = RelayConfig.for_run(quick, workers)
    with ExitStack() as stack:
        baseline_subject = connect(stack, "baseline", config, log)
        hub_subject = connect(stack, "hub", config, log)
        subjects = [baseline_subject, hub_subject]
        measure(subjects, config, log)
        baseline, hub = (subject.result() for subject in subjects)
        window_1_rounds = paired_ratios(hub_subject, baseline_subject, "window_1")
        pipelined_rounds = paired_ratios(hub_subject, baseline_subject, "pipelined")
        p99_rounds = paired_p99_ratios(hub_subject, baseline_subject)
        chat_p99_rounds = paired_p99_ratios(hub_subject, baseline_subject, "chat_pace")
    generator_cores = max(
        result[phase]["generator_cores"]
        for result in (baseline, hub)
        for phase in ("window_1", "pipelined", "latency", "latency_at_own_half", "chat_pace")
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
        "window_1_ratio_rounds": window_1_rounds,
        "hub_pipelined_msgs_per_s": hub["pipelined"]["msgs_per_s"],
        "baseline_pipelined_msgs_per_s": baseline["pipelined"]["msgs_per_s"],
        "pipelined_ratio": ratio(
            hub["pipelined"]["msgs_per_s"], baseline["pipelined"]["msgs_per_s"]
        ),
        "pipelined_ratio_rounds": pipelined_rounds,
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
        "p99_ratio_rounds": p99_rounds,
        "chat_offered_msgs_per_s": hub["chat_pace"]["offered_msgs_per_s"],
        "hub_chat_p50_ms": hub["chat_pace"]["delivery_p50_ms"],
        "baseline_chat_p50_ms": baseline["chat_pace"]["delivery_p50_ms"],
        "hub_chat_p99_ms": hub["chat_pace"]["delivery_p99_ms"],
        "baseline_chat_p99_ms": baseline["chat_pace"]["delivery_p99_ms"],
        "chat_p99_ratio": ratio(
            hub["chat_pace"]["delivery_p99_ms"], baseline["chat_pace"]["delivery_p99_ms"]
        ),
        "chat_p99_ratio_rounds": chat_p99_rounds,
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
            "rounds": config.rounds,
            "pipeline_window": config.pipeline_window,
            "generator_processes": config.workers,
        },
        "hub": hub,
        "baseline": baseline,
    }
