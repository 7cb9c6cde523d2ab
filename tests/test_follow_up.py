"""Issue 23 items 6-8: left messages linked and followed up, ratings shown, search, reopen,
agents writing first (web chat, and from a contact to a new address)."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient, Visitor
from tests.test_channels import ChannelHub, channel_hub  # noqa: F401 (the fixture)


async def _served(running_hub: RunningHub, agent: AgentClient, text: str) -> tuple[Visitor, str]:
    visitor = await running_hub.visitor()
    ack = await visitor.say(text)
    assert ack["ok"], ack
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for(
        "conversation.assigned", lambda d: d["conversation"]["id"] == conversation_id
    )
    return visitor, conversation_id


async def _close(agent: AgentClient, conversation_id: str) -> None:
    ack = await agent.call("conversation.close", {"conversation_id": conversation_id})
    assert ack["ok"], ack


async def _call(
    running_hub: RunningHub, method: str, path: str, token: str, body: Any = None
) -> tuple[int, Any]:
    if body is None:
        return await running_hub.api.request(method, path, token=token)
    return await running_hub.api.request(method, path, token=token, json=body)


# item 6: left messages ---------------------------------------------------------------------


async def test_a_left_message_is_linked_and_fills_the_contact(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor, conversation_id = await _served(running_hub, agent, "hello")
    await _close(agent, conversation_id)
    contact_id = visitor.session["contact_id"] if visitor.session else ""
    status, left = await running_hub.api.request(
        "POST",
        "/api/v1/left-messages",
        headers={"X-Visitor-Token": visitor.token},
        json={
            "name": "王小明",
            "phone": "13800000000",
            "email": "wang@example.com",
            "text": "请回电",
            "conversation_id": conversation_id,
        },
    )
    assert status == 201, left
    assert left["contact_id"] == contact_id and left["conversation_id"] == conversation_id
    updated = await agent.wait_for(
        "contact.updated", lambda d: d["contact"]["id"] == contact_id and d["contact"]["phone"]
    )
    assert updated["contact"] | {} and updated["contact"]["name"] == "王小明"
    assert updated["contact"]["email"] == "wang@example.com"
    heard = await agent.wait_for("left_message.updated", lambda d: d["id"] == left["id"])
    assert heard["left_message"] == left
    # A conversation that is not the visitor's is refused, and nothing is stored.
    other = await running_hub.visitor()
    status, refused = await running_hub.api.request(
        "POST",
        "/api/v1/left-messages",
        headers={"X-Visitor-Token": other.token},
        json={"phone": "13800000000", "text": "x", "conversation_id": conversation_id},
    )
    assert status == 404 and refused["error"]["code"] == "conversation_not_found"
    assert len(await running_hub.hub.store.list_left_messages("default")) == 1


async def _leave(running_hub: RunningHub, **fields: str) -> dict[str, Any]:
    visitor = await running_hub.visitor()
    status, left = await running_hub.api.request(
        "POST",
        "/api/v1/left-messages",
        headers={"X-Visitor-Token": visitor.token},
        json={"name": "Wang", "phone": "13800000000", "text": "call me"} | fields,
    )
    assert status == 201, left
    return left


async def test_an_agent_takes_a_left_message_and_notes_the_call_back(
    running_hub: RunningHub,
) -> None:
    first = await running_hub.agent()
    second = await running_hub.agent()
    supervisor = await running_hub.agent(roles=["supervisor"])
    left = await _leave(running_hub)
    path = f"/api/v1/left-messages/{left['id']}"
    status, taken = await _call(running_hub, "POST", f"{path}/take", first.token)
    assert status == 200 and taken["agent_id"] == first.id
    assert taken["agent_name"] == first.agent["name"] and taken["taken_at"]
    heard = await second.wait_for(
        "left_message.updated", lambda d: (d["left_message"] or {}).get("agent_id") == first.id
    )
    assert heard["id"] == left["id"]
    # Taken: another agent can neither take it nor write on it.
    for method, suffix, body in (
        ("POST", "/take", None),
        ("PATCH", "", {"note": "mine"}),
        ("PATCH", "", {"handled": True}),
    ):
        status, refused = await _call(running_hub, method, path + suffix, second.token, body)
        assert status == 403 and refused["error"]["code"] == "left_message_taken", suffix
        assert refused["error"]["agent_id"] == first.id
    status, noted = await _call(
        running_hub, "PATCH", path, first.token, {"note": "打过电话，明天再打"}
    )
    assert status == 200 and noted["note"] == "打过电话，明天再打" and not noted["handled"]
    # A supervisor steps in.
    status, handled = await _call(running_hub, "PATCH", path, supervisor.token, {"handled": True})
    assert status == 200 and handled["handled"] and handled["note"] == noted["note"]
    status, retaken = await _call(running_hub, "POST", f"{path}/take", supervisor.token)
    assert status == 200 and retaken["agent_id"] == supervisor.id
    status, refused = await _call(running_hub, "PATCH", path, first.token, {"note": 5})
    assert status == 400 and refused["error"]["code"] == "invalid_left_message"


async def test_a_left_message_is_answered_by_email_on_the_visitors_contact(
    channel_hub: ChannelHub,  # noqa: F811
) -> None:
    running = channel_hub.running
    account_id = (await channel_hub.create())["id"]
    agent = await running.agent()
    left = await _leave(running, email="wang@example.com")
    no_email = await _leave(running)
    status, started = await _call(
        running,
        "POST",
        f"/api/v1/left-messages/{left['id']}/reply",
        agent.token,
        {"channel_id": account_id, "text": "我们收到了您的留言"},
    )
    assert status == 201, started
    conversation = started["conversation"]
    assert conversation["contact_id"] == left["contact_id"]
    assert conversation["agent_id"] == agent.id
    assert started["left_message"]["reply_conversation_ids"] == [conversation["id"]]
    assert started["left_message"]["agent_id"] == agent.id
    script = channel_hub.channel.script
    await script.wait(lambda: [m.text for _, m in script.sent] == ["我们收到了您的留言"])
    contact = await running.hub.store.get_contact("default", left["contact_id"])
    assert contact is not None
    assert ("standin", "wang@example.com") in [
        (i.channel, i.external_id) for i in contact.identities
    ]
    status, refused = await _call(
        running,
        "POST",
        f"/api/v1/left-messages/{no_email['id']}/reply",
        agent.token,
        {"channel_id": account_id, "text": "hi"},
    )
    assert status == 400 and refused["error"]["code"] == "invalid_recipient"


# item 7: ratings ---------------------------------------------------------------------------


async def test_ratings_are_listed_with_agent_score_and_comment(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor, conversation_id = await _served(running_hub, agent, "hi")
    await _close(agent, conversation_id)
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    ack = await visitor.call(
        "rate", {"conversation_id": conversation_id, "score": 4, "comment": "很满意"}
    )
    assert ack["ok"], ack
    updated = await agent.wait_for(
        "conversation.updated", lambda d: d["conversation"]["rating"] is not None
    )
    assert updated["conversation"]["rating"] == {"score": 4, "comment": "很满意"}
    status, body = await _call(running_hub, "GET", "/api/v1/ratings", running_hub.admin_token)
    assert status == 200 and body["next"] is None
    (item,) = body["items"]
    assert item["conversation_id"] == conversation_id and item["agent_id"] == agent.id
    assert item["agent_name"] == agent.agent["name"]
    assert (item["score"], item["comment"]) == (4, "很满意")
    status, refused = await _call(running_hub, "GET", "/api/v1/ratings", agent.token)
    assert status == 403 and refused["error"]["code"] == "supervisor_only"


# item 8: search, reopen, writing first -------------------------------------------------------


async def test_search_finds_chinese_and_english_within_what_the_caller_may_see(
    running_hub: RunningHub,
) -> None:
    mine = await running_hub.agent()
    _, my_conversation = await _served(running_hub, mine, "我的快递还没到 parcel")
    await mine.call("presence", {"status": "not_ready"})
    other = await running_hub.agent()
    _, other_conversation = await _served(running_hub, other, "另一个快递问题 Parcel")
    await other.call("presence", {"status": "not_ready"})
    queued_visitor = await running_hub.visitor()
    queued = (await queued_visitor.say("排队中的快递"))["message"]["conversation_id"]
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)

    async def found(token: str, text: str, **query: str) -> list[str]:
        status, body = await running_hub.api.request(
            "GET", "/api/v1/search/conversations", token=token, params={"q": text, **query}
        )
        assert status == 200, body
        return [item["conversation"]["id"] for item in body["items"]]

    everything = [queued, other_conversation, my_conversation]
    assert await found(supervisor.token, "快递") == everything
    assert await found(supervisor.token, "PARCEL") == [other_conversation, my_conversation]
    # A plain agent: their own and the queue, never another agent's.
    assert await found(mine.token, "快递") == [queued, my_conversation]
    assert await found(other.token, "快递") == [queued, other_conversation]
    # Paged.
    status, page = await running_hub.api.request(
        "GET",
        "/api/v1/search/conversations",
        token=supervisor.token,
        params={"q": "快递", "limit": "2"},
    )
    assert [i["conversation"]["id"] for i in page["items"]] == everything[:2] and page["next"]
    assert page["items"][0]["message"]["text"] == "排队中的快递"
    assert await found(supervisor.token, "快递", limit="2", cursor=page["next"]) == everything[2:]
    for query, code in (
        ({"q": " "}, "invalid_query"),
        ({"q": "x", "cursor": "!"}, "invalid_cursor"),
    ):
        status, refused = await running_hub.api.request(
            "GET", "/api/v1/search/conversations", token=mine.token, params=query
        )
        assert status == 400 and refused["error"]["code"] == code


async def test_contacts_are_searched_by_their_details(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor(name="李雷")
    contact_id = visitor.session["contact_id"] if visitor.session else ""
    status, _ = await _call(
        running_hub,
        "PATCH",
        f"/api/v1/contacts/{contact_id}",
        running_hub.admin_token,
        {"notes": "喜欢绿茶", "tags": ["VIP客户"]},
    )
    assert status == 200
    for text in ("李雷", "绿茶", "vip客户"):
        status, body = await running_hub.api.request(
            "GET", "/api/v1/search/contacts", token=agent.token, params={"q": text}
        )
        assert status == 200 and [c["id"] for c in body["items"]] == [contact_id], text
    status, body = await running_hub.api.request(
        "GET", "/api/v1/search/contacts", token=agent.token, params={"q": "韩梅梅"}
    )
    assert body == {"items": [], "next": None}


async def test_the_holder_or_a_supervisor_reopens_a_closed_conversation(
    running_hub: RunningHub,
) -> None:
    holder = await running_hub.agent()
    visitor, conversation_id = await _served(running_hub, holder, "hello")
    await _close(holder, conversation_id)
    stranger = await running_hub.agent(ready=False)
    path = f"/api/v1/conversations/{conversation_id}/reopen"
    status, refused = await _call(running_hub, "POST", path, stranger.token)
    assert status == 403 and refused["error"]["code"] == "not_your_conversation"
    status, reopened = await _call(running_hub, "POST", path, holder.token)
    assert status == 200, reopened
    assert reopened["status"] == "assigned" and reopened["agent_id"] == holder.id
    assert reopened["closed_at"] is None and reopened["close_reason"] is None
    await holder.wait_for(
        "conversation.reopened", lambda d: d["conversation_id"] == conversation_id
    )
    await visitor.wait_for(
        "conversation.status",
        lambda d: d["conversation_id"] == conversation_id and d["status"] == "assigned",
    )
    # The visitor writes on in the same conversation.
    ack = await visitor.say("thanks for coming back")
    assert ack["ok"] and ack["message"]["conversation_id"] == conversation_id
    status, refused = await _call(running_hub, "POST", path, holder.token)
    assert status == 409 and refused["error"]["code"] == "not_closed"
    # A supervisor reopens it for themself.
    await _close(holder, conversation_id)
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    status, reopened = await _call(running_hub, "POST", path, supervisor.token)
    assert status == 200 and reopened["agent_id"] == supervisor.id


async def test_reopen_is_refused_while_the_contact_has_another_open_conversation(
    running_hub: RunningHub,
) -> None:
    agent = await running_hub.agent()
    visitor, first = await _served(running_hub, agent, "first")
    await _close(agent, first)
    ack = await visitor.say("a new question")
    second = ack["message"]["conversation_id"]
    assert second != first
    status, refused = await _call(
        running_hub, "POST", f"/api/v1/conversations/{first}/reopen", agent.token
    )
    assert status == 409 and refused["error"]["code"] == "conversation_open"
    assert refused["error"]["conversation_id"] == second
    stored = await running_hub.hub.store.get_conversation("default", first)
    assert stored is not None and stored.status == "closed"


async def test_an_agent_writes_first_to_a_web_visitor(running_hub: RunningHub) -> None:
    agent = await running_hub.agent(ready=False)
    visitor = await running_hub.visitor()
    contact_id = visitor.session["contact_id"] if visitor.session else ""
    # An agent who never served the visitor may reach them: writing first is the point.
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    status, started = await _call(
        running_hub,
        "POST",
        "/api/v1/conversations",
        supervisor.token,
        {"contact_id": contact_id, "text": "您好，需要帮忙吗？"},
    )
    assert status == 201, started
    conversation = started["conversation"]
    assert conversation["channel"] == "webim" and conversation["agent_id"] == supervisor.id
    shown = await visitor.wait_for("message", lambda m: m["text"] == "您好，需要帮忙吗？")
    assert shown["conversation_id"] == conversation["id"]
    await visitor.wait_for(
        "conversation.status",
        lambda d: d["conversation_id"] == conversation["id"] and d["status"] == "assigned",
    )
    ack = await visitor.say("yes please")
    assert ack["ok"] and ack["message"]["conversation_id"] == conversation["id"]
    status, refused = await _call(
        running_hub,
        "POST",
        "/api/v1/conversations",
        supervisor.token,
        {"contact_id": contact_id, "text": "again"},
    )
    assert status == 409 and refused["error"]["code"] == "conversation_open"
    # A plain agent who may not act on the contact is refused.
    status, refused = await _call(
        running_hub,
        "POST",
        "/api/v1/conversations",
        agent.token,
        {"contact_id": contact_id, "text": "hi"},
    )
    assert status == 403 and refused["error"]["code"] == "not_your_contact"


async def test_a_new_address_written_from_a_contact_joins_that_contact(
    channel_hub: ChannelHub,  # noqa: F811
) -> None:
    running = channel_hub.running
    account_id = (await channel_hub.create())["id"]
    agent = await running.agent()
    visitor, _ = await _served(running, agent, "my email is kim@example.com")
    contact_id = visitor.session["contact_id"] if visitor.session else ""
    status, started = await _call(
        running,
        "POST",
        "/api/v1/conversations",
        agent.token,
        {
            "channel_id": account_id,
            "to": "kim@example.com",
            "text": "as promised",
            "contact_id": contact_id,
        },
    )
    assert status == 201, started
    assert started["conversation"]["contact_id"] == contact_id
    updated = await agent.wait_for(
        "contact.updated",
        lambda d: (
            {"channel": "standin", "external_id": "kim@example.com"} in d["contact"]["identities"]
        ),
    )
    assert updated["contact"]["id"] == contact_id
    assert len(await running.hub.store.list_contacts("default")) == 1
    # An address that is another contact's is refused rather than moved.
    status, _ = await _call(
        running,
        "POST",
        "/api/v1/conversations",
        agent.token,
        {"channel_id": account_id, "to": "lee@example.com", "text": "hello"},
    )
    assert status == 201
    status, refused = await _call(
        running,
        "POST",
        "/api/v1/conversations",
        agent.token,
        {"channel_id": account_id, "to": "lee@example.com", "text": "x", "contact_id": contact_id},
    )
    assert status == 409 and refused["error"]["code"] == "identity_taken"
