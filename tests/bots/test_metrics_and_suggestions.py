"""Bot metrics per day (taken, answered, misses, hand-offs by trigger, resolved), the
unanswered questions, and the knowledge-base suggestions agents get, against a real hub."""

from __future__ import annotations

import pytest

from tests.bots.helpers import ask, bot_settings, import_kb
from tests.conftest import RunningHub


@pytest.fixture
async def kb_hub(running_hub: RunningHub) -> RunningHub:
    await import_kb(running_hub)
    return running_hub


async def _metrics(hub: RunningHub) -> dict[str, object]:
    status, body = await hub.api.request("GET", "/api/v1/bot/metrics", token=hub.admin_token)
    assert status == 200, body
    return body


async def test_counters_and_the_unanswered_questions(kb_hub: RunningHub) -> None:
    await bot_settings(kb_hub, mode="bot_first", max_misses=2, idle_close_seconds=0.5)
    # One conversation the bot answers and that ends quietly: resolved.
    first = await kb_hub.visitor()
    await first.say("怎么退货")
    closed = await first.wait_for("conversation.status", lambda s: s["status"] == "closed")
    assert closed["reason"] == "bot_resolved"
    # One that misses twice: handed off by misses, its questions listed as unanswered.
    second = await kb_hub.visitor()
    await ask(second, "你们老板是谁")
    await ask(second, "我的猫生病了")
    await second.wait_for("conversation.status", lambda s: s["status"] == "queued")
    # One asking for a human.
    third = await kb_hub.visitor()
    await ask(third, "怎么开发票")
    await ask(third, "转人工")
    await third.wait_for("conversation.status", lambda s: s["status"] == "queued")
    metrics = await _metrics(kb_hub)
    (today,) = metrics["days"]
    counts = today["counts"]
    assert counts["taken"] == 3
    assert counts["resolved"] == 1
    assert counts["misses"] == 2 and counts["handoff_misses"] == 1
    assert counts["handoff_keyword"] == 1
    assert counts["answered"] >= 2
    unanswered = {u["text"] for u in metrics["unanswered"]}
    assert {"你们老板是谁", "我的猫生病了"} <= unanswered
    agent_token, _ = await kb_hub.create_agent()
    status, _ = await kb_hub.api.request("GET", "/api/v1/bot/metrics", token=agent_token)
    assert status == 403


async def test_agents_get_knowledge_base_suggestions_for_the_latest_question(
    kb_hub: RunningHub,
) -> None:
    agent = await kb_hub.agent()
    visitor = await kb_hub.visitor()
    ack = await visitor.say("你好")
    conversation_id = ack["message"]["conversation_id"]
    await agent.wait_for("conversation.assigned")
    status, none = await kb_hub.api.request(
        "GET",
        "/api/v1/kb/suggestions",
        token=agent.token,
        params={"conversation_id": conversation_id},
    )
    assert status == 200 and none["items"] == []
    asked = await visitor.say("我的商品坏了，怎么维修")
    status, found = await kb_hub.api.request(
        "GET",
        "/api/v1/kb/suggestions",
        token=agent.token,
        params={"conversation_id": conversation_id},
    )
    assert status == 200 and found["message_id"] == asked["message"]["id"]
    assert "repair" in [item["article"]["id"] for item in found["items"]]
    status, missing = await kb_hub.api.request(
        "GET", "/api/v1/kb/suggestions", token=agent.token, params={"conversation_id": "nope"}
    )
    assert status == 404 and missing["error"]["code"] == "conversation_not_found"
