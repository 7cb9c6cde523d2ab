"""Storage: one async interface (base.Store), SQLite embedded by default; PostgreSQL or
MongoDB as the store several nodes share."""

from __future__ import annotations

from pathlib import Path

from hub.storage.base import Store


def create_store(
    *,
    data_dir: Path,
    mongo_url: str | None = None,
    mongo_db: str = "hub",
    postgres_url: str | None = None,
    postgres_pool_size: int = 10,
    sqlite_synchronous: str = "FULL",
) -> Store:
    if postgres_url:
        from hub.storage.postgres import PostgresStore

        return PostgresStore(postgres_url, pool_size=postgres_pool_size)
    if mongo_url:
        from hub.storage.mongo import MongoStore

        return MongoStore.from_url(mongo_url, mongo_db)
    from hub.storage.sqlite import SqliteStore

    return SqliteStore(data_dir / "hub.sqlite3", synchronous=sqlite_synchronous)


__all__ = ["Store", "create_store"]
