"""Issue 13, item 5: sign-in throttling that slows guessing without locking anybody out, and
the password policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config.settings import SettingsError, load_settings
from hub import throttle
from hub.context import HUB, Hub
from hub.throttle import Throttle
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub


@pytest.fixture
async def proxied_hub(tmp_path: Path) -> AsyncIterator[tuple[str, Hub]]:
    """A hub behind a trusted proxy on loopback, so each request can come from its own
    address (X-Forwarded-For)."""
    runner, base_url = await start_hub(tmp_path / "data", trusted_proxies=("127.0.0.1",))
    try:
        yield base_url, runner.app[HUB]
    finally:
        await runner.cleanup()


async def sign_in(base_url: str, address: str, email: str, password: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": address},
        ) as response,
    ):
        body = await response.json()
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert body["error"]["retry_after"] >= 1
        return response.status, body


async def test_a_stranger_cannot_lock_the_owner_out(proxied_hub: tuple[str, Hub]) -> None:
    """Before: five failures from anywhere gave the right password 429 for five minutes."""
    base_url, hub = proxied_hub
    statuses = [
        (await sign_in(base_url, "203.0.113.66", ADMIN_EMAIL, "wrong-guess"))[0] for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    status, _ = await sign_in(base_url, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 200
    # Guessed at from many addresses: unknown addresses are slowed, the owner's is not.
    for number in range(25):
        await sign_in(base_url, f"203.0.113.{number}", ADMIN_EMAIL, "wrong-guess")
    assert hub.login_guard.slowed("192.0.2.1", ADMIN_EMAIL)
    assert not hub.login_guard.slowed("198.51.100.7", ADMIN_EMAIL)
    status, _ = await sign_in(base_url, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 200
    status, _ = await sign_in(base_url, "192.0.2.1", ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 200  # slowed, never refused


async def test_spraying_many_accounts_from_one_address_is_stopped(
    proxied_hub: tuple[str, Hub],
) -> None:
    """Before: one address could try any number of emails."""
    base_url, _ = proxied_hub
    statuses = [
        (await sign_in(base_url, "203.0.113.9", f"user{n}@example.com", "password"))[0]
        for n in range(32)
    ]
    assert statuses[:30] == [401] * 30 and statuses[30:] == [429, 429]
    status, _ = await sign_in(base_url, "198.51.100.8", ADMIN_EMAIL, ADMIN_PASSWORD)
    assert status == 200


def test_counters_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now[0])
    counter = Throttle(limit=3, window=60)
    for key in range(500):
        counter.record(f"address-{key}")
    assert len(counter) == 500
    now[0] += 61
    counter.record("late")
    assert len(counter) == 1


@pytest.mark.parametrize("password", ["12345678", "password", "Password1", "aaaaaaaaaa"])
async def test_weak_passwords_are_refused(running_hub: RunningHub, password: str) -> None:
    api = running_hub.api
    status, body = await api.request(
        "POST",
        "/api/v1/agents",
        token=running_hub.admin_token,
        json={"name": "W", "email": "weak@example.com", "password": password},
    )
    assert status == 400 and body["error"]["code"] == "weak_password", body
    _, agent = await running_hub.create_agent()
    status, body = await api.request(
        "PATCH",
        f"/api/v1/agents/{agent['id']}",
        token=running_hub.admin_token,
        json={"password": password},
    )
    assert status == 400 and body["error"]["code"] == "weak_password", body
    status, _ = await api.request(
        "POST", "/api/v1/auth/login", json={"email": agent["email"], "password": password}
    )
    assert status == 401  # the old password still stands


async def test_the_agents_email_is_not_a_password(running_hub: RunningHub) -> None:
    status, body = await running_hub.api.request(
        "POST",
        "/api/v1/agents",
        token=running_hub.admin_token,
        json={"name": "M", "email": "mallory@example.com", "password": "mallory@example.com"},
    )
    assert status == 400 and body["error"]["code"] == "weak_password"


@pytest.mark.parametrize("password", ["a", "12345678", "password"])
def test_a_weak_administrator_password_stops_the_hub(password: str) -> None:
    with pytest.raises(SettingsError, match="admin_password"):
        load_settings(environ={"HUB_ADMIN_PASSWORD": password})
