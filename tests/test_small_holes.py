"""Issue 13, items 4 and 12: attachment URLs, file names that reorder themselves, re-rating,
half-sent request headers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import RunningHub, start_hub


async def upload(running_hub: RunningHub, visitor_token: str, filename: str) -> dict[str, object]:
    # As browsers send it: the name as raw UTF-8 in the part's header (aiohttp's FormData
    # would percent-encode it).
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename.encode()
        + b'"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n'
    )
    status, body = await running_hub.api.request(
        "POST",
        "/api/v1/uploads",
        headers={
            "X-Visitor-Token": visitor_token,
            "Content-Type": "multipart/form-data; boundary=b",
        },
        data=body,
    )
    assert status == 201, body
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/\\evil.example/x.png",
        "/\\/evil.example/x.png",
        "//evil.example/x.png",
        "https://evil.example/x.png",
        "/\t/evil.example/x.png",
        "/uploads/default/../../etc/passwd",
        "/static/widget.js",
        "javascript:alert(1)",
    ],
)
async def test_attachments_must_be_uploads_of_this_hub(running_hub: RunningHub, url: str) -> None:
    """Before: `/\\host/x` passed the same-origin check; browsers read it as //host/x."""
    visitor = await running_hub.visitor()
    ack = await visitor.call(
        "message",
        {"client_id": "a", "attachments": [{"url": url, "name": "x.png", "type": "image"}]},
    )
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_attachments", ack


async def test_file_names_lose_reordering_characters(running_hub: RunningHub) -> None:
    """Before: "invoice\u202egnp.exe" was kept and showed as "invoiceexe.png"."""
    visitor = await running_hub.visitor()
    uploaded = await upload(running_hub, visitor.token, "invoice\u202egnp.exe")
    assert uploaded["name"] == "invoicegnp.exe"
    ack = await visitor.call(
        "message",
        {
            "client_id": "f",
            "attachments": [
                {"url": uploaded["url"], "name": "photo\u2067gnp.exe\u2069", "type": "image"}
            ],
        },
    )
    assert ack["ok"], ack
    assert ack["message"]["attachments"][0]["name"] == "photognp.exe"


async def test_a_conversation_is_rated_once(running_hub: RunningHub) -> None:
    """Before: every re-rating was stored and notified every staff member again."""
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    conversation_id = (await visitor.say("thanks"))["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    assert (await agent.call("conversation.close", {"conversation_id": conversation_id}))["ok"]
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    first = await visitor.call("rate", {"conversation_id": conversation_id, "score": 5})
    assert first["ok"]
    await agent.wait_for("conversation.updated", lambda d: d["conversation"]["rating"])
    updates = agent.count("conversation.updated")
    again = await visitor.call("rate", {"conversation_id": conversation_id, "score": 1})
    assert again["ok"] is False and again["error"]["code"] == "already_rated"
    _, conversation = await running_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=agent.token
    )
    assert conversation["rating"]["score"] == 5
    assert agent.count("conversation.updated") == updates


async def test_half_sent_request_headers_are_not_held(tmp_path: Path) -> None:
    """Before: aiohttp's 75 s keep-alive timeout held such a connection for about 80 s."""
    runner, base_url = await start_hub(tmp_path / "data", http_keepalive_seconds=1)
    try:
        host, port = base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        async with asyncio.timeout(15):
            assert await reader.read() == b""  # closed by the hub
        writer.close()
    finally:
        await runner.cleanup()
