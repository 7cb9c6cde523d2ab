"""Online visitors (在线访客) and invitations to chat (邀请), docs/protocol.md "Online visitors
and invitations": the loader's page-view sockets list visitors, agents invite them, the
visitor accepts or refuses. Real hub on a free port, real Socket.IO clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from hub.domain import Tenant
from tests.conftest import RunningHub, hub_running
from tests.realtime_clients import AgentClient, Visitor

SHOP = "https://shop.example.com"


def page(path: str, title: str = "", referrer: str = "") -> dict[str, str]:
    return {"url": SHOP + path, "title": title, "referrer": referrer}


@pytest.fixture
async def online_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with hub_running(
        tmp_path / "data",
        online_visitor_timeout_seconds=0.3,
        online_visitors_batch_seconds=0.05,
        invitations_per_agent_minute=3,
        page_views_per_minute=3,
    ) as running:
        yield running


async def browse(
    running: RunningHub,
    path: str,
    *,
    tenant: str = "default",
    token: str | None = None,
    **page_kw: str,
) -> Visitor:
    """The loader of one page view: a /visitor socket with `browse: true`."""
    auth: dict[str, Any] = {"browse": True, "page": page(path, **page_kw)}
    if token:
        auth["visitor_token"] = token
    return await running.visitor(tenant, **auth)


async def online(running: RunningHub, token: str | None = None, **query: str) -> dict[str, Any]:
    status, body = await running.api.request(
        "GET", "/api/v1/visitors/online", token=token or running.admin_token, params=query or None
    )
    assert status == 200, body
    return body


async def stats(running: RunningHub, token: str | None = None) -> dict[str, Any]:
    status, body = await running.api.request(
        "GET", "/api/v1/visitors/stats", token=token or running.admin_token
    )
    assert status == 200, body
    return body


def agent_stats(body: dict[str, Any], agent: AgentClient) -> dict[str, Any]:
    return next(entry for entry in body["agents"] if entry["agent_id"] == agent.id)


async def invite(agent: AgentClient, visitor: Visitor, **extra: Any) -> dict[str, Any]:
    assert visitor.session is not None
    return await agent.call(
        "visitor.invite", {"contact_id": visitor.session["contact_id"], **extra}
    )


async def test_page_views_appear_in_the_list_with_the_trail(online_hub: RunningHub) -> None:
    agent = await online_hub.agent()
    visitor = await browse(online_hub, "/", title="Home", referrer="https://search.example/?q=x")
    contact_id = visitor.session["contact_id"]  # type: ignore[index]
    await agent.wait_for("visitors.online", lambda d: d["online"] == 1)
    ack = await visitor.call("page", page("/shoes", title="Shoes"))
    assert ack == {"ok": True}
    body = await online(online_hub)
    assert body["total"] == 1 and body["online"] == 1
    [item] = body["items"]
    assert item["contact_id"] == contact_id
    assert item["page"] == {"url": SHOP + "/shoes", "title": "Shoes", "referrer": ""}
    assert [p["url"] for p in item["pages"]] == [SHOP + "/", SHOP + "/shoes"]
    assert item["pages"][0]["referrer"] == "https://search.example/?q=x"
    assert item["ip"] == "127.0.0.1" and item["status"] == "browsing"
    assert item["invited"] == 0 and item["refused"] == 0 and item["arrived_at"]
    assert {"device", "os", "browser", "region", "name"} <= set(item)
    # Browsing writes nothing: the visitor has no contact until they chat.
    assert await online_hub.hub.store.get_contact("default", contact_id) is None
    counters = await stats(online_hub)
    assert counters["online"] == 1 and counters["today"]["pv"] == 2 and counters["today"]["ip"] == 1
    # Search and filters.
    assert (await online(online_hub, q="SHOES"))["total"] == 1
    assert (await online(online_hub, q="nowhere"))["total"] == 0
    assert (await online(online_hub, status="chatting"))["total"] == 0


async def test_the_list_is_paged_newest_first(online_hub: RunningHub) -> None:
    visitors = [await browse(online_hub, f"/p{n}") for n in range(5)]
    first = await online(online_hub, limit="2")
    second = await online(online_hub, limit="2", offset="2")
    assert first["total"] == 5 and len(first["items"]) == 2 and len(second["items"]) == 2
    newest = [v.session["contact_id"] for v in reversed(visitors)]  # type: ignore[index]
    assert [i["contact_id"] for i in first["items"] + second["items"]] == newest[:4]
    status, body = await online_hub.api.request(
        "GET", "/api/v1/visitors/online", token=online_hub.admin_token, params={"limit": "9999"}
    )
    assert status == 400 and body["error"]["code"] == "invalid_limit"
    status, _ = await online_hub.api.request("GET", "/api/v1/visitors/online")
    assert status == 401


async def test_the_next_page_keeps_the_visit_and_leaving_removes_it_after_the_timeout(
    online_hub: RunningHub,
) -> None:
    agent = await online_hub.agent()
    first = await browse(online_hub, "/")
    arrived = (await online(online_hub))["items"][0]["arrived_at"]
    await first.close()  # the browser moves to the next page of the site
    second = await browse(online_hub, "/cart", token=first.token)
    assert second.session["contact_id"] == first.session["contact_id"]  # type: ignore[index]
    [item] = (await online(online_hub))["items"]
    assert item["arrived_at"] == arrived and len(item["pages"]) == 2
    mark = agent.count("visitors.online")
    await second.close()  # leaves the site
    await agent.wait_for("visitors.online", lambda d: d["online"] == 0, start=mark)
    assert (await online(online_hub))["items"] == []


async def test_invite_accept_opens_a_conversation_with_the_inviting_agent(
    online_hub: RunningHub,
) -> None:
    agent = await online_hub.agent()
    other = await online_hub.agent()
    visitor = await browse(online_hub, "/pricing")
    ack = await invite(agent, visitor, text="Need a hand with the plans?")
    assert ack["ok"], ack
    invitation = await visitor.wait_for("invitation")
    assert invitation["agent"] == {"id": agent.id, "name": agent.agent["name"]}
    assert invitation["text"] == "Need a hand with the plans?"
    accepted = await visitor.call(
        "invitation.accept", {"invitation_id": invitation["invitation_id"]}
    )
    assert accepted["ok"], accepted
    conversation = accepted["conversation"]
    assert conversation["status"] == "assigned" and conversation["agent_id"] == agent.id
    answered = await agent.wait_for("invitation.answered")
    assert answered["invitation_id"] == invitation["invitation_id"] and answered["accepted"]
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation["id"]
    assert other.count("conversation.assigned") == 0
    # The chat frame, opened with the loader's token, is in that conversation, which starts
    # with the invitation's words from the agent.
    frame = await online_hub.visitor(visitor_token=visitor.token)
    assert frame.session["conversation"]["id"] == conversation["id"]  # type: ignore[index]
    sync = await frame.call("sync", {"conversation_id": conversation["id"], "after_seq": 0})
    assert [m["text"] for m in sync["messages"]] == ["Need a hand with the plans?"]
    [item] = (await online(online_hub))["items"]
    assert item["status"] == "chatting" and item["invited"] == 1
    mine = agent_stats(await stats(online_hub), agent)
    assert (mine["invited"], mine["accepted"], mine["refused"]) == (1, 1, 0)
    assert mine["conversations"] == 1
    # Answering twice, or a chatting visitor invited again, is refused.
    again = await visitor.call("invitation.accept", {"invitation_id": invitation["invitation_id"]})
    assert again["error"]["code"] == "invitation_not_found"
    assert (await invite(other, visitor))["error"]["code"] == "visitor_chatting"


async def test_an_inviter_at_their_maximum_has_it_routed(online_hub: RunningHub) -> None:
    inviter = await online_hub.agent(max_concurrent=1)
    chatting = await online_hub.visitor()
    assert (await chatting.say("hello"))["ok"]
    await inviter.wait_for("conversation.assigned")
    ready = await online_hub.agent()
    visitor = await browse(online_hub, "/")
    assert (await invite(inviter, visitor))["ok"]
    invitation = await visitor.wait_for("invitation")
    accepted = await visitor.call(
        "invitation.accept", {"invitation_id": invitation["invitation_id"]}
    )
    assert accepted["conversation"]["agent_id"] == ready.id
    await ready.wait_for("conversation.assigned")
    assert (await inviter.wait_for("invitation.answered"))["accepted"] is True


async def test_refusing_is_counted_and_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with hub_running(data, online_visitors_batch_seconds=0.05) as running:
        agent = await running.agent()
        visitor = await browse(running, "/")
        assert (await invite(agent, visitor))["ok"]
        assert (await invite(agent, visitor))["error"]["code"] == "already_invited"
        invitation = await visitor.wait_for("invitation")
        refused = await visitor.call(
            "invitation.refuse", {"invitation_id": invitation["invitation_id"]}
        )
        assert refused == {"ok": True}
        answered = await agent.wait_for("invitation.answered")
        assert answered["accepted"] is False
        [item] = (await online(running))["items"]
        assert (item["invited"], item["refused"]) == (1, 1)
        agent_id = agent.id
        # Nothing was opened.
        assert await running.hub.store.list_conversations("default") == []
    async with hub_running(data) as running:
        mine = next(e for e in (await stats(running))["agents"] if e["agent_id"] == agent_id)
        assert (mine["invited"], mine["accepted"], mine["refused"]) == (1, 0, 1)


async def test_auto_invite_on_a_matching_url_and_after_some_seconds(
    online_hub: RunningHub,
) -> None:
    status, config = await online_hub.api.request(
        "PUT",
        "/api/v1/settings/invitation",
        token=online_hub.admin_token,
        json={
            "title": "We are here",
            "color": "#10b981",
            "auto": {
                "enabled": True,
                "url_patterns": ["*/pricing*"],
                "after_seconds": 1,
                "text": "Questions about prices?",
            },
        },
    )
    assert status == 200, config
    on_pricing = await browse(online_hub, "/pricing?plan=pro")
    invitation = await on_pricing.wait_for("invitation", timeout=2)
    assert invitation["agent"] is None and invitation["text"] == "Questions about prices?"
    assert invitation["style"] == {"title": "We are here", "color": "#10b981"}
    elsewhere = await browse(online_hub, "/about")
    assert elsewhere.count("invitation") == 0  # not at once: after a second on the page
    timed = await elsewhere.wait_for("invitation", timeout=5)
    # Accepted, an automatic invitation is routed like any conversation.
    agent = await online_hub.agent()
    accepted = await elsewhere.call("invitation.accept", {"invitation_id": timed["invitation_id"]})
    assert accepted["conversation"]["agent_id"] == agent.id
    await on_pricing.call("invitation.refuse", {"invitation_id": invitation["invitation_id"]})
    assert (await stats(online_hub))["auto"] == {"invited": 2, "accepted": 1, "refused": 1}


async def test_invitation_settings_are_checked(online_hub: RunningHub) -> None:
    for bad in (
        {"color": "red"},
        {"accept": "anyone"},
        {"auto": {"after_seconds": -1}},
        {"auto": {"url_patterns": ["x"] * 51}},
        {"text": "x" * 501},
        {"nonsense": 1},
    ):
        status, body = await online_hub.api.request(
            "PUT", "/api/v1/settings/invitation", token=online_hub.admin_token, json=bad
        )
        assert status == 400 and body["error"]["code"] == "invalid_invitation_settings", bad
    status, config = await online_hub.api.request(
        "GET", "/api/v1/settings/invitation", token=online_hub.admin_token
    )
    assert status == 200 and config["auto"]["enabled"] is False and config["accept"] == "inviter"
    agent_token, _ = await online_hub.create_agent()
    status, _ = await online_hub.api.request(
        "PUT", "/api/v1/settings/invitation", token=agent_token, json={"enabled": False}
    )
    assert status == 403


async def refused_connect(running: RunningHub, auth: dict[str, Any]) -> str:
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[object] = []
    client.on("connect_error", refusals.append, namespace="/visitor")
    try:
        await client.connect(
            running.base_url,
            namespaces=["/visitor"],
            auth=auth,
            transports=["websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        return str(refusals)
    finally:
        await client.disconnect()
    raise AssertionError("the connection was accepted")


async def test_bad_page_views_are_refused(online_hub: RunningHub) -> None:
    huge = {"url": SHOP + "/?" + "x" * 100_000}
    assert "invalid_page" in await refused_connect(
        online_hub, {"tenant": "default", "browse": True, "page": huge}
    )
    assert "invalid_page" in await refused_connect(
        online_hub, {"tenant": "default", "browse": True, "page": {"url": "javascript:alert(1)"}}
    )
    assert "tenant_not_found" in await refused_connect(
        online_hub, {"tenant": "nobody", "browse": True, "page": page("/")}
    )
    visitor = await browse(online_hub, "/")
    ack = await visitor.call("page", {"url": SHOP + "/" + "y" * 100_000})
    assert ack["error"]["code"] == "invalid_page"
    # A flood of page views on one socket is refused past the limit, and not counted.
    codes = []
    for n in range(4):
        ack = await visitor.call("page", page(f"/flood/{n}"))
        codes.append(ack.get("error", {}).get("code", "ok"))
    assert codes == ["ok", "ok", "ok", "rate_limited"]
    # The loader's socket reports pages; it does not chat.
    assert (await visitor.say("hello"))["error"]["code"] == "browse_only"
    [item] = (await online(online_hub))["items"]
    assert len(item["pages"]) == 4


async def test_page_views_never_cross_tenants(online_hub: RunningHub) -> None:
    await online_hub.hub.store.create_tenant(Tenant(id="acme", name="Acme"))
    ours = await browse(online_hub, "/")
    # A page view for another tenant on our socket is refused, not counted there.
    forged = await ours.call("page", {**page("/x"), "tenant": "acme"})
    assert forged["error"]["code"] == "tenant_mismatch"
    # Our visitor's token presented to another tenant is a stranger there.
    theirs = await browse(online_hub, "/", tenant="acme", token=ours.token)
    assert theirs.session["contact_id"] != ours.session["contact_id"]  # type: ignore[index]
    assert [i["contact_id"] for i in (await online(online_hub))["items"]] == [
        ours.session["contact_id"]  # type: ignore[index]
    ]
    assert (await online_hub.hub.online.list("acme")).total == 1
    # An agent cannot invite a visitor of another tenant, nor answer for one.
    agent = await online_hub.agent()
    assert (await invite(agent, theirs))["error"]["code"] == "visitor_not_online"
    assert (await invite(agent, ours))["ok"]
    invitation = await ours.wait_for("invitation")
    stolen = await theirs.call("invitation.accept", {"invitation_id": invitation["invitation_id"]})
    assert stolen["error"]["code"] == "invitation_not_found"


async def test_invitation_floods_are_refused(online_hub: RunningHub) -> None:
    agent = await online_hub.agent()
    visitors = [await browse(online_hub, f"/{n}") for n in range(4)]
    codes = [(await invite(agent, v)).get("error", {}).get("code", "ok") for v in visitors]
    assert codes == ["ok", "ok", "ok", "rate_limited"]
    for bad in ({"contact_id": 5}, {"contact_id": "x", "text": "y" * 501}, {}):
        ack = await agent.call("visitor.invite", bad)
        assert not ack["ok"] and ack["error"]["code"].startswith("invalid_"), ack
    ack = await agent.call("visitor.invite", {"contact_id": "not-online"})
    assert ack["error"]["code"] in ("visitor_not_online", "rate_limited")
    assert sum(v.count("invitation") for v in visitors) == 3


async def test_an_unanswered_invitation_lapses_and_may_be_sent_again(
    online_hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = await online_hub.agent()
    visitor = await browse(online_hub, "/")
    assert (await invite(agent, visitor))["ok"]
    first = await visitor.wait_for("invitation")
    monkeypatch.setattr("hub.actions.online.INVITATION_TTL_SECONDS", 0.0)
    assert (await invite(agent, visitor, text="Still there?"))["ok"]
    second = await visitor.wait_for("invitation", lambda d: d["text"] == "Still there?")
    late = await visitor.call("invitation.refuse", {"invitation_id": first["invitation_id"]})
    assert late["error"]["code"] == "invitation_not_found"
    assert (await visitor.call("invitation.refuse", {"invitation_id": second["invitation_id"]}))[
        "ok"
    ]


async def test_a_visitor_who_browsed_then_chats_is_the_same_visitor(online_hub: RunningHub) -> None:
    agent = await online_hub.agent()
    loader = await browse(online_hub, "/")
    contact_id = loader.session["contact_id"]  # type: ignore[index]
    frame = await online_hub.visitor(visitor_token=loader.token)
    assert frame.session["contact_id"] == contact_id  # type: ignore[index]
    contact = await online_hub.hub.store.get_contact("default", contact_id)
    assert contact is not None and contact.identities[0].external_id == contact_id
    assert (await frame.say("hello"))["ok"]
    await agent.wait_for("conversation.assigned")
    mark = agent.count("visitors.online")
    await agent.wait_for("visitors.online", start=mark)
    [item] = (await online(online_hub, status="chatting"))["items"]
    assert item["contact_id"] == contact_id
