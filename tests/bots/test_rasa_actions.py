"""The action server for real: rasa-sdk's own server (python -m rasa_sdk) runs the hub's
actions (bots/rasa_actions) as a subprocess, called with the action request Rasa sends
(POST /webhook {next_action, sender_id, tracker, domain, version}); the actions call a real
hub."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest

from tests.bots.helpers import bot_settings, import_kb
from tests.conftest import RunningHub, free_port

pytest.importorskip("rasa_sdk")
pytestmark = pytest.mark.slow


@contextmanager
def action_server(hub_url: str, token: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "HUB_URL": hub_url, "HUB_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "bots.rasa_actions", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _up(url: str) -> None:
    """Until the server answers its health check (it is a separate process starting)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the action server did not start")


@pytest.fixture
async def actions(running_hub: RunningHub) -> AsyncIterator[str]:
    with action_server(running_hub.base_url, running_hub.admin_token) as url:
        await _up(url)
        yield url


def _request(action: str, conversation_id: str, contact: dict[str, Any], **slots: Any):
    return {
        "next_action": action,
        "sender_id": conversation_id,
        "version": "3.6.0",
        "domain": {"slots": {name: {"type": "text"} for name in slots}},
        "tracker": {
            "sender_id": conversation_id,
            "slots": slots,
            "latest_message": {
                "text": "I want a person",
                "intent": {"name": "human"},
                "entities": [],
                "metadata": {
                    "tenant": "default",
                    "conversation_id": conversation_id,
                    "channel": "webim",
                    "contact": contact,
                },
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }


async def test_the_actions_look_up_the_contact_and_hand_off_through_the_hub(
    running_hub: RunningHub, actions: str
) -> None:
    await import_kb(running_hub)
    await bot_settings(running_hub, mode="bot_first")
    billing = await running_hub.agent(skills=["billing"])
    visitor = await running_hub.visitor(name="Lin")
    ack = await visitor.say("怎么开发票")
    await visitor.wait_for("conversation.status", lambda s: s["status"] == "bot")
    conversation_id = ack["message"]["conversation_id"]
    contact = {"id": ack["message"]["sender"]["id"]}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            actions + "/webhook", json=_request("action_hub_contact", conversation_id, contact)
        ) as response:
            assert response.status == 200
            answer = await response.json()
        slots = {e["name"]: e["value"] for e in answer["events"] if e["event"] == "slot"}
        assert slots["contact_name"] == "Lin"
        async with session.post(
            actions + "/webhook",
            json=_request("action_hub_handoff", conversation_id, contact, handoff_skill="billing"),
        ) as response:
            assert response.status == 200
            answer = await response.json()
    assert answer["responses"] == []  # the hub took the hand-off itself
    assigned = await billing.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation_id
    assert assigned["conversation"]["skill"] == "billing"
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "bot"


async def test_a_refused_hand_off_falls_back_to_the_custom_payload(
    running_hub: RunningHub, actions: str
) -> None:
    # No such conversation with the bot: the hub refuses, the action answers with the
    # custom payload the REST channel's answer carries back to the hub.
    async with aiohttp.ClientSession() as session:
        async with session.post(
            actions + "/webhook", json=_request("action_hub_handoff", "nope", {"id": "x"})
        ) as response:
            answer = await response.json()
    assert answer["responses"][0]["custom"] == {"handoff": True, "skill": None}
