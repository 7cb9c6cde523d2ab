"""Kill -9 the hub while visitors are sending: every acknowledged message survives exactly
once, seq has no gaps, and retries after the restart do not duplicate."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bench.servers import process_tree
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, free_port
from tests.realtime_clients import Api, Visitor

ROOT = Path(__file__).resolve().parent.parent
VISITORS = 8
ACKS_BEFORE_KILL = 150


async def wait_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        async with asyncio.timeout(60):
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"hub exited with {process.returncode}")
                try:
                    async with session.get(base_url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                # Polling a port that is not open yet: there is no event to wait for.
                await asyncio.sleep(0.05)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait for a process that is not our child to exit (a pidfd turns readable then)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


@asynccontextmanager
async def hub_process(data_dir: Path, port: int) -> AsyncIterator[subprocess.Popen[bytes]]:
    env = os.environ | {
        "HUB_ADMIN_EMAIL": ADMIN_EMAIL,
        "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HUB_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.slow
async def test_sigkill_loses_no_acknowledged_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    acked: dict[str, dict[str, int]] = {}  # conversation id -> client id -> seq
    attempted: dict[str, tuple[str, str]] = {}  # visitor token -> last client id tried
    enough = asyncio.Event()
    total = 0

    async def send_until_killed(visitor: Visitor, number: int) -> None:
        nonlocal total
        for i in range(100_000):
            client_id = f"v{number}-m{i}"
            attempted[visitor.token] = (client_id, f"message {i}")
            try:
                ack = await visitor.call(
                    "message", {"client_id": client_id, "text": f"message {i}"}, timeout=5
                )
            except Exception:
                return  # the hub is gone
            if not ack.get("ok"):
                return
            message = ack["message"]
            acked.setdefault(message["conversation_id"], {})[client_id] = message["seq"]
            total += 1
            if total >= ACKS_BEFORE_KILL:
                enough.set()

    async with hub_process(data_dir, port) as process:
        visitors = [Visitor(base_url) for _ in range(VISITORS)]
        for visitor in visitors:
            await visitor.join()
        senders = [asyncio.create_task(send_until_killed(v, n)) for n, v in enumerate(visitors)]
        async with asyncio.timeout(60):
            await enough.wait()
        writers = process_tree(process.pid)[1:]
        assert writers, "the hub should run its SQLite writer in a child process"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        for writer in writers:
            # Left behind, it would hold the database's write lock against the restart.
            assert wait_gone(writer, timeout=30), f"writer process {writer} outlived the hub"
        await asyncio.gather(*senders)
        for visitor in visitors:
            await visitor.sio.disconnect()

    assert total >= ACKS_BEFORE_KILL
    async with hub_process(data_dir, port):
        # Each visitor retries its last, possibly unacknowledged, message with the same id.
        for token, (client_id, text) in attempted.items():
            visitor = Visitor(base_url)
            await visitor.join(visitor_token=token)
            ack = await visitor.call("message", {"client_id": client_id, "text": text})
            assert ack["ok"], ack
            acked.setdefault(ack["message"]["conversation_id"], {})[client_id] = ack["message"][
                "seq"
            ]
            await visitor.close()
        async with aiohttp.ClientSession() as session:
            api = Api(base_url, session)
            token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            for conversation_id, seqs in acked.items():
                status, body = await api.request(
                    "GET",
                    f"/api/v1/conversations/{conversation_id}/messages?limit=500",
                    token=token,
                )
                assert status == 200
                stored = body["items"]
                assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
                by_client = {}
                for message in stored:
                    assert message["client_id"] not in by_client, "duplicate after restart"
                    by_client[message["client_id"]] = message["seq"]
                for client_id, seq in seqs.items():
                    assert by_client.get(client_id) == seq, f"acked {client_id} lost"
