"""reports: how long `GET /api/v1/reports/summary` takes over a big tenant, on SqliteStore.

A tenant with a year of conversations (1,000,000; 20,000 with --quick) spread evenly, 50
agents, 5 skills, 3 channels, a rating on every third, a left message for every twentieth,
is written straight into a migrated database (the writer process would take an hour to put
them in one by one; what is measured is the read). Then the store's `report` over the last
30 days by agent and over the whole year by day (its quarter hours), each three times, the
median given. The baseline in the same run is the bare range read the report cannot do
without: counting the same conversations through the same index. The ratio is the cost of
the sums over the plain count.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from hub.domain import iso
from hub.storage.sqlite import SqliteStore

TENANT = "bench"
END = datetime(2026, 12, 1, tzinfo=UTC)
ROUNDS = 3


def _seed(path: Path, count: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    step = timedelta(days=365) / count
    start = END - timedelta(days=365)
    conn.execute("BEGIN")

    def rows() -> Any:
        for n in range(count):
            created = start + step * n
            queued, assigned = created, created + timedelta(seconds=5 + n % 120)
            doc = {
                "id": f"c{n}",
                "tenant": TENANT,
                "channel": ("webim", "email", "wechat")[n % 3],
                "contact_id": f"k{n}",
                "status": "closed",
                "agent_id": f"a{n % 50}",
                "skill": f"s{n % 5}",
                "created_at": iso(created),
                "queued_at": iso(queued),
                "assigned_at": iso(assigned),
                "first_response_at": iso(assigned + timedelta(seconds=10 + n % 60)),
                "closed_at": iso(assigned + timedelta(seconds=300 + n % 900)),
                "rating": {"score": 1 + n % 5, "comment": ""} if n % 3 == 0 else None,
                "messages_in": 3 + n % 5,
                "messages_out": 2 + n % 4,
                "last_seq": 5 + n % 9,
            }
            yield (
                doc["id"],
                TENANT,
                "closed",
                doc["agent_id"],
                doc["contact_id"],
                doc["channel"],
                doc["created_at"],
                None,
                None,
                orjson.dumps(doc),
            )

    conn.executemany(
        "INSERT INTO conversations (id, tenant, status, agent_id, contact_id, channel, "
        "created_at, channel_id, open_key, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    conn.executemany(
        "INSERT INTO left_messages (id, tenant, handled, created_at, doc) VALUES (?, ?, 0, ?, ?)",
        (
            (
                f"l{n}",
                TENANT,
                iso(start + step * n),
                orjson.dumps(
                    {"id": f"l{n}", "tenant": TENANT, "conversation_id": f"c{n}", "text": "x"}
                ),
            )
            for n in range(0, count, 20)
        ),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _count(path: Path, start: datetime, end: datetime) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (found,) = conn.execute(
            "SELECT count(*) FROM conversations WHERE tenant = ? AND created_at >= ? "
            "AND created_at < ?",
            (TENANT, iso(start), iso(end)),
        ).fetchone()
        return int(found)
    finally:
        conn.close()


def _median_seconds(run: Any) -> float:
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def _measure(path: Path, log: Any) -> dict[str, Any]:
    store = SqliteStore(path)
    await store.open()
    results: dict[str, Any] = {}
    try:
        for label, days, group in (
            ("30_days_by_agent", 30, "agent"),
            ("year_by_day", 365, "quarter_hour"),
        ):
            start = END - timedelta(days=days)
            conversations = _count(path, start, END)
            loop = asyncio.get_running_loop()
            report_times = []
            for _ in range(ROUNDS):
                began = loop.time()
                cells = await store.report(TENANT, start, END, group)  # type: ignore[arg-type]
                report_times.append(loop.time() - began)
            assert sum(c.conversations for c in cells) == conversations
            report_s = statistics.median(report_times)
            count_s = await asyncio.to_thread(_median_seconds, partial(_count, path, start, END))
            results[label] = {
                "conversations": conversations,
                "report_ms": round(report_s * 1000, 1),
                "bare_count_ms": round(count_s * 1000, 1),
                "ratio_to_bare_count": round(report_s / count_s, 1),
                "conversations_per_s": round(conversations / report_s),
            }
            log(f"reports {label}: {results[label]}")
    finally:
        await store.close()
    return results


def run(quick: bool, workers: int, log: Any) -> dict[str, Any]:
    count = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as directory:
        path = Path(directory) / "hub.sqlite3"
        asyncio.run(_open_and_close(path))
        began = time.perf_counter()
        _seed(path, count)
        log(f"reports: {count} conversations written in {time.perf_counter() - began:.1f} s")
        measured = asyncio.run(_measure(path, log))
    return {"scenario": "reports", "store": "sqlite", "tenant_conversations": count, **measured}


async def _open_and_close(path: Path) -> None:
    """A database with the current schema (the store's writer applies the migrations)."""
    store = SqliteStore(path)
    await store.open()
    await store.close()
