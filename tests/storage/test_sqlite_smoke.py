"""SQLite store smoke test: gap-free seq, dedupe and group commit under concurrency.

The full contract suite over every backend is still to be written.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.domain import Conversation, Message, Sender, Tenant, new_id
from hub.storage.sqlite import SqliteStore


async def test_concurrent_appends_are_gap_free_deduped_and_batched(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    try:
        await store.create_tenant(Tenant(id="t", name="t"))
        await store.create_conversation(
            Conversation(id="c", tenant="t", channel="webim", contact_id="k")
        )
        results = await asyncio.gather(
            *[
                store.append_message(
                    Message(
                        id=new_id(),
                        tenant="t",
                        conversation_id="c",
                        sender=Sender("contact"),
                        text=str(i),
                        client_id=str(i % 150),
                    )
                )
                for i in range(200)
            ]
        )
        created = sorted(r.message.seq for r in results if r.created)
        assert created == list(range(1, 151))
        assert store.commit_count < 50
    finally:
        await store.close()
