"""acd: routing decisions per second in-process (MemoryAcd), with n agents and n waiting.

Steady state "queued": every agent is ready and full (one conversation each) and n more
conversations wait. One cycle releases the oldest held conversation, so its agent drains the
oldest waiting one (a decision: an assignment), then offers a new conversation, which finds
nobody eligible and queues (a decision: where it waits). Two decisions per cycle.

Steady state "eligible": every agent has spare capacity; one cycle offers a conversation
(a decision: the best agent by policy) and releases the oldest held one (nothing waits).

Cost per decision should grow at most logarithmically: from 100 to 10,000 agents log n
doubles, so the cost may double, not grow a hundredfold.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from hub.acd.memory import MemoryAcd
from hub.domain import ConversationRef

TENANT = "bench"
SIZES = (100, 1_000, 10_000)
MAX_CYCLES = 5_000_000


def waiting(arrival: int) -> ConversationRef:
    return ConversationRef(TENANT, f"c{arrival}", f"contact-{arrival}", "webim")


@dataclass(frozen=True)
class AcdConfig:
    seconds_per_size: float

    @classmethod
    def for_run(cls, quick: bool) -> AcdConfig:
        return cls(seconds_per_size=0.5 if quick else 3.0)


async def _ready_agents(acd: MemoryAcd, count: int, max_concurrent: int) -> None:
    for number in range(count):
        agent_id = f"agent-{number}"
        await acd.upsert_agent(TENANT, agent_id, skills=(), max_concurrent=max_concurrent)
        await acd.set_presence(TENANT, agent_id, ready=True, connected=True)


async def queued_rate(size: int, seconds: float) -> float:
    """Decisions per second with `size` full agents and `size` waiting conversations."""
    acd = MemoryAcd()
    await _ready_agents(acd, size, max_concurrent=1)
    held: deque[str] = deque()
    arrivals = 0
    for _ in range(2 * size):
        arrivals += 1
        change = await acd.offer(
            TENANT, f"c{arrivals}", skill=None, since=float(arrivals), ref=waiting(arrivals)
        )
        held.extend(assignment.conversation_id for assignment in change.assignments)
    if len(held) != size or await acd.queued_count(TENANT) != size:
        raise RuntimeError("acd did not reach the steady state (n held, n waiting)")
    cycles = 0
    started = time.perf_counter()
    deadline = started + seconds
    while cycles < MAX_CYCLES:
        change = await acd.release(TENANT, held.popleft())
        if len(change.assignments) != 1:
            raise RuntimeError("a release did not hand the freed agent a waiting conversation")
        held.append(change.assignments[0].conversation_id)
        arrivals += 1
        await acd.offer(
            TENANT, f"c{arrivals}", skill=None, since=float(arrivals), ref=waiting(arrivals)
        )
        cycles += 1
        if cycles % 256 == 0 and time.perf_counter() >= deadline:
            break
    return 2 * cycles / (time.perf_counter() - started)


async def eligible_rate(size: int, seconds: float) -> float:
    """Offers per second to `size` agents that all have room (idle first picks one)."""
    acd = MemoryAcd()
    await _ready_agents(acd, size, max_concurrent=4)
    held: deque[str] = deque()
    arrivals = 0
    for _ in range(size):
        arrivals += 1
        change = await acd.offer(
            TENANT, f"c{arrivals}", skill=None, since=float(arrivals), ref=waiting(arrivals)
        )
        held.extend(assignment.conversation_id for assignment in change.assignments)
    cycles = 0
    started = time.perf_counter()
    deadline = started + seconds
    while cycles < MAX_CYCLES:
        arrivals += 1
        change = await acd.offer(
            TENANT, f"c{arrivals}", skill=None, since=float(arrivals), ref=waiting(arrivals)
        )
        if len(change.assignments) != 1:
            raise RuntimeError("an offer to agents with room was not assigned")
        held.append(change.assignments[0].conversation_id)
        await acd.release(TENANT, held.popleft())
        cycles += 1
        if cycles % 256 == 0 and time.perf_counter() >= deadline:
            break
    return cycles / (time.perf_counter() - started)


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = AcdConfig.for_run(quick)
    queued: dict[str, float] = {}
    eligible: dict[str, float] = {}
    for size in SIZES:
        queued[str(size)] = round(asyncio.run(queued_rate(size, config.seconds_per_size)))
        eligible[str(size)] = round(asyncio.run(eligible_rate(size, config.seconds_per_size)))
        log(
            f"acd {size} agents: {queued[str(size)]} decisions/s (queued), "
            f"{eligible[str(size)]} offers/s (eligible)"
        )
    cost_us = {size: round(1e6 / rate, 3) for size, rate in queued.items()}
    smallest, largest = str(SIZES[0]), str(SIZES[-1])
    return {
        "scenario": "acd",
        "decisions_per_s": queued,
        "eligible_offers_per_s": eligible,
        "cost_us_per_decision": cost_us,
        "cost_growth_100_to_10000": round(cost_us[largest] / cost_us[smallest], 2),
        # What logarithmic growth would allow: log(10,000) / log(100).
        "log_growth_bound": round(math.log(SIZES[-1]) / math.log(SIZES[0]), 2),
        "policy": "idle_first",
    }
