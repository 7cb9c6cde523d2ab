"""The shared store: PostgreSQL through asyncpg, for several hub nodes on one database.

Each write is one transaction on a pooled connection, committed before the call returns.
What SQLite gets from its single writer, this store gets from the database itself, so that
it holds across processes (several nodes):
* A conversation's row is locked (SELECT … FOR UPDATE) by the append that takes its next
  seq, and by every conditional update of it, so seqs are consecutive and a compare-and-set
  compares against the latest committed record. Every read-modify-write locks its row.
* Unique indexes keep a client id per conversation, a platform message id per channel
  account, an identity per contact, one open conversation per key, an agent per email. A
  write that loses a race to a concurrent one (its insert meets the other's row) is run
  again from the start (`races=True`), and then finds the other's record: the same answer
  SQLite's serial writer gives.
* The outbox is claimed with FOR UPDATE SKIP LOCKED: two nodes claiming at once take
  different messages, and a claim re-checks due_at on the row it locks.
* A tenant's upload totals row is locked by each upload's quota check.
* The enterprise IM (postgres_im.py, which this store inherits): a thread's row is locked by
  the append that checks its sender's membership and takes its next seq, and by every
  change of the thread, so a member removed on one node cannot append on another after.
Transactions run at READ COMMITTED (each statement sees what committed before it), with
the locks above; deadlocks and serialization failures are retried like races.

Text columns may not hold NUL in PostgreSQL. The boundary (hub/boundary.py) refuses NUL in
what clients send and repairs it in headers, but a channel or a migration must never fail a
write with it: every text parameter passes a codec that turns NUL into U+FFFD (documents are
JSON text, where NUL is written as the escape "\\u0000" and reads back exactly).

Adding a Store method here:
* a read is one statement: `await self._one(sql, *args)` (a document or None) or
  `await self._all(sql, *args)` (documents), decoded with codec.from_doc;
* a write is a module-level `async def _op(conn, ...)` holding its statements (a
  read-modify-write locks the row it reads, FOR UPDATE), run in one transaction by
  `await self._write(_op, ...)`; `races=True` when a unique index may turn away a
  concurrent twin and a second run would find its record;
* a new table, column or index is the next Migration in postgres_schema.py;
* the helpers the ops share (documents, placeholders, search text) are in postgres_sql.py.

Reports are one GROUP BY over the tenant's conversations in the range (their index on tenant
and created_at), reading the few fields they need from the documents (postgres_sql.json_of).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

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
    upload_ids,
)
from hub.errors import Conflict, NotFound
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
from hub.storage.codec import encode_value, from_doc, message_direction, preview_of, to_doc
from hub.storage.postgres_bots import PostgresBots
from hub.storage.postgres_im import PostgresImStore
from hub.storage.postgres_integrations import PostgresIntegrations
from hub.storage.postgres_schema import migrate
from hub.storage.postgres_sql import (
    FIELD_SEPARATOR,
    Connection,
    Doc,
    _dump,
    _duplicate_is_conflict,
    _load,
    _mark_uploads_used,
    _marks,
    _row_doc,
    json_of,
    like_pattern,
    searchable,
)

log = logging.getLogger(__name__)

R = TypeVar("R")

# A write that lost a race (or a deadlock) runs again; more losses in a row than this mean
# something else is wrong, and the error goes to the caller.
MAX_ATTEMPTS = 8
RETRIED = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def _without_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd")


async def _prepare_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "text", schema="pg_catalog", encoder=_without_nul, decoder=str, format="text"
    )


def _past(
    column: str, after: Position | None, first: int, *, descending: bool, id_descending: bool
) -> tuple[str, list[Any]]:
    """The condition for the records after `after` in a list ordered by `column`, then id
    (ISO 8601 UTC strings of one format order like the moments they name); its parameters
    are numbered from `first`."""
    if after is None:
        return "", []
    beyond, id_beyond = ("<" if descending else ">"), ("<" if id_descending else ">")
    return (
        f" AND ({column} {beyond} ${first} OR ({column} = ${first} AND id {id_beyond} "
        f"${first + 1}))",
        [iso(after[0]), after[1]],
    )


def _lost_race(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError) or (
        isinstance(exc, Conflict) and isinstance(exc.__cause__, asyncpg.UniqueViolationError)
    )


async def _locked(conn: Connection, table: str, tenant: str, record_id: str) -> Doc | None:
    return await _row_doc(
        conn, f"SELECT doc FROM {table} WHERE id = $1 AND tenant = $2 FOR UPDATE", record_id, tenant
    )


async def _changed_doc(
    conn: Connection, table: str, tenant: str, record_id: str, changes: Doc, missing: str
) -> Doc:
    """The stored document of a tenant's record (now locked) with `changes` applied, or
    NotFound "no such <missing>" (code <missing>_not_found)."""
    doc = await _locked(conn, table, tenant, record_id)
    if doc is None:
        raise NotFound(f"no such {missing.replace('_', ' ')}", code=f"{missing}_not_found")
    return doc | changes


# The write ops: each runs inside the transaction `_write` opened. -------------------------


async def _create_tenant(conn: Connection, tenant_id: str, doc: Doc) -> None:
    with _duplicate_is_conflict(f"tenant {tenant_id} exists", code="tenant_exists"):
        await conn.execute("INSERT INTO tenants (id, doc) VALUES ($1, $2)", tenant_id, _dump(doc))


async def _put_settings(conn: Connection, tenant: str, key: str, value: Doc) -> None:
    await conn.execute(
        "INSERT INTO settings (tenant, key, doc) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant, key) DO UPDATE SET doc = excluded.doc",
        tenant,
        key,
        _dump(value),
    )


async def _create_agent(conn: Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("an agent with this email exists", code="email_taken"):
        await conn.execute(
            "INSERT INTO agents (id, tenant, email, created_at, doc) VALUES ($1, $2, $3, $4, $5)",
            doc["id"],
            doc["tenant"],
            str(doc["email"]).lower(),
            doc["created_at"],
            _dump(doc),
        )


async def _update_agent(conn: Connection, tenant: str, agent_id: str, changes: Doc) -> None:
    doc = await _changed_doc(conn, "agents", tenant, agent_id, changes, "agent")
    with _duplicate_is_conflict("an agent with this email exists", code="email_taken"):
        await conn.execute(
            "UPDATE agents SET email = $1, doc = $2 WHERE id = $3",
            str(doc["email"]).lower(),
            _dump(doc),
            agent_id,
        )


def _contact_search_body(doc: Doc) -> str:
    fields = [str(doc.get(name) or "") for name in ("name", "email", "phone", "notes")]
    fields.append(FIELD_SEPARATOR.join(str(tag) for tag in doc.get("tags") or []))
    fields.append(
        FIELD_SEPARATOR.join(str(i.get("external_id", "")) for i in doc.get("identities") or [])
    )
    return searchable(FIELD_SEPARATOR.join(fields))


async def _insert_identities(conn: Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("that identity belongs to another contact", code="identity_taken"):
        await conn.executemany(
            "INSERT INTO identities (tenant, channel, external_id, contact_id) "
            "VALUES ($1, $2, $3, $4)",
            [
                (doc["tenant"], i["channel"], i["external_id"], doc["id"])
                for i in doc.get("identities") or []
            ],
        )


async def _create_contact(conn: Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("contact exists", code="contact_exists"):
        await conn.execute(
            "INSERT INTO contacts (id, tenant, last_seen_at, merged_into, blocked_until, "
            "search_body, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            doc["id"],
            doc["tenant"],
            doc.get("last_seen_at"),
            doc.get("merged_into"),
            doc.get("blocked_until"),
            _contact_search_body(doc),
            _dump(doc),
        )
    await _insert_identities(conn, doc)


async def _count_invitation(
    conn: Connection, tenant: str, day: str, agent_id: str, outcome: str
) -> None:
    check_invitation_outcome(outcome)  # it names a column: never anything else
    await conn.execute(
        f"INSERT INTO invitation_counts (tenant, day, agent_id, {outcome}) VALUES ($1, $2, $3, 1) "
        f"ON CONFLICT (tenant, day, agent_id) DO UPDATE "
        f"SET {outcome} = invitation_counts.{outcome} + 1",
        tenant,
        day,
        agent_id,
    )


async def _write_contact(conn: Connection, doc: Doc) -> None:
    # The queried columns follow the document.
    await conn.execute(
        "UPDATE contacts SET last_seen_at = $1, merged_into = $2, blocked_until = $3, "
        "search_body = $4, doc = $5 WHERE id = $6",
        doc.get("last_seen_at"),
        doc.get("merged_into"),
        doc.get("blocked_until"),
        _contact_search_body(doc),
        _dump(doc),
        doc["id"],
    )


async def _update_contact(conn: Connection, tenant: str, contact_id: str, changes: Doc) -> None:
    doc = await _changed_doc(conn, "contacts", tenant, contact_id, changes, "contact")
    if "identities" in changes:
        await conn.execute("DELETE FROM identities WHERE contact_id = $1", contact_id)
        await _insert_identities(conn, doc)
    await _write_contact(conn, doc)


async def _merge_contacts(conn: Connection, target: Doc, source: Doc) -> list[str]:
    tenant = target["tenant"]
    # Both locked, in id order, so two merges of the same pair cannot deadlock.
    locked = await conn.fetch(
        "SELECT id FROM contacts WHERE tenant = $1 AND id IN ($2, $3) ORDER BY id FOR UPDATE",
        tenant,
        target["id"],
        source["id"],
    )
    if len({row["id"] for row in locked}) < len({target["id"], source["id"]}):
        raise NotFound("no such contact", code="contact_not_found")
    rows = await conn.fetch(
        "SELECT doc FROM conversations WHERE tenant = $1 AND contact_id = $2 ORDER BY id "
        "FOR UPDATE",
        tenant,
        source["id"],
    )
    moved = []
    for row in rows:
        doc = _load(row["doc"]) | {"contact_id": target["id"]}
        await _write_conversation_columns(conn, doc)
        moved.append(doc["id"])
    await conn.execute(
        "UPDATE identities SET contact_id = $1 WHERE tenant = $2 AND contact_id = $3",
        target["id"],
        tenant,
        source["id"],
    )
    for doc in (target, source):
        await _write_contact(conn, doc)
    return moved


# The conversation's queried columns, beside its document; the rest are derived from it.
CONVERSATION_COLUMNS = ("status", "agent_id", "contact_id", "channel", "created_at", "channel_id")
DERIVED_COLUMNS = ("open_key", "closed_at", "rated")


def _open_key_of(doc: Doc) -> str | None:
    if doc["status"] == "closed":
        return None
    return open_key(doc["channel"], doc.get("channel_id"), doc["contact_id"], doc["thread_key"])


def _conversation_values(doc: Doc) -> list[Any]:
    return [
        *(doc.get(c) for c in CONVERSATION_COLUMNS),
        _open_key_of(doc),
        doc.get("closed_at"),
        doc.get("rating") is not None,
        _dump(doc),
    ]


OPEN_CONFLICT = ("the contact has another open conversation on this channel", "conversation_open")


async def _write_conversation_columns(conn: Connection, doc: Doc) -> None:
    # Every queried column follows the document, or filters would see old values.
    names = [*CONVERSATION_COLUMNS, *DERIVED_COLUMNS, "doc"]
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=1))
    message, code = OPEN_CONFLICT
    with _duplicate_is_conflict(message, code=code, index="conversations_open"):
        await conn.execute(
            f"UPDATE conversations SET {assignments} WHERE id = ${len(names) + 1}",
            *_conversation_values(doc),
            doc["id"],
        )


async def _create_conversation(conn: Connection, doc: Doc) -> None:
    names = ["id", "tenant", *CONVERSATION_COLUMNS, *DERIVED_COLUMNS, "doc"]
    message, code = OPEN_CONFLICT
    with (
        _duplicate_is_conflict("conversation exists", code="conversation_exists"),
        _duplicate_is_conflict(message, code=code, index="conversations_open"),
    ):
        await conn.execute(
            f"INSERT INTO conversations ({', '.join(names)}) VALUES ({_marks(names, 1)})",
            doc["id"],
            doc["tenant"],
            *_conversation_values(doc),
        )


async def _open_conversation(conn: Connection, doc: Doc) -> tuple[str, Doc]:
    """("new", doc) after creating it, or ("open", stored doc) when the contact already has
    an open conversation with the same key (nothing written)."""
    key = _open_key_of(doc)
    if key is not None:
        existing = await _row_doc(
            conn,
            "SELECT doc FROM conversations WHERE open_key = $1 AND tenant = $2",
            key,
            doc["tenant"],
        )
        if existing is not None:
            return "open", existing
    await _create_conversation(conn, doc)
    return "new", doc


async def _update_conversation(
    conn: Connection, tenant: str, conversation_id: str, changes: Doc, expected: Doc
) -> bool:
    doc = await _locked(conn, "conversations", tenant, conversation_id)
    if doc is None or any(doc.get(k) != v for k, v in expected.items()):
        return False
    await _write_conversation_columns(conn, doc | changes)
    return True


def _platform_scope(conversation: Doc) -> str:
    """Platform message ids are unique per channel account (web chat and other account-less
    channels: per channel)."""
    return conversation.get("channel_id") or conversation["channel"]


async def _seen_platform_message(
    conn: Connection, tenant: str, scope: str, platform_id: str
) -> Doc | None:
    return await _row_doc(
        conn,
        "SELECT doc FROM messages WHERE tenant = $1 AND platform_scope = $2 "
        "AND platform_message_id = $3",
        tenant,
        scope,
        platform_id,
    )


def _due_at(message: Doc) -> str | None:
    """The outbox column: when the next delivery attempt may start, while one is pending."""
    delivery = message.get("delivery")
    if not delivery or delivery.get("status") != "pending":
        return None
    return delivery.get("due_at")


def _message_search_body(doc: Doc) -> str | None:
    if doc.get("type") == "event":
        return None
    subject = (doc.get("meta") or {}).get("subject")
    return searchable(f"{doc.get('text') or ''}{FIELD_SEPARATOR}{subject or ''}")


async def _append_message(
    conn: Connection, doc: Doc, require_open: bool = False, conversation: Doc | None = None
) -> tuple[str, Doc, Doc | None]:
    """("new", stored doc, conversation) for a stored message; ("seen", the original,
    None) for a repeated client id or platform message id (nothing written). With
    `require_open`, a closed conversation is refused (conversation_closed).

    Two statements besides BEGIN and COMMIT, since each is a round trip: the conversation
    locked together with the look-up of the client id, then the insert with the
    conversation's update. A twin with the same client id committed while this waited for
    the lock is not seen by the look-up, but its row refuses the insert, and the append runs
    again (races=True) and finds it."""
    client_id, platform_id = doc.get("client_id"), doc.get("platform_message_id")
    seen: Doc | None = None
    if conversation is None:
        # The lock makes concurrent appends to one conversation take their seqs in turn.
        row = await conn.fetchrow(
            "SELECT c.doc, (SELECT m.doc FROM messages m WHERE m.conversation_id = c.id "
            "AND m.client_id = $3) AS seen FROM conversations c "
            "WHERE c.id = $1 AND c.tenant = $2 FOR UPDATE OF c",
            doc["conversation_id"],
            doc["tenant"],
            client_id,
        )
        if row is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        conversation = _load(row["doc"])
        seen = _load(row["seen"]) if row["seen"] is not None else None
    elif client_id is not None:
        seen = await _row_doc(
            conn,
            "SELECT doc FROM messages WHERE conversation_id = $1 AND client_id = $2",
            doc["conversation_id"],
            client_id,
        )
    if seen is not None:
        return "seen", seen, None
    scope = _platform_scope(conversation)
    if platform_id is not None:
        seen = await _seen_platform_message(conn, doc["tenant"], scope, platform_id)
        if seen is not None:
            return "seen", seen, None
    if require_open and conversation["status"] == "closed":
        raise Conflict("the conversation is closed", code="conversation_closed")
    seq = int(conversation["last_seq"]) + 1
    stored = doc | {"seq": seq}
    conversation = conversation | {
        "last_seq": seq,
        "last_message_at": stored["created_at"],
        "last_message_preview": preview_of(stored),
    }
    if (counter := message_direction(stored)) is not None:
        conversation[counter] = int(conversation.get(counter) or 0) + 1
    await conn.execute(
        "WITH appended AS (INSERT INTO messages (conversation_id, seq, tenant, id, client_id, "
        "platform_message_id, platform_scope, due_at, search_body, doc) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)) "
        "UPDATE conversations SET doc = $11 WHERE id = $1",
        doc["conversation_id"],
        seq,
        doc["tenant"],
        doc["id"],
        client_id,
        platform_id,
        scope if platform_id is not None else None,
        _due_at(stored),
        _message_search_body(stored),
        _dump(stored),
        _dump(conversation),
    )
    if attachments := doc.get("attachments"):
        await _mark_uploads_used(conn, doc["tenant"], upload_ids(attachments), doc["id"])
    return "new", stored, conversation


async def _ingest(
    conn: Connection, contact: Doc, conversation: Doc, message: Doc, blocked_at: str
) -> tuple[str, Doc, Doc | None, Doc | None, bool, bool]:
    """(outcome, contact, conversation, message, contact created, conversation opened), as
    SqliteStore's writer answers it (hub/storage/sqlite_writer.ingest)."""
    tenant = contact["tenant"]
    platform_id = message.get("platform_message_id")
    if platform_id is not None:
        seen = await _seen_platform_message(
            conn, tenant, _platform_scope(conversation), platform_id
        )
        if seen is not None:
            return await _seen_answer(conn, tenant, seen)
    identity = contact["identities"][0]
    owner_id = await conn.fetchval(
        "SELECT contact_id FROM identities WHERE tenant = $1 AND channel = $2 AND external_id = $3",
        tenant,
        identity["channel"],
        identity["external_id"],
    )
    contact_created = owner_id is None
    if contact_created:
        await _create_contact(conn, contact)
    else:
        found = await _row_doc(
            conn, "SELECT doc FROM contacts WHERE id = $1 AND tenant = $2", owner_id, tenant
        )
        assert found is not None, "an identity names a contact that does not exist"
        contact = found
    blocked_until = contact.get("blocked_until")
    if blocked_until is not None and blocked_until > blocked_at:
        return "blocked", contact, None, None, False, False
    outcome, opened = await _open_conversation(conn, conversation | {"contact_id": contact["id"]})
    if outcome == "open":
        locked = await _locked(conn, "conversations", tenant, opened["id"])
        if locked is None or _open_key_of(locked) != _open_key_of(opened):
            # Closed or moved between the look-up and the lock: the whole ingest again.
            raise asyncpg.SerializationError("the open conversation changed")
        opened = locked
    sender = message["sender"] | {"id": contact["id"], "name": contact.get("name", "")}
    message = message | {"conversation_id": opened["id"], "sender": sender}
    appended, value, stored_conversation = await _append_message(conn, message, conversation=opened)
    if appended == "seen":
        return await _seen_answer(conn, tenant, value)
    return "new", contact, stored_conversation, value, contact_created, outcome == "new"


async def _seen_answer(
    conn: Connection, tenant: str, seen: Doc
) -> tuple[str, Doc, Doc | None, Doc | None, bool, bool]:
    conversation = await _row_doc(
        conn,
        "SELECT doc FROM conversations WHERE id = $1 AND tenant = $2",
        seen["conversation_id"],
        tenant,
    )
    assert conversation is not None
    owner = await _row_doc(
        conn,
        "SELECT doc FROM contacts WHERE id = $1 AND tenant = $2",
        conversation["contact_id"],
        tenant,
    )
    assert owner is not None
    return "seen", owner, conversation, seen, False, False


async def _update_message(
    conn: Connection,
    tenant: str,
    conversation_id: str,
    seq: int,
    changes: Doc,
    expect_delivery: Doc | None,
) -> bool:
    doc = await _row_doc(
        conn,
        "SELECT doc FROM messages WHERE conversation_id = $1 AND seq = $2 AND tenant = $3 "
        "FOR UPDATE",
        conversation_id,
        seq,
        tenant,
    )
    if doc is None:
        raise NotFound("no such message", code="message_not_found")
    if expect_delivery is not None and doc.get("delivery") != expect_delivery:
        return False
    changed = doc | changes
    await conn.execute(
        "UPDATE messages SET doc = $1, due_at = $2 WHERE conversation_id = $3 AND seq = $4",
        _dump(changed),
        _due_at(changed),
        conversation_id,
        seq,
    )
    return True


async def _claim_deliveries(
    conn: Connection, now: str, lease_until: str, limit: int
) -> list[tuple[Doc, bool]]:
    """Rows another node is claiming right now are skipped, not waited for; a row claimed
    and committed since this statement began is re-checked and left out (its due_at moved)."""
    rows = await conn.fetch(
        "SELECT conversation_id, seq, doc FROM messages WHERE due_at IS NOT NULL "
        "AND due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    claimed = []
    for row in rows:
        doc = _load(row["doc"])
        interrupted = doc["delivery"].get("attempt_started_at") is not None
        doc["delivery"] = doc["delivery"] | {"due_at": lease_until, "attempt_started_at": now}
        await conn.execute(
            "UPDATE messages SET doc = $1, due_at = $2 WHERE conversation_id = $3 AND seq = $4",
            _dump(doc),
            lease_until,
            row["conversation_id"],
            row["seq"],
        )
        claimed.append((doc, interrupted))
    return claimed


async def _create_channel_account(conn: Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("channel account exists", code="channel_exists"):
        await conn.execute(
            "INSERT INTO channel_accounts (id, tenant, type, enabled, created_at, doc) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            doc["id"],
            doc["tenant"],
            doc["type"],
            bool(doc["enabled"]),
            doc["created_at"],
            _dump(doc),
        )


async def _update_channel_account(
    conn: Connection, tenant: str, account_id: str, changes: Doc
) -> None:
    doc = await _changed_doc(conn, "channel_accounts", tenant, account_id, changes, "channel")
    await conn.execute(
        "UPDATE channel_accounts SET enabled = $1, doc = $2 WHERE id = $3",
        bool(doc["enabled"]),
        _dump(doc),
        account_id,
    )


async def _delete_channel_account(conn: Connection, tenant: str, account_id: str) -> None:
    deleted = await conn.fetchval(
        "DELETE FROM channel_accounts WHERE id = $1 AND tenant = $2 RETURNING id",
        account_id,
        tenant,
    )
    if deleted is None:
        raise NotFound("no such channel", code="channel_not_found")


async def _create_left_message(conn: Connection, doc: Doc) -> None:
    await conn.execute(
        "INSERT INTO left_messages (id, tenant, handled, created_at, doc) "
        "VALUES ($1, $2, $3, $4, $5)",
        doc["id"],
        doc["tenant"],
        bool(doc["handled"]),
        doc["created_at"],
        _dump(doc),
    )


async def _update_left_message_if(
    conn: Connection, tenant: str, left_id: str, changes: Doc, expected: Doc
) -> bool:
    stored = await _changed_doc(conn, "left_messages", tenant, left_id, {}, "left_message")
    if any(stored.get(k) != v for k, v in expected.items()):
        return False
    doc = stored | changes
    await conn.execute(
        "UPDATE left_messages SET handled = $1, doc = $2 WHERE id = $3",
        bool(doc["handled"]),
        _dump(doc),
        left_id,
    )
    return True


async def _create_upload(conn: Connection, doc: Doc, quota: Doc) -> str | None:
    """None once recorded (the tenant's total with it), else the limit of `quota` it would
    pass, with nothing written. The tenant's totals row is locked first, so the checks and
    the write of concurrent uploads (on any node) happen one after the other."""
    tenant, size = doc["tenant"], int(doc["size"])
    await conn.execute(
        "INSERT INTO upload_totals (tenant, files, bytes) VALUES ($1, 0, 0) "
        "ON CONFLICT (tenant) DO NOTHING",
        tenant,
    )
    stored_bytes = await conn.fetchval(
        "SELECT bytes FROM upload_totals WHERE tenant = $1 FOR UPDATE", tenant
    )
    if quota.get("since") is not None:
        row = await conn.fetchrow(
            "SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS used FROM uploads "
            "WHERE tenant = $1 AND uploader_type = $2 AND uploader_id = $3 AND created_at >= $4",
            tenant,
            doc["uploader_type"],
            doc["uploader_id"],
            quota["since"],
        )
        if quota.get("uploader_files") is not None and row["files"] + 1 > quota["uploader_files"]:
            return "uploader_files"
        if quota.get("uploader_bytes") is not None and row["used"] + size > quota["uploader_bytes"]:
            return "uploader_bytes"
    if quota.get("tenant_bytes") is not None and stored_bytes + size > quota["tenant_bytes"]:
        return "tenant_bytes"
    with _duplicate_is_conflict("upload exists", code="upload_exists"):
        await conn.execute(
            "INSERT INTO uploads (tenant, id, uploader_type, uploader_id, size, created_at, "
            "message_id, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            tenant,
            doc["id"],
            doc["uploader_type"],
            doc["uploader_id"],
            size,
            doc["created_at"],
            doc.get("message_id"),
            _dump(doc),
        )
    await conn.execute(
        "UPDATE upload_totals SET files = files + 1, bytes = bytes + $1 WHERE tenant = $2",
        size,
        tenant,
    )
    return None


async def _delete_orphan_upload(conn: Connection, tenant: str, upload_id: str) -> bool:
    # One statement: a message marking the upload used meanwhile makes it find nothing.
    size = await conn.fetchval(
        "DELETE FROM uploads WHERE tenant = $1 AND id = $2 AND message_id IS NULL RETURNING size",
        tenant,
        upload_id,
    )
    if size is None:
        return False
    await conn.execute(
        "UPDATE upload_totals SET files = files - 1, bytes = bytes - $1 WHERE tenant = $2",
        size,
        tenant,
    )
    return True


class PostgresStore(PostgresImStore, PostgresIntegrations, PostgresBots, Store):
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._calls = 0  # calls begun and not yet answered
        self._idle = asyncio.Event()  # set while _calls is 0
        self._idle.set()

    # life cycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=self.pool_size, init=_prepare_connection
        )
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        """New calls are refused at once; every call begun before is answered (its write
        committed), then the connections close."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await self._idle.wait()
            await pool.close()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection for one call; a call begun before close still gets one."""
        if self._pool is None:
            raise RuntimeError("the store is closed")
        pool = self._pool
        self._calls += 1
        self._idle.clear()
        try:
            async with pool.acquire() as conn:
                yield conn
        finally:
            self._calls -= 1
            if self._calls == 0:
                self._idle.set()

    # one statement, one transaction ------------------------------------------------------

    async def _one(self, sql: str, *args: Any) -> Doc | None:
        async with self._connection() as conn:
            text = await conn.fetchval(sql, *args)
        return _load(text) if text is not None else None

    async def _all(self, sql: str, *args: Any) -> list[Doc]:
        return [_load(row[0]) for row in await self._rows(sql, *args)]

    async def _rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            return await conn.fetch(sql, *args)

    async def _write(self, op: Callable[..., Awaitable[R]], *args: Any, races: bool = False) -> R:
        """`op(conn, *args)` in one transaction, committed before this returns; run again
        after a deadlock or serialization failure and, with `races`, after losing a unique
        index race to a concurrent write (the next run finds that write's record)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._connection() as conn, conn.transaction():
                    return await op(conn, *args)
            except Exception as exc:
                retry = isinstance(exc, RETRIED) or (races and _lost_race(exc))
                if not retry or attempt == MAX_ATTEMPTS:
                    raise
                log.debug("retrying %s after %r", op.__name__, exc)
                await asyncio.sleep(0)
        raise AssertionError("unreachable")

    # tenants and settings ----------------------------------------------------------------

    async def create_tenant(self, tenant: Tenant) -> None:
        await self._write(_create_tenant, tenant.id, to_doc(tenant))

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        doc = await self._one("SELECT doc FROM tenants WHERE id = $1", tenant_id)
        return from_doc(Tenant, doc) if doc else None

    async def list_tenant_ids(self) -> list[str]:
        rows = await self._rows("SELECT id FROM tenants ORDER BY id")
        return [row["id"] for row in rows]

    async def get_settings(self, tenant: str, key: str) -> dict[str, Any] | None:
        return await self._one(
            "SELECT doc FROM settings WHERE tenant = $1 AND key = $2", tenant, key
        )

    async def put_settings(self, tenant: str, key: str, value: Mapping[str, Any]) -> None:
        await self._write(_put_settings, tenant, key, encode_value(dict(value)))

    # agents ------------------------------------------------------------------------------

    async def create_agent(self, agent: Agent) -> None:
        await self._write(_create_agent, to_doc(agent))

    async def get_agent(self, tenant: str, agent_id: str) -> Agent | None:
        doc = await self._one(
            "SELECT doc FROM agents WHERE id = $1 AND tenant = $2", agent_id, tenant
        )
        return from_doc(Agent, doc) if doc else None

    async def get_agent_by_email(self, email: str) -> Agent | None:
        doc = await self._one("SELECT doc FROM agents WHERE email = $1", email.lower())
        return from_doc(Agent, doc) if doc else None

    async def list_agents(
        self, tenant: str, *, after: Position | None = None, limit: int | None = None
    ) -> list[Agent]:
        past, past_params = _past("created_at", after, 2, descending=False, id_descending=False)
        page = f" LIMIT ${2 + len(past_params)}" if limit is not None else ""
        docs = await self._all(
            f"SELECT doc FROM agents WHERE tenant = $1{past} ORDER BY created_at, id{page}",
            tenant,
            *past_params,
            *([limit] if limit is not None else []),
        )
        return [from_doc(Agent, d) for d in docs]

    async def update_agent(self, agent: Agent, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(agent, f)) for f in fields}
        await self._write(_update_agent, agent.tenant, agent.id, changes)

    # contacts ----------------------------------------------------------------------------

    async def create_contact(self, contact: Contact) -> None:
        await self._write(_create_contact, to_doc(contact))

    async def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        doc = await self._one(
            "SELECT doc FROM contacts WHERE id = $1 AND tenant = $2", contact_id, tenant
        )
        return from_doc(Contact, doc) if doc else None

    async def find_contact(self, tenant: str, identity: Identity) -> Contact | None:
        doc = await self._one(
            "SELECT c.doc FROM identities i JOIN contacts c ON c.id = i.contact_id "
            "WHERE i.tenant = $1 AND i.channel = $2 AND i.external_id = $3 AND c.tenant = $1",
            tenant,
            identity.channel,
            identity.external_id,
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
        where, params = ["tenant = $1"], [tenant]
        if after is not None:
            where.append("(last_seen_at < $2 OR (last_seen_at = $2 AND id > $3))")
            params += [iso(after[0]), after[1]]
        if blocked_at is not None:
            params.append(iso(blocked_at))
            where.append(f"blocked_until > ${len(params)}")
        docs = await self._all(
            f"SELECT doc FROM contacts WHERE {' AND '.join(where)} "
            f"ORDER BY last_seen_at DESC, id LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [from_doc(Contact, d) for d in docs]

    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(contact, f)) for f in fields}
        await self._write(_update_contact, contact.tenant, contact.id, changes)

    async def merge_contacts(self, target: Contact, source: Contact) -> list[str]:
        return await self._write(_merge_contacts, to_doc(target), to_doc(source))

    # conversations -----------------------------------------------------------------------

    async def create_conversation(self, conversation: Conversation) -> None:
        await self._write(_create_conversation, to_doc(conversation))

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        outcome, doc = await self._write(_open_conversation, to_doc(conversation), races=True)
        return from_doc(Conversation, doc), outcome == "new"

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        doc = await self._one(
            "SELECT doc FROM conversations WHERE id = $1 AND tenant = $2", conversation_id, tenant
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
        return await self._write(
            _update_conversation, conversation.tenant, conversation.id, changes, expected
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
        where = ["tenant = $1"]
        params: list[Any] = [tenant]
        if status:
            where.append(f"status IN ({_marks(status, len(params) + 1)})")
            params.extend(status)
        for column, value in (
            ("agent_id", agent_id),
            ("channel", channel),
            ("contact_id", contact_id),
        ):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        past, past_params = _past(
            "created_at", after, len(params) + 1, descending=True, id_descending=True
        )
        params.extend(past_params)
        docs = await self._all(
            f"SELECT doc FROM conversations WHERE {' AND '.join(where)}{past} "
            f"ORDER BY created_at DESC, id DESC LIMIT ${len(params) + 1}",
            *params,
            limit,
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
            "SELECT doc FROM conversations WHERE open_key = $1 AND tenant = $2",
            open_key(channel, channel_id, contact_id, thread_key),
            tenant,
        )
        return from_doc(Conversation, doc) if doc else None

    # messages ----------------------------------------------------------------------------

    async def append_message(self, message: Message, *, require_open: bool = False) -> AppendResult:
        outcome, doc, conversation = await self._write(
            _append_message, to_doc(message), require_open, races=True
        )
        stored = from_doc(Message, doc)
        if outcome == "seen" or conversation is None:
            return AppendResult(stored, False)
        return AppendResult(stored, True, conversation["status"], conversation.get("agent_id"))

    async def ingest(
        self, contact: Contact, conversation: Conversation, message: Message, *, now: datetime
    ) -> Ingested:
        outcome, contact_doc, conversation_doc, message_doc, created, opened = await self._write(
            _ingest,
            to_doc(contact),
            to_doc(conversation),
            to_doc(message),
            iso(now),
            races=True,
        )
        stored_contact = from_doc(Contact, contact_doc)
        if outcome == "blocked" or conversation_doc is None or message_doc is None:
            return Ingested("blocked", stored_contact, None, None)
        return Ingested(
            "seen" if outcome == "seen" else "new",
            stored_contact,
            from_doc(Conversation, conversation_doc),
            from_doc(Message, message_doc),
            created,
            opened,
        )

    async def find_messages_by_platform_ids(
        self, tenant: str, scope: str, platform_message_ids: Sequence[str]
    ) -> list[Message]:
        if not platform_message_ids:
            return []
        docs = await self._all(
            "SELECT doc FROM messages WHERE tenant = $1 AND platform_scope = $2 "
            f"AND platform_message_id IN ({_marks(platform_message_ids, 3)})",
            tenant,
            scope,
            *platform_message_ids,
        )
        return [from_doc(Message, d) for d in docs]

    async def update_message(
        self, message: Message, fields: Sequence[str], *, expect_delivery: Delivery | None = None
    ) -> bool:
        check_message_fields(fields)
        changes = {f: encode_value(getattr(message, f)) for f in fields}
        expected = encode_value(expect_delivery) if expect_delivery is not None else None
        return await self._write(
            _update_message,
            message.tenant,
            message.conversation_id,
            message.seq,
            changes,
            expected,
        )

    async def get_message(
        self, tenant: str, conversation_id: str, message_id: str
    ) -> Message | None:
        doc = await self._one(
            "SELECT doc FROM messages WHERE conversation_id = $1 AND tenant = $2 AND id = $3",
            conversation_id,
            tenant,
            message_id,
        )
        return from_doc(Message, doc) if doc else None

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
                "SELECT doc FROM messages WHERE conversation_id = $1 AND tenant = $2 "
                "AND seq > $3 ORDER BY seq LIMIT $4",
                conversation_id,
                tenant,
                after_seq,
                limit,
            )
            return [from_doc(Message, d) for d in docs]
        docs = await self._all(
            "SELECT doc FROM messages WHERE conversation_id = $1 AND tenant = $2 AND seq > $3 "
            "AND seq < $4 ORDER BY seq DESC LIMIT $5",
            conversation_id,
            tenant,
            after_seq,
            before_seq,
            limit,
        )
        return [from_doc(Message, d) for d in reversed(docs)]

    # the outbox --------------------------------------------------------------------------

    async def claim_due_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        claimed = await self._write(_claim_deliveries, iso(now), iso(lease_until), limit)
        return [
            ClaimedDelivery(from_doc(Message, doc), interrupted) for doc, interrupted in claimed
        ]

    # channel accounts --------------------------------------------------------------------

    async def create_channel_account(self, account: ChannelAccount) -> None:
        await self._write(_create_channel_account, to_doc(account))

    async def get_channel_account(self, tenant: str, account_id: str) -> ChannelAccount | None:
        doc = await self._one(
            "SELECT doc FROM channel_accounts WHERE id = $1 AND tenant = $2", account_id, tenant
        )
        return from_doc(ChannelAccount, doc) if doc else None

    async def list_channel_accounts(self, tenant: str | None) -> list[ChannelAccount]:
        if tenant is None:
            docs = await self._all(
                "SELECT doc FROM channel_accounts WHERE enabled ORDER BY tenant, created_at, id"
            )
        else:
            docs = await self._all(
                "SELECT doc FROM channel_accounts WHERE tenant = $1 ORDER BY created_at, id",
                tenant,
            )
        return [from_doc(ChannelAccount, doc) for doc in docs]

    async def update_channel_account(self, account: ChannelAccount, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(account, f)) for f in fields}
        await self._write(_update_channel_account, account.tenant, account.id, changes)

    async def delete_channel_account(self, tenant: str, account_id: str) -> None:
        await self._write(_delete_channel_account, tenant, account_id)

    # left messages -----------------------------------------------------------------------

    async def create_left_message(self, left: LeftMessage) -> None:
        await self._write(_create_left_message, to_doc(left))

    async def list_left_messages(
        self,
        tenant: str,
        *,
        handled: bool | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[LeftMessage]:
        where, params = "tenant = $1", [tenant]
        if handled is not None:
            where += " AND handled = $2"
            params.append(handled)  # type: ignore[arg-type]
        past, past_params = _past(
            "created_at", after, len(params) + 1, descending=True, id_descending=True
        )
        params.extend(past_params)
        docs = await self._all(
            f"SELECT doc FROM left_messages WHERE {where}{past} "
            f"ORDER BY created_at DESC, id DESC LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [from_doc(LeftMessage, d) for d in docs]

    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(left, f)) for f in fields}
        await self._write(_update_left_message_if, left.tenant, left.id, changes, {})

    async def get_left_message(self, tenant: str, left_id: str) -> LeftMessage | None:
        doc = await self._one(
            "SELECT doc FROM left_messages WHERE id = $1 AND tenant = $2", left_id, tenant
        )
        return from_doc(LeftMessage, doc) if doc else None

    async def update_left_message_if(
        self, left: LeftMessage, fields: Sequence[str], expect: Mapping[str, Any]
    ) -> bool:
        changes = {f: encode_value(getattr(left, f)) for f in fields}
        expected = {k: encode_value(v) for k, v in expect.items()}
        return await self._write(_update_left_message_if, left.tenant, left.id, changes, expected)

    # search and ratings ------------------------------------------------------------------

    async def search_contacts(
        self, tenant: str, text: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Contact]:
        where = ["search_body LIKE $1", "tenant = $2", "merged_into IS NULL"]
        params: list[Any] = [like_pattern(text), tenant]
        if after is not None:
            where.append("(last_seen_at < $3 OR (last_seen_at = $3 AND id > $4))")
            params += [iso(after[0]), after[1]]
        docs = await self._all(
            f"SELECT doc FROM contacts WHERE {' AND '.join(where)} "
            f"ORDER BY last_seen_at DESC, id LIMIT ${len(params) + 1}",
            *params,
            limit,
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
        params: list[Any] = [like_pattern(text), tenant]
        if visible_to is not None:
            params.append(visible_to)
            where.append(f"(c.agent_id = ${len(params)} OR c.status = 'queued')")
        if after is not None:
            first = len(params) + 1
            where.append(
                f"(c.created_at < ${first} OR (c.created_at = ${first} AND c.id < ${first + 1}))"
            )
            params += [iso(after[0]), after[1]]
        rows = await self._rows(
            "SELECT c.doc AS conversation, m.doc AS message FROM (SELECT conversation_id, "
            "max(seq) AS seq FROM messages WHERE search_body LIKE $1 AND tenant = $2 "
            "GROUP BY conversation_id) hit "
            "JOIN conversations c ON c.id = hit.conversation_id AND c.tenant = $2 "
            "JOIN messages m ON m.conversation_id = hit.conversation_id AND m.seq = hit.seq "
            f"WHERE {' AND '.join(where) or 'true'} "
            f"ORDER BY c.created_at DESC, c.id DESC LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [
            ConversationHit(
                from_doc(Conversation, _load(row["conversation"])),
                from_doc(Message, _load(row["message"])),
            )
            for row in rows
        ]

    async def list_rated_conversations(
        self, tenant: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Conversation]:
        where, params = ["tenant = $1", "rated"], [tenant]
        if after is not None:
            where.append("(closed_at < $2 OR (closed_at = $2 AND id < $3))")
            params += [iso(after[0]), after[1]]
        docs = await self._all(
            f"SELECT doc FROM conversations WHERE {' AND '.join(where)} "
            f"ORDER BY closed_at DESC, id DESC LIMIT ${len(params) + 1}",
            *params,
            limit,
        )
        return [from_doc(Conversation, d) for d in docs]

    # uploads -----------------------------------------------------------------------------

    async def create_upload(self, upload: Upload, quota: UploadQuota) -> str | None:
        return await self._write(_create_upload, to_doc(upload), to_doc(quota))

    async def get_uploads(self, tenant: str, upload_ids: Sequence[str]) -> list[Upload]:
        if not upload_ids:
            return []
        docs = await self._all(
            f"SELECT doc FROM uploads WHERE tenant = $1 AND id IN ({_marks(upload_ids, 2)})",
            tenant,
            *upload_ids,
        )
        return [from_doc(Upload, d) for d in docs]

    async def upload_totals(self, tenant: str) -> tuple[int, int]:
        rows = await self._rows("SELECT files, bytes FROM upload_totals WHERE tenant = $1", tenant)
        return (int(rows[0]["files"]), int(rows[0]["bytes"])) if rows else (0, 0)

    async def list_orphan_uploads(self, created_before: datetime, limit: int) -> list[Upload]:
        docs = await self._all(
            "SELECT doc FROM uploads WHERE message_id IS NULL AND created_at < $1 "
            "ORDER BY created_at LIMIT $2",
            iso(created_before),
            limit,
        )
        return [from_doc(Upload, d) for d in docs]

    async def delete_orphan_upload(self, tenant: str, upload_id: str) -> bool:
        return await self._write(_delete_orphan_upload, tenant, upload_id)

    # invitations to chat: counts per agent per day ---------------------------------------

    async def count_invitation(self, tenant: str, day: str, agent_id: str, outcome: str) -> None:
        check_invitation_outcome(outcome)
        await self._write(_count_invitation, tenant, day, agent_id, outcome)

    async def invitation_counts(self, tenant: str, day: str) -> dict[str, dict[str, int]]:
        rows = await self._rows(
            "SELECT agent_id, invited, accepted, refused FROM invitation_counts "
            "WHERE tenant = $1 AND day = $2",
            tenant,
            day,
        )
        return {
            row["agent_id"]: {k: row[k] for k in ("invited", "accepted", "refused")} for row in rows
        }

    # reports ---------------------------------------------------------------------------

    async def report(
        self, tenant: str, start: datetime, end: datetime, group: ReportGroup
    ) -> list[ReportCell]:
        conversation_key, left_key = _REPORT_KEYS[group]
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"""SELECT key, count(*), sum(messages_in)::bigint, sum(messages_out)::bigint,
                       sum(wait)::float8, count(wait), sum(first_response)::float8,
                       count(first_response), sum(handle)::float8, count(handle),
                       sum(score)::float8, count(score)
                FROM (SELECT {conversation_key} AS key,
                             coalesce((d ->> 'messages_in')::bigint, 0) AS messages_in,
                             coalesce((d ->> 'messages_out')::bigint, 0) AS messages_out,
                             {_seconds("assigned_at", "queued_at")} AS wait,
                             {_seconds("first_response_at", "created_at")} AS first_response,
                             {_seconds("closed_at", "assigned_at")} AS handle,
                             (d -> 'rating' ->> 'score')::float8 AS score
                      FROM conversations, LATERAL (SELECT {json_of("doc")} AS d) parsed
                      WHERE tenant = $1 AND created_at >= $2 AND created_at < $3) one
                GROUP BY key""",
                tenant,
                iso(start),
                iso(end),
            )
            left = await conn.fetch(
                f"""SELECT {left_key} AS key, count(*) FROM left_messages l
                    LEFT JOIN conversations c
                      ON c.id = ({json_of("l.doc")} ->> 'conversation_id') AND c.tenant = l.tenant
                    LEFT JOIN LATERAL (SELECT {json_of("c.doc")} AS d) parsed ON true
                    WHERE l.tenant = $1 AND l.created_at >= $2 AND l.created_at < $3
                    GROUP BY 1""",
                tenant,
                iso(start),
                iso(end),
            )
        cells = {row[0]: ReportCell(row[0], *(value or 0 for value in row[1:])) for row in rows}
        for key, count in left:
            cells.setdefault(key, ReportCell(key)).left_messages = count
        return list(cells.values())


def _quarter_hour(column: str) -> str:
    return (
        f"substr({column}, 1, 14) || lpad((substr({column}, 15, 2)::int / 15 * 15)::text, 2, '0')"
    )


_REPORT_KEYS: dict[str, tuple[str, str]] = {
    # group: (the conversation's key, a left message's key; `c` is its conversation, `d`
    # that conversation's document)
    "agent": ("coalesce(agent_id, '')", "coalesce(c.agent_id, '')"),
    "skill": ("coalesce(d ->> 'skill', '')", "coalesce(d ->> 'skill', '')"),
    "channel": ("channel", "coalesce(c.channel, '')"),
    "quarter_hour": (_quarter_hour("created_at"), _quarter_hour("l.created_at")),
}


def _seconds(later: str, earlier: str) -> str:
    """A duration in seconds between two of the document `d`'s times, NULL unless both are
    set and in order (a clock step or a reopened conversation can make them cross). The
    epoch of an interval is numeric, exact to the microsecond: 90 s is 90.0."""
    a, b = f"(d ->> '{earlier}')::timestamptz", f"(d ->> '{later}')::timestamptz"
    return f"CASE WHEN {b} >= {a} THEN extract(epoch FROM {b} - {a})::float8 END"
