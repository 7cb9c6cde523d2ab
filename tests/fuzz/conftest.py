"""A real hub for the fuzzing suite, in its own event loop on a thread, so that hypothesis
(which drives plain functions) can send one request or event per example and wait for it.

Examples per test: HUB_FUZZ_EXAMPLES (default 100: under a minute for the suite); the
nightly-style run sets it higher, e.g. HUB_FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from hub.context import HUB, Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_hub
from tests.realtime_clients import AgentClient, Api, Visitor

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "100"))
T = TypeVar("T")


HUB_THREAD = "fuzz-hub"


class ErrorRecords(logging.Handler):
    """Every record at ERROR or above that the hub logs (a client's mistake must never log
    one); other threads' (pytest's own loops being collected) are not the hub's."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == HUB_THREAD:
            self.records.append(record)


@dataclass
class FuzzHub:
    loop: asyncio.AbstractEventLoop
    base_url: str
    hub: Hub
    api: Api
    admin_token: str
    agent: AgentClient
    visitor: Visitor
    ids: dict[str, str]
    body_routes: list[tuple[str, str]]  # (method, path template) of every route with a body
    errors: ErrorRecords = field(default_factory=ErrorRecords)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def snapshot(self) -> Any:
        """What any request could change, read from the store."""
        store, tenant = self.hub.store, "default"
        settings = {key: await store.get_settings(tenant, key) for key in SETTINGS_KEYS}
        conversations = await store.list_conversations(tenant, limit=1000)
        messages = {
            c.id: [m.public() for m in await store.list_messages(tenant, c.id, limit=1000)]
            for c in conversations
        }
        return (
            settings,
            [a.public() | {"disabled": a.disabled} for a in await store.list_agents(tenant)],
            [c.public() for c in await store.list_contacts(tenant, limit=1000)],
            [c.public() for c in conversations],
            messages,
            [left.public() for left in await store.list_left_messages(tenant)],
        )


SETTINGS_KEYS = ("routing", "widget", "quick_replies", "tags")


async def _prepare(data_dir: Path) -> tuple[Any, FuzzHub]:
    runner, base_url = await start_hub(
        data_dir,
        visitor_messages_per_minute=100_000,
        address_messages_per_minute=100_000,
        address_new_contacts_per_hour=100_000,
        address_connections=100_000,
    )
    session = aiohttp.ClientSession()
    api = Api(base_url, session)
    admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    status, created = await api.request(
        "POST",
        "/api/v1/agents",
        token=admin_token,
        json={"name": "Fuzz", "email": "fuzz@example.com", "password": "fuzz-password-1"},
    )
    assert status == 201, created
    token, agent_info = await api.login("fuzz@example.com", "fuzz-password-1")
    agent = await AgentClient(base_url, token, agent_info).start(ready=True)
    visitor = Visitor(base_url)
    await visitor.join("default", name="Fuzzy")
    ack = await visitor.say("hello")
    conversation_id = ack["message"]["conversation_id"]
    ids = {
        "agent_id": agent_info["id"],
        "contact_id": visitor.session["contact_id"],  # type: ignore[index]
        "conversation_id": conversation_id,
        "message_id": ack["message"]["id"],
        "left_id": "no-such-left-message",
        "channel_id": "no-such-channel",
    }
    routes = {
        (route.method, route.resource.canonical)
        for route in runner.app.router.routes()
        if route.resource is not None
        and route.method in ("POST", "PUT", "PATCH")
        and route.resource.canonical.startswith("/api/")
    }
    fuzz = FuzzHub(
        asyncio.get_running_loop(),
        base_url,
        runner.app[HUB],
        api,
        admin_token,
        agent,
        visitor,
        ids,
        sorted(routes),
    )
    return (runner, session), fuzz


@pytest.fixture(scope="session")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzHub]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=HUB_THREAD, daemon=True)
    thread.start()
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    (runner, session), fuzz = asyncio.run_coroutine_threadsafe(_prepare(data_dir), loop).result(60)
    logging.getLogger().addHandler(fuzz.errors)
    try:
        yield fuzz
    finally:
        logging.getLogger().removeHandler(fuzz.errors)

        async def stop() -> None:
            await fuzz.agent.close()
            await fuzz.visitor.close()
            await session.close()
            await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
