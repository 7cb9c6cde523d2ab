"""Cursor paging for every REST list: `?limit=` (a default and a maximum per list) and
`?cursor=`, answered as `{items, next}`. A cursor is opaque to clients: the list's name and
where the page ended (the last record's sort key and id, hub.storage.base.Position), so
records added between two pages are neither skipped nor repeated."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from aiohttp import web

from hub.api.common import query_int
from hub.domain import iso, parse_iso
from hub.errors import Invalid
from hub.storage.base import Position

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(list_name: str, mark: Sequence[Any]) -> str:
    raw = orjson.dumps([list_name, *mark])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(list_name: str, cursor: str) -> list[Any]:
    """The mark a cursor of this list carries; `invalid_cursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not one this list gave", code="invalid_cursor") from exc
    if not isinstance(value, list) or not value or value[0] != list_name:
        raise Invalid("cursor is not one this list gave", code="invalid_cursor")
    return value[1:]


def _position(mark: list[Any]) -> Position:
    if len(mark) != 2 or not all(isinstance(part, str) for part in mark):
        raise Invalid("cursor is not one this list gave", code="invalid_cursor")
    try:
        moment = parse_iso(mark[0])
    except ValueError as exc:
        raise Invalid("cursor is not one this list gave", code="invalid_cursor") from exc
    assert moment is not None
    return moment, mark[1]


def page_limit(request: web.Request, *, default: int = DEFAULT_LIMIT, high: int = MAX_LIMIT) -> int:
    return query_int(request, "limit", default, low=1, high=high)


def page_cursor(request: web.Request, list_name: str) -> list[Any] | None:
    cursor = request.query.get("cursor") or None
    return None if cursor is None else decode_cursor(list_name, cursor)


def page_position(request: web.Request, list_name: str) -> Position | None:
    mark = page_cursor(request, list_name)
    return None if mark is None else _position(mark)


def page(
    list_name: str,
    records: Sequence[T],
    limit: int,
    position_of: Callable[[T], Position],
) -> tuple[list[T], str | None]:
    """The page out of `records` read with limit + 1 (one more says there is a next page),
    and the cursor of the next page, or None at the end."""
    if len(records) <= limit:
        return list(records), None
    kept = list(records[:limit])
    moment, record_id = position_of(kept[-1])
    return kept, encode_cursor(list_name, [iso(moment), record_id])
