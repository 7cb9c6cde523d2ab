"""What the PostgreSQL store's modules share (postgres.py, postgres_im.py): documents as
JSON text, placeholders, search text, and the helpers their write ops use inside the
transaction PostgresStore._write opened."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import orjson

from hub.errors import Conflict

Doc = dict[str, Any]
Connection = asyncpg.Connection

# ASCII letters only: search is ASCII case-insensitive on every backend (SQLite's LIKE).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Between a record's fields in its search text: no query can hold it (control characters are
# refused at the boundary), so no match spans two fields.
FIELD_SEPARATOR = "\x1f"


def _dump(doc: Doc) -> str:
    return orjson.dumps(doc).decode()


def _load(text: str) -> Doc:
    return orjson.loads(text)


def _marks(values: Sequence[Any], first: int) -> str:
    """Placeholders $first, $first+1, … for an IN list (text arrays would bypass the NUL
    codec (postgres.py's _prepare_connection), which asyncpg applies to scalars only)."""
    return ", ".join(f"${first + i}" for i in range(len(values)))


def searchable(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere (the default escape is backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{searchable(escaped)}%"


@contextlib.contextmanager
def _duplicate_is_conflict(message: str, *, code: str, index: str | None = None) -> Iterator[None]:
    """A unique index saying no (`index`, or any) becomes the hub's Conflict."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if index is not None and exc.constraint_name != index:
            raise
        raise Conflict(message, code=code) from exc


async def _row_doc(conn: Connection, sql: str, *args: Any) -> Doc | None:
    text = await conn.fetchval(sql, *args)
    return _load(text) if text is not None else None


async def _mark_uploads_used(
    conn: Connection, tenant: str, ids: list[str], message_id: str
) -> None:
    """In the append's transaction: an upload a stored message uses is never an orphan."""
    if not ids:
        return
    rows = await conn.fetch(
        f"SELECT id, doc FROM uploads WHERE tenant = $1 AND id IN ({_marks(ids, 2)}) "
        "AND message_id IS NULL ORDER BY id FOR UPDATE",
        tenant,
        *ids,
    )
    for row in rows:
        doc = _load(row["doc"]) | {"message_id": message_id}
        await conn.execute(
            "UPDATE uploads SET message_id = $1, doc = $2 WHERE tenant = $3 AND id = $4",
            message_id,
            _dump(doc),
            tenant,
            row["id"],
        )


def json_of(column: str) -> str:
    """SQL reading a document column as json, for a few of its fields in a query. json's
    parser refuses the escape of NUL ("\\u0000", which a document holds for a NUL in any of
    its texts, say a message's preview), so that reads as U+FFFD, as text columns store NUL."""
    return f"replace({column}, '\\u0000', '\\ufffd')::json"
