"""browsing: V visitors on the customer's site, each page view one loader socket to /visitor
(`browse: true`, docs/protocol.md "Online visitors and invitations"), as the online-visitors
list needs them. Two phases per server: V visitors arrive (their first page view each, then
they stay on the page), then each moves to its next page R times (its socket closed, a new
one opened with its visitor token; the hub finds it on the online list and reads nothing).

The figure is the server's CPU time per page view (its process tree, from /proc), against
the bare relay (bench/baseline.py), which answers the same handshake with a `session` and
tracks nothing: the ratio is what tracking a page view costs on top of the socket itself.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.loadgen import LoadGenerator
from bench.servers import ServerProcess, cpu_seconds, rss_kib
from bench.stats import ratio

CONCURRENCY = 200  # handshakes in flight per worker
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class BrowsingConfig:
    visitors: int
    rounds: int
    workers: int

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> BrowsingConfig:
        if quick:
            return cls(visitors=500, rounds=1, workers=workers)
        return cls(visitors=10_000, rounds=2, workers=workers)


def _phase(server: ServerProcess, generator: LoadGenerator, arguments: list[Any]) -> dict[str, Any]:
    cpu_before = cpu_seconds(server.pid)
    started = time.monotonic()
    replies = generator.command("browse", arguments)
    wall = time.monotonic() - started
    cpu = cpu_seconds(server.pid) - cpu_before
    views = sum(reply["views"] for reply in replies)
    failed = sum(reply["failed"] for reply in replies)
    return {
        "views": views,
        "failed": failed,
        "first_failure": next((r["first_failure"] for r in replies if r["first_failure"]), None),
        "held": sum(reply["held"] for reply in replies),
        "seconds": round(wall, 2),
        "views_per_s": round(views / wall, 1) if wall else None,
        "server_cpu_s": round(cpu, 2),
        "cpu_us_per_view": round(cpu / views * 1e6, 1) if views else None,
    }


def measure(kind: str, config: BrowsingConfig, log: Any) -> dict[str, Any]:
    with (
        ServerProcess(kind) as server,
        LoadGenerator(server.base_url, [], config.workers) as generator,
    ):
        empty_kib = rss_kib(server.pid)
        arrive = _phase(
            server,
            generator,
            [
                {"arrive": True, "count": count, "concurrency": CONCURRENCY}
                for count in generator.split(config.visitors)
            ],
        )
        time.sleep(SETTLE_SECONDS)
        held_kib = rss_kib(server.pid)
        navigate = _phase(
            server,
            generator,
            [{"rounds": config.rounds, "concurrency": CONCURRENCY}] * generator.worker_count,
        )
        generator.command("close_browsers")
    log(
        f"browsing {kind}: arrive {arrive['views']} views ({arrive['failed']} failed) "
        f"{arrive['cpu_us_per_view']} us/view; navigate {navigate['views']} views "
        f"({navigate['failed']} failed) {navigate['cpu_us_per_view']} us/view; "
        f"RSS {empty_kib} -> {held_kib} KiB"
    )
    held = arrive["held"]
    return {
        "arrive": arrive,
        "navigate": navigate,
        "empty_rss_kib": empty_kib,
        "held_rss_kib": held_kib,
        "kib_per_visitor": round((held_kib - empty_kib) / held, 2) if held else None,
    }


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = BrowsingConfig.for_run(quick, workers)
    baseline = measure("baseline", config, log)
    hub = measure("hub", config, log)
    return {
        "scenario": "browsing",
        "visitors": config.visitors,
        "rounds": config.rounds,
        "hub_arrive_us_per_view": hub["arrive"]["cpu_us_per_view"],
        "baseline_arrive_us_per_view": baseline["arrive"]["cpu_us_per_view"],
        "arrive_cost_ratio": ratio(
            hub["arrive"]["cpu_us_per_view"], baseline["arrive"]["cpu_us_per_view"]
        ),
        "hub_navigate_us_per_view": hub["navigate"]["cpu_us_per_view"],
        "baseline_navigate_us_per_view": baseline["navigate"]["cpu_us_per_view"],
        "navigate_cost_ratio": ratio(
            hub["navigate"]["cpu_us_per_view"], baseline["navigate"]["cpu_us_per_view"]
        ),
        "hub_failed": hub["arrive"]["failed"] + hub["navigate"]["failed"],
        "baseline_failed": baseline["arrive"]["failed"] + baseline["navigate"]["failed"],
        "hub_kib_per_visitor": hub["kib_per_visitor"],
        "baseline_kib_per_visitor": baseline["kib_per_visitor"],
        "hub": hub,
        "baseline": baseline,
    }
