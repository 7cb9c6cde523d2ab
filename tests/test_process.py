"""The hub as users start it: `python run.py`, first start, SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port
from tests.realtime_clients import Api
from tests.test_crash import ROOT, wait_healthy


@pytest.mark.slow
async def test_first_start_creates_admin_and_sigterm_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        cwd=tmp_path,
        stderr=first_log.open("w"),
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert await response.json() == {"status": "ok"}
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = first_log.read_text()
    found = re.search(r"created administrator admin@example.com with password (\S+)", log)
    assert found, log
    # The printed password works, once the hub runs again on the same data.
    port = free_port()
    again = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        cwd=tmp_path,
        stderr=second_log.open("w"),
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", again)
        async with aiohttp.ClientSession() as session:
            token, agent = await Api(f"http://127.0.0.1:{port}", session).login(
                "admin@example.com", found.group(1)
            )
            assert token and "admin" in agent["roles"]
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
    assert "created administrator" not in second_log.read_text()
