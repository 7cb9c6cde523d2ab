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
def scattered_dirty_file(tmp_path: Path) -> Iterator[int]:
    """A written, synced file in which DIRTIED pages scattered through it are dirty again."""
    if not _cachestat_works(tmp_path):
        pytest.skip("needs Linux with sync_file_range and cachestat (6.5 or later)")
    fd = os.open(tmp_path / "database", os.O_RDWR | os.O_CREAT)
    os.write(fd, bytes(FILE_PAGES * writeback.PAGE_BYTES))
    os.fsync(fd)
    page = os.urandom(writeback.PAGE_BYTES)
    for number in random.Random(7).sample(range(FILE_PAGES), DIRTIED):
        os.pwrite(fd, page, number * writeback.PAGE_BYTES)
    assert dirty_pages(fd) >= DIRTIED * 0.9  # the kernel keeps them for 30 s by default
    yield fd
    os.close(fd)


def test_write_back_leaves_no_dirty_page(scattered_dirty_file: int) -> None:
    writeback.write_back(scattered_dirty_file, DIRTIED, until=time.monotonic())
    assert dirty_pages(scattered_dirty_file) == 0


def test_write_back_spreads_its_steps_until_the_deadline(
    scattered_dirty_file: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages go out in steps between now and `until`: halfway there, some are still
    dirty; at the end none is."""
    started = time.monotonic()
    until = started + 0.6
    dirty_halfway: list[int] = []
    real_sleep = time.sleep

    def sleep_and_look(seconds: float) -> None:
        if not dirty_halfway and time.monotonic() - started >= 0.3:
            dirty_halfway.append(dirty_pages(scattered_dirty_file))
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep_and_look)
    writeback.write_back(scattered_dirty_file, DIRTIED, until=until)
    last_step = 0.6 / (DIRTIED // writeback.PAGES_PER_STEP)
    assert time.monotonic() >= until - last_step
    assert dirty_halfway and 0 < dirty_halfway[0] < DIRTIED
    assert dirty_pages(scattered_dirty_file) == 0
