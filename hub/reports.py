"""Reports (报表): conversations, messages in and out, wait, first response and handling
times, satisfaction and left messages over a date range, by agent, skill, channel or day.

The store sums what it holds per group (hub/storage/base.py `report`); this module turns a
request into a range, quarter hours into the days of the asker's time zone (every offset is
a whole number of quarter hours), sums into averages, and rows into JSON or CSV. Everything
is computed from stored timestamps and counters, so it is the same after a restart and on
any node. Reads only."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hub.errors import Invalid
from hub.storage.base import ReportCell, ReportGroup, Store

GroupBy = Literal["agent", "skill", "channel", "day"]
GROUPS: tuple[GroupBy, ...] = ("agent", "skill", "channel", "day")
# A report reads every conversation of its range: a bound on the range bounds the work.
MAX_RANGE_DAYS = 366
COLUMNS = (
    "key",
    "name",
    "conversations",
    "messages_in",
    "messages_out",
    "avg_wait_seconds",
    "avg_first_response_seconds",
    "avg_handle_seconds",
    "csat_avg",
    "csat_count",
    "left_messages",
)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    first_day: date
    last_day: date
    group_by: GroupBy
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone).astimezone(
            UTC
        )


def _day(query: Mapping[str, str], name: str, default: date) -> date:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} is a date like 2026-12-01", code="invalid_report_range") from None


def check_report_request(query: Mapping[str, str], today: datetime) -> ReportRequest:
    """`from` and `to` are days (both included) in the time zone `tz` (IANA, UTC by
    default); by default the last seven days up to today."""
    zone_name = query.get("tz") or "UTC"
    if zone_name not in _zone_names():
        raise Invalid(
            f"tz is a time zone name like Asia/Shanghai, not {zone_name[:40]!r}",
            code="invalid_time_zone",
        )
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {zone_name[:40]!r}", code="invalid_time_zone") from None
    local_today = today.astimezone(zone).date()
    last_day = _day(query, "to", local_today)
    first_day = _day(query, "from", last_day - timedelta(days=6))
    if first_day > last_day:
        raise Invalid("from is after to", code="invalid_report_range")
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(f"a report covers at most {MAX_RANGE_DAYS} days", code="invalid_report_range")
    group_by = query.get("group_by") or "day"
    if group_by not in GROUPS:
        raise Invalid(f"group_by is one of {', '.join(GROUPS)}", code="invalid_report_group")
    return ReportRequest(first_day, last_day, group_by, zone)  # type: ignore[arg-type]


@cache
def _zone_names() -> frozenset[str]:
    """The zone names the system knows (read once): a name is looked up in this set before
    ZoneInfo opens a file named after it."""
    return frozenset(available_timezones()) | {"UTC"}


async def build_report(
    store: Store, tenant: str, request: ReportRequest, names: Mapping[str, str]
) -> dict[str, Any]:
    """`{items, total, from, to, tz, group_by}`: one item per group (for days, every day of
    the range, empty ones included, in order; otherwise busiest first)."""
    store_group: ReportGroup = "quarter_hour" if request.group_by == "day" else request.group_by
    cells = await store.report(tenant, request.start, request.end, store_group)
    if request.group_by == "day":
        days = {
            (request.first_day + timedelta(days=n)).isoformat(): ReportCell(
                (request.first_day + timedelta(days=n)).isoformat()
            )
            for n in range((request.last_day - request.first_day).days + 1)
        }
        for cell in cells:
            local = _utc_quarter(cell.key).astimezone(request.zone).date().isoformat()
            if local in days:
                days[local].add(cell)
        ordered = list(days.values())
    else:
        ordered = sorted(cells, key=lambda c: (-c.conversations, c.key))
    total = ReportCell("total")
    for cell in ordered:
        total.add(cell)
    return {
        "from": request.first_day.isoformat(),
        "to": request.last_day.isoformat(),
        "tz": request.zone.key,
        "group_by": request.group_by,
        "items": [_row(cell, names.get(cell.key, "")) for cell in ordered],
        "total": _row(total, ""),
    }


def _utc_quarter(key: str) -> datetime:
    return datetime.fromisoformat(key).replace(tzinfo=UTC)


def _average(total: float, count: int, digits: int) -> float | None:
    return round(total / count, digits) if count else None


def _row(cell: ReportCell, name: str) -> dict[str, Any]:
    return {
        "key": cell.key,
        "name": name,
        "conversations": cell.conversations,
        "messages_in": cell.messages_in,
        "messages_out": cell.messages_out,
        "avg_wait_seconds": _average(cell.wait_seconds, cell.waits, 1),
        "avg_first_response_seconds": _average(
            cell.first_response_seconds, cell.first_responses, 1
        ),
        "avg_handle_seconds": _average(cell.handle_seconds, cell.handled, 1),
        "csat_avg": _average(cell.csat_total, cell.csat_count, 2),
        "csat_count": cell.csat_count,
        "left_messages": cell.left_messages,
    }


def report_csv(report: Mapping[str, Any]) -> str:
    """The items and the total as CSV, with a byte-order mark so that spreadsheet programs
    open the UTF-8 (Chinese names) as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in [*report["items"], report["total"]]:
        writer.writerow(["" if row[c] is None else _csv_safe(row[c]) for c in COLUMNS])
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    """A text a spreadsheet would run as a formula (an agent named "=HYPERLINK(…)") is
    quoted as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
