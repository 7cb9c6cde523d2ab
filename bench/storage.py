"""storage: durable message appends per second with the embedded SqliteStore.

Single writer: one append at a time, each waiting for its commit (every append pays a
commit, and with synchronous=FULL an fsync). Concurrent writers: many conversations append at
once, so the store's group commit can put many appends in one transaction. Both with
synchronous FULL (the hub's default: fsync per commit) and NORMAL (WAL without fsync per
commit: survives a process crash, not a power cut). Then the product's real load: 400
conversations with a person typing in each (a message every CHAT_PACE_SECONDS), an open
loop, each append's latency counted from its scheduled time (synchronous FULL).

The same on PostgresStore (the shared store of several nodes), on a private PostgreSQL
(Debian's package, tests/peers.py) with fsync and synchronous_commit on, as durable as
SQLite's FULL, given as ratios to SQLite FULL in the same run. One node here: the pool of
PostgresStore (its default, 10 connections) runs ten transactions at once, each its own
commit, where SQLite's writer puts all waiting appends into one.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import percentile_ms
from hub.domain import Contact, Conversation, Message, Sender, Tenant, new_id
from hub.storage.base import Store
from hub.storage.postgres import PostgresStore
from hub.storage.sqlite import SqliteStore

TENANT = "bench"
MAX_APPENDS_PER_WRITER = 1_000_000
CHAT_CONVERSATIONS = 400
CHAT_PACE_SECONDS = 2.0  # as the relay scenario's chat-pace phase
POSTGRES_ROUNDS = 3


@dataclass(frozen=True)
class StorageConfig:
    seconds: float
    concurrent_writers: int
    chat_seconds: float

    @classmethod
    def for_run(cls, quick: bool) -> StorageConfig:
        return cls(
            seconds=1.0 if quick else 5.0,
            concurrent_writers=100,
            chat_seconds=2.0 if quick else 30.0,
        )


async def _conversations(store: Store, count: int) -> list[Conversation]:
    await store.create_tenant(Tenant(id=TENANT, name="bench"))
    conversations = []
    for _ in range(count):
        contact = Contact(id=new_id(), tenant=TENANT, name="bench visitor")
        await store.create_contact(contact)
        conversation = Conversation(
            id=new_id(), tenant=TENANT, channel="webim", contact_id=contact.id
        )
        await store.create_conversation(conversation)
        conversations.append(conversation)
    return conversations


async def append_rate(make_store: Callable[[], Store], writers: int, seconds: float) -> dict:
    """Appends per second with `writers` tasks each appending to its own conversation."""
    store = make_store()
    await store.open()
    try:
        conversations = await _conversations(store, writers)
        client_ids = itertools.count(1)
        deadline = time.monotonic() + seconds
        commits_before = _commits(store)

        async def writer(conversation: Conversation) -> int:
            appended = 0
            while appended < MAX_APPENDS_PER_WRITER and time.monotonic() < deadline:
                await store.append_message(_message(conversation, f"c{next(client_ids)}"))
                appended += 1
            return appended

        started, loop_cpu_before = time.monotonic(), time.thread_time()
        counts = await asyncio.gather(*(writer(c) for c in conversations))
        elapsed, loop_cpu = time.monotonic() - started, time.thread_time() - loop_cpu_before
        appends = sum(counts)
        commits = _commits(store) - commits_before
    finally:
        await store.close()
    return {
        "appends_per_s": round(appends / elapsed, 1),
        "appends": appends,
        "commits": commits,
        "appends_per_commit": round(appends / commits, 1) if commits else None,
        # What a durable append costs the event loop's thread (building the message, handing
        # it to the writer, taking the answer): the part that competes with socket work.
        "loop_us_per_append": round(loop_cpu / appends * 1e6, 1) if appends else None,
    }


def _commits(store: Store) -> int:
    """SqliteStore counts its group commits; PostgresStore commits once per write."""
    return store.commit_count if isinstance(store, SqliteStore) else 0


def _message(conversation: Conversation, client_id: str) -> Message:
    return Message(
        id=new_id(),
        tenant=TENANT,
        conversation_id=conversation.id,
        sender=Sender(type="contact", id=conversation.contact_id, name="bench visitor"),
        text="a message of ordinary length, about as long as a chat line",
        client_id=client_id,
    )


async def chat_latency(make_store: Callable[[], Store], seconds: float) -> dict[str, Any]:
    """Append latency at a person's typing pace in every conversation: one append every
    CHAT_PACE_SECONDS / CHAT_CONVERSATIONS seconds, in turn, whatever the answers."""
    store = make_store()
    await store.open()
    try:
        conversations = await _conversations(store, CHAT_CONVERSATIONS)
        interval = CHAT_PACE_SECONDS / CHAT_CONVERSATIONS
        latencies: list[int] = []
        pending: set[asyncio.Task[None]] = set()

        async def append(conversation: Conversation, number: int, due_ns: int) -> None:
            await store.append_message(_message(conversation, f"chat{number}"))
            latencies.append(time.monotonic_ns() - due_ns)

        start_ns = time.monotonic_ns()
        number = 0
        while (due_ns := start_ns + int(number * interval * 1e9)) < start_ns + seconds * 1e9:
            await asyncio.sleep(max(0.0, (due_ns - time.monotonic_ns()) / 1e9))
            conversation = conversations[number % len(conversations)]
            task = asyncio.create_task(append(conversation, number, due_ns))
            pending.add(task)
            task.add_done_callback(pending.discard)
            number += 1
        await asyncio.gather(*pending)
    finally:
        await store.close()
    latencies.sort()
    return {
        "appends_per_s": round(CHAT_CONVERSATIONS / CHAT_PACE_SECONDS, 1),
        "appends": len(latencies),
        "append_p50_ms": percentile_ms(latencies, 0.50),
        "append_p99_ms": percentile_ms(latencies, 0.99),
        "append_p999_ms": percentile_ms(latencies, 0.999),
        "append_max_ms": percentile_ms(latencies, 1.0),
    }


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = StorageConfig.for_run(quick)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as directory:
        for synchronous in ("FULL", "NORMAL"):
            for label, writers in (("single", 1), ("concurrent", config.concurrent_writers)):
                path = Path(directory) / f"{synchronous}-{label}.sqlite3"
                result = asyncio.run(
                    append_rate(
                        lambda path=path, synchronous=synchronous: SqliteStore(
                            path, synchronous=synchronous
                        ),
                        writers,
                        config.seconds,
                    )
                )
                results[f"{label}_{synchronous.lower()}"] = result
                log(
                    f"storage {label} writer(s) ({writers}), synchronous={synchronous}: "
                    f"{result['appends_per_s']} appends/s, "
                    f"{result['appends_per_commit']} per commit"
                )
        chat_path = Path(directory) / "chat.sqlite3"
        chat = asyncio.run(
            chat_latency(lambda: SqliteStore(chat_path, synchronous="FULL"), config.chat_seconds)
        )
        log(
            f"storage at chat pace ({chat['appends_per_s']} appends/s): p50 "
            f"{chat['append_p50_ms']} ms, p99 {chat['append_p99_ms']} ms, "
            f"max {chat['append_max_ms']} ms"
        )
        postgres = _postgres(config, Path(directory), log)
    return {
        "scenario": "storage",
        "appends_per_s": {name: result["appends_per_s"] for name, result in results.items()},
        "chat_pace": chat,
        "postgres": postgres,
        "concurrent_writers": config.concurrent_writers,
        "details": results,
        "data_dir_filesystem": _filesystem_of(tempfile.gettempdir()),
    }


def _postgres(config: StorageConfig, directory: Path, log: Any) -> dict[str, Any] | None:
    """The same loads on PostgresStore, each on a fresh database of a private, durable
    server, in rounds that run SQLite FULL right before PostgreSQL, so that each ratio
    compares two runs a few seconds apart on this shared machine; None (and said so) where
    this machine cannot start one."""
    from tests.peers import create_database, postgres_server, postgres_unavailable

    reason = postgres_unavailable()
    if reason is not None:
        log(f"storage postgres: skipped, {reason}")
        return None
    rounds = 1 if config.seconds < 5 else POSTGRES_ROUNDS
    results: dict[str, list[dict[str, Any]]] = {"single": [], "concurrent": []}
    with postgres_server(durable=True) as server_url:
        for number in range(rounds):
            for label, writers in (("single", 1), ("concurrent", config.concurrent_writers)):
                path = directory / f"round{number}-{label}.sqlite3"
                sqlite = asyncio.run(
                    append_rate(lambda path=path: SqliteStore(path), writers, config.seconds)
                )
                url = asyncio.run(create_database(server_url))
                postgres = asyncio.run(
                    append_rate(lambda url=url: PostgresStore(url), writers, config.seconds)
                )
                ratio = round(postgres["appends_per_s"] / sqlite["appends_per_s"], 3)
                results[label].append({"sqlite_full": sqlite, "postgres": postgres, "ratio": ratio})
                log(
                    f"storage round {number + 1}, {label} writer(s) ({writers}): postgres "
                    f"{postgres['appends_per_s']} appends/s, sqlite FULL "
                    f"{sqlite['appends_per_s']}: ratio {ratio}"
                )
        url = asyncio.run(create_database(server_url))
        chat = asyncio.run(chat_latency(lambda: PostgresStore(url), config.chat_seconds))
        log(
            f"storage postgres at chat pace ({chat['appends_per_s']} appends/s): p50 "
            f"{chat['append_p50_ms']} ms, p99 {chat['append_p99_ms']} ms, "
            f"max {chat['append_max_ms']} ms"
        )
    return {
        "ratio_to_sqlite_full": {
            label: statistics.median(r["ratio"] for r in rounds_of)
            for label, rounds_of in results.items()
        },
        "chat_pace": chat,
        "rounds": results,
    }


def _filesystem_of(path: str) -> str:
    """fsync cost depends on what the temp directory lives on (tmpfs makes it free)."""
    best = ("", "unknown")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                _, mount_point, kind, *_ = line.split()
                if path.startswith(mount_point) and len(mount_point) > len(best[0]):
                    best = (mount_point, kind)
    except OSError:
        pass
    return best[1]
