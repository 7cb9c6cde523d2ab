"""Paced writeback of a file's dirty pages: the Checkpointer's way of keeping checkpoint pages
from piling up in the page cache and then meeting a commit's flush all at once.

A passive checkpoint that commits overtake (nearly every one on a busy hub) copies pages into
the database file but does not sync it: SQLite syncs the database only when a checkpoint has
copied the whole WAL, since until then the WAL still holds those pages. So the copied pages
stay dirty in the page cache until a complete checkpoint (the writer's, before the WAL
rewinds) or the kernel's flusher writes them out, thousands at a time, and every commit's
fdatasync meanwhile waits for the device to take them (docs/benchmarks.md). Writing them out
a few dozen at a time, spread over the checkpoint interval, lets each commit's flush meet only
a few.

`sync_file_range` only starts writeback and waits for it to reach the device; it makes
nothing durable and changes no file, so durability stays entirely SQLite's. Where the call
does not exist (outside Linux) `write_back` does nothing and the pages go out as before.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable

PAGE_BYTES = 4096
PAGES_PER_STEP = 32  # at most this many of the pass's pages sent to the device at once
MAX_STEPS = 64

_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4


def _bind_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


_sync_file_range = _bind_sync_file_range()


def available() -> bool:
    return _sync_file_range is not None


def write_back(fd: int, pages: int, until: float) -> None:
    """Write the dirty pages of the file open as `fd` to the device, about `pages` of them
    scattered through it, in steps of about PAGES_PER_STEP pages spread until `until`
    (time.monotonic()); each step waits for its writes to finish."""
    if _sync_file_range is None:
        return
    steps = max(1, min(MAX_STEPS, pages // PAGES_PER_STEP))
    size = os.fstat(fd).st_size
    step_bytes = -(-size // steps // PAGE_BYTES) * PAGE_BYTES or PAGE_BYTES
    started = time.monotonic()
    share = max(0.0, until - started) / steps
    for step in range(steps):
        length = 0 if step == steps - 1 else step_bytes  # the last to the end, however long
        if _sync_file_range(fd, step * step_bytes, length, _WAIT_BEFORE | _WRITE | _WAIT_AFTER):
            errno = ctypes.get_errno()
            raise OSError(errno, f"sync_file_range: {os.strerror(errno)}")
        pause = started + (step + 1) * share - time.monotonic()
        if pause > 0:
            time.sleep(pause)
