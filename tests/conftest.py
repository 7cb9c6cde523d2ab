"""Shared fixtures: a real hub on a free port, REST and Socket.IO clients against it."""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from config.settings import Settings
from hub.app import create_app, server_options
from hub.channels import ChannelType
from hub.context import HUB, Hub
from tests.realtime_clients import AgentClient, Api, EventClient, Visitor

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
_agent_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningHub:
    base_url: str
    hub: Hub
    api: Api
    admin_token: str
    clients: list[EventClient] = field(default_factory=list)

    async def visitor(self, tenant: str = "default", **auth: Any) -> Visitor:
        visitor = Visitor(self.base_url)
        self.clients.append(visitor)
        await visitor.join(tenant, **auth)
        return visitor

    async def create_agent(
        self,
        *,
        skills: list[str] | None = None,
        max_concurrent: int = 3,
        roles: list[str] | None = None,
        token: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        number = next(_agent_numbers)
        email = f"agent{number}@example.com"
        body: dict[str, Any] = {
            "name": f"Agent {number}",
            "email": email,
            "password": "agent-password",
            "skills": skills or [],
            "max_concurrent": max_concurrent,
        }
        if roles:
            body["roles"] = roles
        status, created = await self.api.request(
            "POST", "/api/v1/agents", token=token or self.admin_token, json=body
        )
        assert status == 201, created
        return await self.api.login(email, "agent-password")

    async def agent(
        self,
        *,
        skills: list[str] | None = None,
        max_concurrent: int = 3,
        ready: bool = True,
        roles: list[str] | None = None,
    ) -> AgentClient:
        token, agent = await self.create_agent(
            skills=skills, max_concurrent=max_concurrent, roles=roles
        )
        client = AgentClient(self.base_url, token, agent)
        self.clients.append(client)
        return await client.start(ready=ready)

    async def routing(self, **changes: Any) -> dict[str, Any]:
        status, current = await self.api.request(
            "GET", "/api/v1/settings/routing", token=self.admin_token
        )
        assert status == 200
        status, body = await self.api.request(
            "PUT", "/api/v1/settings/routing", token=self.admin_token, json=current | changes
        )
        assert status == 200, body
        return body


# HUB_TEST_POSTGRES=1: every hub the tests start runs on a private PostgreSQL (one server
# for the session, a database per data directory, so a restarted hub finds its data), to
# show the hub-level tests pass on the shared store too.
HUBS_ON_POSTGRES = "HUB_TEST_POSTGRES"
_hub_postgres_server: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _hubs_on_postgres() -> Iterator[None]:
    if os.environ.get(HUBS_ON_POSTGRES) != "1":
        yield
        return
    from tests.peers import postgres_server

    with postgres_server() as url:
        _hub_postgres_server.append(url)
        yield
        _hub_postgres_server.clear()


async def _postgres_database_of(data_dir: Path) -> str:
    from tests.peers import create_database

    name = "hub_" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:24]
    return await create_database(_hub_postgres_server[0], name=name, exist_ok=True)


async def start_hub(
    data_dir: Path, *, channel_types: Sequence[ChannelType] | None = None, **overrides: Any
) -> tuple[web.AppRunner, str]:
    if _hub_postgres_server and not {"mongo_url", "postgres_url"} & overrides.keys():
        overrides["postgres_url"] = await _postgres_database_of(data_dir)
    settings = Settings(
        port=free_port(),
        data_dir=data_dir,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        secret_key="test-secret",
        sqlite_synchronous="NORMAL",
        **overrides,
    )
    runner = web.AppRunner(
        create_app(settings, channel_types=channel_types),
        handle_signals=False,
        **server_options(settings),
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    return runner, f"http://127.0.0.1:{settings.port}"


@asynccontextmanager
async def hub_running(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningHub]:
    """A hub on a free port with the administrator signed in; its clients and the hub are
    closed afterwards."""
    runner, base_url = await start_hub(data_dir, **overrides)
    async with aiohttp.ClientSession() as session:
        api = Api(base_url, session)
        admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        running = RunningHub(base_url, runner.app[HUB], api, admin_token)
        try:
            yield running
        finally:
            for client in running.clients:
                await client.close()
            await runner.cleanup()


@pytest.fixture
async def running_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with hub_running(tmp_path / "data") as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """One private PostgreSQL for the session (tests/peers.py); each test that uses it makes
    a database of its own (peers.create_database). Skipped, with the reason, where this
    machine cannot run one."""
    from tests.peers import postgres_server, postgres_unavailable

    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server() as url:
        yield url
