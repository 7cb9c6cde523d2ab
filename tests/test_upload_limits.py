"""Issue 13, item 2 (the part that needs no upload records): an upload rate per uploader, and
uploads refused while the disk is nearly full."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hub.context import HUB, Hub
from tests.conftest import start_hub
from tests.realtime_clients import Visitor


async def upload(base_url: str, visitor_token: str) -> tuple[int, dict[str, object], str]:
    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/v1/uploads", data=form, headers={"X-Visitor-Token": visitor_token}
        ) as response,
    ):
        return response.status, await response.json(), response.headers.get("Retry-After", "")


@pytest.fixture
async def hub_with(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Hub]]:
    runner, base_url = await start_hub(tmp_path / "data", **request.param)
    try:
        yield base_url, runner.app[HUB]
    finally:
        await runner.cleanup()


async def visitor_token(base_url: str) -> str:
    visitor = Visitor(base_url)
    await visitor.join("default")
    token = visitor.token
    await visitor.close()
    return token


@pytest.mark.parametrize("hub_with", [{"uploads_per_minute": 3}], indirect=True)
async def test_uploads_are_rate_limited_per_uploader(hub_with: tuple[str, Hub]) -> None:
    """Before: 30 files of 9 MB were accepted from one visitor token in one second."""
    base_url, hub = hub_with
    token = await visitor_token(base_url)
    answers = [await upload(base_url, token) for _ in range(4)]
    assert [status for status, _, _ in answers] == [201, 201, 201, 429]
    _, body, retry_after = answers[-1]
    assert body["error"]["code"] == "rate_limited" and int(retry_after) >= 1
    folder = Path(hub.settings.data_dir) / "uploads" / "default"
    assert len(list(folder.iterdir())) == 3
    other = await visitor_token(base_url)
    assert (await upload(base_url, other))[0] == 201


@pytest.mark.parametrize("hub_with", [{"upload_min_free_bytes": 2**62}], indirect=True)
async def test_uploads_are_refused_when_the_disk_runs_low(hub_with: tuple[str, Hub]) -> None:
    base_url, hub = hub_with
    token = await visitor_token(base_url)
    status, body, _ = await upload(base_url, token)
    assert status == 507 and body["error"]["code"] == "insufficient_storage"
    folder = Path(hub.settings.data_dir) / "uploads" / "default"
    assert not folder.exists() or not list(folder.iterdir())
    visitor = Visitor(base_url)
    await visitor.join("default")
    assert (await visitor.say("messages still work"))["ok"]
    await visitor.close()
