"""Paced writeback (hub/storage/writeback.py), observed through the kernel's own count of a
file's dirty pages (the cachestat system call, Linux 6.5 and later)."""

from __future__ import annotations

import ctypes
import os
import platform
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.storage import writeback

SYS_CACHESTAT = {"x86_64": 451, "aarch64": 451}.get(platform.machine())
FILE_PAGES = 4096  # 16 MiB
DIRTIED = 600


class _Range(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class _Stat(ctypes.Structure):
    _fields_ = [
        ("nr_cache", ctypes.c_uint64),
        ("nr_dirty", ctypes.c_uint64),
        ("nr_writeback", ctypes.c_uint64),
        ("nr_evicted", ctypes.c_uint64),
        ("nr_recently_evicted", ctypes.c_uint64),
    ]


def dirty_pages(fd: int) -> int:
    stat = _Stat()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_CACHESTAT, fd, ctypes.byref(_Range(0, 0)), ctypes.byref(stat), 0):
        raise OSError(ctypes.get_errno(), "cachestat")
    return stat.nr_dirty + stat.nr_writeback


def _cachestat_works(tmp_path: Path) -> bool:
    if SYS_CACHESTAT is None or not writeback.available():
        return False
    fd = os.open(tmp_path / "probe", os.O_RDWR | os.O_CREAT)
    try:
        dirty_pages(fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.fixture
def scattered_dirty_file(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A written, synced file in which DIRTIED pages scattered through it are dirty again,
    with the kernel's count of its dirty pages: more than DIRTIED where the page cache keeps
    the file in large folios, which are dirtied whole."""
    if not _cachestat_works(tmp_path):
        pytest.skip("needs Linux with sync_file_range and cachestat (6.5 or later)")
    fd = os.open(tmp_path / "database", os.O_RDWR | os.O_CREAT)
    os.write(fd, bytes(FILE_PAGES * writeback.PAGE_BYTES))
    os.fsync(fd)
    page = os.urandom(writeback.PAGE_BYTES)
    for number in random.Random(7).sample(range(FILE_PAGES), DIRTIED):
        os.pwrite(fd, page, number * writeback.PAGE_BYTES)
    dirty = dirty_pages(fd)
    assert dirty >= DIRTIED * 0.9  # the kernel keeps them for 30 s by default
    yield fd, dirty
    os.close(fd)


def test_write_back_leaves_no_dirty_page(scattered_dirty_file: tuple[int, int]) -> None:
    fd, _ = scattered_dirty_file
    writeback.write_back(fd, DIRTIED, until=time.monotonic())
    assert dirty_pages(fd) == 0


def test_write_back_spreads_its_steps_until_the_deadline(
    scattered_dirty_file: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages go out in steps between now and `until`, a pause after each: halfway there,
    some are still dirty; at the end none is. The clock is a fake one that only the pauses
    move, so a stall of this machine cannot change what the test sees."""
    fd, dirty_before = scattered_dirty_file
    clock = [1000.0]
    dirty_at_pauses: list[int] = []

    def pause(seconds: float) -> None:
        dirty_at_pauses.append(dirty_pages(fd))
        clock[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", pause)
    writeback.write_back(fd, DIRTIED, until=clock[0] + 0.6)
    steps = DIRTIED // writeback.PAGES_PER_STEP
    assert len(dirty_at_pauses) == steps
    assert clock[0] == pytest.approx(1000.6)
    halfway = dirty_at_pauses[steps // 2]
    assert 0 < halfway < dirty_before
    assert dirty_at_pauses == sorted(dirty_at_pauses, reverse=True)
    assert dirty_pages(fd) == 0
