"""Bad input gets a clear error and changes nothing, over REST and over sockets."""

from __future__ import annotations

import pytest
import socketio

from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient

ONE_MB = "x" * (1024 * 1024)


async def agent_count(running_hub: RunningHub) -> int:
    status, body = await running_hub.api.request(
        "GET", "/api/v1/agents", token=running_hub.admin_token
    )
    assert status == 200
    return len(body["items"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_body"),
        ({"name": "A", "email": "a@example.com"}, 400, "invalid_body"),
        ({"name": 5, "email": "a@example.com", "password": "password1"}, 400, "invalid_body"),
        ({"name": "A", "email": "not-an-email", "password": "password1"}, 400, "invalid_body"),
        (
            {"name": "A", "email": "a@example.com", "password": "password1", "max_concurrent": "5"},
            400,
            "invalid_body",
        ),
        (
            {"name": "A", "email": "a@example.com", "password": "password1", "roles": ["king"]},
            400,
            "invalid_roles",
        ),
        (["not", "an", "object"], 400, "invalid_body"),
        (
            {"name": ONE_MB, "email": "a@example.com", "password": "password1"},
            413,
            "body_too_large",
        ),
    ],
)
async def test_create_agent_rejects_bad_bodies(
    running_hub: RunningHub, body: object, status: int, code: str
) -> None:
    before = await agent_count(running_hub)
    got_status, got = await running_hub.api.request(
        "POST", "/api/v1/agents", token=running_hub.admin_token, json=body
    )
    assert got_status == status
    assert got["error"]["code"] == code and got["error"]["message"]
    assert await agent_count(running_hub) == before


async def test_invalid_json_and_auth_errors(running_hub: RunningHub) -> None:
    api = running_hub.api
    status, body = await api.request(
        "POST",
        "/api/v1/agents",
        token=running_hub.admin_token,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = await api.request("GET", "/api/v1/agents")
    assert status == 401 and body["error"]["code"] == "token_missing"
    status, body = await api.request("GET", "/api/v1/agents", token="forged")
    assert status == 401 and body["error"]["code"] == "token_invalid"
    status, body = await api.request(
        "POST", "/api/v1/auth/login", json={"email": "admin@example.com", "password": "wrong"}
    )
    assert status == 401 and body["error"]["code"] == "bad_credentials"


async def test_duplicate_email_is_a_conflict(running_hub: RunningHub) -> None:
    body = {"name": "A", "email": "dup@example.com", "password": "dup-password-1"}
    api = running_hub.api
    assert (await api.request("POST", "/api/v1/agents", token=running_hub.admin_token, json=body))[
        0
    ] == 201
    before = await agent_count(running_hub)
    status, got = await api.request(
        "POST",
        "/api/v1/agents",
        token=running_hub.admin_token,
        json=body | {"email": "DUP@example.com"},
    )
    assert status == 409 and got["error"]["code"]
    assert await agent_count(running_hub) == before


async def test_admin_only_calls(running_hub: RunningHub) -> None:
    token, _ = await running_hub.create_agent()
    api = running_hub.api
    status, body = await api.request(
        "POST",
        "/api/v1/agents",
        token=token,
        json={"name": "B", "email": "b@example.com", "password": "b-password-1"},
    )
    assert status == 403 and body["error"]["code"] == "admin_only"
    status, settings = await api.request("GET", "/api/v1/settings/routing", token=token)
    assert status == 200
    status, body = await api.request(
        "PUT", "/api/v1/settings/routing", token=token, json=settings | {"policy": "round_robin"}
    )
    assert status == 403
    assert (await api.request("GET", "/api/v1/settings/routing", token=token))[1] == settings


@pytest.mark.parametrize(
    "change",
    [
        {"policy": "random"},
        {"queue_timeout_seconds": -1},
        {"history_agent_first": "yes"},
        {"default_max_concurrent": 1.5},
        {"surprise": 1},
    ],
)
async def test_routing_settings_validation(running_hub: RunningHub, change: dict) -> None:
    api = running_hub.api
    _, before = await api.request("GET", "/api/v1/settings/routing", token=running_hub.admin_token)
    status, body = await api.request(
        "PUT", "/api/v1/settings/routing", token=running_hub.admin_token, json=before | change
    )
    assert status == 400 and body["error"]["code"] == "invalid_body"
    _, after = await api.request("GET", "/api/v1/settings/routing", token=running_hub.admin_token)
    assert after == before


async def test_unknown_ids_and_bad_queries(running_hub: RunningHub) -> None:
    api, token = running_hub.api, running_hub.admin_token
    assert (await api.request("GET", "/api/v1/conversations/nope", token=token))[0] == 404
    assert (await api.request("GET", "/api/v1/conversations/nope/messages", token=token))[0] == 404
    assert (await api.request("GET", "/api/v1/agents/nope", token=token))[0] == 404
    status, body = await api.request("GET", "/api/v1/conversations?status=happy", token=token)
    assert status == 400 and body["error"]["code"] == "invalid_status"
    status, body = await api.request("GET", "/api/v1/conversations?limit=abc", token=token)
    assert status == 400 and body["error"]["code"] == "invalid_limit"
    status, body = await api.request("GET", "/api/v1/nothing-here", token=token)
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"client_id": "c1", "text": ONE_MB}, "text_too_long"),
        ({"client_id": "c1", "text": 42}, "invalid_text"),
        ({"client_id": "c1"}, "invalid_text"),
        ({"client_id": "c1", "text": "   "}, "empty_text"),
        ({"client_id": 7, "text": "hi"}, "invalid_client_id"),
        ({"client_id": "x" * 500, "text": "hi"}, "invalid_client_id"),
        ("just a string", "invalid_payload"),
    ],
)
async def test_visitor_bad_messages_change_nothing(
    running_hub: RunningHub, payload: object, code: str
) -> None:
    visitor = await running_hub.visitor()
    ack = await visitor.call("message", payload)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    # Nothing was opened or stored for this visitor.
    _status, body = await running_hub.api.request(
        "GET",
        f"/api/v1/conversations?contact_id={visitor.session['contact_id']}",
        token=running_hub.admin_token,
    )
    assert body["items"] == []
    good = await visitor.say("still works")
    assert good["ok"] and good["message"]["seq"] == 1


async def test_agent_bad_events_change_nothing(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("hi")
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    cases = [
        (
            "message",
            {"conversation_id": "nope", "client_id": "a", "text": "x"},
            "conversation_not_found",
        ),
        (
            "message",
            {"conversation_id": conversation_id, "client_id": "a", "text": ONE_MB},
            "text_too_long",
        ),
        ("presence", {"status": "sleeping"}, "invalid_presence"),
        ("sync", {"conversation_id": conversation_id, "after_seq": -1}, "invalid_after_seq"),
        ("sync", {"conversation_id": conversation_id, "after_seq": "0"}, "invalid_after_seq"),
        ("conversation.transfer", {"conversation_id": conversation_id}, "invalid_transfer"),
        (
            "conversation.transfer",
            {"conversation_id": conversation_id, "agent_id": "nope"},
            "agent_not_found",
        ),
        ("conversation.close", {"conversation_id": 12}, "invalid_conversation_id"),
    ]
    for event, payload, code in cases:
        answer = await agent.call(event, payload)
        assert answer["ok"] is False and answer["error"]["code"] == code, (event, answer)
    synced = await agent.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert [m["text"] for m in synced["messages"]] == ["hi"]
    _status, conversation = await running_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=agent.token
    )
    assert conversation["status"] == "assigned" and conversation["agent_id"] == agent.id


async def test_agent_socket_with_bad_token_is_refused(running_hub: RunningHub) -> None:
    client = AgentClient(running_hub.base_url, "forged-token", {"id": "x"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect({"token": "forged-token"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect({})


async def test_password_guessing_is_throttled(running_hub: RunningHub) -> None:
    api = running_hub.api
    wrong = {"email": "admin@example.com", "password": "guess"}
    for _ in range(5):
        status, body = await api.request("POST", "/api/v1/auth/login", json=wrong)
        assert status == 401
    status, body = await api.request("POST", "/api/v1/auth/login", json=wrong)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    # Even the right password waits out the window; other accounts are unaffected.
    status, _ = await api.request(
        "POST", "/api/v1/auth/login", json=wrong | {"password": "admin-password-1"}
    )
    assert status == 429
    token, _ = await running_hub.create_agent()
    assert token
