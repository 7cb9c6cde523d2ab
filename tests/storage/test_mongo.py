"""MongoStore-only properties, on mongomock-motor (a fake) and on a real MongoDB when
HUB_TEST_MONGO_URL is set. The rules every backend keeps are in test_contract.py."""

from __future__ import annotations

import pytest

from hub.domain import Conversation, Message, Sender, new_id
from hub.storage.mongo import MongoStore
from hub.storage.mongo_schema import INDEXES
from tests.storage.conftest import Backend


async def open_mongo(backend: Backend) -> MongoStore:
    store = await backend.open_store()
    assert isinstance(store, MongoStore)
    return store


def a_message(text: str, client_id: str | None = None) -> Message:
    return Message(
        id=new_id(),
        tenant="a",
        conversation_id="c1",
        sender=Sender("contact"),
        text=text,
        client_id=client_id,
    )


async def test_open_builds_every_declared_index(mongo_backend: Backend) -> None:
    store = await open_mongo(mongo_backend)
    for spec in INDEXES:
        present = await store._col(spec.collection).index_information()
        assert spec.name in present, spec
        assert spec.describes(present[spec.name]), (spec, present[spec.name])


async def test_open_refuses_an_index_that_differs_from_the_declared_one(
    mongo_backend: Backend,
) -> None:
    store = await open_mongo(mongo_backend)
    messages = store._col("messages")
    await messages.drop_index("seq_unique")
    await messages.create_index([("conversation_id", 1), ("seq", 1)], name="seq_unique")
    await store.close()
    with pytest.raises(RuntimeError, match="seq_unique on messages differs"):
        await store.open()


async def test_writes_ask_for_majority_and_the_journal(mongo_backend: Backend) -> None:
    store = await open_mongo(mongo_backend)
    for name in ("messages", "conversations", "contacts", "identities", "agents"):
        assert store._col(name).write_concern.document == {"w": "majority", "j": True}


async def test_a_last_seq_left_behind_by_a_crash_is_repaired_without_a_gap(
    mongo_backend: Backend,
) -> None:
    """A hub that dies between inserting a message and updating its conversation leaves
    `last_seq` one behind. The next append must not reuse or skip a seq."""
    store = await open_mongo(mongo_backend)
    await store.create_conversation(
        Conversation(id="c1", tenant="a", channel="webim", contact_id="k1")
    )
    await store.append_message(a_message("one"))
    await store.append_message(a_message("two"))
    await store._col("conversations").update_one({"_id": "c1"}, {"$set": {"last_seq": 1}})
    third = await store.append_message(a_message("three", client_id="cl-3"))
    assert third.created and third.message.seq == 3
    assert [m.seq for m in await store.list_messages("a", "c1")] == [1, 2, 3]
    stored = await store.get_conversation("a", "c1")
    assert stored is not None
    assert (stored.last_seq, stored.last_message_preview) == (3, "three")
