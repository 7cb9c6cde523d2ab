"""Garbage-collector settings for a serving process (run.py; the benchmark's baseline too).

With CPython's default thresholds (700, 10, 10) the collector ran about 50 times a second
under the relay load, and each full collection walked the whole heap — every connection's
objects, the routing state, the imported modules — for 60–100 ms with the loop stopped: a
tenth of the loop's CPU, and most of the hub's p99 latency (docs/benchmarks.md). Almost all
of a message's objects are freed by reference counting, so a larger first generation loses
nothing but the collector's churn; the objects alive once the server has started (modules,
settings, restored state) are moved out of the collector's way for good.
"""

from __future__ import annotations

import gc

from aiohttp import web

# Net allocations before a young collection, and young / middle collections per older one.
THRESHOLDS = (20_000, 20, 20)


def tune_for_serving() -> None:
    gc.set_threshold(*THRESHOLDS)


async def freeze_startup_objects(_: web.Application) -> None:
    """For app.on_startup, after everything else has started: collect once, then keep every
    surviving object out of later collections (gc.freeze)."""
    gc.collect()
    gc.freeze()
