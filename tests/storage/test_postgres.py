"""PostgresStore beyond the contract: several nodes (stores with pools of their own) on one
database at once, NUL in text, and the schema versions a node refuses.

Every test runs on a private PostgreSQL (tests/peers.py), in a database of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest

from hub.domain import Conversation, Identity, Rating, Sender, Tenant, new_id
from hub.domain.integrations import Webhook
from hub.errors import Forbidden
from hub.im.model import ImMessage, ImSender, ImThread
from hub.storage.codec import to_doc
from hub.storage.postgres import PostgresStore
from hub.storage.postgres_integrations import TENANT_TABLES
from hub.storage.postgres_schema import LATEST, SchemaTooNew, migrate, schema_version
from tests.peers import create_database, drop_database
from tests.storage.test_contract import (
    T0,
    a_contact,
    a_conversation,
    a_left_message,
    a_message,
    an_inbound,
    an_outbound,
    at,
)
from tests.storage.test_integrations_contract import a_delivery


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server_url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database, as two hub nodes: separate pools, separate sessions."""
    first, second = PostgresStore(database_url, pool_size=8), PostgresStore(database_url)
    # Both start at once: the migrations run once, the second node finds them done.
    await asyncio.gather(first.open(), second.open())
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_two_nodes_appending_to_one_conversation_get_consecutive_seqs(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.create_conversation(a_conversation("c1"))
    sends = [a_message("c1", client_id=f"client-{i}", text=f"m{i}") for i in range(60)]
    # Every message is sent once to each node at once: a client retrying on another node
    # after a lost ack, racing its own first try.
    results = await asyncio.gather(
        *[(a if i % 2 else b).append_message(m) for i, m in enumerate(sends)],
        *[(b if i % 2 else a).append_message(m) for i, m in enumerate(sends)],
    )
    first_tries, retries = results[: len(sends)], results[len(sends) :]
    stored = await b.list_messages("a", "c1", limit=1000)
    assert [m.seq for m in stored] == list(range(1, len(sends) + 1))
    assert sorted(m.client_id or "" for m in stored) == sorted(m.client_id or "" for m in sends)
    for first, retry in zip(first_tries, retries, strict=True):
        assert first.message == retry.message  # the same stored message for both
        assert first.created != retry.created  # exactly one of the two wrote it
    conversation = await a.get_conversation("a", "c1")
    assert conversation is not None and conversation.last_seq == len(sends)


async def test_two_nodes_claiming_the_outbox_never_take_the_same_delivery(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.create_conversation(a_conversation("c1"))
    pending = 80
    for i in range(pending):
        await a.append_message(an_outbound("c1", at(i % 7), text=f"reply {i}"))
    claims = await asyncio.gather(
        *[(a, b)[i % 2].claim_due_deliveries(at(10), at(100), 3) for i in range(60)]
    )
    taken = [claimed.message.id for batch in claims for claimed in batch]
    assert len(taken) == len(set(taken)) == pending
    # Held until the lease ends: nothing is due for either node meanwhile.
    assert await a.claim_due_deliveries(at(50), at(200), 100) == []
    assert await b.claim_due_deliveries(at(50), at(200), 100) == []


async def test_two_nodes_claiming_webhook_deliveries_never_take_the_same_one(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.create_webhook(
        Webhook(id="w1", tenant="t", url="https://example.com/h", events=[], secret="s")
    )
    pending = 80
    await a.create_webhook_deliveries([a_delivery(f"d{i}", due=i % 7) for i in range(pending)])
    claims = await asyncio.gather(
        *[(a, b)[i % 2].claim_due_webhook_deliveries(at(10), at(100), 3) for i in range(60)]
    )
    taken = [delivery.id for batch in claims for delivery in batch]
    assert len(taken) == len(set(taken)) == pending
    # Held until the lease ends: nothing is due for either node meanwhile, then all are.
    assert await a.claim_due_webhook_deliveries(at(50), at(200), 100) == []
    assert await b.claim_due_webhook_deliveries(at(50), at(200), 100) == []
    again = await b.claim_due_webhook_deliveries(at(100), at(300), 100)
    assert len(again) == pending and all(d.due_at == at(300) for d in again)


async def test_deleting_a_tenant_empties_every_table_that_holds_tenants_records(
    database_url: str,
) -> None:
    store = PostgresStore(database_url)
    await store.open()
    conn = await asyncpg.connect(database_url)
    try:
        # Every table with a tenant column is one delete_tenant empties of the tenant's rows.
        holding = await conn.fetch(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'tenant'"
        )
        assert {row[0] for row in holding} == set(TENANT_TABLES)
        for tenant_id in ("t", "u"):
            await store.create_tenant(Tenant(id=tenant_id, name=tenant_id))
            await store.create_im_thread(
                ImThread(id=f"th-{tenant_id}", tenant=tenant_id, kind="group", members=["a"])
            )
            await store.count_invitation(tenant_id, "2026-12-03", "a", "invited")
        assert await store.delete_tenant("t")
        assert await conn.fetch("SELECT tenant, id FROM im_threads") == [("u", "th-u")]
        assert await store.invitation_counts("t", "2026-12-03") == {}
        assert [t.id for t in await store.list_tenants()] == ["u"]
    finally:
        await conn.close()
        await store.close()


async def test_two_nodes_ingesting_a_new_contacts_first_messages_make_one_of_each(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    identity = Identity("email", "new@example.com")
    inbounds = [an_inbound(identity, text=f"hello {i}") for i in range(10)]
    results = await asyncio.gather(
        *[(a, b)[i % 2].ingest(*inbound, now=T0) for i, inbound in enumerate(inbounds)]
    )
    assert len({r.contact.id for r in results}) == 1
    assert len({r.conversation.id for r in results if r.conversation}) == 1
    assert sum(r.contact_created for r in results) == 1
    assert sum(r.conversation_opened for r in results) == 1
    conversation = results[0].conversation
    assert conversation is not None
    stored = await a.list_messages("a", conversation.id)
    assert [m.seq for m in stored] == list(range(1, 11))


async def test_a_platform_message_ingested_on_two_nodes_at_once_is_stored_once(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    # A webhook delivered twice, each copy reaching another node.
    twins = [an_inbound(platform_message_id="wx-1") for _ in range(2)]
    first, second = await asyncio.gather(a.ingest(*twins[0], now=T0), b.ingest(*twins[1], now=T0))
    assert sorted([first.outcome, second.outcome]) == ["new", "seen"]
    assert first.message == second.message


async def test_two_nodes_appending_to_one_im_thread_get_consecutive_seqs(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    await a.create_im_thread(ImThread(id="g", tenant="t", kind="group", members=["u1", "u2"]))
    sends = [
        ImMessage(
            id=f"m{i}",
            tenant="t",
            thread_id="g",
            sender=ImSender(f"u{i % 2 + 1}"),
            text=f"m{i}",
            client_id=f"client-{i}",
        )
        for i in range(40)
    ]
    # Each message sent to both nodes at once, as a retry after a lost ack races its first try.
    results = await asyncio.gather(
        *[(a if i % 2 else b).append_im_message(m) for i, m in enumerate(sends)],
        *[(b if i % 2 else a).append_im_message(m) for i, m in enumerate(sends)],
    )
    first_tries, retries = results[: len(sends)], results[len(sends) :]
    stored = await b.list_im_messages("t", "g", limit=1000)
    assert [m.seq for m in stored] == list(range(1, len(sends) + 1))
    assert sorted(m.id for m in stored) == sorted(m.id for m in sends)
    for first, retry in zip(first_tries, retries, strict=True):
        assert first.message == retry.message  # the original for the retry
        assert first.created != retry.created  # exactly one of the two wrote it
    thread = await a.get_im_thread("t", "g")
    assert thread is not None and thread.last_seq == len(sends)
    # Each sender has read up to its own newest message.
    newest = {m.sender.id: m.seq for m in stored}
    assert await a.im_reads_of_thread("t", "g") == newest


async def test_an_im_member_removed_on_another_node_can_no_longer_append(
    nodes: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = nodes
    thread, _ = await a.create_im_thread(
        ImThread(id="g", tenant="t", kind="group", members=["u1", "u2"])
    )

    def from_u2(i: int) -> ImMessage:
        return ImMessage(id=f"m{i}", tenant="t", thread_id="g", sender=ImSender("u2"), text="x")

    async def append(i: int) -> int | None:
        try:
            appended = await b.append_im_message(from_u2(i))
        except Forbidden:
            return None
        # Stored only while the removal had not committed: the thread as of the append.
        assert appended.thread.version == 0 and "u2" in appended.thread.members
        return appended.message.seq

    thread.members = ["u1"]
    # Appends on one node racing the removal on the other: each is wholly before it (stored,
    # with the thread as it was) or wholly after it (refused), never a mix.
    outcomes = await asyncio.gather(
        *[append(i) for i in range(10)], a.update_im_thread(thread, ["members"])
    )
    assert outcomes[-1] is True
    stored = [seq for seq in outcomes[:-1] if seq is not None]
    assert sorted(stored) == list(range(1, len(stored) + 1))
    with pytest.raises(Forbidden):
        await a.append_im_message(from_u2(99))
    assert (await b.get_im_thread("t", "g")).last_seq == len(stored)  # type: ignore[union-attr]


async def test_report_durations_are_exact_to_the_millisecond_and_nul_cannot_fail_them(
    database_url: str,
) -> None:
    store = PostgresStore(database_url)
    await store.open()
    try:
        conversation = a_conversation(
            "c1",
            skill="sales",
            queued_at=at(0.25),
            assigned_at=at(90.25),
            first_response_at=at(0.123),
            closed_at=at(90.25 + 600.001),
            rating=Rating(4, "good\x00"),
        )
        await store.create_conversation(conversation)
        # A NUL in its documents (here the preview and the rating's comment) is "\\u0000" in
        # their JSON text, which PostgreSQL's json parser refuses.
        await store.append_message(a_message("c1", text="hi\x00there"))
        await store.create_left_message(
            a_left_message("l1", conversation_id="c1", text="nul\x00", created_at=at(5))
        )
        [cell] = await store.report("a", T0, at(3600), "skill")
        assert cell.key == "sales" and cell.conversations == 1 and cell.left_messages == 1
        assert cell.wait_seconds == 90.0 and cell.waits == 1
        assert cell.first_response_seconds == 0.123
        assert cell.handle_seconds == 600.001
        assert (cell.csat_total, cell.csat_count, cell.messages_in) == (4.0, 1, 1)
    finally:
        await store.close()


async def test_nul_in_text_cannot_fail_a_write(database_url: str) -> None:
    """The boundary refuses NUL from clients and repairs it in headers, but text from
    elsewhere (a channel, a migration) must still store: PostgreSQL refuses NUL in text."""
    store = PostgresStore(database_url)
    await store.open()
    try:
        contact = a_contact("k1", Identity("email", "nul\x00@example.com"), name="Kim\x00Lee")
        await store.create_contact(contact)
        assert await store.get_contact("a", "k1") == contact  # the document reads back exact
        await store.create_conversation(a_conversation("c1", contact_id="k1"))
        message = a_message("c1", text="before\x00after", client_id="c\x00id")
        appended = await store.append_message(message)
        assert appended.created and appended.message.text == "before\x00after"
        assert not (await store.append_message(message)).created  # still deduplicated
        found = await store.search_conversations("a", "before")
        assert [hit.message.id for hit in found] == [appended.message.id]
        assert [c.id for c in await store.search_contacts("a", "kim")] == ["k1"]
        await store.put_settings("a", "widget", {"greeting": "hi\x00"})
        assert await store.get_settings("a", "widget") == {"greeting": "hi\x00"}
        # A webhook delivery carries a message's text as the channel gave it.
        delivery = a_delivery("d1", tenant="a")
        delivery.data = {"text": "before\x00after"}
        await store.create_webhook_deliveries([delivery])
        assert await store.get_webhook_delivery("a", "d1") == delivery
    finally:
        await store.close()


async def test_a_database_newer_than_the_hub_is_refused_with_a_clear_message(
    database_url: str,
) -> None:
    store = PostgresStore(database_url)
    await store.open()
    await store.create_conversation(a_conversation("c1"))
    await store.close()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE meta SET value = $1 WHERE key = 'schema_version'", str(LATEST + 1)
        )
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNew, match=rf"schema version {LATEST + 1}, newer than this hub"):
        await PostgresStore(database_url).open()


async def test_migrations_are_recorded_and_reopening_changes_nothing(database_url: str) -> None:
    store = PostgresStore(database_url)
    await store.open()
    await store.create_conversation(a_conversation("c1"))
    await store.append_message(a_message("c1", text="kept", sender=Sender("contact", new_id())))
    await store.close()
    reopened = PostgresStore(database_url)
    await reopened.open()
    try:
        assert [m.text for m in await reopened.list_messages("a", "c1")] == ["kept"]
    finally:
        await reopened.close()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'") == str(
            LATEST
        )
        # Debian's postgresql package has pg_trgm: search uses its index.
        assert await conn.fetchval("SELECT to_regclass('messages_search') IS NOT NULL")
    finally:
        await conn.close()


async def test_the_pool_holds_at_most_pool_size_connections(database_url: str) -> None:
    store = PostgresStore(database_url, pool_size=3)
    await store.open()
    try:
        await store.create_conversation(a_conversation("c1"))
        await asyncio.gather(*[store.append_message(a_message("c1")) for _ in range(30)])
        conn = await asyncpg.connect(database_url)
        try:
            # Every connection to this database but the one asking.
            used = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid != pg_backend_pid()"
            )
        finally:
            await conn.close()
        assert 1 <= used <= 3
    finally:
        await store.close()


async def test_a_database_at_an_earlier_version_gets_the_migrations_it_lacks(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn, target=1) == 0
        await conn.execute(
            "INSERT INTO contacts (id, tenant, last_seen_at, search_body, doc) "
            "VALUES ('k1', 'a', NULL, 'kim', $1)",
            '{"id": "k1", "tenant": "a", "name": "Kim"}',
        )
        assert await conn.fetchval("SELECT to_regclass('contacts_search') IS NULL")
    finally:
        await conn.close()
    store = PostgresStore(database_url)
    await store.open()
    try:
        contact = await store.get_contact("a", "k1")
        assert contact is not None and contact.name == "Kim"
        assert [c.id for c in await store.search_contacts("a", "KIM")] == ["k1"]
    finally:
        await store.close()
    conn = await asyncpg.connect(database_url)
    try:
        assert await schema_version(conn) == LATEST
        assert await conn.fetchval("SELECT to_regclass('contacts_search') IS NOT NULL")
    finally:
        await conn.close()


def _without_counts(conversation: Conversation) -> dict[str, Any]:
    """The document as a hub before the message counts stored it."""
    doc = to_doc(conversation)
    del doc["messages_in"], doc["messages_out"]
    return doc


async def test_conversations_stored_before_the_message_counts_get_them_counted(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn, target=3) == 0
        senders = [("contact", "text"), ("contact", "image"), ("agent", "text"), ("bot", "text")]
        senders += [("agent", "note"), ("system", "event"), ("contact", "text")]
        for conversation_id, last_seq in (("c1", len(senders)), ("c2", 0)):
            doc = _without_counts(a_conversation(conversation_id, contact_id="k1"))
            await conn.execute(
                "INSERT INTO conversations (id, tenant, status, contact_id, channel, created_at, "
                "rated, doc) VALUES ($1, 'a', 'closed', 'k1', 'webim', $2, false, $3)",
                conversation_id,
                doc["created_at"],
                orjson.dumps(doc | {"status": "closed", "last_seq": last_seq}).decode(),
            )
        for seq, (sender, kind) in enumerate(senders, start=1):
            # Each holds a NUL (in its JSON text as an escape), which the count must read past.
            message = {"type": kind, "sender": {"type": sender}, "text": f"seq {seq}\x00"}
            await conn.execute(
                "INSERT INTO messages (conversation_id, seq, tenant, id, doc) "
                "VALUES ('c1', $1, 'a', $2, $3)",
                seq,
                f"m{seq}",
                orjson.dumps(message).decode(),
            )
    finally:
        await conn.close()
    store = PostgresStore(database_url)
    await store.open()
    try:
        counted = await store.get_conversation("a", "c1")
        assert counted is not None
        assert (counted.messages_in, counted.messages_out) == (3, 2)
        silent = await store.get_conversation("a", "c2")
        assert silent is not None and (silent.messages_in, silent.messages_out) == (0, 0)
        # From here on the append counts.
        await store.append_message(a_message("c1", sender=Sender("agent", "a1", "Ann")))
        after = await store.get_conversation("a", "c1")
        assert after is not None and (after.messages_in, after.messages_out) == (3, 3)
    finally:
        await store.close()
