"""Tenants: the platform administrator (HUB_PLATFORM_TOKEN) creates, lists, suspends and
deletes them; nothing of one tenant is visible to another, call by call over every REST
route, socket by socket, for uploads and for webhooks."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from hub.api.openapi import OPERATIONS
from tests.conftest import RunningHub, hub_running
from tests.realtime_clients import AgentClient, EventClient
from tests.standin import STANDIN, StandInChannel
from tests.test_upload_records import upload
from tests.webhook_receiver import receiver_running

PLATFORM = "platform-token-for-tests-0123456789"
B_ADMIN = ("boss@tenant-b.example", "b-admin-password-1")
SETTINGS = {"platform_token": PLATFORM, "webhook_allow_private": True, "webhook_poll_seconds": 0.05}


async def platform_call(
    running: RunningHub, method: str, path: str, body: Any = None, token: str = PLATFORM
) -> tuple[int, Any]:
    return await running.api.request(method, path, token=token, json=body)


def watch_disconnect(client: EventClient) -> asyncio.Event:
    gone = asyncio.Event()

    async def disconnected(*_: object) -> None:
        gone.set()

    client.sio.on("disconnect", disconnected, namespace=client.namespace)
    return gone


async def visitor_refusal(running: RunningHub, tenant: str) -> str:
    """Why the hub refused a visitor socket for `tenant` (its connect_error)."""
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[object] = []
    client.on("connect_error", refusals.append, namespace="/visitor")
    try:
        await client.connect(
            running.base_url,
            namespaces=["/visitor"],
            auth={"tenant": tenant},
            transports=["websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        return str(refusals)
    finally:
        await client.disconnect()
    raise AssertionError("the visitor socket was accepted")


async def create_b(running: RunningHub) -> str:
    status, tenant = await platform_call(
        running,
        "POST",
        "/api/v1/tenants",
        {
            "id": "tenant-b",
            "name": "Tenant B",
            "admin_email": B_ADMIN[0],
            "admin_password": B_ADMIN[1],
        },
    )
    assert status == 201, tenant
    assert tenant["id"] == "tenant-b" and tenant["admin"]["email"] == B_ADMIN[0]
    assert "admin" in tenant["admin"]["roles"] and not tenant["suspended"]
    token, agent = await running.api.login(*B_ADMIN)
    assert agent["tenant"] == "tenant-b"
    return token


async def test_without_a_platform_token_there_are_no_tenant_calls(running_hub: RunningHub) -> None:
    status, _ = await platform_call(running_hub, "GET", "/api/v1/tenants")
    assert status == 404
    status, _ = await platform_call(
        running_hub, "GET", "/api/v1/tenants", token=running_hub.admin_token
    )
    assert status == 404


async def test_the_platform_administrator_manages_tenants(tmp_path: Path) -> None:
    async with hub_running(tmp_path, **SETTINGS) as running:
        for token in ("", "wrong-token", running.admin_token):
            status, body = await platform_call(running, "GET", "/api/v1/tenants", token=token)
            assert status == 401 and body["error"]["code"] == "platform_token_required"
        good = {
            "id": "acme",
            "name": "Acme",
            "admin_email": "a@acme.example",
            "admin_password": "acme-password-1",
        }
        for changes, code in (
            ({"id": "Acme"}, "invalid_tenant_id"),
            ({"id": "a/b"}, "invalid_tenant_id"),
            ({"id": "-ab"}, "invalid_tenant_id"),
            ({"admin_password": "short"}, "weak_password"),
            ({"admin_email": "no-at-sign"}, "invalid_email"),
            ({"admin_email": "admin@example.com"}, "email_taken"),
            ({"id": "default"}, "tenant_exists"),
            ({"name": 5}, "invalid_body"),
        ):
            status, body = await platform_call(running, "POST", "/api/v1/tenants", good | changes)
            assert 400 <= status < 500 and body["error"]["code"] == code, (changes, body)
        status, listed = await platform_call(running, "GET", "/api/v1/tenants")
        assert [t["id"] for t in listed["items"]] == ["default"]  # nothing half-made

        b_token = await create_b(running)
        status, listed = await platform_call(running, "GET", "/api/v1/tenants")
        assert [t["id"] for t in listed["items"]] == ["default", "tenant-b"]
        status, body = await running.api.request(
            "POST", "/api/v1/api-tokens", token=b_token, json={"name": "b-int"}
        )
        api_token = body["token"]
        visitor = await running.visitor("tenant-b")
        assert (await visitor.say("before the suspension"))["ok"]
        b_agent = AgentClient(running.base_url, b_token, {"id": "b-admin"})
        running.clients.append(b_agent)
        await b_agent.start(ready=False)
        gone = [watch_disconnect(b_agent), watch_disconnect(visitor)]

        # Suspended: signed out, no sign-in, API tokens and new visitors refused.
        status, body = await platform_call(
            running, "PATCH", "/api/v1/tenants/tenant-b", {"suspended": True}
        )
        assert status == 200 and body["suspended"]
        # Its open sockets, agents' and visitors', are closed.
        async with asyncio.timeout(10):
            for closed in gone:
                await closed.wait()
        status, body = await running.api.request("GET", "/api/v1/auth/me", token=b_token)
        assert status == 401
        status, body = await running.api.request(
            "POST", "/api/v1/auth/login", json={"email": B_ADMIN[0], "password": B_ADMIN[1]}
        )
        assert status == 403 and body["error"]["code"] == "tenant_suspended"
        status, body = await running.api.request("GET", "/api/v1/auth/me", token=api_token)
        assert status == 403 and body["error"]["code"] == "tenant_suspended"
        status, body = await running.api.request(
            "GET", "/api/v1/widget/availability?tenant=tenant-b"
        )
        assert status == 403 and body["error"]["code"] == "tenant_suspended"
        assert "tenant_suspended" in await visitor_refusal(running, "tenant-b")
        # Nor can a visitor of it, by its token, upload or leave a message.
        status, body = await upload(running, visitor=visitor.token)
        assert status == 403 and body["error"]["code"] == "tenant_suspended"
        status, body = await running.api.request(
            "POST",
            "/api/v1/left-messages",
            json={"name": "B", "phone": "13800000000", "text": "hello?"},
            headers={"X-Visitor-Token": visitor.token},
        )
        assert status == 403 and body["error"]["code"] == "tenant_suspended"
        # The default tenant is untouched.
        assert (await running.api.request("GET", "/api/v1/auth/me", token=running.admin_token))[
            0
        ] == 200

        status, body = await platform_call(
            running, "PATCH", "/api/v1/tenants/tenant-b", {"suspended": False}
        )
        assert status == 200 and not body["suspended"]
        b_token, _ = await running.api.login(*B_ADMIN)
        assert (await running.api.request("GET", "/api/v1/auth/me", token=api_token))[0] == 200

        # Deleted: everything of it goes; the default tenant cannot be deleted.
        status, body = await platform_call(running, "DELETE", "/api/v1/tenants/default")
        assert status == 403 and body["error"]["code"] == "tenant_protected"
        assert (await upload(running, agent=b_token))[0] == 201
        files = Path(running.hub.settings.data_dir) / "uploads" / "tenant-b"
        assert any(files.iterdir())
        status, _ = await platform_call(running, "DELETE", "/api/v1/tenants/tenant-b")
        assert status == 204
        assert not files.exists()
        store = running.hub.store
        assert await store.get_tenant("tenant-b") is None
        assert await store.list_agents("tenant-b") == []
        assert await store.list_contacts("tenant-b") == []
        assert await store.list_conversations("tenant-b") == []
        assert await store.list_api_tokens("tenant-b") == []
        status, body = await running.api.request(
            "POST", "/api/v1/auth/login", json={"email": B_ADMIN[0], "password": B_ADMIN[1]}
        )
        assert status == 401
        status, _ = await platform_call(running, "DELETE", "/api/v1/tenants/tenant-b")
        assert status == 404
        # Its email is free again.
        await create_b(running)


async def seed_default(running: RunningHub, receiver_url: str) -> dict[str, str]:
    """Records of every kind in the default tenant; answers their ids by name."""
    api, admin = running.api, running.admin_token
    _, hook = await api.request(
        "POST",
        "/api/v1/webhooks",
        token=admin,
        json={"url": receiver_url, "events": ["message.created"], "secret": "a-webhook-secret-123"},
    )
    agent = await running.agent()
    visitor = await running.visitor()
    ack = await visitor.say("secret of tenant A")
    assert ack["ok"], ack
    assigned = await agent.wait_for("conversation.assigned")
    conversation_id = assigned["conversation"]["id"]
    _, messages = await api.request(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token=admin
    )
    _, token = await api.request("POST", "/api/v1/api-tokens", token=admin, json={"name": "a"})
    _, left = await api.request(
        "POST",
        "/api/v1/left-messages",
        json={"name": "A", "phone": "13800000000", "text": "call me"},
        headers={"X-Visitor-Token": visitor.token},
    )
    _, uploaded = await upload(running, agent=admin)
    return {
        "agent_id": agent.id,
        "conversation_id": conversation_id,
        "contact_id": assigned["conversation"]["contact_id"],
        "message_id": messages["items"][0]["id"],
        "token_id": token["id"],
        "webhook_id": hook["id"],
        "delivery_id": "",
        "left_id": left.get("id", ""),
        "channel_id": "",
        "upload_url": uploaded["url"],
        "visitor_token": visitor.token,
    }


def path_with(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{([a-z_]+)}", lambda m: ids.get(m.group(1)) or "missing", path)


async def test_nothing_of_one_tenant_is_visible_to_another(tmp_path: Path) -> None:
    async with receiver_running() as receiver, hub_running(tmp_path, **SETTINGS) as running:
        ids = await seed_default(running, receiver.url)
        await receiver.wait_for(1)
        (delivery,) = await running.hub.store.list_webhook_deliveries("default", ids["webhook_id"])
        ids["delivery_id"] = delivery.id
        secrets = [v for k, v in ids.items() if v and k not in ("upload_url", "visitor_token")]
        b_token = await create_b(running)
        api = running.api

        # Call by call: every REST route, as tenant B's administrator.
        for method, path in OPERATIONS:
            if path.startswith("/api/v1/tenants") or path == "/api/v1/auth/login":
                continue
            body: Any = {} if method in ("POST", "PUT", "PATCH") else None
            if path == "/api/v1/uploads":
                continue  # below, with a real file
            status, answer = await api.request(
                method, path_with(path, ids), token=b_token, json=body
            )
            text = json.dumps(answer)
            leaked = [s for s in secrets if s in text]
            assert not leaked, (method, path, status, leaked)
            if "{" in path:
                assert 400 <= status < 500, (method, path, status, answer)

        # Tenant A's records are all still there and unchanged.
        admin = running.admin_token
        for path in (
            f"/api/v1/conversations/{ids['conversation_id']}",
            f"/api/v1/contacts/{ids['contact_id']}",
            f"/api/v1/agents/{ids['agent_id']}",
            f"/api/v1/webhooks/{ids['webhook_id']}",
        ):
            assert (await api.request("GET", path, token=admin))[0] == 200, path
        tokens = (await api.request("GET", "/api/v1/api-tokens", token=admin))[1]["items"]
        assert [t["id"] for t in tokens] == [ids["token_id"]]

        # Uploads: A's file is not under B's folder, and B cannot attach it.
        name = ids["upload_url"].rsplit("/", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{running.base_url}/uploads/tenant-b/{name}") as response:
                assert response.status == 404
        b_visitor = await running.visitor("tenant-b")
        stolen = {
            "url": ids["upload_url"],
            "name": "a.txt",
            "type": "file",
            "size": 5,
            "mime": "text/plain",
        }
        ack = await b_visitor.call("message", {"client_id": "steal", "attachments": [stolen]})
        assert not ack["ok"]
        # A visitor token of tenant A means nothing in tenant B: a fresh contact there.
        crossing = await running.visitor("tenant-b", visitor_token=ids["visitor_token"])
        assert crossing.token != ids["visitor_token"]
        assert crossing.session is not None
        assert crossing.session["contact_id"] != ids["contact_id"]

        # Sockets: tenant B's agent hears nothing of tenant A; A's webhook nothing of B.
        b_agent_token, b_agent = await running.create_agent(token=b_token)
        b_agent_client = AgentClient(running.base_url, b_agent_token, b_agent)
        running.clients.append(b_agent_client)
        await b_agent_client.start()
        a_visitor = await running.visitor()
        await a_visitor.say("more of tenant A")
        b_second = await running.visitor("tenant-b")
        await b_second.say("tenant B speaking")
        assigned = await b_agent_client.wait_for(
            "conversation.assigned", lambda d: d["conversation"]["tenant"] == "tenant-b"
        )
        assert assigned
        heard = json.dumps(b_agent_client.events)
        assert "tenant A" not in heard and ids["conversation_id"] not in heard
        ack = await b_agent_client.call("sync", {"conversation_id": ids["conversation_id"]})
        assert not ack["ok"]
        ack = await b_agent_client.say(ids["conversation_id"], "into A?")
        assert not ack["ok"]
        await receiver.wait_for(2)  # A's second message
        assert {r.json["tenant"] for r in receiver.received} == {"default"}
        assert all("tenant B" not in r.body.decode() for r in receiver.received)


async def test_channel_accounts_and_their_callbacks_stay_in_their_tenant(tmp_path: Path) -> None:
    """A channel account (the tests' stand-in platform, faked at its HTTP callback) made by
    tenant B: invisible to the default tenant, its callbacks land in B only, and they are
    refused while B is suspended."""
    async with hub_running(tmp_path, channel_types=[StandInChannel()], **SETTINGS) as running:
        b_token = await create_b(running)
        api = running.api
        status, account = await api.request(
            "POST",
            "/api/v1/channels",
            token=b_token,
            json={"type": STANDIN, "name": "B's line", "config": {"token": "s3cret"}},
        )
        assert status == 201, account
        path = f"/api/v1/channels/{account['id']}"
        for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
            status, answer = await api.request(method, path, token=running.admin_token, json=body)
            assert status == 404, (method, answer)
        listed = (await api.request("GET", "/api/v1/channels", token=running.admin_token))[1]
        assert account["id"] not in json.dumps(listed)

        callback = f"/channels/standin/{account['id']}"
        status, received = await api.request(
            "POST", callback, json={"from": "u1", "text": "to B", "id": "p-1"}
        )
        assert status == 200, received
        b_conversations = await running.hub.store.list_conversations("tenant-b")
        assert [c.channel_id for c in b_conversations] == [account["id"]]
        assert await running.hub.store.list_conversations("default") == []

        await platform_call(running, "PATCH", "/api/v1/tenants/tenant-b", {"suspended": True})
        status, _ = await api.request(
            "POST", callback, json={"from": "u1", "text": "while suspended", "id": "p-2"}
        )
        assert status == 404  # its account is not running
        await platform_call(running, "PATCH", "/api/v1/tenants/tenant-b", {"suspended": False})
        status, _ = await api.request(
            "POST", callback, json={"from": "u1", "text": "resumed", "id": "p-3"}
        )
        assert status == 200
        messages = await running.hub.store.list_messages("tenant-b", b_conversations[0].id)
        assert [m.text for m in messages if m.sender.type == "contact"] == ["to B", "resumed"]
