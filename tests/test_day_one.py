"""Issue 23 ("What a new support team hits on day one"), the server's side of items 2, 3
and 9: the limits clients show up front, the visitor's earlier conversations, phone numbers,
an agent's own password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub
from tests.realtime_clients import AgentClient, Visitor


@pytest.fixture
async def small_hub(tmp_path: Path) -> AsyncIterator[str]:
    runner, base_url = await start_hub(
        tmp_path / "data", upload_max_bytes=4096, max_text_length=1500
    )
    try:
        yield base_url
    finally:
        await runner.cleanup()


async def _upload(base_url: str, headers: dict[str, str], size: int) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", b"x" * size, filename="a.txt", content_type="text/plain")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/api/v1/uploads", data=form, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_the_limits_come_from_the_settings(small_hub: str) -> None:
    """Item 2: before, uploads were limited by a constant of their own (upload_max_bytes was
    unused), and neither the widget nor the inbox could learn either limit."""
    base_url = small_hub
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/api/v1/widget/config?tenant=default") as response:
            config = await response.json()
        # The widget's own max_length (2000 by default) is capped by what the hub accepts.
        assert config["upload_max_bytes"] == 4096 and config["max_length"] == 1500
        async with session.post(
            f"{base_url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        ) as response:
            token = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base_url}/api/v1/auth/me", headers=headers) as response:
            me = await response.json()
    assert me["limits"] == {"max_text_length": 1500, "upload_max_bytes": 4096}
    assert (await _upload(base_url, headers, 4096))[0] == 201
    status, body = await _upload(base_url, headers, 4097)
    assert status == 413 and body["error"]["code"] == "file_too_large"
    assert body["error"]["limit"] == 4096
    visitor = Visitor(base_url)
    await visitor.join("default")
    too_long = await visitor.say("x" * 1501)
    await visitor.close()
    assert too_long["error"]["code"] == "text_too_long" and too_long["error"]["limit"] == 1500


async def test_a_widget_limit_below_the_hubs_is_kept(running_hub: RunningHub) -> None:
    status, _ = await running_hub.api.request(
        "PUT", "/api/v1/settings/widget", token=running_hub.admin_token, json={"max_length": 300}
    )
    assert status == 200
    status, config = await running_hub.api.request("GET", "/api/v1/widget/config")
    assert config["max_length"] == 300
    assert config["upload_max_bytes"] == running_hub.hub.settings.upload_max_bytes


async def chat_and_close(agent: AgentClient, visitor: Visitor, text: str) -> str:
    """The visitor writes, the agent answers, notes something private and closes."""
    start = agent.count("conversation.assigned")
    assert (await visitor.say(text))["ok"]
    assigned = await agent.wait_for(
        "conversation.assigned",
        lambda e: any(m["text"] == text for m in e["messages"]),
        start=start,
    )
    conversation_id = assigned["conversation"]["id"]
    assert (await agent.say(conversation_id, f"answer to {text}"))["ok"]
    note = {"conversation_id": conversation_id, "client_id": f"n-{text}", "text": "secret note"}
    assert (await agent.call("message", note | {"private": True}))["ok"]
    assert (await agent.call("conversation.close", {"conversation_id": conversation_id}))["ok"]
    return conversation_id


async def test_a_visitor_reads_its_earlier_conversations(running_hub: RunningHub) -> None:
    """Item 3: before, a visitor whose conversation had closed could not read it again (a
    reload showed only the welcome); `history` did not exist (unknown_event)."""
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ids = [await chat_and_close(agent, visitor, f"question {n}") for n in range(4)]
    assert (await visitor.say("the open one"))["ok"]

    first = await visitor.call("history", {})
    assert first["ok"], first
    assert [c["conversation"]["id"] for c in first["conversations"]] == ids[::-1][:3]
    assert first["more"] is True
    newest = first["conversations"][0]
    assert newest["conversation"]["status"] == "closed"
    assert "summary" not in newest["conversation"] and "agent_id" not in newest["conversation"]
    assert [m["text"] for m in newest["messages"] if m["sender"]["type"] != "system"] == [
        "question 3",
        "answer to question 3",
    ]
    assert all(m["type"] != "note" for c in first["conversations"] for m in c["messages"])

    rest = await visitor.call("history", {"before_conversation": ids[1]})
    assert [c["conversation"]["id"] for c in rest["conversations"]] == [ids[0]]
    assert rest["more"] is False

    # Another visitor learns nothing of these: not by paging from one of them, not at all.
    stranger = await running_hub.visitor()
    assert (await stranger.call("history", {}))["conversations"] == []
    refused = await stranger.call("history", {"before_conversation": ids[2]})
    assert refused["error"]["code"] == "conversation_not_found"
    bad = await stranger.call("history", {"before_conversation": 7})
    assert bad["error"]["code"] == "invalid_conversation_id"


async def test_an_agent_changes_their_own_password(running_hub: RunningHub) -> None:
    """Item 9: before, only an administrator could change a password (PATCH /agents)."""
    api = running_hub.api
    token, agent = await running_hub.create_agent()
    other_tab = AgentClient(running_hub.base_url, token, agent)
    running_hub.clients.append(other_tab)
    await other_tab.start(ready=False)
    path = "/api/v1/auth/password"
    wrong = {"current_password": "not-it-at-all", "new_password": "a-new-password-9"}
    status, body = await api.request("POST", path, token=token, json=wrong)
    assert status == 403 and body["error"]["code"] == "wrong_password"
    weak = {"current_password": "agent-password", "new_password": "password"}
    status, body = await api.request("POST", path, token=token, json=weak)
    assert status == 400 and body["error"]["code"] == "weak_password"
    status, _ = await api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 200  # nothing changed so far

    good = {"current_password": "agent-password", "new_password": "a-new-password-9"}
    status, body = await api.request("POST", path, token=token, json=good)
    assert status == 200, body
    assert body["agent"]["id"] == agent["id"]
    status, me = await api.request("GET", "/api/v1/auth/me", token=body["token"])
    assert status == 200 and me["id"] == agent["id"]
    status, old = await api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 401 and old["error"]["code"] == "token_revoked"
    # The other tab was signed out with the old token (its socket closed by the hub).
    assert await _disconnected(other_tab)
    fresh, _ = await api.login(agent["email"], "a-new-password-9")
    assert fresh


async def _disconnected(client: AgentClient) -> bool:
    closed = asyncio.Event()
    client.sio.on("disconnect", closed.set, namespace="/agent")
    if client.sio.connected:
        await asyncio.wait_for(closed.wait(), 10)
    return True


@pytest.mark.parametrize(
    ("phone", "accepted"),
    [
        ("not-a-phone-number!!", False),
        ("1234", False),
        ("+1 (555) 010-9999", True),
        ("+86 138-0013-8000", True),
        ("1" * 21, False),
        ("12345", True),
    ],
)
async def test_phone_numbers_are_checked_everywhere(
    running_hub: RunningHub, phone: str, accepted: bool
) -> None:
    """Item 9: before, the contact panel and the leave-a-message form took any text."""
    visitor = await running_hub.visitor()
    api, admin = running_hub.api, running_hub.admin_token
    contact_id = visitor.session["contact_id"]
    status, body = await api.request(
        "PATCH", f"/api/v1/contacts/{contact_id}", token=admin, json={"phone": phone}
    )
    assert (status == 200) is accepted, body
    if not accepted:
        assert body["error"]["code"] == "invalid_phone"
        status, contact = await api.request("GET", f"/api/v1/contacts/{contact_id}", token=admin)
        assert contact["phone"] in ("", None)
    status, body = await api.request(
        "POST",
        "/api/v1/left-messages",
        headers={"X-Visitor-Token": visitor.token},
        json={"phone": phone, "text": "call me"},
    )
    assert (status == 201) is accepted, body
    profile = await visitor.call("profile", {"phone": phone})
    assert profile["ok"] is accepted
    if not accepted:
        assert profile["error"]["code"] == "invalid_phone"
