"""How Socket.IO packets are encoded: the JSON codec and the packet class given to
python-socketio. The hub and the benchmark's bare relay (bench/baseline.py) both use these,
so a comparison of the two measures what the hub adds, not a different wire configuration."""

from __future__ import annotations

import json
from typing import Any

import orjson
from socketio.packet import CONNECT, EVENT, Packet

from hub.boundary import decode_json
from hub.errors import Invalid

# What a client's event or handshake holds when its JSON cannot be read (a lone surrogate,
# bytes that are not UTF-8, nesting past orjson's limit): hub/realtime/guard.py answers it
# with an error ack instead of the packet being dropped unanswered.
UNREADABLE_EVENT = "\x00unreadable"

_BINARY_TYPES = (bytes, bytearray)
_CONTAINER_TYPES = (list, dict)
# Exact types that are neither binary nor containers: almost every value in a payload is
# one of these, and a set lookup on type() rules them out faster than isinstance() does.
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


class OrjsonCodec:
    """orjson for the packets the server encodes and decodes; python-socketio and
    python-engineio want a module-like object with dumps and loads."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)

    JSONDecodeError = json.JSONDecodeError


class HubPacket(Packet):
    """python-socketio's packet, encoded with orjson when it is built, and with a cheaper
    binary check when that is still needed.

    The library scans every emitted or acknowledged payload for bytes when the packet is
    built (a packet with bytes is sent as a binary event with attachments), then encodes
    it. orjson refuses bytes, so a payload it encodes has none: the JSON is made at once,
    the scan is skipped, and encode() only puts the header in front. When orjson refuses
    (bytes, or a value nothing could encode) the library's way decides, with the scan
    below.

    The library's scan recurses through every list and dict and builds a list of results
    for each one before reducing it; this one walks the payload with an explicit stack and
    stops at the first bytes. It answers exactly as the library does: bytes or bytearray
    inside lists and dicts, at any depth, make the payload binary; tuples and other values
    are leaves, as they are for the library's deconstruct_binary, which would not take
    bytes out of them either.
    """

    json = OrjsonCodec

    def __init__(
        self,
        packet_type: int = EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: str | bytes | None = None,
    ) -> None:
        self._json_data: str | None = None
        self._json_of: Any = None
        # Only with our codec: an AsyncServer given another json module must use that one.
        outgoing = binary is None and encoded_packet is None and data is not None
        if outgoing and self.json is OrjsonCodec:
            try:
                self._json_data = OrjsonCodec.dumps(data)
            except TypeError:
                pass  # bytes (or nothing JSON can hold): decided and encoded the library's way
            else:
                self._json_of = data
                binary = False
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def decode(self, encoded_packet: str | bytes) -> int:
        try:
            return super().decode(encoded_packet)
        except ValueError as exc:  # orjson's decode error is a ValueError
            if self.packet_type == EVENT:
                self.data = [UNREADABLE_EVENT, _unreadable(encoded_packet, exc)]
            elif self.packet_type == CONNECT:
                self.data = {UNREADABLE_EVENT: _unreadable(encoded_packet, exc, start="{")}
            else:
                raise
            return 0

    def encode(self) -> str | list[Any]:
        if self._json_data is None or self.data is not self._json_of:
            return super().encode()
        # The library's layout of a text packet: type, namespace unless the default one
        # followed by a comma, ack id, JSON.
        encoded = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            encoded += self.namespace + ","
        if self.id is not None:
            encoded += str(self.id)
        return encoded + self._json_data

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        if type(data) in _LEAF_TYPES:
            return False
        if isinstance(data, _BINARY_TYPES):
            return True
        if not isinstance(data, _CONTAINER_TYPES):
            return False
        pending: list[list[Any] | dict[Any, Any]] = [data]
        while pending:
            container = pending.pop()
            values = container.values() if isinstance(container, dict) else container
            for value in values:
                if type(value) in _LEAF_TYPES:
                    continue
                if isinstance(value, _CONTAINER_TYPES):
                    pending.append(value)
                elif isinstance(value, _BINARY_TYPES):
                    return True
        return False


def _unreadable(
    encoded_packet: str | bytes, exc: ValueError, *, start: str = "["
) -> dict[str, str]:
    """Why the payload was refused, as hub/boundary.py would say it."""
    begins = encoded_packet.find(start) if isinstance(encoded_packet, str) else -1
    try:
        decode_json(encoded_packet[begins:] if begins >= 0 else "", "the payload")
    except Invalid as problem:
        return {"code": problem.code, "message": problem.message}
    return {"code": "invalid_json", "message": f"the event is not valid JSON: {exc}"}
