"""Changes of an agent's rights apply at once (issue 13 item 7): a password change or a
disable revokes every token signed before, open sockets included; a demotion takes the
rights away from sockets already open."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient


def _watch_disconnect(client: AgentClient) -> asyncio.Event:
    gone = asyncio.Event()

    async def disconnected(*_: object) -> None:
        gone.set()

    client.sio.on("disconnect", disconnected, namespace=client.namespace)
    return gone


async def _patch_agent(hub: RunningHub, agent_id: str, body: dict[str, object]) -> None:
    status, answer = await hub.api.request(
        "PATCH", f"/api/v1/agents/{agent_id}", token=hub.admin_token, json=body
    )
    assert status == 200, answer


async def test_a_password_change_signs_the_agent_out_everywhere(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    gone = _watch_disconnect(agent)
    status, _ = await running_hub.api.request("GET", "/api/v1/auth/me", token=agent.token)
    assert status == 200
    await _patch_agent(running_hub, agent.id, {"password": "a-new-long-password-9"})
    async with asyncio.timeout(10):
        await gone.wait()
    status, refused = await running_hub.api.request("GET", "/api/v1/auth/me", token=agent.token)
    assert status == 401 and refused["error"]["code"] == "token_revoked"
    again = AgentClient(running_hub.base_url, agent.token, agent.agent)
    running_hub.clients.append(again)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.start(ready=False)
    token, _ = await running_hub.api.login(agent.agent["email"], "a-new-long-password-9")
    status, _ = await running_hub.api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 200


async def test_a_demoted_supervisor_loses_the_rights_on_open_sockets(
    running_hub: RunningHub,
) -> None:
    agent = await running_hub.agent()
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    visitor = await running_hub.visitor()
    conversation_id = (await visitor.say("hi"))["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    watched = await supervisor.call("conversation.watch", {"conversation_id": conversation_id})
    assert watched["ok"]
    await _patch_agent(running_hub, supervisor.id, {"roles": ["agent"]})
    refused = await supervisor.call("conversation.take_over", {"conversation_id": conversation_id})
    assert refused["error"]["code"] == "supervisor_only"
    status, _ = await running_hub.api.request(
        "GET", "/api/v1/monitor/queues", token=supervisor.token
    )
    assert status == 403


async def test_disabling_closes_the_consoles_monitor_socket_too(running_hub: RunningHub) -> None:
    token, supervisor = await running_hub.create_agent(roles=["supervisor"])
    console = AgentClient(running_hub.base_url, token, supervisor)
    running_hub.clients.append(console)
    await console.connect({"token": token, "monitor": True})
    gone = _watch_disconnect(console)
    await _patch_agent(running_hub, supervisor["id"], {"disabled": True})
    async with asyncio.timeout(10):
        await gone.wait()
    status, refused = await running_hub.api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 401 and refused["error"]["code"] in ("token_invalid", "token_revoked")
