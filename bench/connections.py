"""connections: N idle visitor sockets held open; resident memory per connection above the
empty process (VmRSS after N connects minus VmRSS after start-up and a small warm-up)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.loadgen import LoadGenerator
from bench.servers import ServerProcess, rss_kib
from bench.stats import ratio

# Connect and disconnect a few visitors first so lazily built state (imports, caches, the
# first websocket's buffers) lands in the "empty" figure, not in the per-connection one.
WARMUP_VISITORS = 20
SETTLE_SECONDS = 1.0
CONNECT_CONCURRENCY = 100


@dataclass(frozen=True)
class ConnectionsConfig:
    visitors: int
    workers: int

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> ConnectionsConfig:
        return cls(visitors=500 if quick else 10_000, workers=workers)


def measure(kind: str, config: ConnectionsConfig, log: Any) -> dict[str, Any]:
    with (
        ServerProcess(kind) as server,
        LoadGenerator(server.base_url, [], config.workers) as generator,
    ):
        warm = generator.command(
            "visitors",
            [
                {"count": count, "concurrency": CONNECT_CONCURRENCY}
                for count in generator.split(WARMUP_VISITORS)
            ],
        )
        if sum(reply["failed"] for reply in warm):
            raise RuntimeError(f"{kind}: warm-up visitors failed: {warm}")
        generator.command("close_visitors")
        time.sleep(SETTLE_SECONDS)
        empty_kib = rss_kib(server.pid)
        started = time.monotonic()
        replies = generator.command(
            "visitors",
            [
                {"count": count, "concurrency": CONNECT_CONCURRENCY}
                for count in generator.split(config.visitors)
            ],
        )
        connect_seconds = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        full_kib = rss_kib(server.pid)
        connected = sum(reply["connected"] for reply in replies)
        failed = sum(reply["failed"] for reply in replies)
        first_failure = next((r["first_failure"] for r in replies if r["first_failure"]), None)
    per_connection = (full_kib - empty_kib) / connected if connected else None
    log(
        f"connections {kind}: {connected} held ({failed} failed) in {connect_seconds:.1f}s, "
        f"RSS {empty_kib} -> {full_kib} KiB, {per_connection or 0:.1f} KiB each"
    )
    return {
        "connected": connected,
        "failed": failed,
        "first_failure": first_failure,
        "connect_seconds": round(connect_seconds, 2),
        "connects_per_s": round(connected / connect_seconds, 1) if connect_seconds else None,
        "empty_rss_kib": empty_kib,
        "full_rss_kib": full_kib,
        "kib_per_conn": round(per_connection, 2) if per_connection is not None else None,
    }


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = ConnectionsConfig.for_run(quick, workers)
    baseline = measure("baseline", config, log)
    hub = measure("hub", config, log)
    return {
        "scenario": "connections",
        "n": config.visitors,
        "hub_connected": hub["connected"],
        "baseline_connected": baseline["connected"],
        "hub_kib_per_conn": hub["kib_per_conn"],
        "baseline_kib_per_conn": baseline["kib_per_conn"],
        "memory_ratio": ratio(hub["kib_per_conn"], baseline["kib_per_conn"]),
        "hub_connects_per_s": hub["connects_per_s"],
        "baseline_connects_per_s": baseline["connects_per_s"],
        "hub": hub,
        "baseline": baseline,
    }
