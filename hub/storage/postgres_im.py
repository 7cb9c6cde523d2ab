"""The enterprise IM on PostgreSQL: reads here, writes as module-level ops run in one
transaction by PostgresStore._write (hub/storage/postgres.py's rules). PostgresStore
inherits this.

An append locks its thread's row (SELECT … FOR UPDATE) and then checks membership, takes
the next seq and stores the message, in one transaction: a membership change (which locks
the same row) commits before or after it, on whichever node, so a sender removed meanwhile
is refused, as SQLite's single writer refuses it. The unique (thread, client_id) index
catches a retry on another node racing its first try; the append then runs again
(races=True) and finds the original. One direct thread per pair is the unique
(tenant, direct_key) index: a second creation waits for the first and returns it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from hub.domain import upload_ids
from hub.errors import Forbidden, NotFound
from hub.im.model import Department, ImAppended, ImMessage, ImThread
from hub.storage.codec import from_doc, preview_of, to_doc
from hub.storage.im_base import ImStore
from hub.storage.postgres_sql import (
    Connection,
    Doc,
    _dump,
    _duplicate_is_conflict,
    _load,
    _mark_uploads_used,
    _marks,
    _row_doc,
    like_pattern,
    searchable,
)

R = TypeVar("R")
APPEND_OWNED = frozenset({"last_seq", "last_message_at", "last_message_preview", "version"})


def _active_at(doc: Doc) -> str:
    return doc.get("last_message_at") or doc["created_at"]


async def _write_members(conn: Connection, doc: Doc) -> None:
    """The member rows follow the document: one per member while the thread lives."""
    tenant, thread_id = doc["tenant"], doc["id"]
    await conn.execute(
        "DELETE FROM im_members WHERE tenant = $1 AND thread_id = $2", tenant, thread_id
    )
    if doc.get("dissolved"):
        return
    await conn.executemany(
        "INSERT INTO im_members (tenant, agent_id, thread_id, active_at) VALUES ($1, $2, $3, $4)",
        [(tenant, member, thread_id, _active_at(doc)) for member in dict.fromkeys(doc["members"])],
    )


async def _locked_thread(conn: Connection, tenant: str, thread_id: str) -> Doc:
    doc = await _row_doc(
        conn,
        "SELECT doc FROM im_threads WHERE tenant = $1 AND id = $2 FOR UPDATE",
        tenant,
        thread_id,
    )
    if doc is None:
        raise NotFound("no such thread", code="thread_not_found")
    return doc


# The write ops: each runs inside the transaction `_write` opened. -------------------------


async def _create_department(conn: Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("department exists", code="department_exists"):
        await conn.execute(
            "INSERT INTO im_departments (tenant, id, created_at, doc) VALUES ($1, $2, $3, $4)",
            doc["tenant"],
            doc["id"],
            doc["created_at"],
            _dump(doc),
        )


async def _update_department(
    conn: Connection, tenant: str, department_id: str, changes: Doc
) -> None:
    doc = await _row_doc(
        conn,
        "SELECT doc FROM im_departments WHERE tenant = $1 AND id = $2 FOR UPDATE",
        tenant,
        department_id,
    )
    if doc is None:
        raise NotFound("no such department", code="department_not_found")
    await conn.execute(
        "UPDATE im_departments SET doc = $1 WHERE tenant = $2 AND id = $3",
        _dump(doc | changes),
        tenant,
        department_id,
    )


async def _delete_department(conn: Connection, tenant: str, department_id: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM im_departments WHERE tenant = $1 AND id = $2 RETURNING id",
        tenant,
        department_id,
    )
    return deleted is not None


async def _create_im_thread(conn: Connection, doc: Doc) -> tuple[str, Doc]:
    """("new", doc), or ("seen", the pair's stored direct thread) with nothing written. A
    concurrent creation for the same pair makes the insert wait for it and then do nothing,
    and the look-up after it (a statement of its own) sees the committed thread."""
    tenant, key = doc["tenant"], doc.get("direct_key")
    find = "SELECT doc FROM im_threads WHERE tenant = $1 AND direct_key = $2"
    if key is not None and (seen := await _row_doc(conn, find, tenant, key)) is not None:
        return "seen", seen
    with _duplicate_is_conflict("thread exists", code="thread_exists"):
        inserted = await conn.fetchval(
            "INSERT INTO im_threads (tenant, id, direct_key, doc) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (tenant, direct_key) WHERE direct_key IS NOT NULL DO NOTHING "
            "RETURNING id",
            tenant,
            doc["id"],
            key,
            _dump(doc),
        )
    if inserted is None:
        seen = await _row_doc(conn, find, tenant, key)
        assert seen is not None, "a direct key's conflicting thread is gone"
        return "seen", seen
    await _write_members(conn, doc)
    return "new", doc


async def _update_im_thread(
    conn: Connection, tenant: str, thread_id: str, changes: Doc, version: int
) -> bool:
    doc = await _locked_thread(conn, tenant, thread_id)
    if doc["version"] != version:
        return False
    doc |= changes | {"version": version + 1}
    await conn.execute(
        "UPDATE im_threads SET doc = $1 WHERE tenant = $2 AND id = $3",
        _dump(doc),
        tenant,
        thread_id,
    )
    if {"members", "dissolved"} & changes.keys():
        await _write_members(conn, doc)
    return True


def _search_body(doc: Doc) -> str:
    return searchable(str(doc.get("text") or ""))


def _shared_conversation(doc: Doc) -> str | None:
    consult = doc.get("consult")
    return consult.get("conversation_id") if isinstance(consult, dict) else None


async def _append_im_message(conn: Connection, doc: Doc) -> tuple[str, Doc, Doc]:
    """("new", stored doc, thread doc) or ("seen", the original, thread doc). The thread is
    locked with the look-up of the client id (one round trip); the insert, the thread's
    update, the members' activity and the sender's read position are one statement."""
    tenant, thread_id, client_id = doc["tenant"], doc["thread_id"], doc.get("client_id")
    row = await conn.fetchrow(
        "SELECT t.doc, (SELECT m.doc FROM im_messages m WHERE m.tenant = t.tenant "
        "AND m.thread_id = t.id AND m.client_id = $3) AS seen FROM im_threads t "
        "WHERE t.tenant = $1 AND t.id = $2 FOR UPDATE OF t",
        tenant,
        thread_id,
        client_id,
    )
    if row is None:
        raise NotFound("no such thread", code="thread_not_found")
    thread = _load(row["doc"])
    sender = doc["sender"]["id"]
    if thread.get("dissolved") or sender not in thread["members"]:
        raise Forbidden("you are not a member of this thread", code="not_a_member")
    if row["seen"] is not None:
        return "seen", _load(row["seen"]), thread
    seq = int(thread["last_seq"]) + 1
    stored = doc | {"seq": seq}
    thread |= {
        "last_seq": seq,
        "last_message_at": stored["created_at"],
        "last_message_preview": preview_of(stored),
    }
    await conn.execute(
        "WITH appended AS (INSERT INTO im_messages (tenant, thread_id, seq, client_id, "
        "created_at, shared_conversation_id, search_body, doc) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)), "
        "thread AS (UPDATE im_threads SET doc = $9 WHERE tenant = $1 AND id = $2), "
        "active AS (UPDATE im_members SET active_at = $5 WHERE tenant = $1 AND thread_id = $2) "
        "INSERT INTO im_reads (tenant, thread_id, agent_id, seq) VALUES ($1, $2, $10, $3) "
        "ON CONFLICT (tenant, thread_id, agent_id) "
        "DO UPDATE SET seq = greatest(im_reads.seq, excluded.seq)",
        tenant,
        thread_id,
        seq,
        client_id,
        stored["created_at"],
        _shared_conversation(stored),
        _search_body(stored),
        _dump(stored),
        _dump(thread),
        sender,
    )
    if ids := upload_ids(doc.get("attachments") or []):
        await _mark_uploads_used(conn, tenant, ids, doc["id"])
    return "new", stored, thread


async def _mark_im_read(conn: Connection, tenant: str, thread_id: str, agent_id: str, seq: int):
    return await conn.fetchval(
        "INSERT INTO im_reads (tenant, thread_id, agent_id, seq) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant, thread_id, agent_id) "
        "DO UPDATE SET seq = greatest(im_reads.seq, excluded.seq) RETURNING seq",
        tenant,
        thread_id,
        agent_id,
        seq,
    )


class PostgresImStore(ImStore):
    async def _write(self, op: Callable[..., Awaitable[R]], *args: Any, races: bool = False) -> R:
        raise NotImplementedError  # PostgresStore's

    async def _one(self, sql: str, *args: Any) -> Doc | None:
        raise NotImplementedError  # PostgresStore's

    async def _all(self, sql: str, *args: Any) -> list[Doc]:
        raise NotImplementedError  # PostgresStore's

    async def _rows(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError  # PostgresStore's

    # departments ------------------------------------------------------------------------

    async def create_department(self, department: Department) -> None:
        await self._write(_create_department, to_doc(department))

    async def list_departments(self, tenant: str) -> list[Department]:
        docs = await self._all(
            "SELECT doc FROM im_departments WHERE tenant = $1 ORDER BY created_at, id", tenant
        )
        return [from_doc(Department, d) for d in docs]

    async def update_department(self, department: Department, fields: Sequence[str]) -> None:
        doc = to_doc(department)
        await self._write(
            _update_department, department.tenant, department.id, {f: doc[f] for f in fields}
        )

    async def delete_department(self, tenant: str, department_id: str) -> bool:
        return await self._write(_delete_department, tenant, department_id)

    # threads ----------------------------------------------------------------------------

    async def create_im_thread(self, thread: ImThread) -> tuple[ImThread, bool]:
        outcome, doc = await self._write(_create_im_thread, to_doc(thread))
        return from_doc(ImThread, doc), outcome == "new"

    async def get_im_thread(self, tenant: str, thread_id: str) -> ImThread | None:
        doc = await self._one(
            "SELECT doc FROM im_threads WHERE tenant = $1 AND id = $2", tenant, thread_id
        )
        return from_doc(ImThread, doc) if doc else None

    async def update_im_thread(self, thread: ImThread, fields: Sequence[str]) -> bool:
        owned = APPEND_OWNED.intersection(fields)
        if owned:
            raise ValueError(f"{', '.join(sorted(owned))} are not written by update_im_thread")
        doc = to_doc(thread)
        written = await self._write(
            _update_im_thread, thread.tenant, thread.id, {f: doc[f] for f in fields}, thread.version
        )
        if written:
            thread.version += 1
        return written

    async def list_im_threads(self, tenant: str, agent_id: str) -> list[ImThread]:
        docs = await self._all(
            "SELECT t.doc FROM im_members m JOIN im_threads t "
            "ON t.tenant = m.tenant AND t.id = m.thread_id "
            "WHERE m.tenant = $1 AND m.agent_id = $2 ORDER BY m.active_at DESC, m.thread_id",
            tenant,
            agent_id,
        )
        return [from_doc(ImThread, d) for d in docs]

    # messages and read positions --------------------------------------------------------

    async def append_im_message(self, message: ImMessage) -> ImAppended:
        outcome, doc, thread = await self._write(_append_im_message, to_doc(message), races=True)
        return ImAppended(from_doc(ImMessage, doc), outcome == "new", from_doc(ImThread, thread))

    async def list_im_messages(
        self,
        tenant: str,
        thread_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ImMessage]:
        if before_seq is None:
            docs = await self._all(
                "SELECT doc FROM im_messages WHERE tenant = $1 AND thread_id = $2 AND seq > $3 "
                "ORDER BY seq LIMIT $4",
                tenant,
                thread_id,
                after_seq,
                limit,
            )
            return [from_doc(ImMessage, d) for d in docs]
        docs = await self._all(
            "SELECT doc FROM im_messages WHERE tenant = $1 AND thread_id = $2 AND seq > $3 "
            "AND seq < $4 ORDER BY seq DESC LIMIT $5",
            tenant,
            thread_id,
            after_seq,
            before_seq,
            limit,
        )
        return [from_doc(ImMessage, d) for d in reversed(docs)]

    async def mark_im_read(self, tenant: str, thread_id: str, agent_id: str, seq: int) -> int:
        return int(await self._write(_mark_im_read, tenant, thread_id, agent_id, seq))

    async def im_reads_of_agent(self, tenant: str, agent_id: str) -> dict[str, int]:
        rows = await self._rows(
            "SELECT thread_id, seq FROM im_reads WHERE tenant = $1 AND agent_id = $2",
            tenant,
            agent_id,
        )
        return {row["thread_id"]: int(row["seq"]) for row in rows}

    async def im_reads_of_thread(self, tenant: str, thread_id: str) -> dict[str, int]:
        rows = await self._rows(
            "SELECT agent_id, seq FROM im_reads WHERE tenant = $1 AND thread_id = $2",
            tenant,
            thread_id,
        )
        return {row["agent_id"]: int(row["seq"]) for row in rows}

    async def im_thread_shares(self, tenant: str, thread_id: str, conversation_id: str) -> bool:
        rows = await self._rows(
            "SELECT 1 FROM im_messages WHERE tenant = $1 AND thread_id = $2 "
            "AND shared_conversation_id = $3 LIMIT 1",
            tenant,
            thread_id,
            conversation_id,
        )
        return bool(rows)

    async def search_im_messages(
        self, tenant: str, thread_ids: Sequence[str], text: str, *, limit: int = 50
    ) -> list[ImMessage]:
        if not thread_ids or not text:
            return []
        docs = await self._all(
            "SELECT doc FROM im_messages WHERE search_body LIKE $1 AND tenant = $2 "
            f"AND thread_id IN ({_marks(thread_ids, 3)}) "
            f"ORDER BY created_at DESC, seq DESC LIMIT ${len(thread_ids) + 3}",
            like_pattern(text),
            tenant,
            *thread_ids,
            limit,
        )
        return [from_doc(ImMessage, d) for d in docs]
