"""Kill -9 the hub while staff send team-chat messages: every acknowledged message survives
exactly once with its seq, seq has no gaps, and a retry after the restart does not duplicate."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, free_port
from tests.im.clients import ImSocket
from tests.realtime_clients import Api
from tests.test_crash import hub_process

SOCKETS = 4
ACKS_BEFORE_KILL = 120


@pytest.mark.slow
async def test_sigkill_loses_no_acknowledged_team_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    acked: dict[str, int] = {}  # client id -> seq
    attempted: dict[int, tuple[str, str]] = {}  # socket number -> last client id, text
    enough = asyncio.Event()

    async def send_until_killed(tab: ImSocket, number: int, thread_id: str) -> None:
        for i in range(100_000):
            client_id, text = f"s{number}-m{i}", f"message {number}/{i}"
            attempted[number] = (client_id, text)
            try:
                ack = await tab.call(
                    "message",
                    {"thread_id": thread_id, "client_id": client_id, "text": text},
                    timeout=5,
                )
            except Exception:
                return  # the hub is gone
            if not ack.get("ok"):
                return
            acked[client_id] = ack["message"]["seq"]
            if len(acked) >= ACKS_BEFORE_KILL:
                enough.set()

    async with aiohttp.ClientSession() as session:
        api = Api(base_url, session)
        async with hub_process(data_dir, port) as process:
            admin, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            tokens = []
            for name in ("ann", "bob"):
                status, _ = await api.request(
                    "POST",
                    "/api/v1/agents",
                    token=admin,
                    json={
                        "name": name,
                        "email": f"{name}@example.com",
                        "password": "im-password-1",
                    },
                )
                assert status == 201
                tokens.append((await api.login(f"{name}@example.com", "im-password-1"))[0])
            status, bob = await api.request("GET", "/api/v1/auth/me", token=tokens[1])
            status, thread = await api.request(
                "POST",
                "/api/v1/im/groups",
                token=tokens[0],
                json={"name": "Crash", "members": [bob["id"]]},
            )
            assert status == 201, thread
            tabs = [ImSocket(base_url) for _ in range(SOCKETS)]
            for tab in tabs:
                await tab.connect({"token": tokens[0]})
            senders = [
                asyncio.create_task(send_until_killed(tab, n, thread["id"]))
                for n, tab in enumerate(tabs)
            ]
            async with asyncio.timeout(60):
                await enough.wait()
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            await asyncio.gather(*senders)
            for tab in tabs:
                await tab.sio.disconnect()

        async with hub_process(data_dir, port):
            tab = ImSocket(base_url)
            await tab.connect({"token": tokens[0]})
            for client_id, text in attempted.values():
                ack = await tab.call(
                    "message", {"thread_id": thread["id"], "client_id": client_id, "text": text}
                )
                assert ack["ok"], ack
                acked[client_id] = ack["message"]["seq"]
            await tab.close()
            stored: list[dict] = []
            while True:
                status, page = await api.request(
                    "GET",
                    f"/api/v1/im/threads/{thread['id']}/messages?after_seq={len(stored)}&limit=500",
                    token=tokens[1],
                )
                assert status == 200, page
                if not page["items"]:
                    break
                stored += page["items"]
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    by_client = {m["client_id"]: m["seq"] for m in stored}
    assert len(by_client) == len(stored), "a message was stored twice"
    for client_id, seq in acked.items():
        assert by_client.get(client_id) == seq, f"acknowledged {client_id} lost"
