"""Records to plain documents and back (JSON-ready: datetimes as ISO 8601 UTC strings).

Both backends store documents of this shape, so a record reads back identical whichever
store wrote it."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
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


Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _encoder(kind: Any) -> Encoder:
    """The function that turns a record value of type `kind` into its stored form, worked out
    once per type, as _decoder below. Plain values pass as they are; anything the type does
    not pin down (Any, dicts, unions of several types) goes through encode_value."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _encoder(options[0]) if len(options) == 1 else encode_value
    if kind is datetime:
        return iso
    if kind in (str, int, bool, float):
        return _identity
    if origin is list:
        (item,) = typing.get_args(kind)
        encode_item = _encoder(item)
        return lambda value: None if value is None else [encode_item(v) for v in value]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return lambda value: None if value is None else to_doc(value)
    return encode_value


@functools.cache
def _encoders(cls: type) -> tuple[tuple[str, Encoder], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _encoder(hints[f.name])) for f in dataclasses.fields(cls))


def to_doc(record: Any) -> dict[str, Any]:
    return {name: encode(getattr(record, name)) for name, encode in _encoders(type(record))}


def _decoder(kind: Any) -> Decoder:
    """The function that turns a stored value of type `kind` back into a record value, worked
    out once per type so that decoding does no typing introspection. None stays None."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _decoder(options[0]) if len(options) == 1 else _identity
    if kind is datetime:
        return lambda value: None if value is None else parse_iso(value)
    if origin is list:
        (item,) = typing.get_args(kind)
        decode_item = _decoder(item)
        if decode_item is _identity:
            return _identity
        return lambda value: None if value is None else [decode_item(v) for v in value]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return lambda value: None if value is None else from_doc(kind, value)
    return _identity


@functools.cache
def _decoders(cls: type) -> dict[str, Decoder]:
    """Field name -> decoder for a record class; names not in the table are ignored, so a
    document written by a newer version still loads."""
    hints = typing.get_type_hints(cls)
    return {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(cls)}


def from_doc(cls: type[T], doc: dict[str, Any]) -> T:
    decoders = _decoders(cls)
    return cls(**{name: decoders[name](v) for name, v in doc.items() if name in decoders})


MESSAGE_PREVIEW = 100


def preview_of(doc: dict[str, Any]) -> str:
    text = str(doc.get("text") or "")
    if text:
        return text[:MESSAGE_PREVIEW]
    return "[image]" if doc.get("type") == "image" else "[file]" if doc.get("attachments") else ""


def message_direction(doc: dict[str, Any]) -> str | None:
    """ "messages_in" for what the customer wrote, "messages_out" for what an agent or a bot
    sent them, None for what counts as neither (private notes, system lines, call events):
    the conversation's counter an appended message adds one to."""
    if doc.get("type") in ("note", "event"):
        return None
    sender = (doc.get("sender") or {}).get("type")
    if sender == "contact":
        return "messages_in"
    if sender in ("agent", "bot"):
        return "messages_out"
    return None
