"""Queue overflow (docs/protocol.md, "Routing"): per skill, after a wait or beyond a queue
length, a waiting conversation moves to another skill's queue keeping its arrival, or ends
with the leave-a-message prompt. Real hub, real Socket.IO clients."""

from __future__ import annotations

from typing import Any

from hub.domain import RoutingSettings
from tests.conftest import RunningHub
from tests.realtime_clients import Visitor
from tests.test_routing import assigned_to


def rule(skill: str | None, to: str | None, **trigger: float) -> dict[str, Any]:
    target: Any = "leave_message" if to == "leave_message" else {"skill": to}
    return {"skill": skill, "to": target, **trigger}


def at_position(position: int):
    return lambda d: d["status"] == "queued" and d.get("queue_position") == position


async def conversation(running_hub: RunningHub, visitor_ack: dict[str, Any]) -> dict[str, Any]:
    status, body = await running_hub.api.request(
        "GET",
        f"/api/v1/conversations/{visitor_ack['message']['conversation_id']}",
        token=running_hub.admin_token,
    )
    assert status == 200, body
    return body


async def queued(running_hub: RunningHub, skill: str | None, text: str) -> tuple[Visitor, Any]:
    visitor = await running_hub.visitor(**({"skill": skill} if skill else {}))
    ack = await visitor.say(text)
    assert ack["ok"], ack
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    return visitor, ack


async def test_after_the_wait_an_agent_of_the_other_skill_gets_it(
    running_hub: RunningHub,
) -> None:
    await running_hub.routing(overflow=[rule("billing", "sales", after_seconds=0.2)])
    sales = await running_hub.agent(skills=["sales"])
    visitor, ack = await queued(running_hub, "billing", "invoice?")
    await visitor.wait_for("conversation.status", assigned_to(sales.id))
    assigned = await sales.wait_for("conversation.assigned")
    assert assigned["conversation"]["skill"] == "sales"
    assert (await conversation(running_hub, ack))["skill"] == "sales"


async def test_overflow_keeps_arrival_order_and_pushes_positions(running_hub: RunningHub) -> None:
    await running_hub.routing(overflow=[rule("billing", "sales", after_seconds=1.0)])
    first, first_ack = await queued(running_hub, "billing", "first, billing")
    later, _ = await queued(running_hub, "sales", "second, sales")
    behind, _ = await queued(running_hub, "billing", "third, billing")
    assert behind.events["conversation.status"][-1]["queue_position"] == 2
    # The first one overflows ahead of the later sales conversation, which moves back; the
    # billing conversation behind it moves up; then it overflows too, behind both.
    await first.wait_for("conversation.status", at_position(1), start=1)
    await later.wait_for("conversation.status", at_position(2))
    await behind.wait_for("conversation.status", at_position(1))
    await behind.wait_for("conversation.status", at_position(3))
    assert (await conversation(running_hub, first_ack))["skill"] == "sales"
    sales = await running_hub.agent(skills=["sales"], max_concurrent=1)
    await first.wait_for("conversation.status", assigned_to(sales.id))
    await later.wait_for("conversation.status", at_position(1), start=2)
    await behind.wait_for("conversation.status", at_position(2), start=3)


async def test_beyond_max_queue_it_overflows_at_once(running_hub: RunningHub) -> None:
    await running_hub.routing(overflow=[rule("billing", None, max_queue=1)])
    kept, kept_ack = await queued(running_hub, "billing", "I fit")
    moved, moved_ack = await queued(running_hub, "billing", "one too many")
    # It joined behind the one allowed, so it went on to the queue of no skill at once.
    assert moved.events["conversation.status"][0]["queue_position"] == 1
    assert (await conversation(running_hub, moved_ack))["skill"] is None
    general = await running_hub.agent(max_concurrent=1)
    await moved.wait_for("conversation.status", assigned_to(general.id))
    assert (await conversation(running_hub, kept_ack))["status"] == "queued"
    assert kept.events["conversation.status"][-1]["status"] == "queued"


async def test_leave_message_ending(running_hub: RunningHub) -> None:
    await running_hub.routing(overflow=[rule(None, "leave_message", after_seconds=0.2)])
    visitor, ack = await queued(running_hub, None, "hello?")
    closed = await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert closed["leave_message"] is True and closed["reason"] == "queue_overflow"
    prompt = await visitor.wait_for("message", lambda m: m["sender"]["type"] == "system")
    assert prompt["meta"] == {"system": "queue_overflow"}
    assert "leave a message" in prompt["text"]
    assert (await conversation(running_hub, ack))["close_reason"] == "queue_overflow"


async def test_a_chain_of_rules_is_followed_step_by_step(running_hub: RunningHub) -> None:
    await running_hub.routing(
        overflow=[
            rule("a", "b", after_seconds=0.2),
            rule("b", "leave_message", after_seconds=0.2),
        ]
    )
    visitor, ack = await queued(running_hub, "a", "anyone?")
    closed = await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert closed["reason"] == "queue_overflow"
    assert (await conversation(running_hub, ack))["skill"] == "b"


async def test_assigned_before_the_wait_does_not_overflow(running_hub: RunningHub) -> None:
    await running_hub.routing(overflow=[rule("billing", "leave_message", after_seconds=1.0)])
    agent = await running_hub.agent(skills=["billing"], max_concurrent=1, ready=False)
    served, served_ack = await queued(running_hub, "billing", "me first")
    await agent.call("presence", {"status": "ready"})
    await served.wait_for("conversation.status", assigned_to(agent.id))
    # A later waiter's overflow comes after the first one's would have.
    waiting, _ = await queued(running_hub, "billing", "me next")
    await waiting.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert (await conversation(running_hub, served_ack))["status"] == "assigned"
    assert all(s["status"] != "closed" for s in served.events["conversation.status"])


async def test_invalid_rules_are_refused_and_nothing_is_stored(running_hub: RunningHub) -> None:
    status, current = await running_hub.api.request(
        "GET", "/api/v1/settings/routing", token=running_hub.admin_token
    )
    assert status == 200 and current["overflow"] == []
    many = [rule(f"s{i}", None, after_seconds=1) for i in range(51)]
    refused = {
        "no trigger": ([rule("a", "b")], "needs after_seconds or max_queue"),
        "to itself": ([rule("a", "a", after_seconds=1)], "to itself"),
        "loop": (
            [
                rule("a", "b", max_queue=1),
                rule("b", None, after_seconds=1),
                rule(None, "a", max_queue=3),
            ],
            "loop",
        ),
        "twice": (
            [rule("a", "b", max_queue=1), rule("a", "leave_message", max_queue=2)],
            "more than one",
        ),
        "bad target": ([{"skill": "a", "to": "elsewhere", "max_queue": 1}], "to"),
        "too many": (many, "overflow"),
        "negative": ([rule("a", "b", max_queue=-1)], "max_queue"),
    }
    for name, (overflow, says) in refused.items():
        status, body = await running_hub.api.request(
            "PUT",
            "/api/v1/settings/routing",
            token=running_hub.admin_token,
            json=current | {"overflow": overflow},
        )
        assert status == 400, name
        assert body["error"]["code"] == "invalid_body" and says in body["error"]["message"], name
    _, after = await running_hub.api.request(
        "GET", "/api/v1/settings/routing", token=running_hub.admin_token
    )
    assert after == current
    # Clients that do not know overflow yet keep working: without it, no rules.
    without = {k: v for k, v in current.items() if k != "overflow"}
    status, body = await running_hub.api.request(
        "PUT", "/api/v1/settings/routing", token=running_hub.admin_token, json=without
    )
    assert status == 200 and body["overflow"] == []


async def test_rules_are_stored_and_read_back(running_hub: RunningHub) -> None:
    rules = [
        rule("billing", "sales", after_seconds=30, max_queue=5),
        rule("sales", "leave_message", max_queue=10),
    ]
    saved = await running_hub.routing(overflow=rules)
    expected = [
        {"skill": "billing", "after_seconds": 30.0, "max_queue": 5, "to": {"skill": "sales"}},
        {"skill": "sales", "after_seconds": None, "max_queue": 10, "to": "leave_message"},
    ]
    assert saved["overflow"] == expected
    stored = await running_hub.hub.store.get_settings("default", "routing")
    assert stored["overflow"] == expected
    assert RoutingSettings.from_public(stored).public() == saved
