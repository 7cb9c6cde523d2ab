"""What the agent inbox asks of the backend: supervisor take-over (and watching) over the
/agent socket, left messages (留言) marked handled over REST."""

from __future__ import annotations

from typing import Any

from hub.domain import Tenant
from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient, Visitor


async def _served(running_hub: RunningHub, agent: AgentClient, text: str) -> tuple[Visitor, str]:
    visitor = await running_hub.visitor()
    ack = await visitor.say(text)
    assert ack["ok"], ack
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for(
        "conversation.assigned", lambda d: d["conversation"]["id"] == conversation_id
    )
    return visitor, conversation_id


async def _conversation(running_hub: RunningHub, conversation_id: str) -> dict[str, Any]:
    status, body = await running_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=running_hub.admin_token
    )
    assert status == 200, body
    return body


async def test_supervisor_takes_over_whatever_its_presence_and_maximum(
    running_hub: RunningHub,
) -> None:
    agent = await running_hub.agent(max_concurrent=5)
    # Not ready and a maximum of one: a take-over ignores both.
    supervisor = await running_hub.agent(roles=["supervisor"], max_concurrent=1, ready=False)
    first_visitor, first = await _served(running_hub, agent, "first")
    second_visitor, second = await _served(running_hub, agent, "second")

    for visitor, conversation_id in ((first_visitor, first), (second_visitor, second)):
        ack = await supervisor.call("conversation.take_over", {"conversation_id": conversation_id})
        assert ack["ok"], ack
        assert ack["conversation"]["agent_id"] == supervisor.id
        assert ack["conversation"]["status"] == "assigned"
        moved = await agent.wait_for(
            "conversation.transferred", lambda d, c=conversation_id: d["conversation_id"] == c
        )
        assert moved["to_agent_id"] == supervisor.id
        await supervisor.wait_for(
            "conversation.assigned", lambda d, c=conversation_id: d["conversation"]["id"] == c
        )
        status = await visitor.wait_for(
            "conversation.status", lambda d: (d.get("agent") or {}).get("id") == supervisor.id
        )
        assert status["agent"]["name"] == supervisor.agent["name"]
        assert (await _conversation(running_hub, conversation_id))["agent_id"] == supervisor.id

    # The supervisor now answers; the agent who lost it cannot any more.
    assert (await supervisor.say(first, "I will take it from here"))["ok"]
    await first_visitor.wait_for("message", lambda m: m["text"] == "I will take it from here")
    refused = await agent.say(first, "still me?")
    assert not refused["ok"] and refused["error"]["code"] == "not_your_conversation"

    # The ACD agrees: the agent's capacity came back, the supervisor holds both.
    status, monitor = await running_hub.api.request(
        "GET", "/api/v1/monitor", token=running_hub.admin_token
    )
    held = {row["agent_id"]: row["held"] for row in monitor["agents"]}
    assert held[agent.id] == 0 and held[supervisor.id] == 2

    # Taking over one's own conversation again is not an error and changes nothing.
    again = await supervisor.call("conversation.take_over", {"conversation_id": first})
    assert again["ok"] and again["conversation"]["agent_id"] == supervisor.id


async def test_supervisor_takes_a_waiting_conversation_out_of_the_queue(
    running_hub: RunningHub,
) -> None:
    admin = await running_hub.agent(roles=["admin"], ready=False)
    visitor = await running_hub.visitor()
    ack = await visitor.say("anyone?")
    conversation_id = ack["message"]["conversation_id"]
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    taken = await admin.call("conversation.take_over", {"conversation_id": conversation_id})
    assert taken["ok"], taken
    assert taken["conversation"]["status"] == "assigned"
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "assigned")
    await admin.wait_for("queue.updated", lambda d: d["queued"] == 0)
    _, queue = await running_hub.api.request(
        "GET", "/api/v1/monitor/queue", token=running_hub.admin_token
    )
    assert queue["items"] == []


async def test_take_over_is_refused_to_agents_and_for_closed_conversations(
    running_hub: RunningHub,
) -> None:
    holder = await running_hub.agent()
    colleague = await running_hub.agent(ready=False)  # so routing cannot pick it
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    _, conversation_id = await _served(running_hub, holder, "help")

    refused = await colleague.call("conversation.take_over", {"conversation_id": conversation_id})
    assert not refused["ok"] and refused["error"]["code"] == "supervisor_only"
    assert (await _conversation(running_hub, conversation_id))["agent_id"] == holder.id

    for bad, code in (
        ({}, "invalid_conversation_id"),
        ({"conversation_id": 42}, "invalid_conversation_id"),
        ({"conversation_id": "nope"}, "conversation_not_found"),
        ("not an object", "invalid_payload"),
    ):
        ack = await supervisor.call("conversation.take_over", bad)
        assert not ack["ok"] and ack["error"]["code"] == code, (bad, ack)

    closed = await holder.call("conversation.close", {"conversation_id": conversation_id})
    assert closed["ok"], closed
    ack = await supervisor.call("conversation.take_over", {"conversation_id": conversation_id})
    assert not ack["ok"] and ack["error"]["code"] == "conversation_closed"
    after = await _conversation(running_hub, conversation_id)
    assert after["status"] == "closed" and after["agent_id"] == holder.id
    assert supervisor.count("conversation.assigned") == 0


async def test_take_over_cannot_reach_another_tenant(running_hub: RunningHub) -> None:
    await running_hub.hub.store.create_tenant(Tenant(id="other", name="Other"))
    stranger = await running_hub.visitor("other")
    ack = await stranger.say("hello from elsewhere")
    foreign_id = ack["message"]["conversation_id"]
    supervisor = await running_hub.agent(roles=["supervisor"])
    for event in ("conversation.take_over", "conversation.watch"):
        refused = await supervisor.call(event, {"conversation_id": foreign_id})
        assert not refused["ok"] and refused["error"]["code"] == "conversation_not_found"
    stored = await running_hub.hub.store.get_conversation("other", foreign_id)
    assert stored is not None and stored.agent_id is None


async def test_watch_then_unwatch(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    visitor, conversation_id = await _served(running_hub, agent, "watch me")
    assert (await supervisor.call("conversation.watch", {"conversation_id": conversation_id}))["ok"]
    await visitor.say("while watched")
    await supervisor.wait_for("message", lambda m: m["text"] == "while watched")

    assert (await supervisor.call("conversation.unwatch", {"conversation_id": conversation_id}))[
        "ok"
    ]
    assert (await visitor.say("after unwatch"))["ok"]
    # The visitor's ack comes after the hub emitted to the staff; a round trip on the
    # supervisor's socket then flushes anything that was sent to it before.
    await supervisor.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert not any(m["text"] == "after unwatch" for m in supervisor.events["message"])
    bad = await supervisor.call("conversation.unwatch", {"conversation_id": ""})
    assert not bad["ok"] and bad["error"]["code"] == "invalid_conversation_id"


async def _leave(running_hub: RunningHub, tenant: str = "default") -> dict[str, Any]:
    visitor = await running_hub.visitor(tenant)
    status, left = await running_hub.api.request(
        "POST",
        "/api/v1/left-messages",
        headers={"X-Visitor-Token": visitor.token},
        json={"name": "Wang", "phone": "13800000000", "text": "call me"},
    )
    assert status == 201, left
    return left


async def _left_by_id(running_hub: RunningHub, token: str) -> dict[str, dict[str, Any]]:
    status, body = await running_hub.api.request("GET", "/api/v1/left-messages", token=token)
    assert status == 200
    return {item["id"]: item for item in body["items"]}


async def test_mark_a_left_message_handled_and_back(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    left = await _leave(running_hub)
    path = f"/api/v1/left-messages/{left['id']}"
    status, body = await running_hub.api.request(
        "PATCH", path, token=agent.token, json={"handled": True}
    )
    assert status == 200 and body == left | {"handled": True}
    await agent.wait_for("left_message.updated", lambda d: d["left_message"] == body)
    stored = (await _left_by_id(running_hub, agent.token))[left["id"]]
    # Only the flag changed: the visitor's words are kept.
    assert stored == left | {"handled": True}

    status, body = await running_hub.api.request(
        "PATCH", path, token=agent.token, json={"handled": False}
    )
    assert status == 200 and body["handled"] is False
    assert (await _left_by_id(running_hub, agent.token))[left["id"]] == left


async def test_bad_left_message_updates_change_nothing(running_hub: RunningHub) -> None:
    await running_hub.hub.store.create_tenant(Tenant(id="other", name="Other"))
    token = running_hub.admin_token
    left = await _leave(running_hub)
    path = f"/api/v1/left-messages/{left['id']}"
    for body in ({}, {"handled": "yes"}, {"handled": 1}, {"handled": True, "text": "x"}, [True]):
        status, error = await running_hub.api.request("PATCH", path, token=token, json=body)
        assert status == 400 and error["error"]["code"] == "invalid_left_message", body
    status, error = await running_hub.api.request(
        "PATCH", path, token=token, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and error["error"]["code"] == "invalid_json"
    status, error = await running_hub.api.request("PATCH", path, json={"handled": True})
    assert status == 401
    status, error = await running_hub.api.request(
        "PATCH", "/api/v1/left-messages/nope", token=token, json={"handled": True}
    )
    assert status == 404 and error["error"]["code"] == "left_message_not_found"

    # Another tenant's left message is out of reach and stays as it was.
    foreign = await _leave(running_hub, "other")
    status, error = await running_hub.api.request(
        "PATCH", f"/api/v1/left-messages/{foreign['id']}", token=token, json={"handled": True}
    )
    assert status == 404 and error["error"]["code"] == "left_message_not_found"
    others = await running_hub.hub.store.list_left_messages("other")
    assert [(m.id, m.handled) for m in others] == [(foreign["id"], False)]
    assert (await _left_by_id(running_hub, token))[left["id"]] == left
