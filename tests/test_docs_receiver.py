"""The receiver in docs/integrations.md works as written: run against the hub's real
deliveries, it accepts them, recognises a repeat, and refuses a body that was tampered with."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.conftest import free_port, hub_running

DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"


def receiver_from_doc() -> dict[str, Any]:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    code = code.replace('b"the secret you gave the hub"', 'b"the-documented-secret-1"')
    # Served below on a free port instead of run_app's.
    code = code.replace("web.run_app(app, port=9000)", "")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


async def test_the_documented_receiver_verifies_real_deliveries(tmp_path: Path) -> None:
    example = receiver_from_doc()
    port = free_port()
    runner = web.AppRunner(example["app"])
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        settings = {"webhook_allow_private": True, "webhook_poll_seconds": 0.05}
        async with hub_running(tmp_path, **settings) as running:
            status, _ = await running.api.request(
                "POST",
                "/api/v1/webhooks",
                token=running.admin_token,
                json={
                    "url": f"http://127.0.0.1:{port}/hub-events",
                    "events": ["message.created"],
                    "secret": "the-documented-secret-1",
                },
            )
            assert status == 201
            visitor = await running.visitor()
            await visitor.say("for the documented receiver")
            webhook_id = (await running.hub.store.list_webhooks("default"))[0].id
            async with aiohttp.ClientSession() as session, asyncio.timeout(10):
                # The documented receiver's own record is all it exposes to wait on.
                while not example["seen"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                (event_id,) = example["seen"]
                logged = await running.hub.store.list_webhook_deliveries("default", webhook_id)
                assert logged[0].event_id == event_id
                async with session.post(
                    f"http://127.0.0.1:{port}/hub-events",
                    data=b'{"id": "forged"}',
                    headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
                ) as forged:
                    assert forged.status == 401
            assert example["seen"] == {event_id}
    finally:
        await runner.cleanup()
