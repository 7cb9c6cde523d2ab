"""The embedded store: SQLite in WAL mode, with group commit in a writer process.

Writes are named ops with plain arguments (hub/storage/sqlite_writer.py). Concurrent writes
queue up while the previous batch commits; the writer process runs the whole queue in one
transaction (one commit, one fsync with synchronous=FULL) and answers each op; only then is
each caller answered, so a returned write is durable. A failing op is rolled back to its own
savepoint and fails only its caller. Reads run in this process on their own connection
(aiosqlite), which WAL lets run beside the writer and which sees every committed write.

Records are kept as JSON documents beside the columns that are queried or kept unique.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from hub.domain import (
    Agent,
    AppendResult,
    ChannelAccount,
    Contact,
    Conversation,
    Delivery,
    Identity,
    LeftMessage,
    Message,
    Tenant,
    Upload,
    iso,
    open_key,
    utcnow,
)
from hub.domain.integrations import ApiToken, Webhook, WebhookDelivery
from hub.storage.base import (
    ClaimedDelivery,
    ConversationHit,
    Ingested,
    Position,
    ReportCell,
    ReportGroup,
    Store,
    UploadQuota,
    check_invitation_outcome,
    check_message_fields,
    check_not_append_owned,
)
from hub.storage.codec import encode_value, from_doc, to_doc
from hub.storage.sqlite_im import SqliteImStore
from hub.storage.sqlite_writer import frame_bytes
from hub.storage.writer_process import WriterGone, WriterProcess, error_from_doc

log = logging.getLogger(__name__)

MAX_BATCH = 1000
# Batches sent while the writer commits all join its next commit; more room in flight
# means a write never waits in _pending for an answer the writer does not need.
MAX_IN_FLIGHT = 16

Op = list[Any]  # [op name, argument, ...]: see sqlite_writer.OPS
Pending = tuple[Op, asyncio.Future[Any]]


def _load(text: str) -> dict[str, Any]:
    return orjson.loads(text)


def _fail_unencodable(batch: list[Pending]) -> list[Pending]:
    """The ops of `batch` that can be sent; each one that cannot be encoded fails its own
    caller, so one bad value never fails its neighbours' writes."""
    sendable = []
    for op, future in batch:
        try:
            orjson.dumps(op)
        except TypeError as exc:
            if not future.done():
                future.set_exception(exc)
        else:
            sendable.append((op, future))
    return sendable


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _as_stored(message: Message, seq: int) -> Message:
    """The message as appended: the stored document is the message with its seq, so it is
    not read back. Times are stored to the millisecond, so the answer's are cut to that too."""
    stored = message.stored_as(seq, _to_millisecond(message.created_at))
    delivery = message.delivery
    if delivery is not None:
        stored.delivery = replace(
            delivery,
            updated_at=_to_millisecond(delivery.updated_at),
            due_at=_to_millisecond(delivery.due_at) if delivery.due_at else None,
            attempt_started_at=(
                _to_millisecond(delivery.attempt_started_at)
                if delivery.attempt_started_at
                else None
            ),
        )
    return stored


def _past(
    column: str, after: Position | None, *, descending: bool, id_descending: bool
) -> tuple[str, list[Any]]:
    """The condition for the records after `after` in a list ordered by `column`, then id
    (ISO 8601 UTC strings of one format order like the moments they name)."""
    if after is None:
        return "", []
    moment, record_id = iso(after[0]), after[1]
    beyond, id_beyond = ("<" if descending else ">"), ("<" if id_descending else ">")
    return (
        f" AND ({column} {beyond} ? OR ({column} = ? AND id {id_beyond} ?))",
        [moment, moment, record_id],
    )


class SqliteStore(SqliteImStore, Store):
    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.commit_count = 0
        self._writer: WriterProcess | None = None
        self._reader: aiosqlite.Connection | None = None
        self._pending: list[Pending] = []
        self._in_flight: dict[int, list[Pending]] = {}  # by batch id, oldest first
        self._last_commit = 0
        self._flush_scheduled = False
        self._batch_ids = 0
        self._idle = asyncio.Event()  # set while no write is queued or unanswered
        self._idle.set()
        self._open = False

    # life cycle ------------------------------------------------------------------------

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=10000")
        return conn

    async def open(self) -> None:
        if self._open:
            return  # open already: a second writer would leave the first one behind
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open = True
        try:
            # The writer creates the schema before it answers anything.
            await self._write("ping")
            self._reader = await self._connect()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._open = False
        await self._idle.wait()  # every queued write answered
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    # group commit ----------------------------------------------------------------------
    # Writes queue in _pending and go to the writer once per loop turn as one batch, while
    # fewer than MAX_IN_FLIGHT batches are unanswered; the writer commits every batch that
    # has arrived by then in one transaction. So a busy hub sends big batches without waiting
    # for the previous answer, and the writer never idles while the loop is busy. All of it
    # runs in callbacks on the loop: no task of its own, no hop per write.

    async def _write(self, *op: Any) -> Any:
        if not self._open:
            raise RuntimeError("the store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((list(op), future))
        self._idle.clear()
        if len(self._in_flight) < MAX_IN_FLIGHT and not self._flush_scheduled:
            # Writes made in this same loop turn join the batch.
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._pending and len(self._in_flight) < MAX_IN_FLIGHT:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            self._batch_ids += 1
            batch_id = self._batch_ids
            try:
                frame = frame_bytes([batch_id, [op for op, _ in batch]])
            except TypeError:  # orjson's encode error: some op holds what it cannot carry
                batch = _fail_unencodable(batch)
                if not batch:
                    if not self._pending and not self._in_flight:
                        self._idle.set()
                    continue
                frame = frame_bytes([batch_id, [op for op, _ in batch]])
            self._in_flight[batch_id] = batch
            try:
                try:
                    self._writer_for_next_batch().send(frame)
                except WriterGone as gone:
                    # The pipe refused the frame, so this batch was not delivered and goes to
                    # a new writer; what the dead one had in hand has an unknown outcome.
                    self._fail_in_flight(gone, keep=batch_id)
                    self._writer_for_next_batch().send(frame)
            except Exception as exc:
                self._finish(batch_id, exc, flush=False)  # this loop sends what is left

    def _writer_for_next_batch(self) -> WriterProcess:
        if self._writer is None or self._writer.gone:
            if self._writer is not None:
                log.warning("the SQLite writer process stopped; starting a new one")
            self._writer = WriterProcess(
                self.path,
                self.synchronous,
                on_answer=self._on_answer,
                on_gone=self._on_writer_gone,
            )
        return self._writer

    def _on_answer(self, answer: list[Any]) -> None:
        batch_id, results, error, commit = answer
        if batch_id == 0:  # the writer's hello: ready, or why it could not start
            if error is not None:
                self._fail_in_flight(error_from_doc(error))
            return
        batch = self._in_flight.get(batch_id)
        if batch is None:
            log.error("the SQLite writer answered batch %s, which is not in flight", batch_id)
            return
        if error is not None:
            self._finish(batch_id, error_from_doc(error))
            return
        if commit != self._last_commit:
            self._last_commit = commit
            self.commit_count += 1
        for (_, future), (ok, value) in zip(batch, results, strict=True):
            if future.done():
                continue  # the caller went away; the write stands
            if ok:
                future.set_result(value)
            else:
                future.set_exception(error_from_doc(value))
        self._finish(batch_id, None)

    def _on_writer_gone(self, gone: WriterGone) -> None:
        self._fail_in_flight(gone)

    def _fail_in_flight(self, failure: BaseException, *, keep: int | None = None) -> None:
        for batch_id in [b for b in self._in_flight if b != keep]:
            self._finish(batch_id, failure, flush=False)
        if keep is None and self._pending:  # (with `keep`, _flush itself is running)
            self._flush()

    def _finish(self, batch_id: int, failure: BaseException | None, *, flush: bool = True) -> None:
        batch = self._in_flight.pop(batch_id, [])
        if failure is not None:
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
        if self._pending:
            if flush:
                self._flush()
        elif not self._in_flight:
            self._idle.set()

    # reading helpers -------------------------------------------------------------------

    async def _one(self, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
        # One hop: a cursor left open between hops keeps the reader's snapshot pinned, so
        # other reads on the connection would miss rows committed meanwhile.
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(sql, params)
        return _load(rows[0][0]) if rows else None

    async def _all(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(sql, params)
        return [_load(row[0]) for row in rows]

    # tenants and settings --------------------------------------------------------------

    async def create_tenant(self, tenant: Tenant) -> None:
        await self._write("create_tenant", tenant.id, to_doc(tenant))

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        doc = await self._one("SELECT doc FROM tenants WHERE id = ?", (tenant_id,))
        return from_doc(Tenant, doc) if doc else None

    async def list_tenant_ids(self) -> list[str]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall("SELECT id FROM tenants ORDER BY id", ())
        return [row[0] for row in rows]

    async def get_settings(self, tenant: str, key: str) -> dict[str, Any] | None:
        return await self._one(
            "SELECT doc FROM settings WHERE tenant = ? AND key = ?", (tenant, key)
        )

    async def put_settings(self, tenant: str, key: str, value: Mapping[str, Any]) -> None:
        await self._write("put_settings", tenant, key, encode_value(dict(value)))

    # agents ----------------------------------------------------------------------------

    async def create_agent(self, agent: Agent) -> None:
        await self._write("create_agent", to_doc(agent))

    async def get_agent(self, tenant: str, agent_id: str) -> Agent | None:
        doc = await self._one(
            "SELECT doc FROM agents WHERE id = ? AND tenant = ?", (agent_id, tenant)
        )
        return from_doc(Agent, doc) if doc else None

    async def get_agent_by_email(self, email: str) -> Agent | None:
        doc = await self._one("SELECT doc FROM agents WHERE email = ?", (email.lower(),))
        return from_doc(Agent, doc) if doc else None

    async def list_agents(
        self, tenant: str, *, after: Position | None = None, limit: int | None = None
    ) -> list[Agent]:
        past, params = _past("created_at", after, descending=False, id_descending=False)
        docs = await self._all(
            f"SELECT doc FROM agents WHERE tenant = ?{past} ORDER BY created_at, id LIMIT ?",
            [tenant, *params, -1 if limit is None else limit],
        )
        return [from_doc(Agent, d) for d in docs]

    async def update_agent(self, agent: Agent, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(agent, f)) for f in fields}
        await self._write("update_agent", agent.tenant, agent.id, changes)

    # contacts --------------------------------------------------------------------------

    async def create_contact(self, contact: Contact) -> None:
        await self._write("create_contact", to_doc(contact))

    async def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        doc = await self._one(
            "SELECT doc FROM contacts WHERE id = ? AND tenant = ?", (contact_id, tenant)
        )
        return from_doc(Contact, doc) if doc else None

    async def find_contact(self, tenant: str, identity: Identity) -> Contact | None:
        doc = await self._one(
            "SELECT c.doc FROM identities i JOIN contacts c ON c.id = i.contact_id "
            "WHERE i.tenant = ? AND i.channel = ? AND i.external_id = ?",
            (tenant, identity.channel, identity.external_id),
        )
        return from_doc(Contact, doc) if doc else None

    async def list_contacts(
        self,
        tenant: str,
        *,
        blocked_at: datetime | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        where, params = "tenant = ?", [tenant]
        if blocked_at is not None:
            # ISO 8601 UTC strings of one format order like the moments they name.
            where += " AND json_extract(doc, '$.blocked_until') > ?"
            params.append(iso(blocked_at))  # type: ignore[arg-type]
        past, past_params = _past("last_seen_at", after, descending=True, id_descending=False)
        docs = await self._all(
            f"SELECT doc FROM contacts WHERE {where}{past} ORDER BY last_seen_at DESC, id LIMIT ?",
            [*params, *past_params, limit],
        )
        return [from_doc(Contact, d) for d in docs]

    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(contact, f)) for f in fields}
        await self._write("update_contact", contact.tenant, contact.id, changes)

    async def merge_contacts(self, target: Contact, source: Contact) -> list[str]:
        return await self._write("merge_contacts", to_doc(target), to_doc(source))

    # conversations ---------------------------------------------------------------------

    async def create_conversation(self, conversation: Conversation) -> None:
        await self._write("create_conversation", to_doc(conversation))

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        outcome, doc = await self._write("open_conversation", to_doc(conversation))
        if outcome == "new":
            return conversation, True
        return from_doc(Conversation, doc), False

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        doc = await self._one(
            "SELECT doc FROM conversations WHERE id = ? AND tenant = ?", (conversation_id, tenant)
        )
        return from_doc(Conversation, doc) if doc else None

    async def update_conversation(
        self,
        conversation: Conversation,
        fields: Sequence[str],
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        check_not_append_owned(fields)
        changes = {f: encode_value(getattr(conversation, f)) for f in fields}
        expected = {k: encode_value(v) for k, v in (expect or {}).items()}
        return bool(
            await self._write(
                "update_conversation", conversation.tenant, conversation.id, changes, expected
            )
        )

    async def list_conversations(
        self,
        tenant: str,
        *,
        status: Sequence[str] | None = None,
        agent_id: str | None = None,
        channel: str | None = None,
        contact_id: str | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[Conversation]:
        where = ["tenant = ?"]
        params: list[Any] = [tenant]
        if status:
            where.append(f"status IN ({', '.join('?' for _ in status)})")
            params.extend(status)
        for column, value in (
            ("agent_id", agent_id),
            ("channel", channel),
            ("contact_id", contact_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        past, past_params = _past("created_at", after, descending=True, id_descending=True)
        docs = await self._all(
            f"SELECT doc FROM conversations WHERE {' AND '.join(where)}{past} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            [*params, *past_params, limit],
        )
        return [from_doc(Conversation, d) for d in docs]

    async def find_open_conversation(
        self,
        tenant: str,
        contact_id: str,
        channel: str,
        channel_id: str | None = None,
        thread_key: str = "",
    ) -> Conversation | None:
        doc = await self._one(
            "SELECT doc FROM conversations WHERE open_key = ? AND tenant = ?",
            (open_key(channel, channel_id, contact_id, thread_key), tenant),
        )
        return from_doc(Conversation, doc) if doc else None

    # messages --------------------------------------------------------------------------

    async def append_message(self, message: Message, *, require_open: bool = False) -> AppendResult:
        # orjson writes a UTC message (a dataclass) into the frame itself, in C; the writer
        # turns its RFC 3339 time into the stored form. Any other time zone goes as to_doc.
        record = message if message.created_at.tzinfo is UTC else to_doc(message)
        outcome, value, status, agent_id = await self._write("append_message", record, require_open)
        if outcome == "seen":
            return AppendResult(from_doc(Message, value), False)
        return AppendResult(_as_stored(message, value), True, status, agent_id)

    async def ingest(
        self, contact: Contact, conversation: Conversation, message: Message, *, now: datetime
    ) -> Ingested:
        outcome, contact_doc, conversation_doc, value, contact_created, opened = await self._write(
            "ingest", to_doc(contact), to_doc(conversation), to_doc(message), iso(now)
        )
        stored_contact = from_doc(Contact, contact_doc)
        if outcome == "blocked":
            return Ingested("blocked", stored_contact, None, None)
        stored_conversation = from_doc(Conversation, conversation_doc)
        if outcome == "seen":
            return Ingested("seen", stored_contact, stored_conversation, from_doc(Message, value))
        appended = replace(
            message,
            conversation_id=stored_conversation.id,
            sender=replace(message.sender, id=stored_contact.id, name=stored_contact.name),
        )
        return Ingested(
            "new",
            stored_contact,
            stored_conversation,
            _as_stored(appended, value),
            contact_created,
            opened,
        )

    async def find_messages_by_platform_ids(
        self, tenant: str, scope: str, platform_message_ids: Sequence[str]
    ) -> list[Message]:
        if not platform_message_ids:
            return []
        marks = ", ".join("?" for _ in platform_message_ids)
        docs = await self._all(
            "SELECT doc FROM messages WHERE tenant = ? AND platform_scope = ? "
            f"AND platform_message_id IN ({marks})",
            [tenant, scope, *platform_message_ids],
        )
        return [from_doc(Message, d) for d in docs]

    async def update_message(
        self, message: Message, fields: Sequence[str], *, expect_delivery: Delivery | None = None
    ) -> bool:
        check_message_fields(fields)
        changes = {f: encode_value(getattr(message, f)) for f in fields}
        expected = encode_value(expect_delivery) if expect_delivery is not None else None
        return bool(
            await self._write(
                "update_message",
                message.tenant,
                message.conversation_id,
                message.seq,
                changes,
                expected,
            )
        )

    async def get_message(
        self, tenant: str, conversation_id: str, message_id: str
    ) -> Message | None:
        doc = await self._one(
            "SELECT doc FROM messages WHERE conversation_id = ? AND tenant = ? "
            "AND json_extract(doc, '$.id') = ?",
            (conversation_id, tenant, message_id),
        )
        return from_doc(Message, doc) if doc else None

    # the outbox --------------------------------------------------------------------------

    async def claim_due_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        claimed = await self._write("claim_deliveries", iso(now), iso(lease_until), limit)
        return [
            ClaimedDelivery(from_doc(Message, doc), interrupted) for doc, interrupted in claimed
        ]

    # channel accounts --------------------------------------------------------------------

    async def create_channel_account(self, account: ChannelAccount) -> None:
        await self._write("create_channel_account", to_doc(account))

    async def get_channel_account(self, tenant: str, account_id: str) -> ChannelAccount | None:
        doc = await self._one(
            "SELECT doc FROM channel_accounts WHERE id = ? AND tenant = ?", (account_id, tenant)
        )
        return from_doc(ChannelAccount, doc) if doc else None

    async def list_channel_accounts(self, tenant: str | None) -> list[ChannelAccount]:
        if tenant is None:
            docs = await self._all(
                "SELECT doc FROM channel_accounts WHERE enabled = 1 ORDER BY tenant, created_at",
                (),
            )
        else:
            docs = await self._all(
                "SELECT doc FROM channel_accounts WHERE tenant = ? ORDER BY created_at, id",
                (tenant,),
            )
        return [from_doc(ChannelAccount, doc) for doc in docs]

    async def update_channel_account(self, account: ChannelAccount, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(account, f)) for f in fields}
        await self._write("update_channel_account", account.tenant, account.id, changes)

    async def delete_channel_account(self, tenant: str, account_id: str) -> None:
        await self._write("delete_channel_account", tenant, account_id)

    async def list_messages(
        self,
        tenant: str,
        conversation_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Message]:
        if before_seq is None:
            docs = await self._all(
                "SELECT doc FROM messages WHERE conversation_id = ? AND tenant = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (conversation_id, tenant, after_seq, limit),
            )
            return [from_doc(Message, d) for d in docs]
        docs = await self._all(
            "SELECT doc FROM messages WHERE conversation_id = ? AND tenant = ? AND seq > ? "
            "AND seq < ? ORDER BY seq DESC LIMIT ?",
            (conversation_id, tenant, after_seq, before_seq, limit),
        )
        return [from_doc(Message, d) for d in reversed(docs)]

    # left messages ---------------------------------------------------------------------

    async def create_left_message(self, left: LeftMessage) -> None:
        await self._write("create_left_message", to_doc(left))

    async def list_left_messages(
        self,
        tenant: str,
        *,
        handled: bool | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[LeftMessage]:
        where, params = "tenant = ?", [tenant]
        if handled is not None:
            where += " AND handled = ?"
            params.append(int(handled))  # type: ignore[arg-type]
        past, past_params = _past("created_at", after, descending=True, id_descending=True)
        docs = await self._all(
            f"SELECT doc FROM left_messages WHERE {where}{past} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            [*params, *past_params, limit],
        )
        return [from_doc(LeftMessage, d) for d in docs]

    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(left, f)) for f in fields}
        await self._write("update_left_message", left.tenant, left.id, changes)

    async def get_left_message(self, tenant: str, left_id: str) -> LeftMessage | None:
        doc = await self._one(
            "SELECT doc FROM left_messages WHERE id = ? AND tenant = ?", (left_id, tenant)
        )
        return from_doc(LeftMessage, doc) if doc else None

    async def update_left_message_if(
        self, left: LeftMessage, fields: Sequence[str], expect: Mapping[str, Any]
    ) -> bool:
        changes = {f: encode_value(getattr(left, f)) for f in fields}
        expected = {k: encode_value(v) for k, v in expect.items()}
        return bool(
            await self._write("update_left_message_if", left.tenant, left.id, changes, expected)
        )

    # search and ratings ------------------------------------------------------------------

    async def search_contacts(
        self, tenant: str, text: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Contact]:
        where = [
            "s.body LIKE ? ESCAPE '\\'",
            "c.tenant = ?",
            "json_extract(c.doc, '$.merged_into') IS NULL",
        ]
        params: list[Any] = [like_pattern(text), tenant]
        seen = "json_extract(c.doc, '$.last_seen_at')"
        if after is not None:
            where.append(f"({seen} < ? OR ({seen} = ? AND c.id > ?))")
            params.extend([iso(after[0]), iso(after[0]), after[1]])
        docs = await self._all(
            "SELECT c.doc FROM contact_search s JOIN contacts c ON c.rowid = s.rowid "
            f"WHERE {' AND '.join(where)} ORDER BY {seen} DESC, c.id LIMIT ?",
            [*params, limit],
        )
        return [from_doc(Contact, d) for d in docs]

    async def search_conversations(
        self,
        tenant: str,
        text: str,
        *,
        visible_to: str | None = None,
        limit: int = 50,
        after: Position | None = None,
    ) -> list[ConversationHit]:
        where: list[str] = []
        params: list[Any] = [like_pattern(text), tenant, tenant]
        if visible_to is not None:
            where.append("(c.agent_id = ? OR c.status = 'queued')")
            params.append(visible_to)
        if after is not None:
            where.append("(c.created_at < ? OR (c.created_at = ? AND c.id < ?))")
            params.extend([iso(after[0]), iso(after[0]), after[1]])
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(
            "SELECT c.doc, m.doc FROM (SELECT conversation_id, max(seq) AS seq "
            "FROM message_search WHERE body LIKE ? ESCAPE '\\' AND tenant = ? "
            "GROUP BY conversation_id) hit "
            "JOIN conversations c ON c.id = hit.conversation_id AND c.tenant = ? "
            "JOIN messages m ON m.conversation_id = hit.conversation_id AND m.seq = hit.seq "
            f"WHERE {' AND '.join(where) or '1'} "
            "ORDER BY c.created_at DESC, c.id DESC LIMIT ?",
            [*params, limit],
        )
        return [
            ConversationHit(
                from_doc(Conversation, _load(conversation)), from_doc(Message, _load(message))
            )
            for conversation, message in rows
        ]

    async def list_rated_conversations(
        self, tenant: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Conversation]:
        closed = "json_extract(doc, '$.closed_at')"
        where = ["tenant = ?", "json_extract(doc, '$.rating') IS NOT NULL"]
        params: list[Any] = [tenant]
        if after is not None:
            where.append(f"({closed} < ? OR ({closed} = ? AND id < ?))")
            params.extend([iso(after[0]), iso(after[0]), after[1]])
        docs = await self._all(
            f"SELECT doc FROM conversations WHERE {' AND '.join(where)} "
            f"ORDER BY {closed} DESC, id DESC LIMIT ?",
            [*params, limit],
        )
        return [from_doc(Conversation, d) for d in docs]

    # uploads ---------------------------------------------------------------------------

    async def create_upload(self, upload: Upload, quota: UploadQuota) -> str | None:
        return await self._write("create_upload", to_doc(upload), to_doc(quota))

    async def get_uploads(self, tenant: str, upload_ids: Sequence[str]) -> list[Upload]:
        if not upload_ids:
            return []
        marks = ", ".join("?" for _ in upload_ids)
        docs = await self._all(
            f"SELECT doc FROM uploads WHERE tenant = ? AND id IN ({marks})",
            [tenant, *upload_ids],
        )
        return [from_doc(Upload, d) for d in docs]

    async def upload_totals(self, tenant: str) -> tuple[int, int]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(
            "SELECT files, bytes FROM upload_totals WHERE tenant = ?", (tenant,)
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    async def list_orphan_uploads(self, created_before: datetime, limit: int) -> list[Upload]:
        docs = await self._all(
            "SELECT doc FROM uploads WHERE message_id IS NULL AND created_at < ? "
            "ORDER BY created_at LIMIT ?",
            (iso(created_before), limit),
        )
        return [from_doc(Upload, d) for d in docs]

    async def delete_orphan_upload(self, tenant: str, upload_id: str) -> bool:
        return bool(await self._write("delete_orphan_upload", tenant, upload_id))

    # integrations ----------------------------------------------------------------------

    async def create_api_token(self, token: ApiToken) -> None:
        await self._write("create_api_token", to_doc(token))

    async def list_api_tokens(self, tenant: str) -> list[ApiToken]:
        docs = await self._all(
            "SELECT doc FROM api_tokens WHERE tenant = ? ORDER BY created_at, id", (tenant,)
        )
        return [from_doc(ApiToken, d) for d in docs]

    async def find_api_token(self, token_hash: str) -> ApiToken | None:
        doc = await self._one("SELECT doc FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return from_doc(ApiToken, doc) if doc else None

    async def touch_api_token(self, tenant: str, token_id: str, used_at: datetime) -> None:
        await self._write("touch_api_token", tenant, token_id, iso(used_at))

    async def delete_api_token(self, tenant: str, token_id: str) -> bool:
        return bool(await self._write("delete_api_token", tenant, token_id))

    async def create_webhook(self, webhook: Webhook) -> None:
        await self._write("create_webhook", to_doc(webhook))

    async def list_webhooks(self, tenant: str) -> list[Webhook]:
        docs = await self._all(
            "SELECT doc FROM webhooks WHERE tenant = ? ORDER BY created_at, id", (tenant,)
        )
        return [from_doc(Webhook, d) for d in docs]

    async def get_webhook(self, tenant: str, webhook_id: str) -> Webhook | None:
        doc = await self._one(
            "SELECT doc FROM webhooks WHERE id = ? AND tenant = ?", (webhook_id, tenant)
        )
        return from_doc(Webhook, doc) if doc else None

    async def update_webhook(self, webhook: Webhook, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(webhook, f)) for f in fields}
        return bool(await self._write("update_webhook", webhook.tenant, webhook.id, changes))

    async def delete_webhook(self, tenant: str, webhook_id: str) -> bool:
        return bool(await self._write("delete_webhook", tenant, webhook_id))

    async def create_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            await self._write("create_webhook_deliveries", [to_doc(d) for d in deliveries])

    async def claim_due_webhook_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        docs = await self._write("claim_webhook_deliveries", iso(now), iso(lease_until), limit)
        return [from_doc(WebhookDelivery, d) for d in docs]

    async def update_webhook_delivery(
        self, delivery: WebhookDelivery, fields: Sequence[str]
    ) -> bool:
        changes = {f: encode_value(getattr(delivery, f)) for f in fields}
        return bool(
            await self._write("update_webhook_delivery", delivery.tenant, delivery.id, changes)
        )

    async def get_webhook_delivery(self, tenant: str, delivery_id: str) -> WebhookDelivery | None:
        doc = await self._one(
            "SELECT doc FROM webhook_deliveries WHERE id = ? AND tenant = ?",
            (delivery_id, tenant),
        )
        return from_doc(WebhookDelivery, doc) if doc else None

    async def list_webhook_deliveries(
        self, tenant: str, webhook_id: str, *, limit: int = 50
    ) -> list[WebhookDelivery]:
        docs = await self._all(
            "SELECT doc FROM webhook_deliveries WHERE webhook_id = ? AND tenant = ? "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (webhook_id, tenant, limit),
        )
        return [from_doc(WebhookDelivery, d) for d in docs]

    # tenants, for the platform administrator -------------------------------------------

    async def list_tenants(self) -> list[Tenant]:
        return [
            from_doc(Tenant, d) for d in await self._all("SELECT doc FROM tenants ORDER BY id", ())
        ]

    async def update_tenant(self, tenant: Tenant, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(tenant, f)) for f in fields}
        return bool(await self._write("update_tenant", tenant.id, changes))

    async def delete_tenant(self, tenant_id: str) -> bool:
        return bool(await self._write("delete_tenant", tenant_id))

    # invitations to chat: counts per agent per day -------------------------------------

    async def count_invitation(self, tenant: str, day: str, agent_id: str, outcome: str) -> None:
        check_invitation_outcome(outcome)
        await self._write("count_invitation", tenant, day, agent_id, outcome)

    async def invitation_counts(self, tenant: str, day: str) -> dict[str, dict[str, int]]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(
            "SELECT agent_id, invited, accepted, refused FROM invitation_counts "
            "WHERE tenant = ? AND day = ?",
            (tenant, day),
        )
        return {row[0]: {"invited": row[1], "accepted": row[2], "refused": row[3]} for row in rows}

    # the bots' knowledge base and metrics -------------------------------------------------

    async def list_kb_articles(self, tenant: str) -> list[dict[str, Any]]:
        return await self._all(
            "SELECT doc FROM kb_articles WHERE tenant = ? ORDER BY created_at, id", (tenant,)
        )

    async def put_kb_articles(self, tenant: str, articles: Sequence[Mapping[str, Any]]) -> None:
        if articles:
            await self._write("put_kb_articles", tenant, [dict(a) for a in articles])

    async def delete_kb_article(self, tenant: str, article_id: str) -> bool:
        return bool(await self._write("delete_kb_article", tenant, article_id))

    async def add_bot_stats(
        self, tenant: str, day: str, counts: Mapping[str, int], unanswered: str | None = None
    ) -> None:
        await self._write("add_bot_stats", tenant, day, dict(counts), unanswered, iso(utcnow()))

    async def list_bot_stats(self, tenant: str, since_day: str) -> list[dict[str, Any]]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(
            "SELECT day, name, count FROM bot_stats WHERE tenant = ? AND day >= ? ORDER BY day",
            (tenant, since_day),
        )
        days: dict[str, dict[str, int]] = {}
        for day, name, count in rows:
            days.setdefault(day, {})[name] = int(count)
        return [{"day": day, "counts": counts} for day, counts in days.items()]

    async def list_unanswered(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        assert self._reader is not None
        rows = await self._reader.execute_fetchall(
            "SELECT text, count, last_at FROM bot_unanswered WHERE tenant = ? "
            "ORDER BY count DESC, last_at DESC LIMIT ?",
            (tenant, limit),
        )
        return [{"text": t, "count": int(c), "last_at": at} for t, c, at in rows]

    # reports ---------------------------------------------------------------------------

    async def report(
        self, tenant: str, start: datetime, end: datetime, group: ReportGroup
    ) -> list[ReportCell]:
        # On a connection of its own, in a thread: a report over a long range reads for a
        # while, and the shared reader must keep answering the inbox meanwhile.
        return await asyncio.to_thread(_report, self.path, tenant, iso(start), iso(end), group)


def _quarter_hour(column: str) -> str:
    return (
        f"substr({column}, 1, 14) || "
        f"printf('%02d', CAST(substr({column}, 15, 2) AS INTEGER) / 15 * 15)"
    )


_REPORT_KEYS: dict[str, tuple[str, str]] = {
    # group: (the conversation's key, a left message's key; `c` is its conversation)
    "agent": ("coalesce(agent_id, '')", "coalesce(c.agent_id, '')"),
    "skill": (
        "coalesce(json_extract(doc, '$.skill'), '')",
        "coalesce(json_extract(c.doc, '$.skill'), '')",
    ),
    "channel": ("channel", "coalesce(c.channel, '')"),
    "quarter_hour": (_quarter_hour("created_at"), _quarter_hour("l.created_at")),
}


def _seconds(later: str, earlier: str) -> str:
    """A duration in seconds between two times of the row, NULL unless both are set and in
    order (a clock step or a reopened conversation can make them cross)."""
    a, b = earlier, later
    # Whole seconds, then the milliseconds of the stored form ("…:07.890Z"): julianday's
    # floating-point days would turn 90 s into 89.99999.
    span = (
        f"(CAST(strftime('%s', {b}) AS INTEGER) - CAST(strftime('%s', {a}) AS INTEGER)"
        f" + (CAST(substr({b}, 21, 3) AS INTEGER) - CAST(substr({a}, 21, 3) AS INTEGER))"
        " / 1000.0)"
    )
    return f"CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL AND {b} >= {a} THEN {span} END"


# The fields a report reads, taken out of the document in one json_extract (one parse of
# the document per conversation; a json_extract per field parsed it a dozen times).
_REPORT_FIELDS = (
    "messages_in",
    "messages_out",
    "created_at",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "closed_at",
    "rating.score",
)


def _report(path: Path, tenant: str, start: str, end: str, group: str) -> list[ReportCell]:
    conversation_key, left_key = _REPORT_KEYS[group]
    picked = ", ".join(f"'$.{name}'" for name in _REPORT_FIELDS)
    fields = ", ".join(
        f"json_extract(v, '$[{n}]') AS {name.replace('.', '_')}"
        for n, name in enumerate(_REPORT_FIELDS)
    )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cells: dict[str, ReportCell] = {}
        rows = conn.execute(
            f"""WITH picked AS MATERIALIZED (
                SELECT {conversation_key} AS key, json_extract(doc, {picked}) AS v
                FROM conversations WHERE tenant = ? AND created_at >= ? AND created_at < ?),
            extracted AS MATERIALIZED (SELECT key, {fields} FROM picked)
            SELECT key, count(*), sum(coalesce(messages_in, 0)),
                   sum(coalesce(messages_out, 0)),
                   sum(wait), count(wait), sum(first_response), count(first_response),
                   sum(handle), count(handle), sum(rating_score), count(rating_score)
            FROM (SELECT key, messages_in, messages_out, rating_score,
                         {_seconds("assigned_at", "queued_at")} AS wait,
                         {_seconds("first_response_at", "created_at")} AS first_response,
                         {_seconds("closed_at", "assigned_at")} AS handle
                  FROM extracted)
            GROUP BY key""",
            (tenant, start, end),
        )
        for key, *sums in rows:
            cells[key] = ReportCell(key, *(value or 0 for value in sums))
        left = conn.execute(
            f"""SELECT {left_key} AS key, count(*) FROM left_messages l
                LEFT JOIN conversations c
                  ON c.id = json_extract(l.doc, '$.conversation_id') AND c.tenant = l.tenant
                WHERE l.tenant = ? AND l.created_at >= ? AND l.created_at < ?
                GROUP BY key""",
            (tenant, start, end),
        )
        for key, count in left:
            cells.setdefault(key, ReportCell(key)).left_messages = count
        return list(cells.values())
    finally:
        conn.close()
