"""storage: durable message appends per second with the embedded SqliteStore.

Single writer: one append at a time, each waiting for its commit (every append pays a
commit, and with synchronous=FULL an fsync). Concurrent writers: many conversations append at
once, so the store's group commit can put many appends in one transaction. Both with
synchronous FULL (the hub's default: fsync per commit) and NORMAL (WAL without fsync per
commit: survives a process crash, not a power cut).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.domain import Contact, Conversation, Message, Sender, Tenant, new_id
from hub.storage.sqlite import SqliteStore

TENANT = "bench"
MAX_APPENDS_PER_WRITER = 1_000_000


@dataclass(frozen=True)
class StorageConfig:
    seconds: float
    concurrent_writers: int

    @classmethod
    def for_run(cls, quick: bool) -> StorageConfig:
        return cls(seconds=1.0 if quick else 5.0, concurrent_writers=100)


async def _conversations(store: SqliteStore, count: int) -> list[Conversation]:
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


async def append_rate(path: Path, synchronous: str, writers: int, seconds: float) -> dict:
    """Appends per second with `writers` tasks each appending to its own conversation."""
    store = SqliteStore(path, synchronous=synchronous)
    await store.open()
    try:
        conversations = await _conversations(store, writers)
        client_ids = itertools.count(1)
        deadline = time.monotonic() + seconds
        commits_before = store.commit_count

        async def writer(conversation: Conversation) -> int:
            sender = Sender(type="contact", id=conversation.contact_id, name="bench visitor")
            appended = 0
            while appended < MAX_APPENDS_PER_WRITER and time.monotonic() < deadline:
                await store.append_message(
                    Message(
                        id=new_id(),
                        tenant=TENANT,
                        conversation_id=conversation.id,
                        sender=sender,
                        text="a message of ordinary length, about as long as a chat line",
                        client_id=f"c{next(client_ids)}",
                    )
                )
                appended += 1
            return appended

        started, loop_cpu_before = time.monotonic(), time.thread_time()
        counts = await asyncio.gather(*(writer(c) for c in conversations))
        elapsed, loop_cpu = time.monotonic() - started, time.thread_time() - loop_cpu_before
        appends = sum(counts)
        commits = store.commit_count - commits_before
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


def run(quick: bool, workers: int, log: Any = None) -> dict[str, Any]:
    log = log or (lambda text: print(text, file=sys.stderr))
    config = StorageConfig.for_run(quick)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as directory:
        for synchronous in ("FULL", "NORMAL"):
            for label, writers in (("single", 1), ("concurrent", config.concurrent_writers)):
                path = Path(directory) / f"{synchronous}-{label}.sqlite3"
                result = asyncio.run(append_rate(path, synchronous, writers, config.seconds))
                results[f"{label}_{synchronous.lower()}"] = result
                log(
                    f"storage {label} writer(s) ({writers}), synchronous={synchronous}: "
                    f"{result['appends_per_s']} appends/s, "
                    f"{result['appends_per_commit']} per commit"
                )
    return {
        "scenario": "storage",
        "appends_per_s": {name: result["appends_per_s"] for name, result in results.items()},
        "concurrent_writers": config.concurrent_writers,
        "details": results,
        "data_dir_filesystem": _filesystem_of(tempfile.gettempdir()),
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
