"""The visitor's `profile` event (pre-chat form): stored on the contact, staff told, bad input
refused without changing anything."""

from __future__ import annotations

from tests.conftest import RunningHub


async def test_profile_is_stored_and_staff_are_told(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    contact_id = visitor.session["contact_id"]
    ack = await visitor.call(
        "profile", {"name": " 王小明 ", "phone": "+86 138-0013-8000", "email": "xm@example.cn"}
    )
    assert ack["ok"], ack
    assert ack["contact"] == {
        "id": contact_id,
        "name": "王小明",
        "phone": "+86 138-0013-8000",
        "email": "xm@example.cn",
    }
    updated = await agent.wait_for("contact.updated", lambda e: e["contact"]["id"] == contact_id)
    assert updated["contact"]["name"] == "王小明"
    status, contact = await running_hub.api.request(
        "GET", f"/api/v1/contacts/{contact_id}", token=agent.token
    )
    assert status == 200
    assert (contact["name"], contact["phone"], contact["email"]) == (
        "王小明",
        "+86 138-0013-8000",
        "xm@example.cn",
    )
    # Only the fields sent change; the visitor never sees the agents' notes.
    await running_hub.api.request(
        "PATCH", f"/api/v1/contacts/{contact_id}", token=agent.token, json={"notes": "VIP"}
    )
    ack = await visitor.call("profile", {"phone": "021 6888 8888"})
    assert ack["ok"] and ack["contact"]["name"] == "王小明"
    assert "notes" not in ack["contact"] and "attributes" not in ack["contact"]
    # The next message carries the new name.
    said = await visitor.say("hello")
    assert said["ok"] and said["message"]["sender"]["name"] == "王小明"


async def test_bad_profiles_change_nothing(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    contact_id = visitor.session["contact_id"]
    path = f"/api/v1/contacts/{contact_id}"
    token = running_hub.admin_token
    _, before = await running_hub.api.request("GET", path, token=token)
    cases = [
        (None, "invalid_payload"),
        ("Ann", "invalid_payload"),
        ({}, "invalid_profile"),
        ({"notes": "hi"}, "invalid_profile"),
        ({"name": "Ann", "tags": ["VIP"]}, "invalid_profile"),
        ({"name": "   "}, "invalid_name"),
        ({"name": 5}, "invalid_name"),
        ({"name": "x" * 101}, "invalid_name"),
        ({"name": "Ann", "phone": "call me"}, "invalid_phone"),
        ({"phone": "12"}, "invalid_phone"),
        ({"email": "ann@"}, "invalid_email"),
        ({"email": "a@b.c" + "x" * 200}, "invalid_email"),
    ]
    for body, code in cases:
        ack = await visitor.call("profile", body)
        assert ack["ok"] is False, (body, ack)
        assert ack["error"]["code"] == code, (body, ack)
        assert ack["error"]["message"]
    _, after = await running_hub.api.request("GET", path, token=token)
    assert after == before


async def test_blocked_visitor_cannot_change_profile(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    contact_id = visitor.session["contact_id"]
    status, _ = await running_hub.api.request(
        "POST",
        f"/api/v1/contacts/{contact_id}/block",
        token=running_hub.admin_token,
        json={"minutes": 60},
    )
    assert status == 200
    ack = await visitor.call("profile", {"name": "Spam"})
    assert ack["ok"] is False and ack["error"]["code"] == "blocked"


async def test_blocked_visitor_cannot_leave_messages(running_hub: RunningHub) -> None:
    visitor = await running_hub.visitor()
    left = {"name": "Ann", "phone": "13800138000", "text": "call me"}
    headers = {"X-Visitor-Token": visitor.token}
    status, body = await running_hub.api.request(
        "POST", "/api/v1/left-messages", json=left, headers=dict(headers)
    )
    assert status == 201, body
    await running_hub.api.request(
        "POST",
        f"/api/v1/contacts/{visitor.session['contact_id']}/block",
        token=running_hub.admin_token,
        json={"minutes": 60},
    )
    status, body = await running_hub.api.request(
        "POST", "/api/v1/left-messages", json=left, headers=dict(headers)
    )
    assert status == 403 and body["error"]["code"] == "blocked"
    _, listed = await running_hub.api.request(
        "GET", "/api/v1/left-messages", token=running_hub.admin_token
    )
    assert len(listed["items"]) == 1
