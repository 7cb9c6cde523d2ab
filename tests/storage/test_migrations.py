"""Schema migrations: a database made at every earlier version, with data, opens with the
current code and reads back right; a database newer than the code is refused.

A database at version v is built the way a real one grows: version 1 with its data, then
each later migration up to v followed by the data that version introduced (its seed). Every
version below the latest needs a seed here (test_every_earlier_version_has_a_seed), and a
check of what it must read as afterwards: whoever adds a migration adds both."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from mongomock_motor import AsyncMongoMockClient
from pymongo import ASCENDING, AsyncMongoClient

from hub.domain import (
    Agent,
    ChannelAccount,
    Contact,
    Conversation,
    Delivery,
    Identity,
    Message,
    Rating,
    Sender,
    Tenant,
    Upload,
)
from hub.storage import mongo_schema, sqlite_schema
from hub.storage.base import UploadQuota
from hub.storage.codec import to_doc
from hub.storage.mongo import MongoStore
from hub.storage.sqlite import SqliteStore
from tests.storage.conftest import MONGO_URL_VARIABLE
from tests.storage.test_contract import T0, a_message, at

# Fields records gained after version 1: a version-1 document does not have them.
AFTER_V1 = {
    Conversation: {"channel_id", "thread_key", "meta"},
    Message: {"meta", "delivery"},
}


def _v1_doc(record: Any) -> dict[str, Any]:
    return {k: v for k, v in to_doc(record).items() if k not in AFTER_V1.get(type(record), ())}


def _v1_data() -> dict[str, Any]:
    """A tenant, a contact known by email, two open conversations of that contact on one
    channel (an old race), a closed one, and a message with a platform id."""
    contact = Contact(
        id="k1", tenant="t", name="Kim", identities=[Identity("email", "kim@example.com")]
    )
    older = Conversation(id="c-old", tenant="t", channel="email", contact_id="k1", created_at=T0)
    newer = Conversation(
        id="c-new", tenant="t", channel="email", contact_id="k1", created_at=at(10), last_seq=1
    )
    closed = Conversation(
        id="c-closed", tenant="t", channel="email", contact_id="k1", status="closed"
    )
    message = a_message("c-new", tenant="t", platform_message_id="<m1@x>", text="hi")
    message.seq = 1
    return {
        "tenant": Tenant(id="t", name="T"),
        "contact": contact,
        "conversations": [older, newer, closed],
        "message": message,
    }


def _seed_sqlite_v1(conn: sqlite3.Connection) -> None:
    data = _v1_data()
    dump = orjson.dumps
    conn.execute("INSERT INTO tenants VALUES (?, ?)", ("t", dump(to_doc(data["tenant"]))))
    contact = data["contact"]
    conn.execute("INSERT INTO contacts VALUES (?, ?, ?)", ("k1", "t", dump(_v1_doc(contact))))
    conn.execute(
        "INSERT INTO identities VALUES (?, ?, ?, ?)", ("t", "email", "kim@example.com", "k1")
    )
    for conversation in data["conversations"]:
        doc = _v1_doc(conversation)
        conn.execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc["id"],
                "t",
                doc["status"],
                doc["agent_id"],
                doc["contact_id"],
                doc["channel"],
                doc["created_at"],
                dump(doc),
            ),
        )
    message = data["message"]
    conn.execute(
        "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
        ("c-new", 1, "t", None, "<m1@x>", dump(_v1_doc(message))),
    )


def _seed_sqlite_v2(conn: sqlite3.Connection) -> None:
    """Version 2 brought channel accounts into conversations' keys and platform ids scoped
    by account: an email account's open conversation holding a message whose platform id is
    the same as the account-less one of version 1."""
    conversation = Conversation(
        id="c-box", tenant="t", channel="email", contact_id="k1", channel_id="box1", last_seq=1
    )
    doc = to_doc(conversation)
    conn.execute(
        "INSERT INTO conversations (id, tenant, status, agent_id, contact_id, channel, "
        "created_at, channel_id, open_key, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "c-box",
            "t",
            "queued",
            None,
            "k1",
            "email",
            doc["created_at"],
            "box1",
            "email|box1|k1|",
            orjson.dumps(doc),
        ),
    )
    message = a_message("c-box", tenant="t", platform_message_id="<m1@x>", text="in the box")
    message.seq = 1
    conn.execute(
        "INSERT INTO messages (conversation_id, seq, tenant, client_id, platform_message_id, "
        "platform_scope, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("c-box", 1, "t", None, "<m1@x>", "box1", orjson.dumps(to_doc(message))),
    )


def _v3_records() -> tuple[Contact, Conversation, Message]:
    """What search and the ratings list (version 4) must find among older records: a
    contact and a message in Chinese, a rated conversation."""
    contact = Contact(id="k-zh", tenant="t3", name="王小明", notes="老客户")
    rated = Conversation(
        id="c-rated",
        tenant="t3",
        channel="webim",
        contact_id="k-zh",
        status="closed",
        closed_at=at(30),
        rating=Rating(4, "很好"),
        last_seq=1,
    )
    message = a_message("c-rated", tenant="t3", text="我想查询订单")
    message.seq = 1
    return contact, rated, message


def _seed_sqlite_v3_search(conn: sqlite3.Connection) -> None:
    contact, rated, message = _v3_records()
    conn.execute(
        "INSERT INTO contacts VALUES (?, ?, ?)", ("k-zh", "t3", orjson.dumps(to_doc(contact)))
    )
    doc = to_doc(rated)
    conn.execute(
        "INSERT INTO conversations (id, tenant, status, agent_id, contact_id, channel, "
        "created_at, channel_id, open_key, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "c-rated",
            "t3",
            "closed",
            None,
            "k-zh",
            "webim",
            doc["created_at"],
            None,
            None,
            orjson.dumps(doc),
        ),
    )
    conn.execute(
        "INSERT INTO messages (conversation_id, seq, tenant, doc) VALUES (?, ?, ?, ?)",
        ("c-rated", 1, "t3", orjson.dumps(to_doc(message))),
    )


def _v3_data() -> tuple[ChannelAccount, Message]:
    """Version 3 brought channel accounts and the outbox: a mailbox, and a reply in c-box
    waiting for its first attempt."""
    account = ChannelAccount(id="box1", tenant="t", type="email", name="Box", created_at=T0)
    reply = a_message(
        "c-box",
        tenant="t",
        sender=Sender("agent", "a1", "Ann"),
        text="pending reply",
        delivery=Delivery(status="pending", updated_at=T0, due_at=T0),
    )
    reply.seq = 2
    return account, reply


def _seed_sqlite_v3_outbox(conn: sqlite3.Connection) -> None:
    account, reply = _v3_data()
    doc = to_doc(account)
    conn.execute(
        "INSERT INTO channel_accounts (id, tenant, type, enabled, created_at, doc) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ("box1", "t", "email", 1, doc["created_at"], orjson.dumps(doc)),
    )
    message = to_doc(reply)
    conn.execute(
        "INSERT INTO messages (conversation_id, seq, tenant, due_at, doc) VALUES (?, ?, ?, ?, ?)",
        ("c-box", 2, "t", message["delivery"]["due_at"], orjson.dumps(message)),
    )


def _seed_sqlite_v3(conn: sqlite3.Connection) -> None:
    _seed_sqlite_v3_search(conn)
    _seed_sqlite_v3_outbox(conn)


def _v4_contacts() -> list[Contact]:
    """Version 5 lists contacts by a column of their own (paging): older contacts, seen at
    different times, must come in that order."""
    return [
        Contact(id=f"k4-{n}", tenant="t4", name=f"Seen {n}", last_seen_at=at(n)) for n in (1, 3, 2)
    ]


def _seed_sqlite_v4(conn: sqlite3.Connection) -> None:
    for contact in _v4_contacts():
        conn.execute(
            "INSERT INTO contacts VALUES (?, ?, ?)",
            (contact.id, "t4", orjson.dumps(to_doc(contact))),
        )


def _v5_counted() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Version 6 counts each conversation's messages in and out: a conversation written
    before (no counters) with two customer messages, an answer, a private note and a system
    line."""
    conversation = Conversation(id="c-count", tenant="t5", channel="webim", contact_id="k5")
    conversation.last_seq = 5
    doc = {
        k: v for k, v in to_doc(conversation).items() if k not in ("messages_in", "messages_out")
    }
    senders = [
        (Sender("contact", "k5"), "text"),
        (Sender("agent", "a1"), "text"),
        (Sender("agent", "a1"), "note"),
        (Sender("system", ""), "text"),
        (Sender("contact", "k5"), "text"),
    ]
    messages = []
    for seq, (sender, kind) in enumerate(senders, start=1):
        message = a_message("c-count", tenant="t5", sender=sender, text=f"m{seq}")
        message.type, message.seq = kind, seq
        messages.append(to_doc(message))
    return doc, messages


def _seed_sqlite_v5(conn: sqlite3.Connection) -> None:
    doc, messages = _v5_counted()
    conn.execute(
        "INSERT INTO conversations (id, tenant, status, agent_id, contact_id, channel, "
        "created_at, channel_id, open_key, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "c-count",
            "t5",
            "queued",
            None,
            "k5",
            "webim",
            doc["created_at"],
            None,
            None,
            orjson.dumps(doc),
        ),
    )
    for message in messages:
        conn.execute(
            "INSERT INTO messages (conversation_id, seq, tenant, doc) VALUES (?, ?, ?, ?)",
            ("c-count", message["seq"], "t5", orjson.dumps(message)),
        )


def _v6_agent_doc() -> dict[str, Any]:
    """An agent as version 6 stored it: no department, no last sign-in (the IM's fields)."""
    doc = to_doc(
        Agent(id="a5", tenant="t5", name="Five", email="five@example.com", password_hash="x")
    )
    del doc["department_id"], doc["last_login_at"]
    return doc


def _seed_sqlite_v6(conn: sqlite3.Connection) -> None:
    doc = _v6_agent_doc()
    conn.execute(
        "INSERT INTO agents (id, tenant, email, created_at, doc) VALUES (?, ?, ?, ?, ?)",
        (doc["id"], "t5", doc["email"], doc["created_at"], orjson.dumps(doc)),
    )


def _v7_upload() -> Upload:
    return Upload(
        id="f5.png", tenant="t5", uploader_type="agent", uploader_id="a5", size=7, mime="image/png"
    )


def _seed_sqlite_v7(conn: sqlite3.Connection) -> None:
    upload = _v7_upload()
    conn.execute(
        "INSERT INTO uploads (tenant, id, uploader_type, uploader_id, size, created_at, "
        "message_id, doc) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        (
            upload.tenant,
            upload.id,
            upload.uploader_type,
            upload.uploader_id,
            upload.size,
            to_doc(upload)["created_at"],
            orjson.dumps(to_doc(upload)),
        ),
    )
    conn.execute("INSERT INTO upload_totals VALUES ('t5', 1, 7)")


def _seed_sqlite_v8(conn: sqlite3.Connection) -> None:
    """Version 8 kept each tenant's upload totals: they stay as they were."""
    conn.execute("INSERT INTO upload_totals (tenant, files, bytes) VALUES ('t8', 2, 9)")


def _seed_sqlite_v9(conn: sqlite3.Connection) -> None:
    """Version 10 (the bots) adds tables only: a version-9 database gains them empty."""


SQLITE_SEEDS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _seed_sqlite_v1,
    2: _seed_sqlite_v2,
    3: _seed_sqlite_v3,
    4: _seed_sqlite_v4,
    5: _seed_sqlite_v5,
    6: _seed_sqlite_v6,
    7: _seed_sqlite_v7,
    8: _seed_sqlite_v8,
    9: _seed_sqlite_v9,
}


def test_every_earlier_version_has_a_seed_and_a_check() -> None:
    assert set(SQLITE_SEEDS) == set(range(1, sqlite_schema.LATEST))
    assert set(MONGO_SEEDS) == set(range(1, mongo_schema.LATEST))
    assert set(CHECKS) == set(range(1, max(sqlite_schema.LATEST, mongo_schema.LATEST)))


async def _check_migrated(store: Any) -> None:
    """What every earlier version's data must read as after migrating."""
    contact = await store.find_contact("t", Identity("email", "kim@example.com"))
    assert contact is not None and contact.name == "Kim"
    # Of the two open conversations, the newest is the contact's open one on the channel.
    found = await store.find_open_conversation("t", "k1", "email")
    assert found is not None and found.id == "c-new" and found.channel_id is None
    assert [m.text for m in await store.list_messages("t", "c-new")] == ["hi"]
    # The platform id is still known in its channel: a redelivery is recognised.
    repeat = a_message("c-new", tenant="t", platform_message_id="<m1@x>", text="again")
    result = await store.append_message(repeat)
    assert not result.created and result.message.text == "hi"
    found_by_id = await store.find_messages_by_platform_ids("t", "email", ["<m1@x>"])
    assert [m.text for m in found_by_id] == ["hi"]
    # And the one-open-conversation rule holds from now on.
    reply = Message(id="r", tenant="t", conversation_id="c-new", sender=Sender("agent", "a1"))
    assert (await store.append_message(reply)).created
    # Version 4 lists contacts by a column of their own and records uploads.
    assert [c.id for c in await store.list_contacts("t")] == ["k1"]
    assert [c.id for c in await store.list_contacts("t", after=(contact.last_seen_at, "k1"))] == []
    upload = Upload(
        id=f"{1:032x}.txt", tenant="t", uploader_type="agent", uploader_id="a1", size=5, mime="x"
    )
    assert await store.create_upload(upload, UploadQuota(tenant_bytes=10)) is None
    assert await store.upload_totals("t") == (1, 5)


async def _check_v2_data(store: Any) -> None:
    found = await store.find_open_conversation("t", "k1", "email", "box1")
    assert found is not None and found.id == "c-box"
    in_box = await store.find_messages_by_platform_ids("t", "box1", ["<m1@x>"])
    assert [m.text for m in in_box] == ["in the box"]


async def _check_v3_data(store: Any) -> None:
    account = await store.get_channel_account("t", "box1")
    assert account is not None and account.name == "Box"
    claimed = await store.claim_due_deliveries(at(1), at(100), 10)
    assert [c.message.text for c in claimed] == ["pending reply"]
    assert [c.id for c in await store.search_contacts("t3", "小明")] == ["k-zh"]
    assert [c.id for c in await store.search_contacts("t3", "老客户")] == ["k-zh"]
    hits = await store.search_conversations("t3", "订单")
    assert [(h.conversation.id, h.message.seq) for h in hits] == [("c-rated", 1)]
    rated = await store.list_rated_conversations("t3")
    assert [(c.id, c.rating.comment) for c in rated] == [("c-rated", "很好")]


async def _check_v4_data(store: Any) -> None:
    assert [c.id for c in await store.list_contacts("t4")] == ["k4-3", "k4-2", "k4-1"]
    second = await store.list_contacts("t4", after=(at(3), "k4-3"), limit=1)
    assert [c.id for c in second] == ["k4-2"]


async def _check_v5_data(store: Any) -> None:
    counted = await store.get_conversation("t5", "c-count")
    assert (counted.messages_in, counted.messages_out) == (2, 1)
    # And the counters go on from there.
    answer = a_message("c-count", tenant="t5", sender=Sender("agent", "a1"), text="more")
    assert (await store.append_message(answer)).created
    counted = await store.get_conversation("t5", "c-count")
    assert (counted.messages_in, counted.messages_out) == (2, 2)


async def _check_v6_data(store: Any) -> None:
    from hub.im.model import ImMessage, ImSender, ImThread, direct_key

    agent = await store.get_agent("t5", "a5")
    assert agent.department_id is None and agent.last_login_at is None
    _thread, created = await store.create_im_thread(
        ImThread(
            id="th5",
            tenant="t5",
            kind="direct",
            members=["a5", "b5"],
            direct_key=direct_key("a5", "b5"),
        )
    )
    assert created
    appended = await store.append_im_message(
        ImMessage(id="m5", tenant="t5", thread_id="th5", sender=ImSender("a5"), text="hi")
    )
    assert appended.message.seq == 1


async def _check_v7_data(store: Any) -> None:
    assert [u.id for u in await store.get_uploads("t5", ["f5.png"])] == ["f5.png"]
    assert await store.upload_totals("t5") == (1, 7)
    # Version 8 brought the integrations' tables, empty.
    assert await store.list_api_tokens("t5") == []
    assert await store.list_webhooks("t5") == []


async def _check_v8_data(store: Any) -> None:
    assert await store.upload_totals("t8") == (2, 9)
    # Version 9 counts invitations: none yet, and the first one counts.
    assert await store.invitation_counts("t8", "2026-12-01") == {}
    await store.count_invitation("t8", "2026-12-01", "a1", "invited")
    counts = await store.invitation_counts("t8", "2026-12-01")
    assert counts == {"a1": {"invited": 1, "accepted": 0, "refused": 0}}


async def _check_v9_data(store: Any) -> None:
    assert await store.list_kb_articles("t9") == []
    article = {"id": "a1", "question": "q", "created_at": "2026-01-01T00:00:00.000Z"}
    await store.put_kb_articles("t9", [article])
    assert await store.list_kb_articles("t9") == [article]
    await store.add_bot_stats("t9", "2026-01-01", {"answered": 1}, unanswered="q?")
    assert await store.list_bot_stats("t9", "2026-01-01") == [
        {"day": "2026-01-01", "counts": {"answered": 1}}
    ]


# What the data each version introduced must read as once migrated to the latest.
CHECKS = {
    1: _check_migrated,
    2: _check_v2_data,
    3: _check_v3_data,
    4: _check_v4_data,
    5: _check_v5_data,
    6: _check_v6_data,
    7: _check_v7_data,
    8: _check_v8_data,
    9: _check_v9_data,
}


async def _check_all(store: Any, version: int) -> None:
    for introduced in range(1, version + 1):
        await CHECKS[introduced](store)


@pytest.mark.parametrize("version", range(1, sqlite_schema.LATEST))
async def test_sqlite_migrates_from_every_earlier_version(tmp_path: Path, version: int) -> None:
    path = tmp_path / "hub.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as conn:
        for step in range(1, version + 1):
            sqlite_schema.migrate(conn, target=step)
            conn.execute("BEGIN")
            SQLITE_SEEDS[step](conn)
            conn.execute("COMMIT")
        assert sqlite_schema.schema_version(conn) == version
    store = SqliteStore(path)
    await store.open()
    try:
        await _check_all(store, version)
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert sqlite_schema.schema_version(conn) == sqlite_schema.LATEST


async def test_sqlite_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as conn:
        sqlite_schema.migrate(conn)
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'",
            (str(sqlite_schema.LATEST + 1),),
        )
    store = SqliteStore(path)
    with pytest.raises(Exception, match="newer than this hub"):
        await store.open()


async def _seed_mongo_v1(db: Any) -> None:
    """The layout before migrations: documents, the old per-tenant platform id index, no
    schema version."""
    data = _v1_data()
    await db["tenants"].insert_one({"_id": "t", **to_doc(data["tenant"])})
    await db["contacts"].insert_one({"_id": "k1", **_v1_doc(data["contact"])})
    await db["identities"].insert_one(
        {"tenant": "t", "channel": "email", "external_id": "kim@example.com", "contact_id": "k1"}
    )
    for conversation in data["conversations"]:
        await db["conversations"].insert_one({"_id": conversation.id, **_v1_doc(conversation)})
    await db["messages"].insert_one(_v1_doc(data["message"]))
    await db["messages"].create_index(
        [("tenant", ASCENDING), ("platform_message_id", ASCENDING)],
        name="platform_message_id_unique",
        unique=True,
        partialFilterExpression={"platform_message_id": {"$type": "string"}},
    )


async def _seed_mongo_v2(db: Any) -> None:
    conversation = Conversation(
        id="c-box", tenant="t", channel="email", contact_id="k1", channel_id="box1", last_seq=1
    )
    await db["conversations"].insert_one(
        {"_id": "c-box", **to_doc(conversation), "open_key": "email|box1|k1|"}
    )
    message = a_message("c-box", tenant="t", platform_message_id="<m1@x>", text="in the box")
    message.seq = 1
    await db["messages"].insert_one({**to_doc(message), "platform_scope": "box1"})


async def _seed_mongo_v3(db: Any) -> None:
    account, reply = _v3_data()
    await db["channel_accounts"].insert_one({"_id": "box1", **to_doc(account)})
    message = to_doc(reply)
    await db["messages"].insert_one({**message, "due_at": message["delivery"]["due_at"]})
    contact, rated, message = _v3_records()
    await db["contacts"].insert_one({"_id": contact.id, **to_doc(contact)})
    await db["conversations"].insert_one({"_id": rated.id, **to_doc(rated), "open_key": None})
    await db["messages"].insert_one(to_doc(message))


async def _seed_mongo_v4(db: Any) -> None:
    for contact in _v4_contacts():
        await db["contacts"].insert_one({"_id": contact.id, **to_doc(contact)})


async def _seed_mongo_v5(db: Any) -> None:
    doc, messages = _v5_counted()
    await db["conversations"].insert_one({"_id": "c-count", **doc, "open_key": None})
    for message in messages:
        await db["messages"].insert_one(message)


async def _seed_mongo_v6(db: Any) -> None:
    doc = _v6_agent_doc()
    await db["agents"].insert_one({"_id": doc["id"], **doc, "email_key": doc["email"]})


async def _seed_mongo_v7(db: Any) -> None:
    upload = _v7_upload()
    doc = to_doc(upload)
    await db["uploads"].insert_one(
        {"_id": f"{upload.tenant}/{upload.id}", **doc, "orphan_since": doc["created_at"]}
    )
    await db["upload_totals"].insert_one({"_id": "t5", "files": 1, "bytes": 7})


async def _seed_mongo_v8(db: Any) -> None:
    await db["upload_totals"].insert_one({"_id": "t8", "files": 2, "bytes": 9})


async def _seed_mongo_v9(db: Any) -> None:
    """Version 10 (the bots) adds collections only."""


MONGO_SEEDS = {
    1: _seed_mongo_v1,
    2: _seed_mongo_v2,
    3: _seed_mongo_v3,
    4: _seed_mongo_v4,
    5: _seed_mongo_v5,
    6: _seed_mongo_v6,
    7: _seed_mongo_v7,
    8: _seed_mongo_v8,
    9: _seed_mongo_v9,
}


async def _build_mongo(db: Any, version: int) -> None:
    for step in range(1, version + 1):
        if step > 1:
            await mongo_schema.migrate(db, target=step)
        await MONGO_SEEDS[step](db)


@pytest.mark.parametrize("version", range(1, mongo_schema.LATEST))
async def test_mongo_migrations_bring_documents_from_every_earlier_version(version: int) -> None:
    """On mongomock (a fake), the documents and indexes the migrations change. The fake
    cannot build a partial unique index over stored documents (it ignores the filter), so
    opening the store over them, which declares those indexes, runs on a real MongoDB only
    (the next test)."""
    fake = AsyncMongoMockClient()
    db = fake.get_database("hub")
    await _build_mongo(db, version)
    assert await mongo_schema.schema_version(db) == version
    await mongo_schema.migrate(db)
    assert await mongo_schema.schema_version(db) == mongo_schema.LATEST
    keys = {doc["_id"]: doc.get("open_key") async for doc in db["conversations"].find()}
    expected = {"c-new": "email||k1|", "c-old": None, "c-closed": None}
    if version >= 2:
        expected["c-box"] = "email|box1|k1|"
    if version >= 3:
        expected["c-rated"] = None
    if version >= 5:
        expected["c-count"] = None
    assert keys == expected
    counts = await db["conversations"].find_one({"_id": "c-rated"})
    if version >= 3:
        assert (counts["messages_in"], counts["messages_out"]) == (1, 0)
    scopes = {
        doc["text"]: doc["platform_scope"]
        async for doc in db["messages"].find({"platform_message_id": "<m1@x>"})
    }
    assert scopes == {"hi": "email", **({"in the box": "box1"} if version >= 2 else {})}
    assert "platform_message_id_unique" not in await db["messages"].index_information()
    # Running them again (a second hub starting at once) changes nothing.
    await mongo_schema.migrate(db, target=mongo_schema.LATEST)
    assert {doc["_id"]: doc.get("open_key") async for doc in db["conversations"].find()} == keys


@pytest.mark.parametrize("version", range(1, mongo_schema.LATEST))
async def test_mongo_store_opens_a_database_of_every_earlier_version(version: int) -> None:
    url = os.environ.get(MONGO_URL_VARIABLE)
    if not url:
        pytest.skip(f"{MONGO_URL_VARIABLE} is not set: no real MongoDB to run against")
    db_name = f"hub_migrate_{uuid.uuid4().hex[:12]}"
    client: AsyncMongoClient = AsyncMongoClient(url)
    try:
        db = client.get_database(db_name)
        await _build_mongo(db, version)
        store = MongoStore.from_url(url, db_name)
        await store.open()
        try:
            await _check_all(store, version)
        finally:
            await store.close()
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_mongo_refuses_a_database_newer_than_the_code() -> None:
    fake = AsyncMongoMockClient()
    await fake.get_database("hub")["meta"].insert_one(
        {"_id": "schema", "version": mongo_schema.LATEST + 1}
    )
    store = MongoStore(lambda: fake, "hub", write_concern=None)
    with pytest.raises(mongo_schema.SchemaTooNew):
        await store.open()
