"""The embedded store: SQLite in WAL mode through aiosqlite, with group commit.

Every write is a small function queued for the single writer connection. The writer runs all
queued functions in one transaction on its thread (one hop, one commit, one fsync with
synchronous=FULL), then answers each caller; a failing function is rolled back to its own
savepoint and fails only its caller. Reads use a second connection, which WAL lets run beside
the writer and which sees every committed write.

Records are kept as JSON documents beside the columns that are queried or kept unique.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import orjson

from hub.domain import (
    Agent,
    AppendResult,
    Contact,
    Conversation,
    ConversationStatus,
    Identity,
    LeftMessage,
    Message,
    Tenant,
    iso,
)
from hub.errors import Conflict, NotFound
from hub.storage.base import Store, check_not_append_owned
from hub.storage.codec import encode_value, from_doc, preview_of, to_doc

T = TypeVar("T")
WriteOp = Callable[[sqlite3.Connection], Any]

SCHEMA_VERSION = 1
MAX_BATCH = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (
    tenant TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS agents_tenant ON agents (tenant, created_at);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    tenant TEXT NOT NULL, channel TEXT NOT NULL, external_id TEXT NOT NULL,
    contact_id TEXT NOT NULL, PRIMARY KEY (tenant, channel, external_id));
CREATE INDEX IF NOT EXISTS identities_contact ON identities (contact_id);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL, agent_id TEXT,
    contact_id TEXT NOT NULL, channel TEXT NOT NULL, created_at TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_status ON conversations (tenant, status, created_at);
CREATE INDEX IF NOT EXISTS conversations_agent ON conversations (tenant, agent_id, created_at);
CREATE INDEX IF NOT EXISTS conversations_contact
    ON conversations (tenant, contact_id, channel, created_at);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, tenant TEXT NOT NULL,
    client_id TEXT, platform_message_id TEXT, doc TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_client
    ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS messages_platform
    ON messages (tenant, platform_message_id) WHERE platform_message_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS left_messages (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, handled INTEGER NOT NULL,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS left_messages_tenant ON left_messages (tenant, handled, created_at);
"""


def _dump(doc: Mapping[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _load(text: str) -> dict[str, Any]:
    return orjson.loads(text)


def _run_batch(conn: sqlite3.Connection, ops: list[WriteOp]) -> list[tuple[bool, Any]]:
    results: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            conn.execute("SAVEPOINT op")
            try:
                results.append((True, op(conn)))
            except Exception as exc:
                conn.execute("ROLLBACK TO op")
                results.append((False, exc))
            conn.execute("RELEASE op")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


class SqliteStore(Store):
    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.commit_count = 0
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._pending: list[tuple[WriteOp, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer_task: asyncio.Task[None] | None = None

    # life cycle ------------------------------------------------------------------------

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self.synchronous}")
        await conn.execute("PRAGMA busy_timeout=10000")
        await conn.execute("PRAGMA foreign_keys=OFF")
        return conn

    async def open(self) -> None:
        if self._writer_task is not None:
            return  # open already: a second writer would leave the first one behind
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._writer.executescript(SCHEMA)
        await self._writer.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._reader = await self._connect()
        self._closing = False
        self._wake = asyncio.Event()
        self._writer_task = asyncio.get_running_loop().create_task(self._write_loop())

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._writer_task is not None:
            await self._writer_task
            self._writer_task = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    # group commit ----------------------------------------------------------------------

    async def _write(self, op: WriteOp) -> Any:
        if self._closing or self._writer_task is None:
            raise RuntimeError("the store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        self._wake.set()
        return await future

    async def _write_loop(self) -> None:
        assert self._writer is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    results = await self._run_on_writer_thread([op for op, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.commit_count += 1
                for (_, future), (ok, value) in zip(batch, results, strict=True):
                    if future.done():
                        continue  # the caller went away; the write stands
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
            if self._closing:
                return

    async def _run_on_writer_thread(self, ops: list[WriteOp]) -> list[tuple[bool, Any]]:
        # aiosqlite has no public call for "run this function on the connection's thread";
        # its _execute is that call. One hop per batch instead of one per statement is what
        # makes group commit cheap.
        assert self._writer is not None
        writer = self._writer
        return await writer._execute(lambda: _run_batch(writer._conn, ops))

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
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO tenants (id, doc) VALUES (?, ?)",
                    (tenant.id, _dump(to_doc(tenant))),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"tenant {tenant.id} exists", code="tenant_exists") from exc

        await self._write(op)

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
        text = _dump(encode_value(dict(value)))
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO settings (tenant, key, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant, key) DO UPDATE SET doc = excluded.doc",
                (tenant, key, text),
            )
        )

    # agents ----------------------------------------------------------------------------

    async def create_agent(self, agent: Agent) -> None:
        doc = to_doc(agent)

        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO agents (id, tenant, email, created_at, doc) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (agent.id, agent.tenant, agent.email.lower(), doc["created_at"], _dump(doc)),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("an agent with this email exists", code="email_taken") from exc

        await self._write(op)

    async def get_agent(self, tenant: str, agent_id: str) -> Agent | None:
        doc = await self._one(
            "SELECT doc FROM agents WHERE id = ? AND tenant = ?", (agent_id, tenant)
        )
        return from_doc(Agent, doc) if doc else None

    async def get_agent_by_email(self, email: str) -> Agent | None:
        doc = await self._one("SELECT doc FROM agents WHERE email = ?", (email.lower(),))
        return from_doc(Agent, doc) if doc else None

    async def list_agents(self, tenant: str) -> list[Agent]:
        docs = await self._all(
            "SELECT doc FROM agents WHERE tenant = ? ORDER BY created_at, id", (tenant,)
        )
        return [from_doc(Agent, d) for d in docs]

    async def update_agent(self, agent: Agent, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(agent, f)) for f in fields}

        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT doc FROM agents WHERE id = ? AND tenant = ?", (agent.id, agent.tenant)
            ).fetchone()
            if row is None:
                raise NotFound("no such agent", code="agent_not_found")
            doc = _load(row[0]) | changes
            try:
                conn.execute(
                    "UPDATE agents SET email = ?, doc = ? WHERE id = ?",
                    (str(doc["email"]).lower(), _dump(doc), agent.id),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("an agent with this email exists", code="email_taken") from exc

        await self._write(op)

    # contacts --------------------------------------------------------------------------

    @staticmethod
    def _insert_identities(conn: sqlite3.Connection, contact: Contact) -> None:
        try:
            conn.executemany(
                "INSERT INTO identities (tenant, channel, external_id, contact_id) "
                "VALUES (?, ?, ?, ?)",
                [
                    (contact.tenant, i.channel, i.external_id, contact.id)
                    for i in contact.identities
                ],
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                "that identity belongs to another contact", code="identity_taken"
            ) from exc

    async def create_contact(self, contact: Contact) -> None:
        text = _dump(to_doc(contact))

        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO contacts (id, tenant, doc) VALUES (?, ?, ?)",
                    (contact.id, contact.tenant, text),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("contact exists", code="contact_exists") from exc
            self._insert_identities(conn, contact)

        await self._write(op)

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
        self, tenant: str, *, blocked_at: datetime | None = None, limit: int = 100
    ) -> list[Contact]:
        where, params = "tenant = ?", [tenant]
        if blocked_at is not None:
            # ISO 8601 UTC strings of one format order like the moments they name.
            where += " AND json_extract(doc, '$.blocked_until') > ?"
            params.append(iso(blocked_at))  # type: ignore[arg-type]
        docs = await self._all(
            f"SELECT doc FROM contacts WHERE {where} "
            "ORDER BY json_extract(doc, '$.last_seen_at') DESC, id LIMIT ?",
            [*params, limit],
        )
        return [from_doc(Contact, d) for d in docs]

    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(contact, f)) for f in fields}

        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT doc FROM contacts WHERE id = ? AND tenant = ?", (contact.id, contact.tenant)
            ).fetchone()
            if row is None:
                raise NotFound("no such contact", code="contact_not_found")
            if "identities" in changes:
                conn.execute("DELETE FROM identities WHERE contact_id = ?", (contact.id,))
                self._insert_identities(conn, contact)
            conn.execute(
                "UPDATE contacts SET doc = ? WHERE id = ?",
                (_dump(_load(row[0]) | changes), contact.id),
            )

        with self.contact_write_guard(contact.tenant, contact.id):
            await self._write(op)

    # conversations ---------------------------------------------------------------------

    async def create_conversation(self, conversation: Conversation) -> None:
        doc = to_doc(conversation)

        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO conversations "
                    "(id, tenant, status, agent_id, contact_id, channel, created_at, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation.id,
                        conversation.tenant,
                        conversation.status,
                        conversation.agent_id,
                        conversation.contact_id,
                        conversation.channel,
                        doc["created_at"],
                        _dump(doc),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("conversation exists", code="conversation_exists") from exc

        with self.contact_write_guard(conversation.tenant, conversation.contact_id):
            await self._write(op)

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

        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT doc FROM conversations WHERE id = ? AND tenant = ?",
                (conversation.id, conversation.tenant),
            ).fetchone()
            if row is None:
                return False
            doc = _load(row[0])
            if any(doc.get(k) != v for k, v in expected.items()):
                return False
            doc |= changes
            # Every queried column follows the document, or filters would see old values.
            conn.execute(
                "UPDATE conversations SET status = ?, agent_id = ?, contact_id = ?, channel = ?, "
                "created_at = ?, doc = ? WHERE id = ?",
                (
                    doc["status"],
                    doc["agent_id"],
                    doc["contact_id"],
                    doc["channel"],
                    doc["created_at"],
                    _dump(doc),
                    conversation.id,
                ),
            )
            return True

        with self.contact_write_guard(conversation.tenant, conversation.contact_id):
            return bool(await self._write(op))

    async def list_conversations(
        self,
        tenant: str,
        *,
        status: Sequence[str] | None = None,
        agent_id: str | None = None,
        channel: str | None = None,
        contact_id: str | None = None,
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
        params.append(limit)
        docs = await self._all(
            f"SELECT doc FROM conversations WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            params,
        )
        return [from_doc(Conversation, d) for d in docs]

    async def find_open_conversation(
        self, tenant: str, contact_id: str, channel: str
    ) -> Conversation | None:
        doc = await self._one(
            "SELECT doc FROM conversations WHERE tenant = ? AND contact_id = ? AND channel = ? "
            "AND status != ? ORDER BY created_at DESC LIMIT 1",
            (tenant, contact_id, channel, ConversationStatus.CLOSED.value),
        )
        return from_doc(Conversation, doc) if doc else None

    # messages --------------------------------------------------------------------------

    async def append_message(self, message: Message) -> AppendResult:
        doc = to_doc(message)

        def op(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
            row = conn.execute(
                "SELECT doc FROM conversations WHERE id = ? AND tenant = ?",
                (message.conversation_id, message.tenant),
            ).fetchone()
            if row is None:
                raise NotFound("no such conversation", code="conversation_not_found")
            if message.client_id is not None:
                seen = conn.execute(
                    "SELECT doc FROM messages WHERE conversation_id = ? AND client_id = ?",
                    (message.conversation_id, message.client_id),
                ).fetchone()
                if seen:
                    return _load(seen[0]), False
            if message.platform_message_id is not None:
                seen = conn.execute(
                    "SELECT doc FROM messages WHERE tenant = ? AND platform_message_id = ?",
                    (message.tenant, message.platform_message_id),
                ).fetchone()
                if seen:
                    return _load(seen[0]), False
            conversation = _load(row[0])
            seq = int(conversation["last_seq"]) + 1
            stored = doc | {"seq": seq}
            conversation |= {
                "last_seq": seq,
                "last_message_at": stored["created_at"],
                "last_message_preview": preview_of(stored),
            }
            conn.execute(
                "INSERT INTO messages "
                "(conversation_id, seq, tenant, client_id, platform_message_id, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    message.conversation_id,
                    seq,
                    message.tenant,
                    message.client_id,
                    message.platform_message_id,
                    _dump(stored),
                ),
            )
            conn.execute(
                "UPDATE conversations SET doc = ? WHERE id = ?",
                (_dump(conversation), message.conversation_id),
            )
            return stored, True

        stored, created = await self._write(op)
        return AppendResult(from_doc(Message, stored), created)

    async def list_messages(
        self, tenant: str, conversation_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[Message]:
        docs = await self._all(
            "SELECT doc FROM messages WHERE conversation_id = ? AND tenant = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (conversation_id, tenant, after_seq, limit),
        )
        return [from_doc(Message, d) for d in docs]

    # left messages ---------------------------------------------------------------------

    async def create_left_message(self, left: LeftMessage) -> None:
        doc = to_doc(left)
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO left_messages (id, tenant, handled, created_at, doc) "
                "VALUES (?, ?, ?, ?, ?)",
                (left.id, left.tenant, int(left.handled), doc["created_at"], _dump(doc)),
            )
        )

    async def list_left_messages(
        self, tenant: str, *, handled: bool | None = None, limit: int = 100
    ) -> list[LeftMessage]:
        where, params = "tenant = ?", [tenant]
        if handled is not None:
            where += " AND handled = ?"
            params.append(int(handled))  # type: ignore[arg-type]
        docs = await self._all(
            f"SELECT doc FROM left_messages WHERE {where} ORDER BY created_at DESC LIMIT ?",
            [*params, limit],
        )
        return [from_doc(LeftMessage, d) for d in docs]

    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(left, f)) for f in fields}

        def op(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT doc FROM left_messages WHERE id = ? AND tenant = ?", (left.id, left.tenant)
            ).fetchone()
            if row is None:
                raise NotFound("no such left message", code="left_message_not_found")
            doc = _load(row[0]) | changes
            conn.execute(
                "UPDATE left_messages SET handled = ?, doc = ? WHERE id = ?",
                (int(bool(doc["handled"])), _dump(doc), left.id),
            )

        await self._write(op)
