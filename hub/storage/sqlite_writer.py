"""The SQLite writer process: the one connection that writes, in a process of its own.

`SqliteStore` starts it (`python -m hub.storage.sqlite_writer PATH SYNCHRONOUS PARENT_PID`)
and talks to it over its stdin and stdout in frames: a 4-byte big-endian length, then orjson.

    hello    [0, [], null, 0] once the schema is in place, or [0, null, error, 0]
    request  [batch_id, [[op_name, arg, ...], ...]]              batch_id from 1
    answer   [batch_id, [[1, value] | [0, error], ...], null, commit]   every op answered
             [batch_id, null, error, commit]                     the whole batch failed
    error    {"kind": "NotFound" | "Conflict" | "IntegrityError" | ..., "message": ..., "code": ...}

The store may send a batch before the previous one is answered. Every batch that has arrived
when the writer is free runs in one transaction (BEGIN IMMEDIATE ... COMMIT, one fsync with
synchronous=FULL); a failing op is rolled back to its own savepoint and fails only its caller.
Answers are written after COMMIT has returned, so an answered write is durable; `commit`
numbers the transaction (the store counts commits with it). Checkpoints (copying the WAL into
the database file) are SQLite's own: in the commit that takes the WAL past 1,000 pages.

Why a process and not a thread: the sqlite3 module gives up the GIL around every statement
and must win it back from the busy event loop afterwards. Measured under the relay load, a
writer thread spent 280 µs of wall time per appended message for 67 µs of CPU, waiting for
the GIL, and the loop sat idle waiting for the writer (docs/benchmarks.md). A process has its
own interpreter and runs on the other core.

It stops when its stdin closes (the store closing, or the hub dying) and, on Linux, is killed
with its parent (PR_SET_PDEATHSIG). SIGINT and SIGTERM are ignored: a Ctrl-C or a SIGTERM to
the hub's process group must not stop the writer before the hub has drained its writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from hub.domain import open_key, upload_ids
from hub.errors import Conflict, HubError, NotFound
from hub.storage.base import check_invitation_outcome
from hub.storage.codec import message_direction, preview_of
from hub.storage.sqlite_im_ops import IM_OPS
from hub.storage.sqlite_schema import migrate

log = logging.getLogger(__name__)

# The writer's page cache: the hot pages of a busy hub (every open conversation's last
# message page and index page) stay in it instead of being read back from the file.
CACHE_KIB = 16 * 1024
Doc = dict[str, Any]


def _dump(doc: Doc) -> str:
    return orjson.dumps(doc).decode()


def _row_doc(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Doc | None:
    row = conn.execute(sql, params).fetchone()
    return orjson.loads(row[0]) if row else None


def _changed_doc(
    conn: sqlite3.Connection, table: str, tenant: str, record_id: str, changes: Doc, missing: str
) -> Doc:
    """The stored document of a tenant's record with `changes` applied (for an update), or
    NotFound "no such <missing>" (code <missing>_not_found)."""
    sql = f"SELECT doc FROM {table} WHERE id = ? AND tenant = ?"
    doc = _row_doc(conn, sql, (record_id, tenant))
    if doc is None:
        raise NotFound(f"no such {missing.replace('_', ' ')}", code=f"{missing}_not_found")
    return doc | changes


@contextlib.contextmanager
def _duplicate_is_conflict(message: str, *, code: str) -> Iterator[None]:
    """A unique index saying no becomes the hub's Conflict, with its own message and code."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise Conflict(message, code=code) from exc


# The ops: plain arguments in (what orjson carries), plain values out. -----------------------


def create_tenant(conn: sqlite3.Connection, tenant_id: str, doc: Doc) -> None:
    with _duplicate_is_conflict(f"tenant {tenant_id} exists", code="tenant_exists"):
        conn.execute("INSERT INTO tenants (id, doc) VALUES (?, ?)", (tenant_id, _dump(doc)))


def put_settings(conn: sqlite3.Connection, tenant: str, key: str, value: Doc) -> None:
    conn.execute(
        "INSERT INTO settings (tenant, key, doc) VALUES (?, ?, ?) "
        "ON CONFLICT (tenant, key) DO UPDATE SET doc = excluded.doc",
        (tenant, key, _dump(value)),
    )


def create_agent(conn: sqlite3.Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("an agent with this email exists", code="email_taken"):
        conn.execute(
            "INSERT INTO agents (id, tenant, email, created_at, doc) VALUES (?, ?, ?, ?, ?)",
            (doc["id"], doc["tenant"], str(doc["email"]).lower(), doc["created_at"], _dump(doc)),
        )


def update_agent(conn: sqlite3.Connection, tenant: str, agent_id: str, changes: Doc) -> None:
    doc = _changed_doc(conn, "agents", tenant, agent_id, changes, "agent")
    with _duplicate_is_conflict("an agent with this email exists", code="email_taken"):
        conn.execute(
            "UPDATE agents SET email = ?, doc = ? WHERE id = ?",
            (str(doc["email"]).lower(), _dump(doc), agent_id),
        )


def _insert_identities(conn: sqlite3.Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("that identity belongs to another contact", code="identity_taken"):
        conn.executemany(
            "INSERT INTO identities (tenant, channel, external_id, contact_id) VALUES (?, ?, ?, ?)",
            [
                (doc["tenant"], i["channel"], i["external_id"], doc["id"])
                for i in doc.get("identities") or []
            ],
        )


def create_contact(conn: sqlite3.Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("contact exists", code="contact_exists"):
        conn.execute(
            "INSERT INTO contacts (id, tenant, last_seen_at, doc) VALUES (?, ?, ?, ?)",
            (doc["id"], doc["tenant"], doc.get("last_seen_at"), _dump(doc)),
        )
    _insert_identities(conn, doc)


def _write_contact(conn: sqlite3.Connection, doc: Doc) -> None:
    # The listing's order column follows the document.
    conn.execute(
        "UPDATE contacts SET last_seen_at = ?, doc = ? WHERE id = ?",
        (doc.get("last_seen_at"), _dump(doc), doc["id"]),
    )


def update_contact(conn: sqlite3.Connection, tenant: str, contact_id: str, changes: Doc) -> None:
    doc = _changed_doc(conn, "contacts", tenant, contact_id, changes, "contact")
    if "identities" in changes:
        conn.execute("DELETE FROM identities WHERE contact_id = ?", (contact_id,))
        _insert_identities(conn, doc)
    _write_contact(conn, doc)


def merge_contacts(conn: sqlite3.Connection, target: Doc, source: Doc) -> list[str]:
    tenant = target["tenant"]
    for doc in (target, source):
        _changed_doc(conn, "contacts", tenant, doc["id"], {}, "contact")  # both exist here
    moved = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM conversations WHERE tenant = ? AND contact_id = ?",
            (tenant, source["id"]),
        ).fetchall()
    ]
    for conversation_id in moved:
        doc = _row_doc(conn, "SELECT doc FROM conversations WHERE id = ?", (conversation_id,))
        assert doc is not None
        _write_conversation_columns(conn, doc | {"contact_id": target["id"]})
    conn.execute(
        "UPDATE identities SET contact_id = ? WHERE tenant = ? AND contact_id = ?",
        (target["id"], tenant, source["id"]),
    )
    for doc in (target, source):
        _write_contact(conn, doc)
    return moved


# The conversation's queried columns, beside its document; `open_key` is derived from it.
CONVERSATION_COLUMNS = ("status", "agent_id", "contact_id", "channel", "created_at", "channel_id")


def _open_key_of(doc: Doc) -> str | None:
    if doc["status"] == "closed":
        return None
    return open_key(doc["channel"], doc.get("channel_id"), doc["contact_id"], doc["thread_key"])


def _conversation_columns(doc: Doc) -> tuple[Any, ...]:
    return (*(doc.get(c) for c in CONVERSATION_COLUMNS), _open_key_of(doc), _dump(doc))


@contextlib.contextmanager
def _open_key_is_conflict() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "open_key" not in str(exc):
            raise
        raise Conflict(
            "the contact has another open conversation on this channel",
            code="conversation_open",
        ) from exc


def _write_conversation_columns(conn: sqlite3.Connection, doc: Doc) -> None:
    # Every queried column follows the document, or filters would see old values.
    with _open_key_is_conflict():
        conn.execute(
            f"UPDATE conversations SET {', '.join(f'{c} = ?' for c in CONVERSATION_COLUMNS)}, "
            "open_key = ?, doc = ? WHERE id = ?",
            (*_conversation_columns(doc), doc["id"]),
        )


def create_conversation(conn: sqlite3.Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("conversation exists", code="conversation_exists"):
        with _open_key_is_conflict():
            conn.execute(
                f"INSERT INTO conversations (id, tenant, {', '.join(CONVERSATION_COLUMNS)}, "
                f"open_key, doc) VALUES (?, ?, {', '.join('?' for _ in CONVERSATION_COLUMNS)}, "
                "?, ?)",
                (doc["id"], doc["tenant"], *_conversation_columns(doc)),
            )


def open_conversation(conn: sqlite3.Connection, doc: Doc) -> list[Any]:
    """["new", doc] after creating it, or ["open", stored doc] when the contact already has
    an open conversation with the same key (nothing written)."""
    key = _open_key_of(doc)
    if key is not None:
        existing = _row_doc(
            conn,
            "SELECT doc FROM conversations WHERE open_key = ? AND tenant = ?",
            (key, doc["tenant"]),
        )
        if existing is not None:
            return ["open", existing]
    create_conversation(conn, doc)
    return ["new", doc]


def update_conversation(
    conn: sqlite3.Connection, tenant: str, conversation_id: str, changes: Doc, expected: Doc
) -> bool:
    doc = _row_doc(
        conn,
        "SELECT doc FROM conversations WHERE id = ? AND tenant = ?",
        (conversation_id, tenant),
    )
    if doc is None or any(doc.get(k) != v for k, v in expected.items()):
        return False
    _write_conversation_columns(conn, doc | changes)
    return True


def stored_time(text: str) -> str:
    """A time as stored ("2026-11-23T12:00:00.123Z", hub.domain.iso) from either that form or
    orjson's RFC 3339 for a UTC datetime ("…T12:00:00.123456+00:00"; no fraction when the
    microseconds are 0), which is how the store sends a message's time."""
    if text.endswith("Z"):
        return text
    if not text.endswith("+00:00"):
        raise ValueError(f"not a UTC time: {text!r}")
    fraction = text[20:23] if text[19] == "." else "000"
    return f"{text[:19]}.{fraction}Z"


# A message's times besides created_at, which the store sends as orjson writes them too.
DELIVERY_TIMES = ("updated_at", "due_at", "attempt_started_at")


def _platform_scope(conversation: Doc) -> str:
    """Platform message ids are unique per channel account (web chat and other account-less
    channels: per channel)."""
    return conversation.get("channel_id") or conversation["channel"]


def _seen_platform_message(
    conn: sqlite3.Connection, tenant: str, scope: str, platform_id: str
) -> Doc | None:
    return _row_doc(
        conn,
        "SELECT doc FROM messages WHERE tenant = ? AND platform_scope = ? "
        "AND platform_message_id = ?",
        (tenant, scope, platform_id),
    )


def append_message(
    conn: sqlite3.Connection, doc: Doc, require_open: bool = False, conversation: Doc | None = None
) -> list[Any]:
    """["new", seq, the conversation's status, its agent] for a stored message; ["seen",
    stored doc, None, None] for a repeated client id or platform message id (nothing
    written). With `require_open`, a closed conversation is refused (conversation_closed):
    the caller's idea of the open conversation is old."""
    doc["created_at"] = stored_time(doc["created_at"])
    if (delivery := doc.get("delivery")) is not None:
        for name in DELIVERY_TIMES:
            if delivery.get(name) is not None:
                delivery[name] = stored_time(delivery[name])
    if conversation is None:
        conversation = _row_doc(
            conn,
            "SELECT doc FROM conversations WHERE id = ? AND tenant = ?",
            (doc["conversation_id"], doc["tenant"]),
        )
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    client_id, platform_id = doc.get("client_id"), doc.get("platform_message_id")
    # A client id is unique within its conversation, a platform message id within its
    # channel account.
    if client_id is not None:
        seen = _row_doc(
            conn,
            "SELECT doc FROM messages WHERE conversation_id = ? AND client_id = ?",
            (doc["conversation_id"], client_id),
        )
        if seen is not None:
            return ["seen", seen, None, None]
    scope = _platform_scope(conversation)
    if platform_id is not None:
        seen = _seen_platform_message(conn, doc["tenant"], scope, platform_id)
        if seen is not None:
            return ["seen", seen, None, None]
    if require_open and conversation["status"] == "closed":
        raise Conflict("the conversation is closed", code="conversation_closed")
    seq = int(conversation["last_seq"]) + 1
    stored = doc | {"seq": seq}
    conversation |= {
        "last_seq": seq,
        "last_message_at": stored["created_at"],
        "last_message_preview": preview_of(stored),
    }
    if (counter := message_direction(stored)) is not None:
        conversation[counter] = int(conversation.get(counter) or 0) + 1
    conn.execute(
        "INSERT INTO messages (conversation_id, seq, tenant, client_id, platform_message_id, "
        "platform_scope, due_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            doc["conversation_id"],
            seq,
            doc["tenant"],
            client_id,
            platform_id,
            scope if platform_id is not None else None,
            _due_at(stored),
            _dump(stored),
        ),
    )
    conn.execute(
        "UPDATE conversations SET doc = ? WHERE id = ?",
        (_dump(conversation), doc["conversation_id"]),
    )
    if attachments := doc.get("attachments"):
        _mark_uploads_used(conn, doc["tenant"], upload_ids(attachments), doc["id"])
    return ["new", seq, conversation["status"], conversation.get("agent_id")]


def _mark_uploads_used(
    conn: sqlite3.Connection, tenant: str, ids: list[str], message_id: str
) -> None:
    """In the append's transaction: an upload a stored message uses is never an orphan."""
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    conn.execute(
        "UPDATE uploads SET message_id = ?, doc = json_set(doc, '$.message_id', ?) "
        f"WHERE tenant = ? AND id IN ({marks}) AND message_id IS NULL",
        (message_id, message_id, tenant, *ids),
    )


def ingest(
    conn: sqlite3.Connection, contact: Doc, conversation: Doc, message: Doc, blocked_at: str
) -> list[Any]:
    """A customer's message from a channel, in one transaction: the contact found by its
    identity (or created), its open conversation with the template's key (or opened), the
    message appended. Answers [outcome, contact, conversation, message or seq, contact
    created, conversation opened]; outcome "new", "seen" (a repeated platform or client id:
    the original message, nothing written) or "blocked" (the contact is blacklisted at
    `blocked_at`: nothing written)."""
    tenant = contact["tenant"]
    platform_id = message.get("platform_message_id")
    if platform_id is not None:
        seen = _seen_platform_message(conn, tenant, _platform_scope(conversation), platform_id)
        if seen is not None:
            stored_conversation = _row_doc(
                conn,
                "SELECT doc FROM conversations WHERE id = ? AND tenant = ?",
                (seen["conversation_id"], tenant),
            )
            assert stored_conversation is not None
            owner = _row_doc(
                conn,
                "SELECT doc FROM contacts WHERE id = ? AND tenant = ?",
                (stored_conversation["contact_id"], tenant),
            )
            return ["seen", owner, stored_conversation, seen, False, False]
    identity = contact["identities"][0]
    row = conn.execute(
        "SELECT contact_id FROM identities WHERE tenant = ? AND channel = ? AND external_id = ?",
        (tenant, identity["channel"], identity["external_id"]),
    ).fetchone()
    contact_created = row is None
    if contact_created:
        create_contact(conn, contact)
    else:
        found = _row_doc(
            conn, "SELECT doc FROM contacts WHERE id = ? AND tenant = ?", (row[0], tenant)
        )
        assert found is not None, "an identity names a contact that does not exist"
        contact = found
    blocked_until = contact.get("blocked_until")
    if blocked_until is not None and blocked_until > blocked_at:
        return ["blocked", contact, None, None, False, False]
    conversation = conversation | {"contact_id": contact["id"]}
    outcome, conversation = open_conversation(conn, conversation)
    sender = message["sender"] | {"id": contact["id"], "name": contact.get("name", "")}
    message = message | {"conversation_id": conversation["id"], "sender": sender}
    appended, value, _, _ = append_message(conn, message, conversation=conversation)
    return [appended, contact, conversation, value, contact_created, outcome == "new"]


def _due_at(message: Doc) -> str | None:
    """The outbox column: when the next delivery attempt may start, while one is pending."""
    delivery = message.get("delivery")
    if not delivery or delivery.get("status") != "pending":
        return None
    return delivery.get("due_at")


def update_message(
    conn: sqlite3.Connection,
    tenant: str,
    conversation_id: str,
    seq: int,
    changes: Doc,
    expect_delivery: Doc | None = None,
) -> bool:
    """With `expect_delivery`, writes only if the stored delivery is still that one (the
    outbox's compare-and-set: an attempt records its outcome only if nobody took the message
    over meanwhile). True if written."""
    doc = _row_doc(
        conn,
        "SELECT doc FROM messages WHERE conversation_id = ? AND seq = ? AND tenant = ?",
        (conversation_id, seq, tenant),
    )
    if doc is None:
        raise NotFound("no such message", code="message_not_found")
    if expect_delivery is not None and doc.get("delivery") != expect_delivery:
        return False
    changed = doc | changes
    conn.execute(
        "UPDATE messages SET doc = ?, due_at = ? WHERE conversation_id = ? AND seq = ?",
        (_dump(changed), _due_at(changed), conversation_id, seq),
    )
    return True


def claim_deliveries(conn: sqlite3.Connection, now: str, lease_until: str, limit: int) -> list[Doc]:
    """The outbox: up to `limit` messages whose next attempt is due, oldest due first, each
    held until `lease_until` (so no other worker takes it while this one sends) and marked
    with the attempt's start. Answers [doc as it now is, interrupted] each: interrupted when an
    earlier attempt had started and recorded nothing (outcomes clear attempt_started_at)."""
    rows = conn.execute(
        "SELECT conversation_id, seq, doc FROM messages WHERE due_at IS NOT NULL AND due_at <= ? "
        "ORDER BY due_at LIMIT ?",
        (now, limit),
    ).fetchall()
    claimed = []
    for conversation_id, seq, text in rows:
        doc = orjson.loads(text)
        interrupted = doc["delivery"].get("attempt_started_at") is not None
        doc["delivery"] = doc["delivery"] | {"due_at": lease_until, "attempt_started_at": now}
        conn.execute(
            "UPDATE messages SET doc = ?, due_at = ? WHERE conversation_id = ? AND seq = ?",
            (_dump(doc), lease_until, conversation_id, seq),
        )
        claimed.append([doc, interrupted])
    return claimed


def create_channel_account(conn: sqlite3.Connection, doc: Doc) -> None:
    with _duplicate_is_conflict("channel account exists", code="channel_exists"):
        conn.execute(
            "INSERT INTO channel_accounts (id, tenant, type, enabled, created_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                doc["id"],
                doc["tenant"],
                doc["type"],
                int(bool(doc["enabled"])),
                doc["created_at"],
                _dump(doc),
            ),
        )


def update_channel_account(
    conn: sqlite3.Connection, tenant: str, account_id: str, changes: Doc
) -> None:
    doc = _changed_doc(conn, "channel_accounts", tenant, account_id, changes, "channel")
    conn.execute(
        "UPDATE channel_accounts SET enabled = ?, doc = ? WHERE id = ?",
        (int(bool(doc["enabled"])), _dump(doc), account_id),
    )


def delete_channel_account(conn: sqlite3.Connection, tenant: str, account_id: str) -> None:
    deleted = conn.execute(
        "DELETE FROM channel_accounts WHERE id = ? AND tenant = ?", (account_id, tenant)
    ).rowcount
    if not deleted:
        raise NotFound("no such channel", code="channel_not_found")


def create_left_message(conn: sqlite3.Connection, doc: Doc) -> None:
    conn.execute(
        "INSERT INTO left_messages (id, tenant, handled, created_at, doc) VALUES (?, ?, ?, ?, ?)",
        (doc["id"], doc["tenant"], int(bool(doc["handled"])), doc["created_at"], _dump(doc)),
    )


def update_left_message(conn: sqlite3.Connection, tenant: str, left_id: str, changes: Doc) -> None:
    doc = _changed_doc(conn, "left_messages", tenant, left_id, changes, "left_message")
    conn.execute(
        "UPDATE left_messages SET handled = ?, doc = ? WHERE id = ?",
        (int(bool(doc["handled"])), _dump(doc), left_id),
    )


def update_left_message_if(
    conn: sqlite3.Connection, tenant: str, left_id: str, changes: Doc, expected: Doc
) -> bool:
    stored = _changed_doc(conn, "left_messages", tenant, left_id, {}, "left_message")
    if any(stored.get(k) != v for k, v in expected.items()):
        return False
    update_left_message(conn, tenant, left_id, changes)
    return True


def create_upload(conn: sqlite3.Connection, doc: Doc, quota: Doc) -> str | None:
    """None once recorded (the tenant's total with it), else the limit of `quota` it
    would pass, with nothing written. The check and the write are one transaction."""
    tenant, size = doc["tenant"], int(doc["size"])
    if quota.get("since") is not None:
        files, used = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM uploads WHERE tenant = ? "
            "AND uploader_type = ? AND uploader_id = ? AND created_at >= ?",
            (tenant, doc["uploader_type"], doc["uploader_id"], quota["since"]),
        ).fetchone()
        if quota.get("uploader_files") is not None and files + 1 > quota["uploader_files"]:
            return "uploader_files"
        if quota.get("uploader_bytes") is not None and used + size > quota["uploader_bytes"]:
            return "uploader_bytes"
    row = conn.execute("SELECT bytes FROM upload_totals WHERE tenant = ?", (tenant,)).fetchone()
    if (
        quota.get("tenant_bytes") is not None
        and (row[0] if row else 0) + size > quota["tenant_bytes"]
    ):
        return "tenant_bytes"
    with _duplicate_is_conflict("upload exists", code="upload_exists"):
        conn.execute(
            "INSERT INTO uploads (tenant, id, uploader_type, uploader_id, size, created_at, "
            "message_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tenant,
                doc["id"],
                doc["uploader_type"],
                doc["uploader_id"],
                size,
                doc["created_at"],
                doc.get("message_id"),
                _dump(doc),
            ),
        )
    conn.execute(
        "INSERT INTO upload_totals (tenant, files, bytes) VALUES (?, 1, ?) ON CONFLICT (tenant) "
        "DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes",
        (tenant, size),
    )
    return None


def delete_orphan_upload(conn: sqlite3.Connection, tenant: str, upload_id: str) -> bool:
    row = conn.execute(
        "SELECT size FROM uploads WHERE tenant = ? AND id = ? AND message_id IS NULL",
        (tenant, upload_id),
    ).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM uploads WHERE tenant = ? AND id = ?", (tenant, upload_id))
    conn.execute(
        "UPDATE upload_totals SET files = files - 1, bytes = bytes - ? WHERE tenant = ?",
        (row[0], tenant),
    )
    return True


# integrations ---------------------------------------------------------------------------


def create_api_token(conn: sqlite3.Connection, doc: Doc) -> None:
    conn.execute(
        "INSERT INTO api_tokens (id, tenant, token_hash, created_at, doc) VALUES (?, ?, ?, ?, ?)",
        (doc["id"], doc["tenant"], doc["token_hash"], doc["created_at"], _dump(doc)),
    )


def touch_api_token(conn: sqlite3.Connection, tenant: str, token_id: str, used_at: str) -> None:
    conn.execute(
        "UPDATE api_tokens SET doc = json_set(doc, '$.last_used_at', ?) "
        "WHERE id = ? AND tenant = ?",
        (used_at, token_id, tenant),
    )


def delete_api_token(conn: sqlite3.Connection, tenant: str, token_id: str) -> bool:
    sql = "DELETE FROM api_tokens WHERE id = ? AND tenant = ?"
    return conn.execute(sql, (token_id, tenant)).rowcount == 1


def create_webhook(conn: sqlite3.Connection, doc: Doc) -> None:
    conn.execute(
        "INSERT INTO webhooks (id, tenant, created_at, doc) VALUES (?, ?, ?, ?)",
        (doc["id"], doc["tenant"], doc["created_at"], _dump(doc)),
    )


def update_webhook(conn: sqlite3.Connection, tenant: str, webhook_id: str, changes: Doc) -> bool:
    sql = "SELECT doc FROM webhooks WHERE id = ? AND tenant = ?"
    doc = _row_doc(conn, sql, (webhook_id, tenant))
    if doc is None:
        return False
    conn.execute("UPDATE webhooks SET doc = ? WHERE id = ?", (_dump(doc | changes), webhook_id))
    return True


def delete_webhook(conn: sqlite3.Connection, tenant: str, webhook_id: str) -> bool:
    deleted = conn.execute(
        "DELETE FROM webhooks WHERE id = ? AND tenant = ?", (webhook_id, tenant)
    ).rowcount
    conn.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = ? AND tenant = ?", (webhook_id, tenant)
    )
    return deleted == 1


def create_webhook_deliveries(conn: sqlite3.Connection, docs: list[Doc]) -> None:
    conn.executemany(
        "INSERT INTO webhook_deliveries (id, tenant, webhook_id, created_at, due_at, doc) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (d["id"], d["tenant"], d["webhook_id"], d["created_at"], d["due_at"], _dump(d))
            for d in docs
        ],
    )


def claim_webhook_deliveries(
    conn: sqlite3.Connection, now: str, lease_until: str, limit: int
) -> list[Doc]:
    rows = conn.execute(
        "SELECT id, doc FROM webhook_deliveries WHERE due_at IS NOT NULL AND due_at <= ? "
        "ORDER BY due_at LIMIT ?",
        (now, limit),
    ).fetchall()
    claimed = []
    for delivery_id, text in rows:
        doc = orjson.loads(text) | {"due_at": lease_until}
        conn.execute(
            "UPDATE webhook_deliveries SET doc = ?, due_at = ? WHERE id = ?",
            (_dump(doc), lease_until, delivery_id),
        )
        claimed.append(doc)
    return claimed


def update_webhook_delivery(
    conn: sqlite3.Connection, tenant: str, delivery_id: str, changes: Doc
) -> bool:
    sql = "SELECT doc FROM webhook_deliveries WHERE id = ? AND tenant = ?"
    doc = _row_doc(conn, sql, (delivery_id, tenant))
    if doc is None:
        return False
    changed = doc | changes
    due_at = changed["due_at"] if changed["status"] == "pending" else None
    conn.execute(
        "UPDATE webhook_deliveries SET doc = ?, due_at = ? WHERE id = ?",
        (_dump(changed), due_at, delivery_id),
    )
    return True


# Every table holding a tenant's records, by its tenant column.
TENANT_TABLES = (
    "settings",
    "agents",
    "contacts",
    "identities",
    "conversations",
    "messages",
    "message_search",
    "left_messages",
    "channel_accounts",
    "uploads",
    "upload_totals",
    "api_tokens",
    "webhooks",
    "webhook_deliveries",
    "invitation_counts",
    "kb_articles",
    "bot_stats",
    "bot_unanswered",
    "im_departments",
    "im_threads",
    "im_members",
    "im_messages",
    "im_reads",
    "im_message_search",
)


def update_tenant(conn: sqlite3.Connection, tenant_id: str, changes: Doc) -> bool:
    doc = _row_doc(conn, "SELECT doc FROM tenants WHERE id = ?", (tenant_id,))
    if doc is None:
        return False
    conn.execute("UPDATE tenants SET doc = ? WHERE id = ?", (_dump(doc | changes), tenant_id))
    return True


def delete_tenant(conn: sqlite3.Connection, tenant_id: str) -> bool:
    for table in TENANT_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE tenant = ?", (tenant_id,))
    return conn.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,)).rowcount == 1


def count_invitation(
    conn: sqlite3.Connection, tenant: str, day: str, agent_id: str, outcome: str
) -> None:
    check_invitation_outcome(outcome)  # it names a column: never anything else
    conn.execute(
        f"INSERT INTO invitation_counts (tenant, day, agent_id, {outcome}) VALUES (?, ?, ?, 1) "
        f"ON CONFLICT (tenant, day, agent_id) DO UPDATE SET {outcome} = {outcome} + 1",
        (tenant, day, agent_id),
    )


def put_kb_articles(conn: sqlite3.Connection, tenant: str, docs: list[Doc]) -> None:
    conn.executemany(
        "INSERT INTO kb_articles (tenant, id, created_at, doc) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc",
        [(tenant, doc["id"], doc["created_at"], _dump(doc)) for doc in docs],
    )


def delete_kb_article(conn: sqlite3.Connection, tenant: str, article_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM kb_articles WHERE tenant = ? AND id = ?", (tenant, article_id)
    )
    return cursor.rowcount > 0


def add_bot_stats(
    conn: sqlite3.Connection,
    tenant: str,
    day: str,
    counts: dict[str, int],
    unanswered: str | None,
    at: str,
) -> None:
    conn.executemany(
        "INSERT INTO bot_stats (tenant, day, name, count) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (tenant, day, name) DO UPDATE SET count = count + excluded.count",
        [(tenant, day, name, count) for name, count in counts.items()],
    )
    if unanswered is not None:
        conn.execute(
            "INSERT INTO bot_unanswered (tenant, text, count, last_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (tenant, text) DO UPDATE "
            "SET count = count + 1, last_at = excluded.last_at",
            (tenant, unanswered, at),
        )


def ping(conn: sqlite3.Connection) -> None:
    """Answered once the writer is up (the store's open waits for it)."""


OPS: dict[str, Callable[..., Any]] = {
    op.__name__: op
    for op in (
        ping,
        create_tenant,
        put_settings,
        create_agent,
        update_agent,
        create_contact,
        update_contact,
        merge_contacts,
        create_conversation,
        open_conversation,
        update_conversation,
        append_message,
        ingest,
        update_message,
        claim_deliveries,
        create_channel_account,
        update_channel_account,
        delete_channel_account,
        create_left_message,
        update_left_message,
        update_left_message_if,
        create_upload,
        delete_orphan_upload,
        *IM_OPS,
        create_api_token,
        touch_api_token,
        delete_api_token,
        create_webhook,
        update_webhook,
        delete_webhook,
        create_webhook_deliveries,
        claim_webhook_deliveries,
        update_webhook_delivery,
        update_tenant,
        delete_tenant,
        count_invitation,
        put_kb_articles,
        delete_kb_article,
        add_bot_stats,
    )
}


# Batches --------------------------------------------------------------------------------


def error_doc(exc: BaseException) -> Doc:
    if isinstance(exc, HubError):
        return {"kind": type(exc).__name__, "message": exc.message, "code": exc.code}
    return {"kind": type(exc).__name__, "message": str(exc), "code": None}


def run_batch(conn: sqlite3.Connection, ops: list[list[Any]]) -> list[list[Any]]:
    results: list[list[Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, *args in ops:
            conn.execute("SAVEPOINT op")
            try:
                results.append([1, OPS[name](conn, *args)])
            except Exception as exc:
                conn.execute("ROLLBACK TO op")
                results.append([0, error_doc(exc)])
            conn.execute("RELEASE op")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


# The process ------------------------------------------------------------------------------


READ_CHUNK = 1 << 20


def take_frames(buffer: bytearray) -> list[Any]:
    """Every complete frame at the start of `buffer`, decoded and removed from it."""
    frames = []
    while len(buffer) >= 4:
        size = int.from_bytes(buffer[:4], "big")
        if len(buffer) < 4 + size:
            break
        frames.append(orjson.loads(buffer[4 : 4 + size]))
        del buffer[: 4 + size]
    return frames


def frame_bytes(value: Any) -> bytes:
    body = orjson.dumps(value)
    return len(body).to_bytes(4, "big") + body


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:
        sys.exit(0)  # the parent died before the request above took effect


def serve(path: str, synchronous: str, incoming: int, outgoing: BinaryIO) -> None:
    """Answer batches until `incoming` (a file descriptor) closes. Every batch that has
    arrived by the time the previous commit ends runs in one transaction; each is answered
    with its own frame, carrying the number of the commit that made it durable."""
    try:
        conn = connect(path, synchronous)
        migrate(conn)
    except Exception as exc:
        outgoing.write(frame_bytes([0, None, error_doc(exc), 0]))
        outgoing.flush()
        return
    outgoing.write(frame_bytes([0, [], None, 0]))  # ready
    outgoing.flush()
    buffer = bytearray()
    commits = 0
    try:
        while True:
            batches: list[Any] = []
            while not batches:
                chunk = os.read(incoming, READ_CHUNK)
                if not chunk:
                    return
                buffer += chunk
                batches = take_frames(buffer)
            commits += 1
            try:
                results = run_batch(conn, [op for _, ops in batches for op in ops])
            except Exception as exc:
                answers = [[batch_id, None, error_doc(exc), commits] for batch_id, _ in batches]
            else:
                answers, offset = [], 0
                for batch_id, ops in batches:
                    answers.append([batch_id, results[offset : offset + len(ops)], None, commits])
                    offset += len(ops)
            outgoing.write(b"".join(frame_bytes(answer) for answer in answers))
            outgoing.flush()
    finally:
        conn.close()


def main() -> None:
    path, synchronous, parent_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    with contextlib.suppress(BrokenPipeError):  # the hub went away: nobody to answer
        serve(path, synchronous, sys.stdin.fileno(), sys.stdout.buffer)


if __name__ == "__main__":
    main()
