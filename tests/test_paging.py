"""Issue 13, item 8 (the rest): every REST list is paged with `?limit=` and an opaque
`next` cursor. Before: "150 spam left messages pushed a real one out of the inbox (the
list has no paging)"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.domain import Contact, LeftMessage, utcnow
from tests.conftest import RunningHub


async def walk(
    running: RunningHub, path: str, token: str, cursor: str | None = None
) -> list[dict[str, Any]]:
    """Every page of a list (from `cursor` on), following `next`."""
    items: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    while True:
        url = path if cursor is None else f"{path}{separator}cursor={cursor}"
        status, body = await running.api.request("GET", url, token=token)
        assert status == 200, body
        items.extend(body["items"])
        cursor = body["next"]
        if cursor is None:
            return items


async def test_a_real_left_message_stays_reachable_behind_150_spam(running_hub: RunningHub) -> None:
    store, now = running_hub.hub.store, utcnow()
    real = LeftMessage(
        id="real",
        tenant="default",
        contact_id="k1",
        text="please call",
        phone="123",
        created_at=now - timedelta(hours=1),
    )
    await store.create_left_message(real)
    for number in range(150):
        spam = LeftMessage(
            id=f"spam{number:03}",
            tenant="default",
            contact_id="k2",
            text="buy",
            phone="1",
            created_at=now + timedelta(milliseconds=number),
        )
        await store.create_left_message(spam)
    token = running_hub.admin_token
    status, first = await running_hub.api.request("GET", "/api/v1/left-messages", token=token)
    assert status == 200 and len(first["items"]) == 100 and first["next"]
    assert "real" not in [m["id"] for m in first["items"]]
    ids = [m["id"] for m in await walk(running_hub, "/api/v1/left-messages?limit=40", token)]
    assert len(ids) == 151 and len(set(ids)) == 151
    assert ids[-1] == "real" and ids[0] == "spam149"
    unhandled = await walk(running_hub, "/api/v1/left-messages?handled=false&limit=200", token)
    assert len(unhandled) == 151


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations",
        "/api/v1/contacts",
        "/api/v1/left-messages",
        "/api/v1/agents",
        "/api/v1/monitor/queue",
    ],
)
async def test_bad_cursors_and_limits_are_refused(running_hub: RunningHub, path: str) -> None:
    token = running_hub.admin_token
    for cursor in ("garbage!", "e30", "WyJvdGhlciIsIngiXQ"):  # not base64 JSON, {}, ["other","x"]
        status, body = await running_hub.api.request("GET", f"{path}?cursor={cursor}", token=token)
        assert status == 400 and body["error"]["code"] == "invalid_cursor", (cursor, body)
    for limit in ("0", "1001", "x"):
        status, body = await running_hub.api.request("GET", f"{path}?limit={limit}", token=token)
        assert status == 400 and body["error"]["code"] == "invalid_limit", (limit, body)
    status, body = await running_hub.api.request("GET", f"{path}?limit=1", token=token)
    assert status == 200 and "next" in body


async def test_a_cursor_of_one_list_is_refused_by_another(running_hub: RunningHub) -> None:
    token = running_hub.admin_token
    await running_hub.create_agent()
    status, agents = await running_hub.api.request("GET", "/api/v1/agents?limit=1", token=token)
    assert status == 200 and agents["next"]
    status, body = await running_hub.api.request(
        "GET", f"/api/v1/contacts?cursor={agents['next']}", token=token
    )
    assert status == 400 and body["error"]["code"] == "invalid_cursor"


async def test_conversations_contacts_and_agents_page_through_everything(
    running_hub: RunningHub,
) -> None:
    token = running_hub.admin_token
    for _ in range(3):
        await running_hub.create_agent()
    visitors = [await running_hub.visitor() for _ in range(5)]
    for number, visitor in enumerate(visitors):
        assert (await visitor.say(f"hello {number}"))["ok"]
    conversations = await walk(running_hub, "/api/v1/conversations?limit=2", token)
    _, everything = await running_hub.api.request("GET", "/api/v1/conversations", token=token)
    assert [c["id"] for c in conversations] == [c["id"] for c in everything["items"]]
    assert len(conversations) == 5 and everything["next"] is None
    contacts = await walk(running_hub, "/api/v1/contacts?limit=2", token)
    assert {c["id"] for c in contacts} == {v.session["contact_id"] for v in visitors}
    agents = await walk(running_hub, "/api/v1/agents?limit=1", token)
    assert len(agents) == 4 and len({a["id"] for a in agents}) == 4  # the admin and three


async def test_the_waiting_queue_pages_in_order_even_as_it_moves(running_hub: RunningHub) -> None:
    token = running_hub.admin_token
    visitors = [await running_hub.visitor() for _ in range(5)]
    for visitor in visitors:
        assert (await visitor.say("waiting"))["ok"]
    status, first = await running_hub.api.request(
        "GET", "/api/v1/monitor/queue?limit=2", token=token
    )
    assert status == 200 and len(first["items"]) == 2 and first["next"]
    assert [e["position"] for e in first["entries"]] == [1, 2]
    # The head of the queue is served between two pages: the next page still starts after
    # the page's last entry.
    agent = await running_hub.agent(max_concurrent=1)
    await agent.wait_for("conversation.assigned")
    rest = await walk(running_hub, "/api/v1/monitor/queue?limit=2", token, first["next"])
    _, whole = await running_hub.api.request("GET", "/api/v1/monitor/queue", token=token)
    # `items` are the conversation ids of each page, in queue order.
    assert first["items"][1:] + rest == whole["items"]
    assert len(whole["items"]) == 4 and whole["next"] is None


async def test_search_pages_with_the_same_cursors(running_hub: RunningHub) -> None:
    """Search answers in pages like every list, and refuses another list's cursor."""
    store, now = running_hub.hub.store, utcnow()
    for number in range(5):
        await store.create_contact(
            Contact(
                id=f"k{number}",
                tenant="default",
                name=f"王小明 {number}",
                last_seen_at=now - timedelta(minutes=number // 2),
            )
        )
    token = running_hub.admin_token
    found = await walk(running_hub, "/api/v1/search/contacts?q=小明&limit=2", token)
    assert [c["id"] for c in found] == ["k0", "k1", "k2", "k3", "k4"]
    _, first = await running_hub.api.request("GET", "/api/v1/contacts?limit=1", token=token)
    status, refused = await running_hub.api.request(
        "GET", f"/api/v1/search/contacts?q=小明&cursor={first['next']}", token=token
    )
    assert status == 400 and refused["error"]["code"] == "invalid_cursor"
