"""The backends the storage contract suite runs on, one `store` per test and backend.

* `sqlite`: SqliteStore in the test's temporary directory.
* `mongomock-motor-fake`: MongoStore on mongomock-motor, an in-memory fake of an asyncio
  MongoDB client (motor's API, which PyMongo's AsyncMongoClient shares for every call the
  store makes). It executes every line of the store, but it is not MongoDB: its index, write
  concern and query behaviour are mongomock's imitation. Its calls answer without a round
  trip, so they are made to yield to the event loop once, as a network call does; otherwise
  concurrent appends could never interleave inside the store and the races would go untested.
* `mongodb`: MongoStore on the real server at HUB_TEST_MONGO_URL (a replica set, since writes
  ask for w=majority), in a fresh database per test that is dropped afterwards. Skipped when
  the variable is not set.
* `postgres`: PostgresStore on a private PostgreSQL (Debian's package, started once per
  session by tests/conftest.py's postgres_server_url), in a fresh database per test that is
  dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient, AsyncMongoMockCollection
from pymongo import AsyncMongoClient

from hub.storage.base import Store
from hub.storage.mongo import MongoStore
from hub.storage.postgres import PostgresStore
from hub.storage.sqlite import SqliteStore
from tests.peers import create_database, drop_database

MONGO_URL_VARIABLE = "HUB_TEST_MONGO_URL"
FAKE_ROUND_TRIPS = (
    "insert_one",
    "find_one",
    "update_one",
    "delete_one",
    "delete_many",
    "create_index",
)


@dataclass
class Backend:
    """Makes stores over one set of data: a restart of the hub, or another hub process."""

    name: str
    make: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    async def open_store(self) -> Store:
        store = self.make()
        await store.open()
        self.opened.append(store)
        return store


def _with_round_trip(
    method: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0)  # where a real driver would wait for the server's answer
        return await method(self, *args, **kwargs)

    return call


def _fake_mongo_backend(monkeypatch: pytest.MonkeyPatch) -> Backend:
    for name in FAKE_ROUND_TRIPS:
        original = getattr(AsyncMongoMockCollection, name)
        monkeypatch.setattr(AsyncMongoMockCollection, name, _with_round_trip(original))
    fake = AsyncMongoMockClient()
    return Backend("mongomock-motor-fake", lambda: MongoStore(lambda: fake, "hub"))


async def _real_mongo_backend() -> AsyncIterator[Backend]:
    url = os.environ.get(MONGO_URL_VARIABLE)
    if not url:
        pytest.skip(f"{MONGO_URL_VARIABLE} is not set: no real MongoDB to run against")
    db_name = f"hub_test_{uuid.uuid4().hex[:16]}"
    backend = Backend("mongodb", lambda: MongoStore.from_url(url, db_name))
    try:
        yield backend
    finally:
        await _close_all(backend)
        client: AsyncMongoClient = AsyncMongoClient(url)
        try:
            await client.drop_database(db_name)
        finally:
            await client.close()


async def _postgres_backend(server_url: str) -> AsyncIterator[Backend]:
    database_url = await create_database(server_url)
    backend = Backend("postgres", lambda: PostgresStore(database_url, pool_size=4))
    try:
        yield backend
    finally:
        await _close_all(backend)
        await drop_database(database_url)


async def _close_all(backend: Backend) -> None:
    for store in backend.opened:
        await store.close()


async def _backend(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[Backend]:
    if kind == "postgres":
        async for backend in _postgres_backend(request.getfixturevalue("postgres_server_url")):
            yield backend
        return
    if kind == "mongodb":
        async for backend in _real_mongo_backend():
            yield backend
        return
    if kind == "sqlite":
        backend = Backend("sqlite", lambda: SqliteStore(tmp_path / "hub.sqlite3"))
    else:
        backend = _fake_mongo_backend(monkeypatch)
    try:
        yield backend
    finally:
        await _close_all(backend)


@pytest.fixture(params=["sqlite", "mongomock-motor-fake", "mongodb", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backend]:
    async for made in _backend(request.param, tmp_path, monkeypatch, request):
        yield made


@pytest.fixture(params=["mongomock-motor-fake", "mongodb"])
async def mongo_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backend]:
    async for made in _backend(request.param, tmp_path, monkeypatch, request):
        yield made


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open_store()
