"""Small numeric helpers shared by the scenarios."""

from __future__ import annotations

import math
import os
import platform
import sys
from array import array
from collections.abc import Iterable, Sequence


def merge_latencies(chunks: Iterable[bytes]) -> list[int]:
    """Concatenate the workers' latency arrays (int64 nanoseconds) and sort them."""
    merged = array("q")
    for chunk in chunks:
        merged.frombytes(chunk)
    return sorted(merged)


def percentile_ms(sorted_ns: Sequence[int], fraction: float) -> float | None:
    """Nearest-rank percentile in milliseconds; None without samples."""
    if not sorted_ns:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_ns)))
    return round(sorted_ns[rank - 1] / 1e6, 3)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_kib = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_kib = int(line.split()[1])
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
    }
