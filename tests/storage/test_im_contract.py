"""The enterprise IM's part of the storage contract (hub/storage/im_base.py), on every
backend of tests/storage/conftest.py."""

from __future__ import annotations

import asyncio

import pytest

from hub.errors import Forbidden, NotFound
from hub.im.model import Department, ImMessage, ImSender, ImThread, direct_key
from hub.storage.base import Store


def _direct(thread_id: str, a: str, b: str, tenant: str = "t1") -> ImThread:
    return ImThread(
        id=thread_id, tenant=tenant, kind="direct", members=[a, b], direct_key=direct_key(a, b)
    )


def _group(thread_id: str, *members: str, tenant: str = "t1") -> ImThread:
    return ImThread(
        id=thread_id,
        tenant=tenant,
        kind="group",
        members=list(members),
        name="G",
        owner_id=members[0],
    )


def _message(
    thread_id: str, sender: str, text: str, client_id: str | None = None, *, tenant: str = "t1"
) -> ImMessage:
    return ImMessage(
        id=f"m-{thread_id}-{sender}-{text}-{client_id}",
        tenant=tenant,
        thread_id=thread_id,
        sender=ImSender(sender, sender.upper()),
        text=text,
        client_id=client_id,
    )


async def test_one_direct_thread_per_pair_even_when_created_at_once(store: Store) -> None:
    results = await asyncio.gather(
        *(
            store.create_im_thread(_direct(f"d{n}", *(("a", "b") if n % 2 else ("b", "a"))))
            for n in range(6)
        )
    )
    assert len({thread.id for thread, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    other_tenant, created = await store.create_im_thread(_direct("x", "a", "b", tenant="t2"))
    assert created and other_tenant.id == "x"


async def test_appends_number_dedupe_and_check_membership(store: Store) -> None:
    await store.create_im_thread(_group("g", "a", "b"))
    appended = await asyncio.gather(
        *(store.append_im_message(_message("g", "a", f"t{n}", f"c{n}")) for n in range(10))
    )
    assert sorted(r.message.seq for r in appended) == list(range(1, 11))
    again = await store.append_im_message(_message("g", "a", "t3", "c3"))
    assert not again.created and again.message.seq == next(
        r.message.seq for r in appended if r.message.client_id == "c3"
    )
    with pytest.raises(Forbidden):
        await store.append_im_message(_message("g", "z", "outsider"))
    with pytest.raises(NotFound):
        await store.append_im_message(_message("g", "a", "wrong tenant", tenant="t2"))
    thread = await store.get_im_thread("t1", "g")
    assert thread is not None and thread.last_seq == 10 and thread.last_message_preview
    history = await store.list_im_messages("t1", "g", after_seq=7)
    assert [m.seq for m in history] == [8, 9, 10]
    back = await store.list_im_messages("t1", "g", before_seq=4, limit=2)
    assert [m.seq for m in back] == [2, 3]
    # The sender has read its own message; the other member has not.
    assert (await store.im_reads_of_thread("t1", "g")) == {"a": 10}


async def test_thread_changes_are_compare_and_set_and_move_membership(store: Store) -> None:
    thread, _ = await store.create_im_thread(_group("g", "a", "b"))
    stale = await store.get_im_thread("t1", "g")
    assert stale is not None
    thread.members = ["a", "c"]
    assert await store.update_im_thread(thread, ["members"])
    assert thread.version == 1
    stale.name = "lost"
    assert not await store.update_im_thread(stale, ["name"])
    assert [t.id for t in await store.list_im_threads("t1", "c")] == ["g"]
    assert await store.list_im_threads("t1", "b") == []
    with pytest.raises(Forbidden):
        await store.append_im_message(_message("g", "b", "after removal"))
    thread.dissolved = True
    assert await store.update_im_thread(thread, ["dissolved"])
    assert await store.list_im_threads("t1", "a") == []
    with pytest.raises(Forbidden):
        await store.append_im_message(_message("g", "a", "after dissolving"))
    with pytest.raises(ValueError):
        await store.update_im_thread(thread, ["last_seq"])


async def test_threads_are_listed_most_recently_active_first(store: Store) -> None:
    for name in ("one", "two", "three"):
        await store.create_im_thread(_group(name, "a", "b"))
    await store.append_im_message(_message("one", "b", "newest"))
    assert [t.id for t in await store.list_im_threads("t1", "a")] == ["one", "three", "two"]


async def test_read_positions_only_move_forward(store: Store) -> None:
    await store.create_im_thread(_direct("d", "a", "b"))
    assert await store.mark_im_read("t1", "d", "b", 5) == 5
    assert await store.mark_im_read("t1", "d", "b", 2) == 5
    assert await store.im_reads_of_agent("t1", "b") == {"d": 5}
    assert await store.im_reads_of_agent("t2", "b") == {}


async def test_search_finds_chinese_and_english_in_the_given_threads(store: Store) -> None:
    await store.create_im_thread(_group("g1", "a", "b"))
    await store.create_im_thread(_group("g2", "c", "b"))
    await store.append_im_message(_message("g1", "a", "季度计划 Quarterly PLAN"))
    await store.append_im_message(_message("g2", "c", "another plan 计划"))
    for query in ("计划", "plan", "度计"):
        hits = await store.search_im_messages("t1", ["g1"], query)
        assert [m.text for m in hits] == ["季度计划 Quarterly PLAN"], query
    assert len(await store.search_im_messages("t1", ["g1", "g2"], "计划")) == 2
    assert await store.search_im_messages("t2", ["g1"], "plan") == []


async def test_departments_round_trip_per_tenant(store: Store) -> None:
    root = Department(id="d1", tenant="t1", name="销售 Sales")
    await store.create_department(root)
    await store.create_department(Department(id="d2", tenant="t1", name="East", parent_id="d1"))
    root.name = "Sales"
    await store.update_department(root, ["name"])
    found = await store.list_departments("t1")
    assert [(d.id, d.name, d.parent_id) for d in found] == [
        ("d1", "Sales", None),
        ("d2", "East", "d1"),
    ]
    assert await store.list_departments("t2") == []
    with pytest.raises(NotFound):
        await store.update_department(Department(id="d9", tenant="t1", name="x"), ["name"])
    assert await store.delete_department("t1", "d2")
    assert not await store.delete_department("t2", "d1")


async def test_a_thread_knows_which_customer_conversations_were_shared_in_it(store: Store) -> None:
    await store.create_im_thread(_group("g", "a", "b"))
    shared = _message("g", "a", "look")
    shared.type, shared.consult = "consult", {"conversation_id": "conv1", "channel": "webim"}
    await store.append_im_message(shared)
    assert await store.im_thread_shares("t1", "g", "conv1")
    assert not await store.im_thread_shares("t1", "g", "conv2")
    assert not await store.im_thread_shares("t2", "g", "conv1")
