"""Every bot mode with real Socket.IO visitors and agents against a real hub, over the
labelled knowledge base imported as CSV."""

from __future__ import annotations

import pytest

from tests.bots.helpers import ask, bot_settings, import_kb, next_bot_message
from tests.conftest import RunningHub
from tests.realtime_clients import Visitor


@pytest.fixture
async def kb_hub(running_hub: RunningHub) -> RunningHub:
    status, body = await import_kb(running_hub)
    assert status == 200 and body["imported"] == 54, body
    return running_hub


async def test_bot_first_answers_exact_paraphrased_and_misspelt_questions(
    kb_hub: RunningHub,
) -> None:
    await bot_settings(kb_hub, mode="bot_first")
    visitor = await kb_hub.visitor()
    ack = await visitor.say("怎么退货")
    assert ack["ok"]
    status = await visitor.wait_for("conversation.status", lambda s: s["status"] == "bot")
    assert status["conversation_id"] == ack["message"]["conversation_id"]
    welcome = await next_bot_message(visitor, 0)
    assert "智能助理" in welcome["text"]
    answer = await visitor.wait_for(
        "message", lambda m: m["sender"]["type"] == "bot" and "申请退货" in m["text"]
    )
    assert answer["conversation_id"] == status["conversation_id"]
    # Paraphrased, in Chinese and English; answered in the asker's language.
    assert "3到5个工作日" in (await ask(visitor, "退的钱什么时候能收到"))["text"]
    assert "3 to 5 working days" in (await ask(visitor, "my refund, how long does it take"))["text"]
    # Misspelt.
    assert "3 to 5 working days" in (await ask(visitor, "how long does a refnud take"))["text"]
    # The conversation is the bot's: stored answers with sender type bot, status bot.
    conversation_id = status["conversation_id"]
    code, conversation = await kb_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}", token=kb_hub.admin_token
    )
    assert code == 200 and conversation["status"] == "bot"
    code, messages = await kb_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token=kb_hub.admin_token
    )
    senders = [m["sender"]["type"] for m in messages["items"]]
    assert senders.count("bot") == 5 and senders.count("contact") == 4


async def _bot_conversation(hub: RunningHub, first: str = "怎么查物流") -> tuple[Visitor, str]:
    visitor = await hub.visitor()
    ack = await visitor.say(first)
    assert ack["ok"], ack
    await visitor.wait_for("conversation.status", lambda s: s["status"] == "bot")
    await visitor.wait_for("message", lambda m: m["sender"]["type"] == "bot" and m["seq"] >= 3)
    return visitor, ack["message"]["conversation_id"]


@pytest.mark.parametrize("keyword", ["转人工", "human", "I want an AGENT please"])
async def test_a_keyword_hands_off_and_the_agent_gets_the_bot_part(
    kb_hub: RunningHub, keyword: str
) -> None:
    await bot_settings(kb_hub, mode="bot_first")
    visitor, conversation_id = await _bot_conversation(kb_hub)
    agent = await kb_hub.agent()
    start = visitor.count("message")
    assert (await visitor.say(keyword))["ok"]
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert assigned["conversation"]["status"] == "assigned"
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "keyword"
    kinds = [(m["sender"]["type"], m["text"][:6]) for m in assigned["messages"]]
    # The bot part, marked as the bot's: welcome, the answer, the hand-off notice.
    assert [k for k, _ in kinds] == ["contact", "bot", "bot", "contact", "bot"]
    assert "查看物流" in assigned["messages"][2]["text"]
    notice = await next_bot_message(visitor, start)
    assert "转接" in notice["text"] or "agent" in notice["text"]
    status = await visitor.wait_for("conversation.status", lambda s: s["status"] == "assigned")
    assert status["agent"]["id"] == agent.id
    # From now on the bot stays out of it.
    seen = visitor.count("message")
    assert (await visitor.say("怎么退货"))["ok"]
    assert (await agent.say(conversation_id, "您好，我来帮您"))["ok"]
    reply = await visitor.wait_for("message", lambda m: m["sender"]["type"] == "agent")
    assert reply["text"] == "您好，我来帮您"
    assert not [m for m in visitor.events["message"][seen:] if m["sender"]["type"] == "bot"]


async def test_max_misses_in_a_row_hand_off_and_near_misses_offer_questions(
    kb_hub: RunningHub,
) -> None:
    await bot_settings(kb_hub, mode="bot_first", max_misses=2)
    visitor, conversation_id = await _bot_conversation(kb_hub)
    # A near miss: "did you mean" with the best questions as buttons (web chat shows them).
    near = await ask(visitor, "寄过来要几天")
    assert near["text"] == "您是不是想问："
    buttons = near["meta"]["bot"]["buttons"]
    assert buttons[0] == "快递几天能到"
    # Choosing one (by its number, as on channels without buttons) answers it.
    chosen = await ask(visitor, "1")
    assert "2到4天" in chosen["text"]
    missed = await ask(visitor, "今天天气怎么样")
    assert "没有理解" in missed["text"]
    agent = await kb_hub.agent()
    await ask(visitor, "帮我写一首诗")
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "misses"


async def test_off_routes_to_agents_and_channel_overrides_win(kb_hub: RunningHub) -> None:
    await bot_settings(kb_hub, mode="bot_first", channels={"webim": "off"})
    agent = await kb_hub.agent()
    visitor = await kb_hub.visitor()
    ack = await visitor.say("怎么退货")
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    assert [m["sender"]["type"] for m in assigned["messages"]] == ["contact"]
    await bot_settings(kb_hub, mode="off", channels={"webim": "bot_first"})
    other = await kb_hub.visitor()
    await other.say("怎么退货")
    await other.wait_for("conversation.status", lambda s: s["status"] == "bot")


async def test_human_first_goes_to_a_ready_agent_and_to_the_bot_without_one(
    kb_hub: RunningHub,
) -> None:
    await bot_settings(kb_hub, mode="human_first")
    agent = await kb_hub.agent(max_concurrent=1)
    first = await kb_hub.visitor()
    ack = await first.say("怎么退货")
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    # The only agent is full now: the next customer gets the bot.
    second = await kb_hub.visitor()
    answer = await ask(second, "怎么退货")
    await second.wait_for("conversation.status", lambda s: s["status"] == "bot")
    assert "申请退货" in answer["text"] or "智能助理" in answer["text"]


async def test_human_first_outside_working_hours_gives_the_bot_and_hand_off_offers_a_message(
    kb_hub: RunningHub,
) -> None:
    # The tenant's working hours (widget settings) with no working day: closed now.
    closed_hours = {"timezone": "Asia/Shanghai", "days": [], "start": "09:00", "end": "18:00"}
    status, _ = await kb_hub.api.request(
        "PUT",
        "/api/v1/settings/widget",
        token=kb_hub.admin_token,
        json={"working_hours_enabled": True, "working_hours": closed_hours},
    )
    assert status == 200
    await bot_settings(kb_hub, mode="human_first")
    # The widget still offers a chat: the bot answers outside working hours.
    status, availability = await kb_hub.api.request(
        "GET", "/api/v1/widget/availability", params={"tenant": "default"}
    )
    assert availability["open"] is True and availability["bot"] is True
    agent = await kb_hub.agent()
    visitor, _ = await _bot_conversation(kb_hub)
    assert (await visitor.say("转人工"))["ok"]
    closed = await visitor.wait_for("conversation.status", lambda s: s["status"] == "closed")
    assert closed["leave_message"] is True and closed["reason"] == "after_hours"
    system = await visitor.wait_for("message", lambda m: m["sender"]["type"] == "system")
    assert system["meta"]["system"] == "after_hours"
    assert agent.count("conversation.assigned") == 0


async def test_bot_only_never_hands_off_and_offers_a_message(kb_hub: RunningHub) -> None:
    await bot_settings(kb_hub, mode="bot_only")
    agent = await kb_hub.agent()
    visitor, _ = await _bot_conversation(kb_hub)
    refusal = await ask(visitor, "转人工")
    assert "智能助理" in refusal["text"]
    closed = await visitor.wait_for("conversation.status", lambda s: s["status"] == "closed")
    assert closed["leave_message"] is True and closed["reason"] == "bot_only"
    assert agent.count("conversation.assigned") == 0


async def test_a_supervisor_takes_a_bot_conversation_over_and_the_bot_stops(
    kb_hub: RunningHub,
) -> None:
    await bot_settings(kb_hub, mode="bot_first")
    visitor, conversation_id = await _bot_conversation(kb_hub)
    supervisor = await kb_hub.agent(roles=["supervisor"])
    ack = await supervisor.call("conversation.take_over", {"conversation_id": conversation_id})
    assert ack["ok"], ack
    assigned = await supervisor.wait_for("conversation.assigned")
    assert [m["sender"]["type"] for m in assigned["messages"]][:3] == ["contact", "bot", "bot"]
    await visitor.wait_for("conversation.status", lambda s: s["status"] == "assigned")
    seen = visitor.count("message")
    assert (await visitor.say("怎么退货"))["ok"]
    assert (await supervisor.say(conversation_id, "我来处理"))["ok"]
    await visitor.wait_for("message", lambda m: m["sender"]["type"] == "agent")
    assert not [m for m in visitor.events["message"][seen:] if m["sender"]["type"] == "bot"]


async def test_a_second_message_while_the_first_is_answered_gets_its_own_answer(
    kb_hub: RunningHub,
) -> None:
    await bot_settings(kb_hub, mode="bot_first", welcome={})
    visitor = await kb_hub.visitor()
    assert (await visitor.say("怎么退货"))["ok"]
    assert (await visitor.say("退款多久到账"))["ok"]
    await visitor.wait_for(
        "message", lambda m: m["sender"]["type"] == "bot" and "3到5" in m["text"]
    )
    answers = [m["text"] for m in visitor.events["message"] if m["sender"]["type"] == "bot"]
    assert len(answers) == 2 and "申请退货" in answers[0]
