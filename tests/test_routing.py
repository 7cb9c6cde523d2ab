"""Every routing rule of docs/protocol.md, over real Socket.IO connections."""

from __future__ import annotations

from tests.conftest import RunningHub


def assigned_to(agent_id: str):
    return lambda data: data.get("status") == "assigned" and data["agent"]["id"] == agent_id


async def test_first_message_is_routed_to_a_ready_agent(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("你好")
    assert ack["ok"] and ack["message"]["seq"] == 1
    status = await visitor.wait_for("conversation.status", assigned_to(agent.id))
    assert status["agent"]["name"] == agent.agent["name"]
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    assert [m["text"] for m in assigned["messages"]] == ["你好"]
    assert assigned["contact"]["id"] == visitor.session["contact_id"]


async def test_not_ready_agents_get_nothing_until_ready(running_hub: RunningHub) -> None:
    agent = await running_hub.agent(ready=False)
    visitor = await running_hub.visitor()
    await visitor.say("anyone?")
    status = await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    assert status["queue_position"] == 1
    assert agent.count("conversation.assigned") == 0
    await agent.call("presence", {"status": "ready"})
    await visitor.wait_for("conversation.status", assigned_to(agent.id))


async def test_idle_first_prefers_fewest_conversations(running_hub: RunningHub) -> None:
    await running_hub.routing(policy="idle_first", history_agent_first=False)
    first = await running_hub.agent(max_concurrent=5)
    second = await running_hub.agent(max_concurrent=5)
    served = []
    for _ in range(4):
        visitor = await running_hub.visitor()
        await visitor.say("hi")
        status = await visitor.wait_for("conversation.status", lambda d: d["status"] == "assigned")
        served.append(status["agent"]["id"])
    # Equal loads alternate; the tie goes to the agent whose last assignment is oldest.
    assert served.count(first.id) == 2 and served.count(second.id) == 2
    assert served[0] != served[1] and served[2] != served[3]


async def test_idle_first_skips_the_busier_agent(running_hub: RunningHub) -> None:
    await running_hub.routing(policy="idle_first", history_agent_first=False)
    busy = await running_hub.agent(max_concurrent=5)
    for _ in range(2):
        visitor = await running_hub.visitor()
        await visitor.say("hi")
        await visitor.wait_for("conversation.status", assigned_to(busy.id))
    idle = await running_hub.agent(max_concurrent=5)
    for _ in range(2):
        visitor = await running_hub.visitor()
        await visitor.say("hi")
        await visitor.wait_for("conversation.status", assigned_to(idle.id))


async def test_round_robin_takes_turns(running_hub: RunningHub) -> None:
    await running_hub.routing(policy="round_robin", history_agent_first=False)
    agents = [await running_hub.agent(max_concurrent=10) for _ in range(3)]
    served = []
    for _ in range(6):
        visitor = await running_hub.visitor()
        await visitor.say("hi")
        status = await visitor.wait_for("conversation.status", lambda d: d["status"] == "assigned")
        served.append(status["agent"]["id"])
    assert served[:3] == served[3:]
    assert sorted(served[:3]) == sorted(a.id for a in agents)


async def test_history_agent_first(running_hub: RunningHub) -> None:
    await running_hub.routing(policy="idle_first", history_agent_first=True)
    first = await running_hub.agent(max_concurrent=5)
    visitor = await running_hub.visitor()
    ack = await visitor.say("first visit")
    await visitor.wait_for("conversation.status", assigned_to(first.id))
    closed = await first.call(
        "conversation.close", {"conversation_id": ack["message"]["conversation_id"]}
    )
    assert closed["ok"], closed
    # Another agent is idler now, but the contact's previous agent is eligible: it wins.
    await running_hub.agent(max_concurrent=5)
    for _ in range(1):
        other_visitor = await running_hub.visitor()
        await other_visitor.say("someone else")
    start = visitor.count("conversation.status")
    ack2 = await visitor.say("back again")
    assert ack2["message"]["conversation_id"] != ack["message"]["conversation_id"]
    await visitor.wait_for("conversation.status", assigned_to(first.id), start=start)


async def test_skills_route_only_to_holders(running_hub: RunningHub) -> None:
    general = await running_hub.agent()
    visitor = await running_hub.visitor(skill="billing")
    await visitor.say("invoice question")
    status = await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    assert status["queue_position"] == 1
    assert general.count("conversation.assigned") == 0
    billing = await running_hub.agent(skills=["billing"])
    await visitor.wait_for("conversation.status", assigned_to(billing.id))


async def test_max_concurrent_then_queue_then_freed_capacity(running_hub: RunningHub) -> None:
    agent = await running_hub.agent(max_concurrent=1)
    first = await running_hub.visitor()
    ack = await first.say("one")
    await first.wait_for("conversation.status", assigned_to(agent.id))
    second = await running_hub.visitor()
    await second.say("two")
    status = await second.wait_for("conversation.status", lambda d: d["status"] == "queued")
    assert status["queue_position"] == 1
    await agent.call("conversation.close", {"conversation_id": ack["message"]["conversation_id"]})
    await second.wait_for("conversation.status", assigned_to(agent.id))


async def test_queue_is_fifo_with_positions_pushed(running_hub: RunningHub) -> None:
    visitors = [await running_hub.visitor() for _ in range(3)]
    for index, visitor in enumerate(visitors):
        await visitor.say(f"waiting {index}")
        status = await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
        assert status["queue_position"] == index + 1
    agent = await running_hub.agent(max_concurrent=1)
    await visitors[0].wait_for("conversation.status", assigned_to(agent.id))
    await visitors[1].wait_for("conversation.status", lambda d: d.get("queue_position") == 1)
    await visitors[2].wait_for("conversation.status", lambda d: d.get("queue_position") == 2)
    assert visitors[1].count("conversation.status") >= 2


async def test_queue_timeout_prompts_to_leave_a_message(running_hub: RunningHub) -> None:
    await running_hub.routing(queue_timeout_seconds=0.2)
    visitor = await running_hub.visitor()
    await visitor.say("hello?")
    closed = await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert closed["leave_message"] is True and closed["reason"] == "queue_timeout"
    prompt = await visitor.wait_for("message", lambda m: m["sender"]["type"] == "system")
    assert prompt["meta"] == {"system": "queue_timeout"}
    assert "leave a message" in prompt["text"]


async def test_disconnect_grace_then_rerouted_ahead_of_newer(running_hub: RunningHub) -> None:
    await running_hub.routing(disconnect_grace_seconds=0.3)
    leaving = await running_hub.agent(max_concurrent=1)
    early = await running_hub.visitor()
    await early.say("I was first")
    await early.wait_for("conversation.status", assigned_to(leaving.id))
    late = await running_hub.visitor()
    await late.say("I came later")
    await late.wait_for("conversation.status", lambda d: d.get("queue_position") == 1)
    await leaving.close()
    # After the grace the early conversation waits again, ahead of the later one.
    await early.wait_for("conversation.status", lambda d: d.get("queue_position") == 1)
    await late.wait_for("conversation.status", lambda d: d.get("queue_position") == 2)
    newcomer = await running_hub.agent(max_concurrent=1)
    await early.wait_for("conversation.status", assigned_to(newcomer.id))
    assert late.events["conversation.status"][-1]["status"] == "queued"


async def test_reconnect_within_grace_keeps_conversations(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("hi")
    await visitor.wait_for("conversation.status", assigned_to(agent.id))
    await agent.close()
    from tests.realtime_clients import AgentClient

    again = AgentClient(running_hub.base_url, agent.token, agent.agent)
    running_hub.clients.append(again)
    await again.start()
    reply = await again.say(ack["message"]["conversation_id"], "still here")
    assert reply["ok"], reply
    await visitor.wait_for("message", lambda m: m["text"] == "still here")


async def test_transfer_to_agent_with_note(running_hub: RunningHub) -> None:
    first = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("help")
    conversation_id = ack["message"]["conversation_id"]
    await visitor.wait_for("conversation.status", assigned_to(first.id))
    second = await running_hub.agent(ready=False)
    moved = await first.call(
        "conversation.transfer",
        {"conversation_id": conversation_id, "agent_id": second.id, "note": "VIP, be nice"},
    )
    assert moved["ok"], moved
    assigned = await second.wait_for("conversation.assigned")
    assert assigned["note"] == "VIP, be nice"
    assert any(m["type"] == "note" for m in assigned["messages"])
    await first.wait_for(
        "conversation.transferred", lambda d: d["conversation_id"] == conversation_id
    )
    await visitor.wait_for("conversation.status", assigned_to(second.id))
    # The visitor never sees the private note.
    assert all(m["type"] != "note" for m in visitor.events["message"])
    refused = await first.say(conversation_id, "not mine any more")
    assert refused["error"]["code"] == "not_your_conversation"


async def test_transfer_to_a_full_agent_is_refused(running_hub: RunningHub) -> None:
    first = await running_hub.agent()
    full = await running_hub.agent(max_concurrent=0)
    visitor = await running_hub.visitor()
    ack = await visitor.say("help")
    await visitor.wait_for("conversation.status", assigned_to(first.id))
    refused = await first.call(
        "conversation.transfer",
        {"conversation_id": ack["message"]["conversation_id"], "agent_id": full.id},
    )
    assert refused["error"]["code"] == "agent_unavailable"
    _status, conversation = await running_hub.api.request(
        "GET", f"/api/v1/conversations/{ack['message']['conversation_id']}", token=first.token
    )
    assert conversation["agent_id"] == first.id


async def test_transfer_to_skill(running_hub: RunningHub) -> None:
    first = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("refund please")
    await visitor.wait_for("conversation.status", assigned_to(first.id))
    specialist = await running_hub.agent(skills=["refunds"])
    moved = await first.call(
        "conversation.transfer",
        {"conversation_id": ack["message"]["conversation_id"], "skill": "refunds"},
    )
    assert moved["ok"], moved
    await visitor.wait_for("conversation.status", assigned_to(specialist.id))
    assert moved["conversation"]["skill"] == "refunds"


async def test_close_then_rate(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("thanks")
    conversation_id = ack["message"]["conversation_id"]
    early = await visitor.call("rate", {"conversation_id": conversation_id, "score": 5})
    assert early["error"]["code"] == "not_closed"
    await agent.wait_for("conversation.assigned")
    closed = await agent.call("conversation.close", {"conversation_id": conversation_id})
    assert closed["ok"]
    await agent.wait_for("conversation.closed")
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    bad = await visitor.call("rate", {"conversation_id": conversation_id, "score": 9})
    assert bad["error"]["code"] == "invalid_score"
    rated = await visitor.call(
        "rate", {"conversation_id": conversation_id, "score": 4, "comment": "快"}
    )
    assert rated["ok"]
    _status, conversation = await running_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=agent.token
    )
    assert conversation["rating"] == {"score": 4, "comment": "快"}
    assert conversation["status"] == "closed" and conversation["closed_at"]
