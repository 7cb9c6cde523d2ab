"""SQLite-only properties; the rules every backend keeps are in test_contract.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.domain import Contact, Conversation, Message, Sender, Tenant, new_id
from hub.storage.sqlite import SqliteStore


async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    """Group commit: 200 appends queued together need far fewer than 200 transactions."""
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    try:
        await store.create_conversation(
            Conversation(id="c", tenant="t", channel="webim", contact_id="k")
        )
        before = store.commit_count
        results = await asyncio.gather(
            *[
                store.append_message(
                    Message(
                        id=new_id(),
                        tenant="t",
                        conversation_id="c",
                        sender=Sender("contact"),
                        text=str(i),
                    )
                )
                for i in range(200)
            ]
        )
        assert sorted(r.message.seq for r in results) == list(range(1, 201))
        assert store.commit_count - before < 50
    finally:
        await store.close()


async def test_reads_see_writes_committed_while_other_reads_run(tmp_path: Path) -> None:
    """A read must not answer from a snapshot pinned by another coroutine's open cursor
    (seen under load: a contact created and then not found)."""
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    stop = asyncio.Event()
    try:
        await store.create_tenant(Tenant(id="t", name="t"))

        async def busy_reader() -> None:
            while not stop.is_set():
                await store.get_tenant("t")

        async def create_then_read(task: int) -> list[bool]:
            found = []
            for i in range(20):
                contact = Contact(id=f"k{task}-{i}", tenant="t")
                await store.create_contact(contact)
                found.append(await store.get_contact("t", contact.id) is not None)
            return found

        readers = [asyncio.create_task(busy_reader()) for _ in range(20)]
        found = [
            hit for hits in await asyncio.gather(*map(create_then_read, range(50))) for hit in hits
        ]
        stop.set()
        await asyncio.gather(*readers)
        assert all(found), f"{found.count(False)} of 1000 read-backs missed their own write"
    finally:
        stop.set()
        await store.close()
