"""The hub's Socket.IO packet class: the same answers and bytes on the wire as
python-socketio's, with a cheaper binary check."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import orjson
import pytest
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from bench.baseline import create_sio as baseline_create_sio
from config.settings import Settings
from hub.realtime.packet import HubPacket, OrjsonCodec
from hub.realtime.server import create_sio


class _LibraryPacket(sio_packet.Packet):
    """python-socketio's own packet, with the hub's codec so that encodings compare."""

    json = OrjsonCodec


class _TaggedList(list[Any]):
    pass


def _leaf(rng: random.Random) -> Any:
    return rng.choice(
        [
            lambda: rng.choice(["", "text", "ü €", "x" * 50]),
            lambda: rng.randint(-(2**40), 2**40),
            lambda: rng.random(),
            lambda: rng.choice([True, False, None]),
        ]
    )()


def _payload(rng: random.Random, depth: int, binary_rate: float) -> Any:
    """A random JSON-like value; bytes, bytearray, tuples and container subclasses turn up
    at any depth."""
    roll = rng.random()
    if roll < binary_rate:
        return rng.choice([b"\x00\x01", bytearray(b"img"), b""])
    if depth <= 0 or roll < 0.45:
        return _leaf(rng)
    size = rng.randint(0, 5)
    kind = rng.choice(["list", "dict", "tuple", "ordered", "tagged"])
    items = [_payload(rng, depth - 1, binary_rate) for _ in range(size)]
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    if kind == "tagged":
        return _TaggedList(items)
    pairs = [(f"k{index}", item) for index, item in enumerate(items)]
    return OrderedDict(pairs) if kind == "ordered" else dict(pairs)


def test_binary_check_agrees_with_the_library_on_random_payloads() -> None:
    rng = random.Random(20240611)
    answers = {True: 0, False: 0}
    for case in range(20_000):
        data = _payload(rng, depth=rng.randint(0, 6), binary_rate=rng.choice([0.0, 0.02, 0.1]))
        expected = sio_packet.Packet.data_is_binary(data)
        assert HubPacket.data_is_binary(data) is expected, (case, data)
        answers[expected] += 1
    # Both answers are well represented, so agreement is not agreement on "False".
    assert min(answers.values()) > 2_000


def _library_outcome(cls: type[sio_packet.Packet], packet_type: int, data: Any) -> Any:
    """What building and encoding a packet gives: its type and text, or the error."""
    try:
        built = cls(packet_type, data=data, namespace="/visitor", id=5)
        return built.packet_type, built.encode()
    except Exception as exc:
        return type(exc)


def test_random_payloads_encode_as_the_library_does() -> None:
    rng = random.Random(7)
    for case in range(5_000):
        payload = _payload(rng, depth=rng.randint(0, 5), binary_rate=rng.choice([0.0, 0.05]))
        for packet_type, data in (
            (sio_packet.EVENT, ["message", payload]),
            (sio_packet.ACK, [payload]),
        ):
            expected = _library_outcome(_LibraryPacket, packet_type, data)
            assert _library_outcome(HubPacket, packet_type, data) == expected, (case, data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"raw", True),
        (bytearray(b"raw"), True),
        ("text", False),
        (None, False),
        ([], False),
        ({}, False),
        (["message", {"attachments": [{"name": "a.png", "data": b"\x89PNG"}]}], True),
        ([[[[[[[[[[b"deep"]]]]]]]]]], True),
        ({"a": {"b": {"c": [1, 2, {"d": bytearray(b"x")}]}}}, True),
        ([{"a": 1}, {"b": [2, 3]}, "last", b"tail"], True),
        # Tuples are leaves for python-socketio (its deconstruct_binary would not take the
        # bytes out of one either), so the answer stays the library's.
        ({"pair": (b"a", b"b")}, False),
        ({"text": "no bytes", "n": 1.5, "flags": [True, None]}, False),
    ],
)
def test_binary_check_examples(data: Any, expected: bool) -> None:
    assert sio_packet.Packet.data_is_binary(data) is expected
    assert HubPacket.data_is_binary(data) is expected


def test_another_codec_given_to_the_server_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class _SpacedJson:
        @staticmethod
        def dumps(obj: Any, **_: Any) -> str:
            return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()

    monkeypatch.setattr(HubPacket, "json", _SpacedJson)
    data = ["message", {"a": 1}]
    assert HubPacket(sio_packet.EVENT, data=data).encode() == "2" + _SpacedJson.dumps(data)


def test_data_replaced_after_building_is_what_gets_encoded() -> None:
    built = HubPacket(sio_packet.EVENT, data=["message", {"a": 1}], namespace="/agent")
    built.data = ["message", {"a": 2}]
    assert built.encode() == '2/agent,["message",{"a":2}]'


def _message() -> dict[str, Any]:
    return {
        "id": "01HZX4J3K9",
        "conversation_id": "01HZX4J3K0",
        "seq": 12,
        "sender": {"type": "contact", "id": "01HZX4J3K1", "name": "Visitor"},
        "type": "text",
        "text": "hello",
        "attachments": [{"url": "/files/a.png", "name": "a.png", "size": 3}],
        "client_id": "c-1",
        "created_at": "2024-01-01T00:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("packet_type", "data", "namespace", "ack_id"),
    [
        (sio_packet.EVENT, ["message", _message()], "/agent", None),
        (sio_packet.ACK, [{"ok": True, "message": _message()}], "/visitor", 17),
        (sio_packet.EVENT, ["upload", {"name": "a.bin", "data": b"\x00\x01\x02"}], "/agent", 3),
        (sio_packet.ACK, [{"ok": True, "blob": bytearray(b"xyz")}], "/visitor", 4),
        (sio_packet.CONNECT, {"sid": "abc"}, "/agent", None),
    ],
)
def test_packets_encode_as_the_library_does(
    packet_type: int, data: Any, namespace: str, ack_id: int | None
) -> None:
    ours = HubPacket(packet_type, data=data, namespace=namespace, id=ack_id)
    theirs = _LibraryPacket(packet_type, data=data, namespace=namespace, id=ack_id)
    assert ours.packet_type == theirs.packet_type
    assert ours.encode() == theirs.encode()


def test_decoded_packets_match_the_library() -> None:
    wire = '2/visitor,17["message",{"text":"hi","client_id":"c-1"}]'
    ours = HubPacket(encoded_packet=wire)
    theirs = _LibraryPacket(encoded_packet=wire)
    assert (ours.packet_type, ours.namespace, ours.id, ours.data) == (
        theirs.packet_type,
        theirs.namespace,
        theirs.id,
        theirs.data,
    )
    assert ours.data == ["message", {"text": "hi", "client_id": "c-1"}]


def test_codec_round_trip() -> None:
    text = OrjsonCodec.dumps({"a": [1, "ü"]}, separators=(",", ":"))
    assert text == orjson.dumps({"a": [1, "ü"]}).decode()
    assert OrjsonCodec.loads(text) == {"a": [1, "ü"]}


def test_hub_and_baseline_build_their_servers_alike() -> None:
    """The benchmark's baselines differ from the hub only where they say: "hub" takes the
    hub's whole socket layer; "bare" keeps python-socketio's packet class and manager and
    shares the rest (orjson codec, in-order handlers)."""
    hub_sio = create_sio(Settings())
    tuned = baseline_create_sio("hub")
    bare = baseline_create_sio("bare")
    assert hub_sio.packet_class is tuned.packet_class is HubPacket
    assert HubPacket.json is OrjsonCodec
    # python-engineio keeps its codec on its packet class, for every server in the process.
    assert eio_packet.Packet.json is OrjsonCodec
    assert type(hub_sio.manager) is type(tuned.manager)
    assert bare.packet_class is sio_packet.Packet
    assert bare.packet_class.json is OrjsonCodec
    assert type(bare.manager) is socketio.AsyncManager
    assert hub_sio.async_handlers is tuned.async_handlers is bare.async_handlers is False
