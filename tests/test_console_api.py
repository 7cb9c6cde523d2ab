"""The admin and supervisor console's backend: monitor sockets that never count as the agent
being present, the monitor with names, held conversations and per-skill queues, and the
admin's view of disabled agents."""

from __future__ import annotations

import asyncio

import socketio

from hub.actions.agents import do_create_agent
from hub.domain import Tenant
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub
from tests.realtime_clients import AgentClient


async def _monitor(running_hub: RunningHub, token: str, agent: dict) -> AgentClient:
    client = AgentClient(running_hub.base_url, token, agent)
    running_hub.clients.append(client)
    await client.connect({"token": token, "monitor": True})
    return client


async def _monitor_state(running_hub: RunningHub, token: str) -> dict:
    status, body = await running_hub.api.request("GET", "/api/v1/monitor", token=token)
    assert status == 200, body
    return body


async def test_a_monitor_socket_never_makes_the_agent_present(running_hub: RunningHub) -> None:
    admin_token, admin = await running_hub.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    console = await _monitor(running_hub, admin_token, admin)
    state = await _monitor_state(running_hub, admin_token)
    assert state["agents_online"] == 0
    me = next(a for a in state["agents"] if a["agent_id"] == admin["id"])
    assert me["presence"] == "offline"

    # The console cannot act: setting presence from it would make the agent connected.
    ack = await console.call("presence", {"status": "ready"})
    assert ack["ok"] is False and ack["error"]["code"] == "monitor_only"
    ack = await console.call(
        "message", {"conversation_id": "x", "client_id": "c1", "text": "hello"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "monitor_only"
    assert (await _monitor_state(running_hub, admin_token))["agents_online"] == 0

    # A visitor is not routed to the admin (it is not connected in ACD terms) ...
    visitor = await running_hub.visitor()
    await visitor.say("anyone?")
    queued = await console.wait_for("queue.updated", lambda d: d["queued"] == 1)
    assert queued == {"queued": 1}

    # ... and the console sees a colleague going ready live.
    colleague = await running_hub.agent(ready=False)
    online = await console.wait_for("agent.presence", lambda d: d["agent_id"] == colleague.id)
    assert online["status"] == "not_ready" and online["agents_online"] == 1
    await colleague.call("presence", {"status": "ready"})
    ready = await console.wait_for(
        "agent.presence", lambda d: d["agent_id"] == colleague.id and d["status"] == "ready"
    )
    assert ready["agents_online"] == 1
    await colleague.wait_for("conversation.assigned")
    await console.wait_for("conversation.updated")
    # The console is not the admin's own room: it never gets the admin's assignments.
    assert console.count("conversation.assigned") == 0


async def test_closing_the_console_keeps_the_agent_ready(running_hub: RunningHub) -> None:
    await running_hub.routing(disconnect_grace_seconds=0.05)
    supervisor = await running_hub.agent(roles=["supervisor", "agent"])
    console = await _monitor(running_hub, supervisor.token, supervisor.agent)
    state = await _monitor_state(running_hub, supervisor.token)
    assert state["agents_online"] == 1
    me = next(a for a in state["agents"] if a["agent_id"] == supervisor.id)
    assert me["presence"] == "ready"

    await console.close()
    # If the console counted, its disconnect would start the grace and take the agent off.
    visitor = await running_hub.visitor()
    await visitor.say("hello")
    assigned = await supervisor.wait_for("conversation.assigned")
    assert assigned["conversation"]["agent_id"] == supervisor.id
    state = await _monitor_state(running_hub, supervisor.token)
    me = next(a for a in state["agents"] if a["agent_id"] == supervisor.id)
    assert me["presence"] == "ready" and me["held"] == 1 and state["agents_online"] == 1


async def test_monitor_sockets_are_for_supervisors(running_hub: RunningHub) -> None:
    token, agent = await running_hub.create_agent()
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[object] = []
    client.on("connect_error", refusals.append, namespace="/agent")
    try:
        await client.connect(
            running_hub.base_url,
            namespaces=["/agent"],
            auth={"token": token, "monitor": True},
            transports=["websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        assert "supervisor_only" in str(refusals), refusals
    else:
        raise AssertionError("a plain agent opened a monitor socket")
    finally:
        await client.disconnect()
    # A normal connection of the same agent still works and counts.
    normal = AgentClient(running_hub.base_url, token, agent)
    running_hub.clients.append(normal)
    await normal.start(ready=False)
    assert (await _monitor_state(running_hub, running_hub.admin_token))["agents_online"] == 1


async def test_monitor_lists_names_and_held_conversations(running_hub: RunningHub) -> None:
    worker = await running_hub.agent(skills=["sales"], max_concurrent=2)
    visitor = await running_hub.visitor()
    await visitor.say("I want to buy")
    assigned = await worker.wait_for("conversation.assigned")
    conversation_id = assigned["conversation"]["id"]

    state = await _monitor_state(running_hub, running_hub.admin_token)
    entry = next(a for a in state["agents"] if a["agent_id"] == worker.id)
    assert "conversations" not in entry  # only on request: the inbox header polls this
    status, state = await running_hub.api.request(
        "GET", "/api/v1/monitor?conversations=true", token=running_hub.admin_token
    )
    assert status == 200
    entry = next(a for a in state["agents"] if a["agent_id"] == worker.id)
    assert entry["name"] == worker.agent["name"]
    assert entry["email"] == worker.agent["email"]
    assert entry["presence"] == "ready"
    assert (entry["held"], entry["max_concurrent"], entry["skills"]) == (1, 2, ["sales"])
    assert [c["id"] for c in entry["conversations"]] == [conversation_id]
    assert entry["conversations"][0]["channel"] == "webim"
    assert state["serving_total"] == 1

    # A plain agent gets the header counters only.
    plain = await _monitor_state(running_hub, worker.token)
    assert plain["serving"] == 1 and "agents" not in plain and "serving_total" not in plain


async def test_queues_per_skill_in_order_with_waiting_times(running_hub: RunningHub) -> None:
    # A billing agent exists but is not connected, so billing visitors wait.
    await running_hub.create_agent(skills=["billing"])
    first = await running_hub.visitor(skill="billing", name="First")
    await first.say("invoice?")
    second = await running_hub.visitor(skill="billing")
    await second.say("refund?")
    general = await running_hub.visitor()
    await general.say("hello")
    odd = await running_hub.visitor(skill="unstaffed")
    await odd.say("anyone?")

    status, body = await running_hub.api.request(
        "GET", "/api/v1/monitor/queues", token=running_hub.admin_token
    )
    assert status == 200, body
    assert body["queued"] == 4
    queues = {q["skill"]: q for q in body["queues"]}
    assert set(queues) == {None, "billing", "unstaffed"}
    billing = queues["billing"]
    assert billing["count"] == 2
    assert [e["contact_id"] for e in billing["items"]] == [
        first.session["contact_id"],
        second.session["contact_id"],
    ]
    assert [e["position"] for e in billing["items"]] == [1, 2]
    head = billing["items"][0]
    assert head["contact_name"] == "First" and head["channel"] == "webim"
    assert head["skill"] == "billing" and head["last_message_preview"] == "invoice?"
    assert head["waited_seconds"] >= 0 and head["waiting_since"].endswith("Z")
    assert [e["contact_id"] for e in queues[None]["items"]] == [general.session["contact_id"]]
    assert queues["unstaffed"]["count"] == 1

    # The single-skill call keeps its ids and gains the same details.
    status, one = await running_hub.api.request(
        "GET", "/api/v1/monitor/queue?skill=billing", token=running_hub.admin_token
    )
    assert status == 200
    assert one["items"] == [e["conversation_id"] for e in billing["items"]]
    assert [e["conversation_id"] for e in one["entries"]] == one["items"]


async def test_queues_refuse_plain_agents_and_other_tenants(running_hub: RunningHub) -> None:
    token, _ = await running_hub.create_agent()
    for path in ("/api/v1/monitor/queues", "/api/v1/monitor/queue"):
        status, error = await running_hub.api.request("GET", path, token=token)
        assert status == 403 and error["error"]["code"] == "supervisor_only"
        status, error = await running_hub.api.request("GET", path)
        assert status == 401 and error["error"]["code"] == "token_missing"

    hub = running_hub.hub
    await hub.store.create_tenant(Tenant(id="acme", name="Acme"))
    await do_create_agent(
        hub,
        "acme",
        name="Acme boss",
        email="boss@acme.example",
        password="acme-password",
        roles=["supervisor"],
        skills=["acme-skill"],
        max_concurrent=3,
    )
    acme_token, _ = await running_hub.api.login("boss@acme.example", "acme-password")
    visitor = await running_hub.visitor(skill="billing")
    await visitor.say("default tenant secret")

    status, body = await running_hub.api.request("GET", "/api/v1/monitor/queues", token=acme_token)
    assert status == 200
    assert body["queued"] == 0
    assert {q["skill"] for q in body["queues"]} == {None, "acme-skill"}
    assert all(q["items"] == [] for q in body["queues"])
    state = await _monitor_state(running_hub, acme_token)
    assert [a["name"] for a in state["agents"]] == ["Acme boss"]
    # Another tenant's supervisor console does not hear this tenant's events.
    acme_console = await _monitor(running_hub, acme_token, {})
    admin_console = await _monitor(running_hub, running_hub.admin_token, {})
    other = await running_hub.visitor()
    await other.say("second")
    await admin_console.wait_for("queue.updated", lambda d: d["queued"] == 2)
    assert acme_console.count("queue.updated") == 0


async def test_admins_list_disabled_agents_and_enable_them_again(running_hub: RunningHub) -> None:
    token, agent = await running_hub.create_agent()
    status, changed = await running_hub.api.request(
        "PATCH",
        f"/api/v1/agents/{agent['id']}",
        token=running_hub.admin_token,
        json={"disabled": True},
    )
    assert status == 200 and changed["disabled"] is True
    _, listed = await running_hub.api.request(
        "GET", "/api/v1/agents", token=running_hub.admin_token
    )
    assert agent["id"] not in [a["id"] for a in listed["items"]]
    assert all(a["disabled"] is False for a in listed["items"])
    _, everyone = await running_hub.api.request(
        "GET", "/api/v1/agents?include_disabled=true", token=running_hub.admin_token
    )
    disabled = next(a for a in everyone["items"] if a["id"] == agent["id"])
    assert disabled["disabled"] is True and disabled["presence"] == "offline"

    supervisor_token, _ = await running_hub.create_agent(roles=["supervisor"])
    status, error = await running_hub.api.request(
        "GET", "/api/v1/agents?include_disabled=true", token=supervisor_token
    )
    assert status == 403 and error["error"]["code"] == "admin_only"
    status, error = await running_hub.api.request(
        "GET", "/api/v1/agents?include_disabled=maybe", token=running_hub.admin_token
    )
    assert status == 400 and error["error"]["code"] == "invalid_include_disabled"

    status, changed = await running_hub.api.request(
        "PATCH",
        f"/api/v1/agents/{agent['id']}",
        token=running_hub.admin_token,
        json={"disabled": False},
    )
    assert status == 200 and changed["disabled"] is False
    again, _ = await running_hub.api.login(agent["email"], "agent-password")
    status, _ = await running_hub.api.request("GET", "/api/v1/auth/me", token=again)
    assert status == 200
    # Disabling revoked the tokens issued before it: re-enabled, the agent signs in again.
    status, _ = await running_hub.api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 401


async def test_disabling_an_agent_signs_it_out_and_routes_its_conversations(
    running_hub: RunningHub,
) -> None:
    worker = await running_hub.agent()
    dropped = asyncio.Event()
    worker.sio.on("disconnect", lambda *_: dropped.set(), namespace="/agent")
    visitor = await running_hub.visitor()
    await visitor.say("help")
    await worker.wait_for("conversation.assigned")
    console = await _monitor(running_hub, running_hub.admin_token, {})

    status, _ = await running_hub.api.request(
        "PATCH",
        f"/api/v1/agents/{worker.id}",
        token=running_hub.admin_token,
        json={"disabled": True},
    )
    assert status == 200
    async with asyncio.timeout(10):
        await dropped.wait()
    gone = await console.wait_for(
        "agent.presence", lambda d: d["agent_id"] == worker.id and d["status"] == "offline"
    )
    assert gone["agents_online"] == 0
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    state = await _monitor_state(running_hub, running_hub.admin_token)
    assert worker.id not in [a["agent_id"] for a in state["agents"]]
    assert state["queued"] == 1

    # Enabled again, the agent signs in, connects and takes the waiting conversation.
    status, _ = await running_hub.api.request(
        "PATCH",
        f"/api/v1/agents/{worker.id}",
        token=running_hub.admin_token,
        json={"disabled": False},
    )
    assert status == 200
    fresh_token, _ = await running_hub.api.login(worker.agent["email"], "agent-password")
    back = AgentClient(running_hub.base_url, fresh_token, worker.agent)
    running_hub.clients.append(back)
    await back.start(ready=True)
    assigned = await back.wait_for("conversation.assigned")
    assert assigned["conversation"]["contact_id"] == visitor.session["contact_id"]
