"""The enterprise IM on MongoDB (MongoStore inherits this). The same shapes as the embedded
store; `_id` is the tenant and the record's id, so a record of another tenant is never found
by id alone.

Appends follow hub/storage/mongo.py's rules for conversations: appends to one thread in
this process take turns, the unique (thread, seq) index decides a seq across processes (a
lost race retries above the highest stored seq), the unique partial (thread, client_id)
index dedupes. Membership is checked on the thread document read in the append's turn: a
removal committed by another process between that read and the insert lets that one
message in (and only to the members of that read). Thread changes are compare-and-set on
`version`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from hub.domain import upload_ids
from hub.errors import Conflict, Forbidden, NotFound
from hub.im.model import Department, ImAppended, ImMessage, ImThread
from hub.storage.codec import from_doc, preview_of, to_doc
from hub.storage.im_base import ImStore

T = TypeVar("T")
APPEND_OWNED = frozenset({"last_seq", "last_message_at", "last_message_preview", "version"})
INTERNAL = ("_id", "active_at")


def _key(tenant: str, record_id: str) -> str:
    return f"{tenant}:{record_id}"


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in INTERNAL}


class MongoImStore(ImStore):
    def _col(self, name: str) -> Any:
        raise NotImplementedError  # MongoStore's

    async def _write(self, operation: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError  # MongoStore's

    def _im_lock(self, thread_key: str) -> asyncio.Lock:
        """Appends to one thread in this process take turns (one lock per thread, kept: a
        thread's lock is a few hundred bytes, and threads are far fewer than messages)."""
        locks: dict[str, asyncio.Lock] = self.__dict__.setdefault("_im_locks", {})
        return locks.setdefault(thread_key, asyncio.Lock())

    # departments ------------------------------------------------------------------------

    async def create_department(self, department: Department) -> None:
        async def op() -> None:
            doc = {"_id": _key(department.tenant, department.id), **to_doc(department)}
            try:
                await self._col("im_departments").insert_one(doc)
            except DuplicateKeyError as exc:
                raise Conflict("department exists", code="department_exists") from exc

        await self._write(op())

    async def list_departments(self, tenant: str) -> list[Department]:
        cursor = (
            self._col("im_departments")
            .find({"tenant": tenant})
            .sort([("created_at", ASCENDING), ("id", ASCENDING)])
        )
        return [from_doc(Department, _clean(d)) async for d in cursor]

    async def update_department(self, department: Department, fields: Sequence[str]) -> None:
        doc = to_doc(department)

        async def op() -> None:
            result = await self._col("im_departments").update_one(
                {"_id": _key(department.tenant, department.id)},
                {"$set": {f: doc[f] for f in fields}},
            )
            if result.matched_count == 0:
                raise NotFound("no such department", code="department_not_found")

        await self._write(op())

    async def delete_department(self, tenant: str, department_id: str) -> bool:
        async def op() -> bool:
            result = await self._col("im_departments").delete_one(
                {"_id": _key(tenant, department_id)}
            )
            return result.deleted_count > 0

        return await self._write(op())

    # threads ----------------------------------------------------------------------------

    async def create_im_thread(self, thread: ImThread) -> tuple[ImThread, bool]:
        async def op() -> tuple[ImThread, bool]:
            threads = self._col("im_threads")
            doc = to_doc(thread)
            doc["active_at"] = doc["created_at"]
            if thread.direct_key is None:
                doc.pop("direct_key")  # the unique index covers direct threads only
            try:
                await threads.insert_one({"_id": _key(thread.tenant, thread.id), **doc})
            except DuplicateKeyError:
                if thread.direct_key is None:
                    raise
                found = await threads.find_one(
                    {"tenant": thread.tenant, "direct_key": thread.direct_key}
                )
                assert found is not None
                return from_doc(ImThread, _clean(found)), False
            return thread, True

        return await self._write(op())

    async def get_im_thread(self, tenant: str, thread_id: str) -> ImThread | None:
        doc = await self._col("im_threads").find_one({"_id": _key(tenant, thread_id)})
        return from_doc(ImThread, _clean(doc)) if doc else None

    async def update_im_thread(self, thread: ImThread, fields: Sequence[str]) -> bool:
        owned = APPEND_OWNED.intersection(fields)
        if owned:
            raise ValueError(f"{', '.join(sorted(owned))} are not written by update_im_thread")
        doc = to_doc(thread)

        async def op() -> bool:
            result = await self._col("im_threads").update_one(
                {"_id": _key(thread.tenant, thread.id), "version": thread.version},
                {"$set": {f: doc[f] for f in fields}, "$inc": {"version": 1}},
            )
            if result.matched_count:
                return True
            if await self.get_im_thread(thread.tenant, thread.id) is None:
                raise NotFound("no such thread", code="thread_not_found")
            return False

        written = await self._write(op())
        if written:
            thread.version += 1
        return written

    async def list_im_threads(self, tenant: str, agent_id: str) -> list[ImThread]:
        cursor = (
            self._col("im_threads")
            .find({"tenant": tenant, "members": agent_id, "dissolved": False})
            .sort([("active_at", DESCENDING), ("id", ASCENDING)])
        )
        return [from_doc(ImThread, _clean(d)) async for d in cursor]

    # messages and read positions --------------------------------------------------------

    async def append_im_message(self, message: ImMessage) -> ImAppended:
        return await self._write(self._append_im(message))

    async def _original(self, message: ImMessage) -> dict[str, Any] | None:
        if message.client_id is None:
            return None
        return await self._col("im_messages").find_one(
            {
                "tenant": message.tenant,
                "thread_id": message.thread_id,
                "client_id": message.client_id,
            }
        )

    async def _append_im(self, message: ImMessage) -> ImAppended:
        threads, messages = self._col("im_threads"), self._col("im_messages")
        thread_key = _key(message.tenant, message.thread_id)
        async with self._im_lock(thread_key):
            found = await threads.find_one({"_id": thread_key})
            if found is None:
                raise NotFound("no such thread", code="thread_not_found")
            thread = from_doc(ImThread, _clean(found))
            if not thread.is_member(message.sender.id):
                raise Forbidden("you are not a member of this thread", code="not_a_member")
            original = await self._original(message)
            if original is not None:
                return ImAppended(from_doc(ImMessage, _clean(original)), False, thread)
            seq = thread.last_seq + 1
            doc = to_doc(message)
            if message.client_id is None:
                doc.pop("client_id")
            while True:
                stored = doc | {"seq": seq}
                try:
                    await messages.insert_one(dict(stored))
                    break
                except DuplicateKeyError:
                    original = await self._original(message)
                    if original is not None:
                        return ImAppended(from_doc(ImMessage, _clean(original)), False, thread)
                    highest = await messages.find_one(
                        {"tenant": message.tenant, "thread_id": message.thread_id},
                        {"seq": 1},
                        sort=[("seq", DESCENDING)],
                    )
                    seq = int(highest["seq"]) + 1 if highest else seq + 1
            updated = await threads.find_one_and_update(
                {"_id": thread_key, "last_seq": {"$lt": seq}},
                {
                    "$set": {
                        "last_seq": seq,
                        "last_message_at": stored["created_at"],
                        "last_message_preview": preview_of(stored),
                        "active_at": stored["created_at"],
                    }
                },
                return_document=ReturnDocument.AFTER,
            )
            if updated is not None:
                thread = from_doc(ImThread, _clean(updated))
            await self._raise_read(message.tenant, message.thread_id, message.sender.id, seq)
            if ids := upload_ids(message.attachments):
                await self._col("uploads").update_many(
                    {"_id": {"$in": [f"{message.tenant}/{i}" for i in ids]}, "message_id": None},
                    {"$set": {"message_id": message.id}, "$unset": {"orphan_since": ""}},
                )
        stored.setdefault("client_id", None)
        return ImAppended(from_doc(ImMessage, _clean(stored)), True, thread)

    async def list_im_messages(
        self,
        tenant: str,
        thread_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ImMessage]:
        seq: dict[str, int] = {"$gt": after_seq}
        if before_seq is not None:
            seq["$lt"] = before_seq
        order = ASCENDING if before_seq is None else DESCENDING
        cursor = (
            self._col("im_messages")
            .find({"tenant": tenant, "thread_id": thread_id, "seq": seq})
            .sort([("seq", order)])
            .limit(limit)
        )
        found = [from_doc(ImMessage, _clean(d)) async for d in cursor]
        return found if before_seq is None else found[::-1]

    async def _raise_read(self, tenant: str, thread_id: str, agent_id: str, seq: int) -> int:
        doc = await self._col("im_reads").find_one_and_update(
            {"_id": _key(tenant, f"{thread_id}:{agent_id}")},
            {
                "$max": {"seq": seq},
                "$setOnInsert": {"tenant": tenant, "thread_id": thread_id, "agent_id": agent_id},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["seq"])

    async def mark_im_read(self, tenant: str, thread_id: str, agent_id: str, seq: int) -> int:
        return await self._write(self._raise_read(tenant, thread_id, agent_id, seq))

    async def im_reads_of_agent(self, tenant: str, agent_id: str) -> dict[str, int]:
        cursor = self._col("im_reads").find({"tenant": tenant, "agent_id": agent_id})
        return {d["thread_id"]: int(d["seq"]) async for d in cursor}

    async def im_reads_of_thread(self, tenant: str, thread_id: str) -> dict[str, int]:
        cursor = self._col("im_reads").find({"tenant": tenant, "thread_id": thread_id})
        return {d["agent_id"]: int(d["seq"]) async for d in cursor}

    async def im_thread_shares(self, tenant: str, thread_id: str, conversation_id: str) -> bool:
        found = await self._col("im_messages").find_one(
            {
                "tenant": tenant,
                "thread_id": thread_id,
                "consult.conversation_id": conversation_id,
            },
            {"_id": 1},
        )
        return found is not None

    async def search_im_messages(
        self, tenant: str, thread_ids: Sequence[str], text: str, *, limit: int = 50
    ) -> list[ImMessage]:
        if not thread_ids or not text:
            return []
        cursor = (
            self._col("im_messages")
            .find(
                {
                    "tenant": tenant,
                    "thread_id": {"$in": list(thread_ids)},
                    "text": {"$regex": re.escape(text), "$options": "i"},
                }
            )
            .sort([("created_at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        return [from_doc(ImMessage, _clean(d)) async for d in cursor]
