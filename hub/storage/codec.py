"""Records to plain documents and back (JSON-ready: datetimes as ISO 8601 UTC strings).

Both backends store documents of this shape, so a record reads back identical whichever
store wrote it."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from typing import Any, TypeVar

from hub.domain import iso, parse_iso

T = TypeVar("T")


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_doc(value)
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    return value


def to_doc(record: Any) -> dict[str, Any]:
    return {f.name: encode_value(getattr(record, f.name)) for f in dataclasses.fields(record)}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if kind is datetime:
        return parse_iso(value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_decode(item, v) for v in value]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return from_doc(kind, value)
    return value


def from_doc(cls: type[T], doc: dict[str, Any]) -> T:
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: _decode(hints[name], v) for name, v in doc.items() if name in known})


MESSAGE_PREVIEW = 100


def preview_of(doc: dict[str, Any]) -> str:
    text = str(doc.get("text") or "")
    if text:
        return text[:MESSAGE_PREVIEW]
    return "[image]" if doc.get("type") == "image" else "[file]" if doc.get("attachments") else ""
