"""Issue 13, items 1 and 10: invalid text is refused (or, in headers, repaired) where it
enters, a write the store cannot encode fails alone, and every malformed request or event
gets a clear answer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.domain import Contact, Conversation, Message, Sender, new_id
from hub.storage.sqlite import SqliteStore
from tests.conftest import RunningHub
from tests.raw_socket import RawSocket

LONE_SURROGATE_BODY = b'{"name": "bad \\ud800 name"}'


async def test_a_write_that_cannot_be_encoded_fails_alone(tmp_path: Path) -> None:
    """Before: the batch frame failed to encode and every write in it failed."""
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    try:
        for conversation_id in ("mine", "theirs"):
            await store.create_conversation(
                Conversation(
                    id=conversation_id, tenant="t", channel="webim", contact_id=conversation_id
                )
            )
        contact = Contact(id="bad", tenant="t", name="x")
        await store.create_contact(contact)
        contact.name = "broken \ud800"

        def append(conversation_id: str, text: str) -> Any:
            return store.append_message(
                Message(
                    id=new_id(),
                    tenant="t",
                    conversation_id=conversation_id,
                    sender=Sender("contact"),
                    text=text,
                )
            )

        # Queued in one loop turn: one batch.
        results = await asyncio.gather(
            append("mine", "hello"),
            store.update_contact(contact, ["name"]),
            append("theirs", "hi"),
            return_exceptions=True,
        )
        assert not isinstance(results[0], BaseException), results
        assert isinstance(results[1], TypeError)
        assert not isinstance(results[2], BaseException), results
        assert [m.text for m in await store.list_messages("t", "mine")] == ["hello"]
        assert [m.text for m in await store.list_messages("t", "theirs")] == ["hi"]
        stored = await store.get_contact("t", "bad")
        assert stored is not None and stored.name == "x"
    finally:
        await store.close()


async def conversation_total(running_hub: RunningHub) -> int:
    status, body = await running_hub.api.request(
        "GET", "/api/v1/conversations?limit=1000", token=running_hub.admin_token
    )
    assert status == 200, body
    return len(body["items"])


async def contact_of(running_hub: RunningHub, contact_id: str) -> dict[str, Any]:
    status, body = await running_hub.api.request(
        "GET", f"/api/v1/contacts/{contact_id}", token=running_hub.admin_token
    )
    assert status == 200, body
    return body


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (LONE_SURROGATE_BODY, "invalid_text"),
        (b'{"name": "\xff\xfe"}', "invalid_text"),
        (b'{"name": "nul \\u0000 inside"}', "invalid_text"),
        (b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}", "too_deep"),
        (b'{"name": ' + b"[" * 40 + b"]" * 40 + b"}", "too_deep"),
        (b'{"name": NaN}', "invalid_json"),
        (b"{", "invalid_json"),
    ],
)
async def test_rest_bodies_with_invalid_text_are_refused(
    running_hub: RunningHub, raw: bytes, code: str
) -> None:
    visitor = await running_hub.visitor(name="Ann")
    contact_id = visitor.session["contact_id"]  # type: ignore[index]
    before = await contact_of(running_hub, contact_id)
    status, body = await running_hub.api.request(
        "PATCH",
        f"/api/v1/contacts/{contact_id}",
        token=running_hub.admin_token,
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and body["error"]["code"] == code, body
    assert await contact_of(running_hub, contact_id) == before


@pytest.mark.parametrize(
    "path",
    ["/api/v1/quick-replies", "/api/v1/settings/widget"],
)
async def test_every_json_endpoint_uses_the_checked_reader(
    running_hub: RunningHub, path: str
) -> None:
    """Before: quick replies and left messages parsed with request.json(): a 500 on
    invalid JSON and a RecursionError on deep nesting."""
    for raw, code in ((b"{", "invalid_json"), (b"[" * 5000 + b"]" * 5000, "too_deep")):
        status, body = await running_hub.api.request(
            "PUT", path, token=running_hub.admin_token, data=raw
        )
        assert status == 400 and body["error"]["code"] == code, body


async def test_left_message_with_invalid_json_is_refused(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    status, body = await running_hub.api.request(
        "POST", "/api/v1/left-messages", headers={"X-Visitor-Token": visitor.token}, data=b"{"
    )
    assert status == 400 and body["error"]["code"] == "invalid_json", body


async def test_query_strings_with_control_characters_are_refused(running_hub: RunningHub) -> None:
    status, body = await running_hub.api.request(
        "GET", "/api/v1/contacts?q=a%00b", token=running_hub.admin_token
    )
    assert status == 400 and body["error"]["code"] == "invalid_text", body


async def test_socket_events_with_invalid_text_get_an_error_ack(running_hub: RunningHub) -> None:
    """Before: orjson refused the packet and the event was dropped without an ack."""
    async with RawSocket(running_hub.base_url, "/visitor") as raw:
        assert (await raw.join({"tenant": "default"})).startswith("40/visitor,")
        waiting = await conversation_total(running_hub)
        ack = await raw.call_raw('["message",{"client_id":"x","text":"\\ud800"}]')
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_text", ack
        ack = await raw.call_raw('["message",{"client_id":"x","text":' + "[" * 2000 + "]" * 2000)
        assert ack["ok"] is False and ack["error"]["code"] in ("too_deep", "invalid_json"), ack
        ack = await raw.call("message", {"client_id": "n", "text": "nul \u0000"})
        assert ack["error"]["code"] == "invalid_text"
        deep: Any = "x"
        for _ in range(40):
            deep = [deep]
        ack = await raw.call("message", {"client_id": "d", "text": "hi", "attachments": deep})
        assert ack["error"]["code"] == "too_deep"
        ack = await raw.call("no_such_event", {})
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", ack
        assert await conversation_total(running_hub) == waiting
        assert (await raw.call("message", {"client_id": "ok", "text": "fine"}))["ok"]


async def test_handshake_with_unreadable_auth_is_refused(running_hub: RunningHub) -> None:
    async with RawSocket(running_hub.base_url, "/visitor") as raw:
        answer = await raw.join('{"tenant":"default","name":"\\ud800"}')
        assert answer.startswith("44/visitor,") and "invalid_text" in answer, answer


async def test_presence_with_a_list_gets_a_clear_error(running_hub: RunningHub) -> None:
    agent = await running_hub.agent(ready=False)
    ack = await agent.call("presence", {"status": []})
    assert ack == {
        "ok": False,
        "error": {"code": "invalid_presence", "message": ack["error"]["message"]},
    }


async def raw_request(base_url: str, head: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_user_agent_that_is_not_utf8_is_repaired(running_hub: RunningHub) -> None:
    """Before: the stored visitor details held surrogate escapes, which no encoder takes."""
    base = running_hub.base_url
    handshake = await raw_request(
        base,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
        b"User-Agent: Mozilla/5.0 caf\xe9\xff!\r\nConnection: close\r\n\r\n",
    )
    body = handshake.split(b"\r\n\r\n", 1)[1]
    sid = body.split(b'"sid":"', 1)[1].split(b'"', 1)[0].decode()
    async with aiohttp.ClientSession() as session:
        url = f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}"
        async with session.post(url, data='40/visitor,{"tenant":"default"}') as response:
            assert response.status == 200
        session_event = ""
        while "session" not in session_event:
            async with session.get(url) as response:
                session_event += await response.text()
    contact_id = session_event.split('"contact_id":"', 1)[1].split('"', 1)[0]
    details = (await contact_of(running_hub, contact_id))["attributes"]
    assert details["user_agent"] == "Mozilla/5.0 caf\ufffd\ufffd!"
    visitor = await running_hub.visitor()
    assert (await visitor.say("still fine"))["ok"]
