"""Delivery guarantees: idempotent client ids, seq and sync, every tab, isolation."""

from __future__ import annotations

from hub.domain import Agent, Tenant
from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient, Visitor


async def test_same_client_id_never_makes_a_second_message(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    first = await visitor.say("only once", client_id="retry-1")
    again = await visitor.say("only once", client_id="retry-1")
    assert first["ok"] and again["ok"]
    assert again["message"]["id"] == first["message"]["id"]
    conversation_id = first["message"]["conversation_id"]
    synced = await visitor.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert [m["text"] for m in synced["messages"]] == ["only once"]


async def test_agent_retry_is_idempotent_too(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("hi")
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    one = await agent.say(conversation_id, "hello", client_id="r1")
    two = await agent.say(conversation_id, "hello", client_id="r1")
    assert one["message"]["id"] == two["message"]["id"]
    await visitor.wait_for("message", lambda m: m["text"] == "hello")
    assert sum(1 for m in visitor.events["message"] if m["text"] == "hello") == 1


async def test_seq_and_sync_after_reconnect(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("one")
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    token = visitor.token
    await visitor.close()
    # Missed while away.
    for text in ("two", "three", "four"):
        assert (await agent.say(conversation_id, text))["ok"]
    back = await running_hub.visitor(visitor_token=token)
    assert back.session["conversation"]["id"] == conversation_id
    synced = await back.call("sync", {"conversation_id": conversation_id, "after_seq": 1})
    assert [(m["seq"], m["text"]) for m in synced["messages"]] == [
        (2, "two"),
        (3, "three"),
        (4, "four"),
    ]
    assert (await back.call("sync", {"conversation_id": conversation_id, "after_seq": 4}))[
        "messages"
    ] == []


async def test_every_tab_of_the_visitor_sees_everything(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    tab1 = await running_hub.visitor()
    tab2 = await running_hub.visitor(visitor_token=tab1.token)
    assert tab2.session["contact_id"] == tab1.session["contact_id"]
    ack = await tab1.say("from tab one")
    # The other tab sees the visitor's own message; the sending tab got it as the ack.
    await tab2.wait_for("message", lambda m: m["text"] == "from tab one")
    assert not any(m["text"] == "from tab one" for m in tab1.events["message"])
    await tab2.wait_for("conversation.status", lambda d: d["status"] == "assigned")
    await agent.say(ack["message"]["conversation_id"], "to both tabs")
    await tab1.wait_for("message", lambda m: m["text"] == "to both tabs")
    await tab2.wait_for("message", lambda m: m["text"] == "to both tabs")
    tab3 = await running_hub.visitor(visitor_token=tab1.token)
    assert tab3.session["conversation"]["id"] == ack["message"]["conversation_id"]
    status = await tab3.wait_for("conversation.status")
    assert status["agent"]["id"] == agent.id


async def test_typing_indicators_both_ways(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("hi")
    await agent.wait_for("conversation.assigned")
    assert (await visitor.call("typing", {"on": True}))["ok"]
    seen = await agent.wait_for("typing")
    assert seen == {
        "conversation_id": ack["message"]["conversation_id"],
        "sender_type": "contact",
        "on": True,
    }
    await agent.call("typing", {"conversation_id": ack["message"]["conversation_id"], "on": True})
    shown = await visitor.wait_for("typing")
    assert shown["sender_type"] == "agent" and shown["on"] is True


async def test_one_visitor_cannot_read_another(running_hub: RunningHub) -> None:
    alice = await running_hub.visitor()
    ack = await alice.say("my secret")
    mallory = await running_hub.visitor()
    denied = await mallory.call(
        "sync", {"conversation_id": ack["message"]["conversation_id"], "after_seq": 0}
    )
    assert denied["ok"] is False and denied["error"]["code"] == "conversation_not_found"
    # A forged or tampered token starts a fresh visitor instead of resuming Alice.
    forged = await running_hub.visitor(visitor_token=alice.token[:-2] + "xx")
    assert forged.session["contact_id"] != alice.session["contact_id"]
    assert forged.session["conversation"] is None


async def test_tenants_are_isolated(running_hub: RunningHub) -> None:
    hub = running_hub.hub
    await hub.store.create_tenant(Tenant(id="acme", name="Acme"))
    from hub.actions.agents import do_create_agent

    await do_create_agent(
        hub,
        "acme",
        name="Acme agent",
        email="agent@acme.example",
        password="acme-password",
        roles=["agent"],
        skills=[],
        max_concurrent=3,
    )
    acme_token, _ = await running_hub.api.login("agent@acme.example", "acme-password")
    visitor = await running_hub.visitor()
    ack = await visitor.say("default tenant secret")
    conversation_id = ack["message"]["conversation_id"]
    api = running_hub.api
    status, body = await api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=acme_token
    )
    assert status == 404 and body["error"]["code"] == "conversation_not_found"
    status, body = await api.request(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token=acme_token
    )
    assert status == 404
    status, body = await api.request("GET", "/api/v1/conversations?status=queued", token=acme_token)
    assert status == 200 and body["items"] == []
    status, body = await api.request("GET", "/api/v1/agents", token=acme_token)
    assert [a["email"] for a in body["items"]] == ["agent@acme.example"]
    # An Acme agent never receives the default tenant's conversations, even when ready.
    acme_agent = AgentClient(running_hub.base_url, acme_token, {"id": "x"})
    running_hub.clients.append(acme_agent)
    await acme_agent.start()
    denied = await acme_agent.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert denied["error"]["code"] == "conversation_not_found"
    # A default-tenant visitor token presented to Acme does not resume that visitor.
    crossing = await running_hub.visitor("acme", visitor_token=visitor.token)
    assert crossing.session["contact_id"] != visitor.session["contact_id"]
    assert isinstance(await hub.store.get_agent_by_email("agent@acme.example"), Agent)


async def test_unknown_tenant_is_refused(running_hub: RunningHub) -> None:
    visitor = Visitor(running_hub.base_url)
    try:
        await visitor.connect({"tenant": "nope"})
    except Exception as exc:  # socketio.exceptions.ConnectionError
        assert "tenant" in str(exc).lower() or "connect" in str(exc).lower()
    else:
        raise AssertionError("connected to an unknown tenant")


async def test_messages_follow_transfer_and_close(running_hub: RunningHub) -> None:
    """A visitor's later messages (answered from the cached open conversation) go to the
    agent holding it now, and after a close into a new conversation, never the closed one."""
    await running_hub.routing(policy="idle_first", history_agent_first=False)
    first = await running_hub.agent()
    visitor = await running_hub.visitor()
    opened = await visitor.say("one")
    conversation_id = opened["message"]["conversation_id"]
    await first.wait_for("conversation.assigned")
    for text in ("two", "three"):
        assert (await visitor.say(text))["message"]["conversation_id"] == conversation_id
    await first.wait_for("message", lambda m: m["text"] == "three")
    second = await running_hub.agent(ready=False)
    moved = await first.call(
        "conversation.transfer", {"conversation_id": conversation_id, "agent_id": second.id}
    )
    assert moved["ok"], moved
    assert (await visitor.say("four"))["message"]["seq"] == 4
    await second.wait_for("message", lambda m: m["text"] == "four")
    closed = await second.call("conversation.close", {"conversation_id": conversation_id})
    assert closed["ok"], closed
    after = await visitor.say("five")
    assert after["ok"] and after["message"]["conversation_id"] != conversation_id
    assert after["message"]["seq"] == 1
    assert not any(m["text"] == "four" for m in first.events["message"])


async def test_history_pages_backwards_with_before_seq(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("m1")
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    for n in range(2, 7):
        assert (await visitor.say(f"m{n}"))["ok"]
    path = f"/api/v1/conversations/{conversation_id}/messages?before_seq=6&limit=2"
    status, page = await running_hub.api.request("GET", path, token=agent.token)
    assert status == 200
    assert [m["text"] for m in page["items"]] == ["m4", "m5"]
    synced = await visitor.call(
        "sync", {"conversation_id": conversation_id, "after_seq": 0, "before_seq": 4, "limit": 2}
    )
    assert [m["text"] for m in synced["messages"]] == ["m2", "m3"]
    refused = await agent.call(
        "sync", {"conversation_id": conversation_id, "after_seq": 0, "before_seq": 0}
    )
    assert refused["error"]["code"] == "invalid_before_seq"
