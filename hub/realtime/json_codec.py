"""The JSON codec given to python-socketio (`AsyncServer(json=...)`): orjson, and a payload it
cannot read becomes a value the guard answers instead of an exception that drops the packet.

python-socketio reads a packet's header (type, namespace, ack id) itself and calls `loads`
only on the JSON after it, so an event whose JSON is unreadable (malformed, a lone
surrogate, nesting past orjson's limit) still arrives with its ack id. `loads` then
returns an `Unreadable` instead of raising: as an event's data it reads as the event
UNREADABLE_EVENT with the problem as its argument, which hub/realtime/guard.py answers with
an error ack; as a handshake's auth the guard refuses the connection with the problem.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from hub.boundary import decode_json
from hub.errors import Invalid

# The event name an unreadable event reads as: no client event can be handled under it.
UNREADABLE_EVENT = "\x00unreadable"


class Unreadable(list[Any]):
    """`[UNREADABLE_EVENT, {"code": ..., "message": ...}]`: a Socket.IO payload that could not
    be read, and why, as hub/boundary.py says it."""

    @property
    def problem(self) -> dict[str, str]:
        return self[1]


def _unreadable(text: str | bytes, exc: ValueError) -> Unreadable:
    try:
        decode_json(text, "the payload")
    except Invalid as refused:
        problem = {"code": refused.code, "message": refused.message}
    else:  # not expected: orjson refused what the boundary's check accepts
        problem = {"code": "invalid_json", "message": f"the payload is not valid JSON: {exc}"}
    return Unreadable([UNREADABLE_EVENT, problem])


def dumps(obj: Any, **_: Any) -> str:
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        # What orjson refuses and the library's own codec takes (a lone surrogate, an integer
        # past 64 bits): `json=` sets the codec of python-socketio's packet class for every
        # server and client in the process, and none of them may lose what it could send.
        return json.dumps(obj, separators=(",", ":"))


def loads(text: str | bytes, **_: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # Only what starts as a Socket.IO payload does (an event's array, a handshake's
        # object). python-engineio decodes its own packets' data with this codec too and
        # relies on the error for text that is not JSON, such as the upgrade's "probe".
        start = text.lstrip()[:1]
        if start in ("[", "{", b"[", b"{"):
            return _unreadable(text, exc)
        raise


JSONDecodeError = json.JSONDecodeError
