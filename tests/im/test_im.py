"""The enterprise IM against a real hub: real Socket.IO clients on `/im`, REST with real
tokens. Absence ("never receives") is checked after a barrier on the same socket, not by
waiting for a while."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import socketio

from hub.actions.agents import do_create_agent
from hub.domain import Tenant
from tests.conftest import RunningHub, hub_running
from tests.im.clients import ImSocket, Person, person


async def test_one_direct_thread_per_pair_whoever_starts_it(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    first = await ann.direct(bob)
    again = await bob.direct(ann)
    concurrent = await asyncio.gather(*(ann.direct(bob) for _ in range(5)))
    assert {first["id"], again["id"], *(t["id"] for t in concurrent)} == {first["id"]}
    assert first["kind"] == "direct" and sorted(first["members"]) == sorted([ann.id, bob.id])
    assert [t["id"] for t in (await bob.threads())["items"]] == [first["id"]]
    status, error = await ann.rest("POST", "/api/v1/im/direct", {"agent_id": ann.id})
    assert status == 400 and error["error"]["code"] == "direct_with_self"


async def test_message_reaches_members_and_every_tab_never_others(
    running_hub: RunningHub,
) -> None:
    ann = await person(running_hub, tabs=2)
    bob, carl = await person(running_hub), await person(running_hub)
    thread = await ann.group("Ops", bob)
    ack = await ann.tab.say(thread["id"], "hello team")
    assert ack["ok"], ack
    message = ack["message"]
    assert message["seq"] == 1 and message["sender"]["id"] == ann.id
    got = await bob.tab.wait_for("message", lambda m: m["id"] == message["id"])
    assert got["text"] == "hello team" and got["thread_id"] == thread["id"]
    await ann.tabs[1].wait_for("message", lambda m: m["id"] == message["id"])
    for tab in (carl.tab, ann.tab):
        await tab.barrier()
    assert carl.tab.messages() == []
    assert ann.tab.messages() == []  # the sending tab has it in its ack


async def test_non_members_are_refused_everything(running_hub: RunningHub) -> None:
    ann = await person(running_hub)
    bob = await person(running_hub)
    carl = await person(running_hub)
    thread = await ann.group("Secret", bob)
    assert (await ann.tab.say(thread["id"], "inside"))["ok"]
    tid = thread["id"]
    for event, body in (
        ("message", {"thread_id": tid, "text": "let me in", "client_id": "x1"}),
        ("sync", {"thread_id": tid, "after_seq": 0}),
        ("read", {"thread_id": tid, "seq": 1}),
        ("typing", {"thread_id": tid, "on": True}),
    ):
        ack = await carl.tab.call(event, body)
        assert ack == {
            "ok": False,
            "error": {"code": "not_a_member", "message": ack["error"]["message"]},
        }, event
    for method, path, body in (
        ("GET", f"/api/v1/im/threads/{tid}/messages", None),
        ("GET", f"/api/v1/im/threads/{tid}", None),
        ("PATCH", f"/api/v1/im/groups/{tid}", {"add": [carl.id]}),
        ("PATCH", f"/api/v1/im/groups/{tid}", {"owner_id": carl.id}),
    ):
        status, error = await carl.rest(method, path, body)
        assert status == 403 and error["error"]["code"] == "not_a_member", (method, path)
    status, history = await bob.rest("GET", f"/api/v1/im/threads/{tid}/messages")
    assert status == 200 and [m["text"] for m in history["items"]] == ["inside"]
    assert sorted((await bob.rest("GET", f"/api/v1/im/threads/{tid}"))[1]["members"]) == sorted(
        [ann.id, bob.id]
    )


async def test_unread_counts_and_read_clear_them_in_every_tab(running_hub: RunningHub) -> None:
    ann = await person(running_hub)
    bob = await person(running_hub, tabs=2)
    thread = await ann.direct(bob)
    for text in ("one", "two", "three"):
        assert (await ann.tab.say(thread["id"], text))["ok"]
    listed = await bob.threads()
    assert listed["unread"] == 3 and listed["items"][0]["unread"] == 3
    assert (await ann.threads())["unread"] == 0  # your own messages are read
    await bob.tab.wait_for("message", lambda m: m["seq"] == 3)
    ack = await bob.tab.call("read", {"thread_id": thread["id"], "seq": 3})
    assert ack == {"ok": True, "seq": 3}
    other_tab = await bob.tabs[1].wait_for(
        "thread.updated", lambda e: e["thread"]["id"] == thread["id"]
    )
    assert other_tab["thread"]["unread"] == 0
    seen = await ann.tab.wait_for("thread.updated", lambda e: e["thread"]["peer_read_seq"] == 3)
    assert seen["thread"]["unread"] == 0
    assert (await bob.threads())["unread"] == 0
    # Reading never goes back, and a position past the end is the end.
    assert (await bob.tab.call("read", {"thread_id": thread["id"], "seq": 1}))["seq"] == 3
    assert (await bob.tab.call("read", {"thread_id": thread["id"], "seq": 99}))["seq"] == 3


async def test_mentions_name_members_only_and_notify_in_a_muted_group(
    running_hub: RunningHub,
) -> None:
    ann, bob, carl = await person(running_hub), await person(running_hub), await person(running_hub)
    thread = await ann.group("Night shift", bob)
    status, muted = await bob.rest(
        "PUT", f"/api/v1/im/threads/{thread['id']}/mute", {"muted": True}
    )
    assert status == 200 and muted["muted"] is True
    ack = await ann.tab.say(thread["id"], "@carl?", mentions=[carl.id])
    assert ack["error"]["code"] == "mention_not_member"
    ack = await ann.tab.say(thread["id"], "@bob look", mentions=[bob.id])
    assert ack["ok"] and ack["message"]["mentions"] == [bob.id]
    got = await bob.tab.wait_for("message", lambda m: m["id"] == ack["message"]["id"])
    assert got["mentions"] == [bob.id]  # the page notifies on a mention even when muted
    assert (await bob.threads())["items"][0]["muted"] is True


async def test_a_retry_with_the_same_client_id_is_one_message(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    first = await ann.tab.say(thread["id"], "once", client_id="retry-1")
    again = await ann.tab.say(thread["id"], "once", client_id="retry-1")
    assert first["message"] == again["message"]
    await bob.tab.barrier()
    assert [m["id"] for m in bob.tab.messages()] == [first["message"]["id"]]
    _status, history = await ann.rest("GET", f"/api/v1/im/threads/{thread['id']}/messages")
    assert [m["seq"] for m in history["items"]] == [1]


async def test_sync_after_a_reconnect_gets_exactly_what_was_missed(
    running_hub: RunningHub,
) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    assert (await ann.tab.say(thread["id"], "before"))["ok"]
    await bob.tab.wait_for("message", lambda m: m["seq"] == 1)
    await bob.tab.close()
    for text in ("missed 1", "missed 2"):
        assert (await ann.tab.say(thread["id"], text))["ok"]
    tab = await bob.open_tab()
    ack = await tab.call("sync", {"thread_id": thread["id"], "after_seq": 1})
    assert [(m["seq"], m["text"]) for m in ack["messages"]] == [(2, "missed 1"), (3, "missed 2")]
    _status, page = await bob.rest(
        "GET", f"/api/v1/im/threads/{thread['id']}/messages?after_seq=2&limit=5"
    )
    assert [m["seq"] for m in page["items"]] == [3]


async def test_a_removed_member_receives_and_reads_nothing_later(running_hub: RunningHub) -> None:
    ann, bob, carl = await person(running_hub), await person(running_hub), await person(running_hub)
    thread = await ann.group("Project", bob, carl)
    tid = thread["id"]
    assert (await ann.tab.say(tid, "while bob is in"))["ok"]
    await bob.tab.wait_for("message", lambda m: m["seq"] == 1)
    status, changed = await ann.rest("PATCH", f"/api/v1/im/groups/{tid}", {"remove": [bob.id]})
    assert status == 200 and bob.id not in changed["members"]
    gone = await bob.tab.wait_for("thread.removed")
    assert gone == {"thread_id": tid, "dissolved": False}
    assert (await ann.tab.say(tid, "after bob left"))["ok"]
    await carl.tab.wait_for("message", lambda m: m["seq"] == 2)
    await bob.tab.barrier()
    assert [m["seq"] for m in bob.tab.messages()] == [1]
    status, error = await bob.rest("GET", f"/api/v1/im/threads/{tid}/messages")
    assert status == 403 and error["error"]["code"] == "not_a_member"
    assert (await bob.tab.say(tid, "still here?"))["error"]["code"] == "not_a_member"
    assert tid not in [t["id"] for t in (await bob.threads())["items"]]


async def test_group_roles_leave_transfer_and_dissolve(running_hub: RunningHub) -> None:
    ann, bob, carl = await person(running_hub), await person(running_hub), await person(running_hub)
    thread = await ann.group("Roles", bob, carl, description="who does what")
    tid = thread["id"]
    assert thread["owner_id"] == ann.id and thread["description"] == "who does what"
    # A plain member changes nothing; the owner makes bob an admin, who then may.
    status, error = await bob.rest("PATCH", f"/api/v1/im/groups/{tid}", {"name": "Mine"})
    assert status == 403 and error["error"]["code"] == "not_group_admin"
    status, _ = await ann.rest("PATCH", f"/api/v1/im/groups/{tid}", {"admins": [bob.id]})
    assert status == 200
    status, changed = await bob.rest(
        "PATCH", f"/api/v1/im/groups/{tid}", {"announcement": "Standup at 9"}
    )
    assert status == 200 and changed["announcement"] == "Standup at 9"
    seen = await carl.tab.wait_for(
        "thread.updated", lambda e: e["thread"]["announcement"] == "Standup at 9"
    )
    assert seen["thread"]["announcement_at"]
    # An admin cannot make itself owner, nor remove the owner.
    status, error = await bob.rest("PATCH", f"/api/v1/im/groups/{tid}", {"owner_id": bob.id})
    assert status == 403 and error["error"]["code"] == "owner_only"
    status, error = await bob.rest("PATCH", f"/api/v1/im/groups/{tid}", {"remove": [ann.id]})
    assert status == 409 and error["error"]["code"] == "cannot_remove_owner"
    # The owner leaves only after handing the group over.
    status, error = await ann.rest("POST", f"/api/v1/im/groups/{tid}/leave")
    assert status == 409 and error["error"]["code"] == "owner_must_transfer"
    status, moved = await ann.rest("PATCH", f"/api/v1/im/groups/{tid}", {"owner_id": carl.id})
    assert status == 200 and moved["owner_id"] == carl.id
    status, _ = await ann.rest("POST", f"/api/v1/im/groups/{tid}/leave")
    assert status == 200
    await ann.tab.wait_for("thread.removed")
    status, error = await bob.rest("DELETE", f"/api/v1/im/groups/{tid}")
    assert status == 403 and error["error"]["code"] == "owner_only"
    status, _ = await carl.rest("DELETE", f"/api/v1/im/groups/{tid}")
    assert status == 204
    assert (await bob.tab.wait_for("thread.removed"))["dissolved"] is True
    assert (await bob.tab.say(tid, "anyone?"))["error"]["code"] == "not_a_member"


async def test_bad_input_is_refused_and_changes_nothing(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.group("Careful", bob)
    tid = thread["id"]
    ack = await ann.tab.say(tid, "x" * 1_000_000)
    assert ack["ok"] is False and ack["error"]["code"] in ("text_too_long", "too_large")
    for body, code in (
        ({"thread_id": "nope", "text": "hi", "client_id": "c"}, "thread_not_found"),
        ({"thread_id": 5, "text": "hi"}, "invalid_thread_id"),
        ({"thread_id": tid, "text": "   "}, "empty_text"),
        ({"thread_id": tid, "text": "hi", "quote_seq": 40}, "message_not_found"),
        (
            {"thread_id": tid, "text": "hi", "attachments": [{"url": "http://x/y"}]},
            "invalid_attachments",
        ),
    ):
        ack = await ann.tab.call("message", body)
        assert ack["ok"] is False and ack["error"]["code"] == code, body
    for body, code in (
        ({"name": ""}, "empty_name"),
        ({"name": "n" * 101}, "name_too_long"),
        ({"add": ["nobody"]}, "agent_not_found"),
        ({"add": "bob"}, "invalid_add"),
        ({"colour": "red"}, "invalid_group_change"),
        ({"announcement": "a" * 5000}, "announcement_too_long"),
    ):
        status, error = await ann.rest("PATCH", f"/api/v1/im/groups/{tid}", body)
        assert status in (400, 404) and error["error"]["code"] == code, body
    status, error = await ann.rest("GET", "/api/v1/im/threads/nope/messages")
    assert status == 404 and error["error"]["code"] == "thread_not_found"
    status, error = await ann.rest("POST", "/api/v1/im/groups", {"name": "G", "members": ["x"]})
    assert status == 404 and error["error"]["code"] == "agent_not_found"
    _, after = await ann.rest("GET", f"/api/v1/im/threads/{tid}")
    assert {k: after[k] for k in ("name", "members", "announcement", "last_seq", "owner_id")} == {
        k: thread[k] for k in ("name", "members", "announcement", "last_seq", "owner_id")
    }
    await bob.tab.barrier()
    assert bob.tab.messages() == []


async def test_other_tenants_threads_and_people_are_unknown(running_hub: RunningHub) -> None:
    hub = running_hub.hub
    await hub.store.create_tenant(Tenant(id="other", name="Other"))
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    for name in ("x", "y"):
        await do_create_agent(
            hub,
            "other",
            name=name,
            email=f"{name}@other.example",
            password="stranger-password",
            roles=["agent"],
            skills=[],
            max_concurrent=3,
        )
    token, stranger_agent = await running_hub.api.login("x@other.example", "stranger-password")
    stranger = Person(running_hub, token, stranger_agent)
    await stranger.open_tab()
    status, error = await stranger.rest("GET", f"/api/v1/im/threads/{thread['id']}/messages")
    assert status == 404 and error["error"]["code"] == "thread_not_found"
    ack = await stranger.tab.say(thread["id"], "hello?")
    assert ack["error"]["code"] == "thread_not_found"
    status, error = await stranger.rest("POST", "/api/v1/im/direct", {"agent_id": ann.id})
    assert status == 404 and error["error"]["code"] == "agent_not_found"
    status, error = await ann.rest("POST", "/api/v1/im/direct", {"agent_id": stranger.id})
    assert status == 404 and error["error"]["code"] == "agent_not_found"
    _, people = await stranger.rest("GET", "/api/v1/im/directory")
    assert {p["name"] for p in people["people"]} == {"x", "y"}
    assert (await stranger.threads())["items"] == []
    assert (await ann.tab.say(thread["id"], "private"))["ok"]
    await stranger.tab.barrier()
    assert stranger.tab.messages() == []


async def test_directory_departments_presence_and_last_sign_in(running_hub: RunningHub) -> None:
    admin = running_hub.admin_token
    api = running_hub.api
    status, sales = await api.request(
        "POST", "/api/v1/im/departments", token=admin, json={"name": "Sales"}
    )
    assert status == 201 and sales["parent_id"] is None
    status, east = await api.request(
        "POST",
        "/api/v1/im/departments",
        token=admin,
        json={"name": "Sales East 华东", "parent_id": sales["id"]},
    )
    assert status == 201 and east["parent_id"] == sales["id"]
    status, error = await api.request(
        "PATCH",
        f"/api/v1/im/departments/{sales['id']}",
        token=admin,
        json={"parent_id": east["id"]},
    )
    assert status == 400 and error["error"]["code"] == "department_cycle"
    ann = await person(running_hub)
    offline_token, offline = await running_hub.create_agent()
    status, placed = await api.request(
        "PUT",
        f"/api/v1/im/people/{ann.id}/department",
        token=admin,
        json={"department_id": east["id"]},
    )
    assert status == 200 and placed["department_id"] == east["id"]
    status, error = await ann.rest("POST", "/api/v1/im/departments", {"name": "Mine"})
    assert status == 403 and error["error"]["code"] == "admin_only"
    status, error = await api.request("DELETE", f"/api/v1/im/departments/{east['id']}", token=admin)
    assert status == 409 and error["error"]["code"] == "department_not_empty"
    status, found = await ann.rest("GET", "/api/v1/im/directory")
    assert status == 200
    assert {(d["name"], d["parent_id"]) for d in found["departments"]} == {
        ("Sales", None),
        ("Sales East 华东", sales["id"]),
    }
    people = {p["agent_id"]: p for p in found["people"]}
    assert people[ann.id]["department_id"] == east["id"]
    assert people[ann.id]["presence"] == "online" and people[ann.id]["last_login_at"]
    assert people[offline["id"]]["presence"] == "offline"
    assert offline_token


async def test_files_quotes_and_search_across_own_threads(running_hub: RunningHub) -> None:
    ann, bob, carl = await person(running_hub), await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    other = await carl.direct(bob)
    status, upload = await running_hub.api.request(
        "POST",
        "/api/v1/uploads",
        token=ann.token,
        data=_form("plan.pdf", b"%PDF-1.4 plan"),
    )
    assert status in (200, 201), upload
    ack = await ann.tab.say(
        thread["id"], "", attachments=[{"url": upload["url"], "name": "plan.pdf", "type": "file"}]
    )
    assert ack["ok"] and ack["message"]["type"] == "file", ack
    got = await bob.tab.wait_for("message", lambda m: m["type"] == "file")
    assert got["attachments"][0]["url"] == upload["url"]
    assert (await ann.tab.say(thread["id"], "季度计划 quarterly Plan"))["ok"]
    quoted = await bob.tab.say(thread["id"], "ok", quote_seq=2)
    assert quoted["message"]["quote"]["text"] == "季度计划 quarterly Plan"
    assert (await carl.tab.say(other["id"], "carl's own plan 计划"))["ok"]
    for query in ("计划", "PLAN"):
        status, hits = await ann.rest("GET", f"/api/v1/im/search?q={query}")
        assert status == 200
        assert [m["text"] for m in hits["items"]] == ["季度计划 quarterly Plan"], query
    status, hits = await bob.rest("GET", "/api/v1/im/search?q=计划")
    assert len(hits["items"]) == 2  # bob is in both threads (the quote is "ok")


def _form(name: str, content: bytes):  # type: ignore[no-untyped-def]
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="application/pdf")
    return form


async def test_a_typing_colleague_is_shown_to_the_others(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    assert (await ann.tab.call("typing", {"thread_id": thread["id"], "on": True}))["ok"]
    typing = await bob.tab.wait_for("typing")
    assert typing == {
        "thread_id": thread["id"],
        "agent_id": ann.id,
        "name": ann.agent["name"],
        "on": True,
    }
    await ann.tab.barrier()
    assert ann.tab.events["typing"] == []


async def test_a_disabled_agent_is_cut_off_from_the_team_chat(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    await ann.direct(bob)
    status, _ = await running_hub.api.request(
        "PATCH", f"/api/v1/agents/{ann.id}", token=running_hub.admin_token, json={"disabled": True}
    )
    assert status == 200
    async with asyncio.timeout(10):
        await ann.tab.sio.wait()  # returns once the hub closed the socket
    refused = ImSocket(running_hub.base_url)
    running_hub.clients.append(refused)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect({"token": ann.token})


async def test_consult_a_colleague_about_a_customer_conversation(running_hub: RunningHub) -> None:
    serving = await running_hub.agent(ready=True)
    visitor = await running_hub.visitor()
    said = await visitor.say("my order is late")
    conversation_id = said["message"]["conversation_id"]
    await serving.wait_for("conversation.assigned")
    asker = Person(running_hub, serving.token, serving.agent)
    await asker.open_tab()
    colleague = await person(running_hub)
    supervisor = await person(running_hub, roles=["supervisor", "agent"])
    outsider = await person(running_hub)
    thread = await asker.group("Advice", colleague, supervisor)
    status, error = await colleague.rest("GET", f"/api/v1/conversations/{conversation_id}/messages")
    assert status == 403  # not theirs to read in the inbox
    ack = await asker.tab.say(
        thread["id"], "what do we do here?", consult={"conversation_id": conversation_id}
    )
    assert ack["ok"] and ack["message"]["type"] == "consult"
    assert ack["message"]["consult"]["conversation_id"] == conversation_id
    path = f"/api/v1/im/threads/{thread['id']}/consult/{conversation_id}"
    status, shared = await colleague.rest("GET", path)
    assert status == 200 and shared["can_take_over"] is False
    assert [m["text"] for m in shared["messages"]] == ["my order is late"]
    status, shared = await supervisor.rest("GET", path)
    assert status == 200 and shared["can_take_over"] is True
    status, error = await outsider.rest("GET", path)
    assert status == 403 and error["error"]["code"] == "not_a_member"
    # Sharing needs the right to read it, and only what was shared opens.
    other = await colleague.direct(outsider)
    ack = await colleague.tab.say(other["id"], "look", consult={"conversation_id": conversation_id})
    assert ack["ok"] is False
    status, error = await outsider.rest(
        "GET", f"/api/v1/im/threads/{other['id']}/consult/{conversation_id}"
    )
    assert status == 403 and error["error"]["code"] == "not_shared"


async def test_a_runaway_sender_is_slowed_down(tmp_path: Path) -> None:
    async with hub_running(tmp_path / "data", im_messages_per_minute=3) as running_hub:
        await _runaway(running_hub)


async def _runaway(running_hub: RunningHub) -> None:
    ann, bob = await person(running_hub), await person(running_hub)
    thread = await ann.direct(bob)
    for n in range(3):
        assert (await ann.tab.say(thread["id"], f"m{n}"))["ok"]
    refused = await ann.tab.say(thread["id"], "one too many")
    assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] >= 1
    status, history = await bob.rest("GET", f"/api/v1/im/threads/{thread['id']}/messages")
    assert status == 200 and [m["text"] for m in history["items"]] == ["m0", "m1", "m2"]
