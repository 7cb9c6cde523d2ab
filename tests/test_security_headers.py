"""Issue 13, item 11: security headers, Socket.IO CORS, no version banner, private files."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp

from hub.security import load_or_create_secret
from tests.conftest import RunningHub


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def get_headers(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, dict(response.headers)


async def test_inbox_and_console_are_never_framed(running_hub: RunningHub) -> None:
    for path in ("/agent/", "/agent/console", "/api/v1/widget/config", "/healthz"):
        status, headers = await get_headers(running_hub.base_url + path)
        assert status == 200, path
        assert headers["X-Frame-Options"] == "DENY"
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Server"] == "omnihub"


async def test_the_chat_frame_is_framed_where_the_tenant_allows(running_hub: RunningHub) -> None:
    url = running_hub.base_url + "/chat?tenant=default"
    _, headers = await get_headers(url)
    assert "X-Frame-Options" not in headers
    assert "frame-ancestors *" in headers["Content-Security-Policy"]
    status, body = await running_hub.api.request(
        "PUT",
        "/api/v1/settings/widget",
        token=running_hub.admin_token,
        json={"allowed_origins": ["https://shop.example.com", "https://*.example.org"]},
    )
    assert status == 200, body
    _, headers = await get_headers(url)
    assert (
        "frame-ancestors 'self' https://shop.example.com https://*.example.org"
        in headers["Content-Security-Policy"]
    )
    status, body = await running_hub.api.request(
        "PUT",
        "/api/v1/settings/widget",
        token=running_hub.admin_token,
        json={"allowed_origins": ["javascript:alert(1)"]},
    )
    assert status == 400 and body["error"]["code"] == "invalid_widget_settings"


async def test_socketio_never_allows_credentials(running_hub: RunningHub) -> None:
    """Before: any Origin was echoed back with Access-Control-Allow-Credentials: true."""
    url = running_hub.base_url + "/socket.io/?EIO=4&transport=polling"
    status, headers = await get_headers(url, Origin="https://evil.example")
    assert status == 200
    assert "Access-Control-Allow-Credentials" not in headers


async def test_data_files_are_private(running_hub: RunningHub, tmp_path: Path) -> None:
    """Before: the database, its WAL and the uploads were 0644 / 0755."""
    data_dir = Path(running_hub.hub.settings.data_dir)
    visitor = await running_hub.visitor()
    assert (await visitor.say("hello"))["ok"]
    assert mode_of(data_dir) == 0o700
    for name in ("hub.sqlite3", "hub.sqlite3-wal"):
        assert mode_of(data_dir / name) == 0o600, name
    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    status, body = await running_hub.api.request(
        "POST", "/api/v1/uploads", headers={"X-Visitor-Token": visitor.token}, data=form
    )
    assert status == 201
    uploaded = data_dir / body["url"].removeprefix("/")
    assert mode_of(uploaded) == 0o600
    assert mode_of(uploaded.parent) == 0o700
    load_or_create_secret(tmp_path / "fresh")
    assert mode_of(tmp_path / "fresh" / "secret_key") == 0o600
    assert mode_of(tmp_path / "fresh") == 0o700
