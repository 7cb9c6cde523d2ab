"""The bot on a channel without buttons, through its connector and the outbox: the stand-in
channel (tests/standin.py) behaves as a real channel's connector does at every seam."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bots.helpers import bot_settings, import_kb
from tests.conftest import hub_running
from tests.standin import StandInChannel
from tests.test_channels import FAST, ChannelHub


@pytest.fixture
async def channel_hub(tmp_path: Path) -> AsyncIterator[ChannelHub]:
    channel = StandInChannel()
    async with hub_running(tmp_path / "data", channel_types=[channel], **FAST) as running:
        yield ChannelHub(running, channel, tmp_path / "data")


async def test_the_bot_answers_through_the_channel_with_numbered_options(
    channel_hub: ChannelHub,
) -> None:
    running, script = channel_hub.running, channel_hub.channel.script
    await import_kb(running)
    await bot_settings(running, mode="bot_first", welcome={})
    account = await channel_hub.create()
    account_id = account["id"]

    def sent_texts() -> list[str]:
        return [m.text for _, m in script.sent]

    status, _ = await channel_hub.webhook(account_id, **{"from": "u1", "text": "怎么查物流"})
    assert status == 200
    await script.wait(lambda: any("查看物流" in t for t in sent_texts()))
    assert all(m.sender.type == "bot" for _, m in script.sent)
    # A near miss: the questions go as numbered lines, and the number picks one.
    await channel_hub.webhook(account_id, **{"from": "u1", "text": "寄过来要几天"})
    await script.wait(lambda: any(t.startswith("您是不是想问：\n1. ") for t in sent_texts()))
    await channel_hub.webhook(account_id, **{"from": "u1", "text": "1"})
    await script.wait(lambda: any("2到4天" in t for t in sent_texts()))
    # A hand-off on this channel: the agent gets the bot part.
    agent = await running.agent()
    await channel_hub.webhook(account_id, **{"from": "u1", "text": "人工"})
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["channel"] == "standin"
    senders = [m["sender"]["type"] for m in assigned["messages"]]
    assert senders[:2] == ["contact", "bot"] and senders.count("bot") == 4
