"""What a checkpoint's writes do to a commit on this disk: python -m bench.disk

A durable commit in the hub is a small sequential write to SQLite's WAL and an fdatasync. A
checkpoint copies committed pages into the database file, scattered over it, and fsyncs that
file. On one device the two share the queue and the cache flush an fdatasync asks for, so a
commit made while a checkpoint's pages are being written waits for them
(docs/benchmarks.md, "History").

This measures that floor without SQLite: the fdatasync latency of 4 KiB appends to a
preallocated file (like a rewound WAL), first alone, then beside a thread that writes N
random 4 KiB pages of a 64 MiB file and fsyncs it, over and over (like checkpoints). The
files live in a temporary directory under --dir, which should be on the filesystem of the
hub's data directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.stats import percentile_ms

PAGE = 4096
LOG_BYTES = 16 << 20  # the append file, written round and round
DATABASE_BYTES = 64 << 20
FILL_CHUNK = 1 << 20


def _preallocated(path: Path, size: int) -> int:
    """A file of `size` bytes that are really on the disk (no holes), open for writing."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    chunk = b"\0" * FILL_CHUNK
    for _ in range(size // FILL_CHUNK):
        os.write(fd, chunk)
    os.fsync(fd)
    return fd


def _appends(fd: int, seconds: float) -> list[int]:
    """fdatasync latencies (ns, sorted) of 4 KiB appends for `seconds`."""
    latencies: list[int] = []
    block = os.urandom(PAGE)
    offset = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        os.pwrite(fd, block, offset)
        started = time.perf_counter_ns()
        os.fdatasync(fd)
        latencies.append(time.perf_counter_ns() - started)
        offset = (offset + PAGE) % LOG_BYTES
    return sorted(latencies)


def _writebacks(fd: int, pages: int, stop: threading.Event, passes: list[int]) -> None:
    """Checkpoint-like passes (N random pages written, then fsync) until `stop` is set."""
    block = os.urandom(PAGE)
    page_count = DATABASE_BYTES // PAGE
    while not stop.is_set():
        for page in random.sample(range(page_count), pages):
            os.pwrite(fd, block, page * PAGE)
        started = time.perf_counter_ns()
        os.fsync(fd)
        passes.append(time.perf_counter_ns() - started)


def _append_figures(latencies: list[int]) -> dict[str, Any]:
    return {
        "appends": len(latencies),
        "append_p50_ms": percentile_ms(latencies, 0.5),
        "append_p99_ms": percentile_ms(latencies, 0.99),
    }


def measure(directory: Path, seconds: float, page_counts: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-disk-", dir=directory) as workdir:
        log_fd = _preallocated(Path(workdir) / "log", LOG_BYTES)
        database_fd = _preallocated(Path(workdir) / "database", DATABASE_BYTES)
        try:
            result: dict[str, Any] = {"scenario": "disk", "seconds": seconds}
            result["alone"] = _append_figures(_appends(log_fd, seconds))
            for pages in page_counts:
                stop = threading.Event()
                passes: list[int] = []
                writer = threading.Thread(
                    target=_writebacks, args=(database_fd, pages, stop, passes), daemon=True
                )
                writer.start()
                try:
                    beside = _appends(log_fd, seconds)
                finally:
                    stop.set()
                    writer.join()
                pass_ms = percentile_ms(sorted(passes), 0.5)
                result[f"beside_{pages}_pages"] = _append_figures(beside) | {
                    "writeback_passes": len(passes),
                    "writeback_fsync_p50_ms": pass_ms,
                    "us_per_random_page": round(pass_ms * 1e3 / pages, 1) if pass_ms else None,
                }
            return result
        finally:
            os.close(log_fd)
            os.close(database_fd)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.disk", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("."), help="where the files go")
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument(
        "--pages", type=int, nargs="+", default=[64, 256, 1024], help="pages per writeback pass"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.dir, args.seconds, args.pages)
    if args.json:
        print(json.dumps(result))
        return
    alone = result["alone"]
    print(
        f"4 KiB append + fdatasync alone: p50 {alone['append_p50_ms']} ms, "
        f"p99 {alone['append_p99_ms']} ms"
    )
    for pages in args.pages:
        beside = result[f"beside_{pages}_pages"]
        print(
            f"beside writeback of {pages} random pages: append p50 {beside['append_p50_ms']} "
            f"ms, p99 {beside['append_p99_ms']} ms; writeback fsync "
            f"{beside['writeback_fsync_p50_ms']} ms ({beside['us_per_random_page']} us/page)"
        )


if __name__ == "__main__":
    main()
