"""Issue 23 ("What a new support team hits on day one"), the server's side of items 2, 3
and 9: the limits clients show up front, the visitor's earlier conversations, phone numbers,
an agent's own password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub
from tests.realtime_clients import Visitor


@pytest.fixture
async def small_hub(tmp_path: Path) -> AsyncIterator[str]:
    runner, base_url = await start_hub(
        tmp_path / "data", upload_max_bytes=4096, max_text_length=1500
    )
    try:
        yield base_url
    finally:
        await runner.cleanup()


async def _upload(base_url: str, headers: dict[str, str], size: int) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", b"x" * size, filename="a.txt", content_type="text/plain")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/api/v1/uploads", data=form, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_the_limits_come_from_the_settings(small_hub: str) -> None:
    """Item 2: before, uploads were limited by a constant of their own (upload_max_bytes was
    unused), and neither the widget nor the inbox could learn either limit."""
    base_url = small_hub
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/api/v1/widget/config?tenant=default") as response:
            config = await response.json()
        # The widget's own max_length (2000 by default) is capped by what the hub accepts.
        assert config["upload_max_bytes"] == 4096 and config["max_length"] == 1500
        async with session.post(
            f"{base_url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        ) as response:
            token = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base_url}/api/v1/auth/me", headers=headers) as response:
            me = await response.json()
    assert me["limits"] == {"max_text_length": 1500, "upload_max_bytes": 4096}
    assert (await _upload(base_url, headers, 4096))[0] == 201
    status, body = await _upload(base_url, headers, 4097)
    assert status == 413 and body["error"]["code"] == "file_too_large"
    assert body["error"]["limit"] == 4096
    visitor = Visitor(base_url)
    await visitor.join("default")
    too_long = await visitor.say("x" * 1501)
    await visitor.close()
    assert too_long["error"]["code"] == "text_too_long" and too_long["error"]["limit"] == 1500


async def test_a_widget_limit_below_the_hubs_is_kept(running_hub: RunningHub) -> None:
    status, _ = await running_hub.api.request(
        "PUT", "/api/v1/settings/widget", token=running_hub.admin_token, json={"max_length": 300}
    )
    assert status == 200
    status, config = await running_hub.api.request("GET", "/api/v1/widget/config")
    assert config["max_length"] == 300
    assert config["upload_max_bytes"] == running_hub.hub.settings.upload_max_bytes
