"""Contacts over REST: edits and tags, the tag catalogue, the blacklist (拉黑)."""

from __future__ import annotations

from tests.conftest import RunningHub


async def test_edit_and_tag_a_contact_reaches_every_agent(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    contact_id = visitor.session["contact_id"]
    await visitor.say("hello")  # the agent serves this visitor, so may edit the contact
    await agent.wait_for("conversation.assigned")
    status, contact = await running_hub.api.request(
        "PATCH",
        f"/api/v1/contacts/{contact_id}",
        token=agent.token,
        json={"name": " Ann ", "tags": ["VIP客户", "重点关注", "VIP客户"]},
    )
    assert status == 200, contact
    assert contact["name"] == "Ann" and contact["tags"] == ["VIP客户", "重点关注"]
    updated = await agent.wait_for("contact.updated")
    assert updated["contact"]["tags"] == ["VIP客户", "重点关注"]
    status, read = await running_hub.api.request(
        "GET", f"/api/v1/contacts/{contact_id}", token=agent.token
    )
    assert read["tags"] == ["VIP客户", "重点关注"]


async def test_bad_contact_edits_change_nothing(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    path = f"/api/v1/contacts/{visitor.session['contact_id']}"
    token = running_hub.admin_token
    _, before = await running_hub.api.request("GET", path, token=token)
    for body in (
        {"tags": "VIP"},
        {"tags": ["x" * 33]},
        {"tags": [""]},
        {"tags": [str(i) for i in range(21)]},
        {"name": "ok", "tags": [1]},
        {"blocked_until": "2999-01-01T00:00:00Z"},
        {},
    ):
        status, error = await running_hub.api.request("PATCH", path, token=token, json=body)
        assert status == 400, (body, error)
    _, after = await running_hub.api.request("GET", path, token=token)
    assert after == before
    status, error = await running_hub.api.request(
        "PATCH", "/api/v1/contacts/nope", token=token, json={"name": "x"}
    )
    assert status == 404 and error["error"]["code"] == "contact_not_found"


async def test_tag_catalogue_is_admin_managed(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    items = [{"name": "VIP客户", "color": "#DC2626"}, {"name": "重点关注"}]
    status, error = await running_hub.api.request(
        "PUT", "/api/v1/tags", token=agent.token, json={"items": items}
    )
    assert status == 403 and error["error"]["code"] == "admin_only"
    status, body = await running_hub.api.request(
        "PUT", "/api/v1/tags", token=running_hub.admin_token, json={"items": items}
    )
    assert status == 200
    assert body["items"] == [
        {"name": "VIP客户", "color": "#dc2626"},
        {"name": "重点关注", "color": "#64748b"},
    ]
    await agent.wait_for("tags.updated")
    for bad in (
        [{"name": "a", "color": "red"}],
        [{"name": "a"}, {"name": "a"}],
        [{"color": "#ffffff"}],
        "VIP",
    ):
        status, _ = await running_hub.api.request(
            "PUT", "/api/v1/tags", token=running_hub.admin_token, json={"items": bad}
        )
        assert status == 400, bad
    _, listed = await running_hub.api.request("GET", "/api/v1/tags", token=agent.token)
    assert listed["items"] == body["items"]


async def test_block_closes_the_conversation_and_refuses_messages(
    running_hub: RunningHub,
) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    await visitor.say("spam")
    assigned = await agent.wait_for("conversation.assigned")
    conversation_id = assigned["conversation"]["id"]
    contact_id = visitor.session["contact_id"]
    status, contact = await running_hub.api.request(
        "POST",
        f"/api/v1/contacts/{contact_id}/block",
        token=agent.token,
        json={"minutes": 60, "reason": "abuse"},
    )
    assert status == 200 and contact["blocked_until"] is not None
    closed = await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert closed["conversation_id"] == conversation_id and closed["reason"] == "blocked"
    await agent.wait_for("conversation.closed")
    ack = await visitor.say("more spam")
    assert not ack["ok"] and ack["error"]["code"] == "blocked"

    _, blocked = await running_hub.api.request(
        "GET", "/api/v1/contacts?blocked=true", token=agent.token
    )
    assert [c["id"] for c in blocked["items"]] == [contact_id]

    status, contact = await running_hub.api.request(
        "DELETE", f"/api/v1/contacts/{contact_id}/block", token=agent.token
    )
    assert status == 200 and contact["blocked_until"] is None
    _, blocked = await running_hub.api.request(
        "GET", "/api/v1/contacts?blocked=true", token=agent.token
    )
    assert blocked["items"] == []
    ack = await visitor.say("sorry")
    assert ack["ok"] and ack["message"]["conversation_id"] != conversation_id


async def test_block_without_end_and_bad_durations(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    path = f"/api/v1/contacts/{visitor.session['contact_id']}/block"
    token = running_hub.admin_token
    for body in ({}, {"minutes": 0}, {"minutes": "60"}, {"minutes": True}, {"minutes": 10**9}):
        status, _ = await running_hub.api.request("POST", path, token=token, json=body)
        assert status == 400, body
    status, contact = await running_hub.api.request(
        "POST", path, token=token, json={"minutes": None}
    )
    assert status == 200 and contact["blocked_until"].startswith("9999-")
    status, error = await running_hub.api.request(
        "POST", "/api/v1/contacts/nope/block", token=token, json={"minutes": 5}
    )
    assert status == 404 and error["error"]["code"] == "contact_not_found"


async def test_contacts_of_another_tenant_are_invisible(running_hub: RunningHub) -> None:
    from hub.domain import Tenant

    await running_hub.hub.store.create_tenant(Tenant(id="other", name="Other"))
    stranger = await running_hub.visitor("other")
    path = f"/api/v1/contacts/{stranger.session['contact_id']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("POST", "/block", {"minutes": 5}),
    ):
        status, error = await running_hub.api.request(
            method, path + suffix, token=running_hub.admin_token, json=body
        )
        assert status == 404 and error["error"]["code"] == "contact_not_found"
    _, listed = await running_hub.api.request(
        "GET", "/api/v1/contacts", token=running_hub.admin_token
    )
    assert stranger.session["contact_id"] not in [c["id"] for c in listed["items"]]
