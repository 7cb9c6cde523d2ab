"""The Store's section for the bots (bots/) on PostgreSQL: the knowledge base's articles,
the daily counters and the unanswered questions. PostgresStore inherits this
(hub/storage/postgres.py: its pool, `_all`/`_rows`/`_write` and the NUL-safe text codec).
Counters add with one upsert each (`ON CONFLICT … DO UPDATE SET count = count + …`), atomic
whichever node counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from hub.domain import iso, utcnow
from hub.storage.postgres_sql import _dump

Doc = dict[str, Any]
Connection = asyncpg.Connection
R = TypeVar("R")


async def _put_kb_articles(conn: Connection, tenant: str, docs: list[Doc]) -> None:
    await conn.executemany(
        "INSERT INTO kb_articles (tenant, id, created_at, doc) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc",
        [(tenant, doc["id"], doc["created_at"], _dump(doc)) for doc in docs],
    )


async def _delete_kb_article(conn: Connection, tenant: str, article_id: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM kb_articles WHERE tenant = $1 AND id = $2 RETURNING id", tenant, article_id
    )
    return deleted is not None


async def _add_bot_stats(
    conn: Connection, tenant: str, day: str, counts: dict[str, int], unanswered: str | None, at: str
) -> None:
    await conn.executemany(
        "INSERT INTO bot_stats (tenant, day, name, count) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant, day, name) DO UPDATE SET count = bot_stats.count + excluded.count",
        [(tenant, day, name, count) for name, count in counts.items()],
    )
    if unanswered is not None:
        await conn.execute(
            "INSERT INTO bot_unanswered (tenant, text, count, last_at) VALUES ($1, $2, 1, $3) "
            "ON CONFLICT (tenant, text) DO UPDATE "
            "SET count = bot_unanswered.count + 1, last_at = excluded.last_at",
            tenant,
            unanswered,
            at,
        )


class PostgresBots:
    if TYPE_CHECKING:  # PostgresStore's (hub/storage/postgres.py)

        async def _all(self, sql: str, *args: Any) -> list[Doc]: ...

        async def _rows(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...

        async def _write(
            self, op: Callable[..., Awaitable[R]], *args: Any, races: bool = False
        ) -> R: ...

    # the bots' knowledge base and metrics -------------------------------------------------

    async def list_kb_articles(self, tenant: str) -> list[dict[str, Any]]:
        return await self._all(
            "SELECT doc FROM kb_articles WHERE tenant = $1 ORDER BY created_at, id", tenant
        )

    async def put_kb_articles(self, tenant: str, articles: Sequence[Mapping[str, Any]]) -> None:
        if articles:
            await self._write(_put_kb_articles, tenant, [dict(a) for a in articles])

    async def delete_kb_article(self, tenant: str, article_id: str) -> bool:
        return await self._write(_delete_kb_article, tenant, article_id)

    async def add_bot_stats(
        self, tenant: str, day: str, counts: Mapping[str, int], unanswered: str | None = None
    ) -> None:
        await self._write(_add_bot_stats, tenant, day, dict(counts), unanswered, iso(utcnow()))

    async def list_bot_stats(self, tenant: str, since_day: str) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT day, name, count FROM bot_stats WHERE tenant = $1 AND day >= $2 ORDER BY day",
            tenant,
            since_day,
        )
        days: dict[str, dict[str, int]] = {}
        for row in rows:
            days.setdefault(row["day"], {})[row["name"]] = int(row["count"])
        return [{"day": day, "counts": counts} for day, counts in days.items()]

    async def list_unanswered(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT text, count, last_at FROM bot_unanswered WHERE tenant = $1 "
            "ORDER BY count DESC, last_at DESC LIMIT $2",
            tenant,
            limit,
        )
        return [
            {"text": row["text"], "count": int(row["count"]), "last_at": row["last_at"]}
            for row in rows
        ]
