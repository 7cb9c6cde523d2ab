"""The enterprise IM's writer ops (run in the SQLite writer process, hub/storage/sqlite_writer.py
lists them in its OPS): plain documents in, plain values out, each in the batch's transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from hub.domain import upload_ids
from hub.errors import Conflict, Forbidden, NotFound
from hub.storage.codec import preview_of

Doc = dict[str, Any]


def _dump(doc: Doc) -> str:
    return orjson.dumps(doc).decode()


def _thread_doc(conn: sqlite3.Connection, tenant: str, thread_id: str) -> Doc | None:
    row = conn.execute(
        "SELECT doc FROM im_threads WHERE tenant = ? AND id = ?", (tenant, thread_id)
    ).fetchone()
    return orjson.loads(row[0]) if row else None


def _active_at(doc: Doc) -> str:
    return doc.get("last_message_at") or doc["created_at"]


def _write_members(conn: sqlite3.Connection, doc: Doc) -> None:
    """The member rows follow the document: one per member while the thread lives."""
    tenant, thread_id = doc["tenant"], doc["id"]
    conn.execute("DELETE FROM im_members WHERE tenant = ? AND thread_id = ?", (tenant, thread_id))
    if doc.get("dissolved"):
        return
    conn.executemany(
        "INSERT INTO im_members (tenant, agent_id, thread_id, active_at) VALUES (?, ?, ?, ?)",
        [(tenant, member, thread_id, _active_at(doc)) for member in doc["members"]],
    )


def create_department(conn: sqlite3.Connection, doc: Doc) -> None:
    try:
        conn.execute(
            "INSERT INTO im_departments (tenant, id, created_at, doc) VALUES (?, ?, ?, ?)",
            (doc["tenant"], doc["id"], doc["created_at"], _dump(doc)),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict("department exists", code="department_exists") from exc


def update_department(conn: sqlite3.Connection, tenant: str, department_id: str, changes: Doc):
    row = conn.execute(
        "SELECT doc FROM im_departments WHERE tenant = ? AND id = ?", (tenant, department_id)
    ).fetchone()
    if row is None:
        raise NotFound("no such department", code="department_not_found")
    conn.execute(
        "UPDATE im_departments SET doc = ? WHERE tenant = ? AND id = ?",
        (_dump(orjson.loads(row[0]) | changes), tenant, department_id),
    )


def delete_department(conn: sqlite3.Connection, tenant: str, department_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM im_departments WHERE tenant = ? AND id = ?", (tenant, department_id)
    )
    return cursor.rowcount > 0


def create_im_thread(conn: sqlite3.Connection, doc: Doc) -> list[Any]:
    """["new", doc], or ["seen", the pair's stored direct thread] (nothing written)."""
    if doc.get("direct_key") is not None:
        row = conn.execute(
            "SELECT doc FROM im_threads WHERE tenant = ? AND direct_key = ?",
            (doc["tenant"], doc["direct_key"]),
        ).fetchone()
        if row is not None:
            return ["seen", orjson.loads(row[0])]
    conn.execute(
        "INSERT INTO im_threads (tenant, id, direct_key, doc) VALUES (?, ?, ?, ?)",
        (doc["tenant"], doc["id"], doc.get("direct_key"), _dump(doc)),
    )
    _write_members(conn, doc)
    return ["new", doc]


def update_im_thread(
    conn: sqlite3.Connection, tenant: str, thread_id: str, changes: Doc, version: int
) -> bool:
    doc = _thread_doc(conn, tenant, thread_id)
    if doc is None:
        raise NotFound("no such thread", code="thread_not_found")
    if doc["version"] != version:
        return False
    doc |= changes | {"version": version + 1}
    conn.execute(
        "UPDATE im_threads SET doc = ? WHERE tenant = ? AND id = ?", (_dump(doc), tenant, thread_id)
    )
    if {"members", "dissolved"} & changes.keys():
        _write_members(conn, doc)
    return True


def _set_read(conn: sqlite3.Connection, tenant: str, thread_id: str, agent_id: str, seq: int):
    conn.execute(
        "INSERT INTO im_reads (tenant, thread_id, agent_id, seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (tenant, thread_id, agent_id) DO UPDATE SET seq = max(seq, excluded.seq)",
        (tenant, thread_id, agent_id, seq),
    )


def append_im_message(conn: sqlite3.Connection, doc: Doc) -> list[Any]:
    """["new", stored doc, thread doc] or ["seen", the original, thread doc]."""
    tenant, thread_id = doc["tenant"], doc["thread_id"]
    thread = _thread_doc(conn, tenant, thread_id)
    if thread is None:
        raise NotFound("no such thread", code="thread_not_found")
    if thread.get("dissolved") or doc["sender"]["id"] not in thread["members"]:
        raise Forbidden("you are not a member of this thread", code="not_a_member")
    if doc.get("client_id") is not None:
        row = conn.execute(
            "SELECT doc FROM im_messages WHERE tenant = ? AND thread_id = ? AND client_id = ?",
            (tenant, thread_id, doc["client_id"]),
        ).fetchone()
        if row is not None:
            return ["seen", orjson.loads(row[0]), thread]
    seq = int(thread["last_seq"]) + 1
    stored = doc | {"seq": seq}
    conn.execute(
        "INSERT INTO im_messages (tenant, thread_id, seq, client_id, doc) VALUES (?, ?, ?, ?, ?)",
        (tenant, thread_id, seq, doc.get("client_id"), _dump(stored)),
    )
    thread |= {
        "last_seq": seq,
        "last_message_at": stored["created_at"],
        "last_message_preview": preview_of(stored),
    }
    conn.execute(
        "UPDATE im_threads SET doc = ? WHERE tenant = ? AND id = ?",
        (_dump(thread), tenant, thread_id),
    )
    conn.execute(
        "UPDATE im_members SET active_at = ? WHERE tenant = ? AND thread_id = ?",
        (stored["created_at"], tenant, thread_id),
    )
    _set_read(conn, tenant, thread_id, doc["sender"]["id"], seq)
    if ids := upload_ids(doc.get("attachments") or []):
        marks = ", ".join("?" for _ in ids)
        conn.execute(
            "UPDATE uploads SET message_id = ?, doc = json_set(doc, '$.message_id', ?) "
            f"WHERE tenant = ? AND id IN ({marks}) AND message_id IS NULL",
            (doc["id"], doc["id"], tenant, *ids),
        )
    return ["new", stored, thread]


def mark_im_read(
    conn: sqlite3.Connection, tenant: str, thread_id: str, agent_id: str, seq: int
) -> int:
    _set_read(conn, tenant, thread_id, agent_id, seq)
    row = conn.execute(
        "SELECT seq FROM im_reads WHERE tenant = ? AND thread_id = ? AND agent_id = ?",
        (tenant, thread_id, agent_id),
    ).fetchone()
    return int(row[0])


IM_OPS = (
    create_department,
    update_department,
    delete_department,
    create_im_thread,
    update_im_thread,
    append_im_message,
    mark_im_read,
)
