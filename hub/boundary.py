"""The one place text is checked on its way in: REST bodies and query strings, socket event
payloads and handshakes, and the headers the hub keeps (a visitor's User-Agent).

What the hub stores must survive every encoder on the way to the store and back to a browser,
and a lone surrogate does not (orjson, UTF-8): the writer's batch failed on it. So structured
input (JSON bodies, event payloads, query strings) carrying lone surrogates, NUL or other C0
control characters (tab, line feed and carriage return are text) is refused with
`invalid_text`, nested deeper than MAX_DEPTH with `too_deep`. Headers are not the client's to
get right (a browser sends what the operating system calls itself), and are only shown to
agents, so they are repaired instead: every byte that is not UTF-8 and every control
character becomes U+FFFD.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from hub.errors import Invalid

# Deeper than anything the protocol sends (an attachment list inside a payload is depth 3);
# well inside the stack, so no parser or walker recurses far.
MAX_DEPTH = 32

_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_REPAIRED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return "a lone surrogate (text that is not valid Unicode)"
    return f"the control character U+{ord(char):04X}"


def check_value(value: Any, where: str = "body") -> None:
    """Refuse a decoded JSON value holding invalid text (in keys or values) or nested deeper
    than MAX_DEPTH. Iterative, so a hostile depth cannot exhaust the stack here. Every event
    and body passes it: the walk keeps no paths, and only a refused value is walked again to
    say where."""
    if not _is_clean(value):
        _explain(value, where)
        raise Invalid(f"{where} holds text that is not valid", code="invalid_text")


def _is_clean(value: Any) -> bool:
    if type(value) is str:
        return _REFUSED.search(value) is None
    texts: list[str] = []  # searched once, joined: one regex call per payload
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        kind = type(item)
        if kind is str:
            texts.append(item)
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, child in item.items():
                if type(key) is str:
                    texts.append(key)
                if type(child) is str:
                    texts.append(child)
                elif type(child) is dict or type(child) is list:
                    pending.append((child, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            for child in item:
                if type(child) is str:
                    texts.append(child)
                elif type(child) is dict or type(child) is list:
                    pending.append((child, depth + 1))
    return _REFUSED.search("".join(texts)) is None


def _explain(value: Any, where: str) -> None:
    """Raise the error for a value _is_clean refused, naming where the problem is."""
    pending: list[tuple[Any, str, int]] = [(value, where, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                raise Invalid(f"{path} holds {problem}", code="invalid_text")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise Invalid(f"{where} is nested deeper than {MAX_DEPTH} levels", code="too_deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and (problem := text_problem(key)) is not None:
                        raise Invalid(f"a key in {path} holds {problem}", code="invalid_text")
                    pending.append((child, f"{path}.{key}", depth + 1))
            else:
                pending.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


def check_query(query: Mapping[str, str]) -> None:
    for key, value in query.items():
        check_value(value, f"query parameter {key}")
        check_value(key, "a query parameter name")


def repair_text(text: str) -> str:
    """Header text as something every encoder takes: bytes that were not UTF-8 (aiohttp hands
    them over as surrogate escapes) and control characters become U+FFFD."""
    return _REPAIRED.sub("\ufffd", text)


def repair_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """A socket handshake's WSGI-style environ with every header value repaired; the other
    entries (the aiohttp request among them) are kept as they are."""
    return {
        key: repair_text(value) if isinstance(value, str) and key.startswith("HTTP_") else value
        for key, value in environ.items()
    }


def decode_json(raw: bytes | str, where: str = "body") -> Any:
    """Parse JSON and check its text: Invalid with `invalid_json`, `invalid_text` (not
    UTF-8, lone surrogates, control characters) or `too_deep`, never another exception."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses malformed JSON, bytes that are not UTF-8, lone surrogates, numbers
        # past 64 bits and depths past 1024 alike; say which when it is about the text.
        value = _reparse_refused(raw, where)
    check_value(value, where)
    return value


def _reparse_refused(raw: bytes | str, where: str) -> Any:
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid(f"{where} is not UTF-8 text", code="invalid_text") from exc
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError as exc:
        raise Invalid(f"{where} is nested deeper than {MAX_DEPTH} levels", code="too_deep") from exc
    except ValueError as exc:
        raise Invalid(f"{where} is not valid JSON", code="invalid_json") from exc
    check_value(value, where)  # the usual reason: a lone surrogate, refused here
    raise Invalid(f"{where} is not valid JSON", code="invalid_json")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
