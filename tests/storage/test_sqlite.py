"""SQLite-only properties; the rules every backend keeps are in test_contract.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.domain import Contact, Conversation, Message, Sender, Tenant, iso, new_id
from hub.storage import sqlite_writer
from hub.storage.codec import to_doc
from hub.storage.sqlite import SqliteStore
from hub.storage.sqlite_writer import frame_bytes, stored_time
from hub.storage.writer_process import WriterGone


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


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An open store with one conversation, "c", to append to."""
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    try:
        await store.create_conversation(
            Conversation(id="c", tenant="t", channel="webim", contact_id="k")
        )
        yield store
    finally:
        await store.close()


async def _turns_until(condition: Callable[[], bool]) -> None:
    """Give the loop turns (no sleeping) until the store has done what `condition` says."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the store never got there")


async def _append(store: SqliteStore, text: str) -> Message:
    result = await store.append_message(
        Message(id=new_id(), tenant="t", conversation_id="c", sender=Sender("contact"), text=text)
    )
    return result.message


async def test_a_killed_writer_process_fails_its_writes_and_is_replaced(
    store: SqliteStore,
) -> None:
    assert (await _append(store, "first")).seq == 1
    assert store._writer is not None
    # Killed while a write is in its hands: that write fails (its outcome is unknown to the
    # hub, so it is not acknowledged).
    writer = store._writer.process
    writer.send_signal(signal.SIGSTOP)
    in_flight = asyncio.create_task(_append(store, "in flight"))
    await _turns_until(lambda: bool(store._in_flight) and not store._pending)
    writer.kill()
    with pytest.raises(WriterGone):
        await in_flight
    # Killed while idle: the next write simply goes to a new writer.
    assert (await _append(store, "second")).seq in (2, 3)
    second_writer = store._writer.process
    assert second_writer.pid != writer.pid
    second_writer.kill()
    second_writer.wait()
    last = await _append(store, "third")
    stored = await store.list_messages("t", "c")
    # Whether "in flight" was committed before the kill is unknown; nothing else is.
    assert [m.text for m in stored if m.text != "in flight"] == ["first", "second", "third"]
    assert [m.seq for m in stored] == list(range(1, last.seq + 1))


async def test_closing_the_store_stops_its_writer_process(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    assert store._writer is not None
    writer = store._writer.process
    await store.create_tenant(Tenant(id="t", name="t"))
    await store.close()
    assert writer.returncode == 0
    with pytest.raises(RuntimeError, match="closed"):
        await store.create_tenant(Tenant(id="u", name="u"))


async def test_a_bad_path_fails_open_with_the_writers_error(tmp_path: Path) -> None:
    (tmp_path / "hub.sqlite3").mkdir()  # a directory where the database file should be
    store = SqliteStore(tmp_path / "hub.sqlite3")
    with pytest.raises(sqlite3.OperationalError):
        await store.open()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 12, 0, 0, 999, tzinfo=UTC),
        datetime(2026, 11, 23, 12, 0, 0, 1000, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_message_times_sent_by_orjson_are_stored_like_iso(moment: datetime) -> None:
    sent = orjson.loads(orjson.dumps(moment))
    assert stored_time(sent) == iso(moment)
    assert stored_time(iso(moment)) == iso(moment)


async def test_a_message_in_another_time_zone_is_stored_in_utc(store: SqliteStore) -> None:
    beijing = timezone(timedelta(hours=8))
    sent = datetime(2026, 11, 23, 20, 0, 0, 123456, tzinfo=beijing)
    result = await store.append_message(
        Message(
            id=new_id(), tenant="t", conversation_id="c", sender=Sender("contact"), created_at=sent
        )
    )
    (stored,) = await store.list_messages("t", "c")
    assert stored.created_at == datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=UTC)
    assert result.message.created_at == stored.created_at


async def test_batches_that_wait_for_the_writer_share_one_commit(store: SqliteStore) -> None:
    """A second batch is sent before the first is answered; the writer commits every batch
    that has arrived together, and answers each caller."""
    assert store._writer is not None
    writer = store._writer.process
    writer.send_signal(signal.SIGSTOP)
    # kill() returns before the child has stopped; a writer still running could read the
    # first batch alone (seen in CI). Wait for the stop itself, leaving it to be reaped later.
    await asyncio.to_thread(os.waitid, os.P_PID, writer.pid, os.WSTOPPED | os.WNOWAIT)
    first = asyncio.create_task(_append(store, "first"))
    await _turns_until(lambda: len(store._in_flight) == 1)
    second = asyncio.create_task(_append(store, "second"))
    third = asyncio.create_task(_append(store, "third"))
    await _turns_until(lambda: len(store._in_flight) == 2 and not store._pending)
    before = store.commit_count
    writer.send_signal(signal.SIGCONT)
    results = await asyncio.gather(first, second, third)
    assert [m.seq for m in results] == [1, 2, 3]
    assert store.commit_count - before == 1


CONVERSATIONS = [f"c{n}" for n in range(50)]
BATCHES = 200


def _serve_appends(path: Path) -> int:
    """Run the writer loop itself (sqlite_writer.serve) on real pipes: BATCHES batches of one
    append to each of CONVERSATIONS, each answered before the next is sent. Checks every
    answer and, afterwards, that every append is stored; returns the largest size the WAL
    file reached."""
    requests_read, requests_write = os.pipe()
    answers_read, answers_write = os.pipe()
    serving = threading.Thread(
        target=sqlite_writer.serve,
        args=(str(path), "FULL", requests_read, os.fdopen(answers_write, "wb")),
    )
    serving.start()
    answers = os.fdopen(answers_read, "rb")
    buffer = bytearray()

    def next_answer() -> list[Any]:
        while not (frames := sqlite_writer.take_frames(buffer)):
            buffer.extend(os.read(answers.fileno(), 1 << 16))
        assert len(frames) == 1
        return frames[0]

    wal = path.with_name(path.name + "-wal")
    largest_wal = 0
    try:
        assert next_answer() == [0, [], None, 0]  # ready
        docs = [
            to_doc(Conversation(id=c, tenant="t", channel="webim", contact_id=f"k-{c}"))
            for c in CONVERSATIONS
        ]
        os.write(requests_write, frame_bytes([1, [["create_conversation", d] for d in docs]]))
        assert next_answer()[2] is None
        for batch in range(2, BATCHES + 2):
            ops = [
                ["append_message", orjson.loads(orjson.dumps(_message(c, f"{batch}-{c}")))]
                for c in CONVERSATIONS
            ]
            os.write(requests_write, frame_bytes([batch, ops]))
            batch_id, results, error, _ = next_answer()
            assert (batch_id, error) == (batch, None)
            assert all(ok for ok, _ in results)
            largest_wal = max(largest_wal, wal.stat().st_size)
    finally:
        os.close(requests_write)
        serving.join(30)
        answers.close()
    assert not serving.is_alive()
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM messages").fetchone()
        (longest,) = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM messages GROUP BY conversation_id)"
        ).fetchone()
    assert (stored, longest) == (BATCHES * len(CONVERSATIONS), BATCHES)
    return largest_wal


WAL_FRAME_BYTES = 4096 + 24  # a page and its frame header
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, which the writer keeps


def test_the_wal_stays_bounded_and_nothing_is_lost(tmp_path: Path) -> None:
    """About 20,000 frames (80 MB) go through the WAL; SQLite's own checkpoints in the
    commits keep the file near 1,000 pages, and every append is stored."""
    largest_wal = _serve_appends(tmp_path / "hub.sqlite3")
    # Past the mark by the batch that crossed it (about 100 pages here).
    assert largest_wal < 2 * SQLITE_AUTOCHECKPOINT_PAGES * WAL_FRAME_BYTES, largest_wal


def _message(conversation_id: str, text: str) -> Message:
    return Message(
        id=new_id(),
        tenant="t",
        conversation_id=conversation_id,
        sender=Sender("contact"),
        text=text,
        client_id=text,
    )
