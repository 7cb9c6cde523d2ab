"""The enterprise IM on the embedded store: reads here, writes as the writer's ops
(hub/storage/sqlite_im_ops.py). SqliteStore inherits this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite
import orjson

from hub.im.model import Department, ImAppended, ImMessage, ImThread
from hub.storage.codec import from_doc, to_doc
from hub.storage.im_base import ImStore

APPEND_OWNED = frozenset({"last_seq", "last_message_at", "last_message_preview", "version"})


def like_anywhere(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqliteImStore(ImStore):
    _reader: aiosqlite.Connection | None

    async def _write(self, *op: Any) -> Any:
        raise NotImplementedError  # SqliteStore's group commit

    async def _im_rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        assert self._reader is not None
        return list(await self._reader.execute_fetchall(sql, params))

    async def _im_docs(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        return [orjson.loads(row[0]) for row in await self._im_rows(sql, params)]

    # departments ------------------------------------------------------------------------

    async def create_department(self, department: Department) -> None:
        await self._write("create_department", to_doc(department))

    async def list_departments(self, tenant: str) -> list[Department]:
        docs = await self._im_docs(
            "SELECT doc FROM im_departments WHERE tenant = ? ORDER BY created_at, id", (tenant,)
        )
        return [from_doc(Department, d) for d in docs]

    async def update_department(self, department: Department, fields: Sequence[str]) -> None:
        doc = to_doc(department)
        await self._write(
            "update_department", department.tenant, department.id, {f: doc[f] for f in fields}
        )

    async def delete_department(self, tenant: str, department_id: str) -> bool:
        return bool(await self._write("delete_department", tenant, department_id))

    # threads ----------------------------------------------------------------------------

    async def create_im_thread(self, thread: ImThread) -> tuple[ImThread, bool]:
        outcome, doc = await self._write("create_im_thread", to_doc(thread))
        return from_doc(ImThread, doc), outcome == "new"

    async def get_im_thread(self, tenant: str, thread_id: str) -> ImThread | None:
        docs = await self._im_docs(
            "SELECT doc FROM im_threads WHERE tenant = ? AND id = ?", (tenant, thread_id)
        )
        return from_doc(ImThread, docs[0]) if docs else None

    async def update_im_thread(self, thread: ImThread, fields: Sequence[str]) -> bool:
        owned = APPEND_OWNED.intersection(fields)
        if owned:
            raise ValueError(f"{', '.join(sorted(owned))} are not written by update_im_thread")
        doc = to_doc(thread)
        written = await self._write(
            "update_im_thread",
            thread.tenant,
            thread.id,
            {f: doc[f] for f in fields},
            thread.version,
        )
        if written:
            thread.version += 1
        return bool(written)

    async def list_im_threads(self, tenant: str, agent_id: str) -> list[ImThread]:
        docs = await self._im_docs(
            "SELECT t.doc FROM im_members m JOIN im_threads t "
            "ON t.tenant = m.tenant AND t.id = m.thread_id "
            "WHERE m.tenant = ? AND m.agent_id = ? ORDER BY m.active_at DESC, m.thread_id",
            (tenant, agent_id),
        )
        return [from_doc(ImThread, d) for d in docs]

    # messages and read positions --------------------------------------------------------

    async def append_im_message(self, message: ImMessage) -> ImAppended:
        outcome, doc, thread = await self._write("append_im_message", to_doc(message))
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
            docs = await self._im_docs(
                "SELECT doc FROM im_messages WHERE tenant = ? AND thread_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (tenant, thread_id, after_seq, limit),
            )
            return [from_doc(ImMessage, d) for d in docs]
        docs = await self._im_docs(
            "SELECT doc FROM im_messages WHERE tenant = ? AND thread_id = ? AND seq > ? "
            "AND seq < ? ORDER BY seq DESC LIMIT ?",
            (tenant, thread_id, after_seq, before_seq, limit),
        )
        return [from_doc(ImMessage, d) for d in reversed(docs)]

    async def mark_im_read(self, tenant: str, thread_id: str, agent_id: str, seq: int) -> int:
        return int(await self._write("mark_im_read", tenant, thread_id, agent_id, seq))

    async def im_reads_of_agent(self, tenant: str, agent_id: str) -> dict[str, int]:
        rows = await self._im_rows(
            "SELECT thread_id, seq FROM im_reads WHERE tenant = ? AND agent_id = ?",
            (tenant, agent_id),
        )
        return {thread_id: int(seq) for thread_id, seq in rows}

    async def im_reads_of_thread(self, tenant: str, thread_id: str) -> dict[str, int]:
        rows = await self._im_rows(
            "SELECT agent_id, seq FROM im_reads WHERE tenant = ? AND thread_id = ?",
            (tenant, thread_id),
        )
        return {agent_id: int(seq) for agent_id, seq in rows}

    async def im_thread_shares(self, tenant: str, thread_id: str, conversation_id: str) -> bool:
        rows = await self._im_rows(
            "SELECT 1 FROM im_messages WHERE tenant = ? AND thread_id = ? "
            "AND json_extract(doc, '$.consult.conversation_id') = ? LIMIT 1",
            (tenant, thread_id, conversation_id),
        )
        return bool(rows)

    async def search_im_messages(
        self, tenant: str, thread_ids: Sequence[str], text: str, *, limit: int = 50
    ) -> list[ImMessage]:
        if not thread_ids or not text:
            return []
        marks = ", ".join("?" for _ in thread_ids)
        docs = await self._im_docs(
            "SELECT m.doc FROM im_message_search s JOIN im_messages m "
            "ON m.tenant = s.tenant AND m.thread_id = s.thread_id AND m.seq = s.seq "
            f"WHERE s.body LIKE ? ESCAPE '\\' AND s.tenant = ? AND s.thread_id IN ({marks}) "
            "ORDER BY json_extract(m.doc, '$.created_at') DESC, m.seq DESC LIMIT ?",
            (like_anywhere(text), tenant, *thread_ids, limit),
        )
        return [from_doc(ImMessage, d) for d in docs]
