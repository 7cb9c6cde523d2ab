"""The Rasa bridge against a fake of Rasa's REST channel, faked at the HTTP boundary from its
documented format (POST /webhooks/rest/webhook with {sender, message, metadata}; the answer a
list of {recipient_id, text?, image?, buttons?: [{title, payload}], custom?}): Rasa itself is
not run here. Real hub, real Socket.IO visitors and agents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.bots.helpers import ask, bot_settings
from tests.conftest import RunningHub, free_port

Script = Callable[[dict[str, Any]], Awaitable[Any]]
# A 1×1 PNG: the picture Rasa's answer points at, served by the fake beside its webhook.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class FakeRasa:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: Script = self._echo
        self.url = ""
        self._runner: web.AppRunner | None = None

    @staticmethod
    async def _echo(body: dict[str, Any]) -> Any:
        return [{"recipient_id": body["sender"], "text": f"rasa heard: {body['message']}"}]

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        answer = await self.script(body)
        if isinstance(answer, web.Response):
            return answer
        return web.json_response(answer)

    @staticmethod
    async def _picture(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/sizes.png", self._picture)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    await fake.start()
    yield fake
    await fake.stop()


async def _use_rasa(hub: RunningHub, rasa: FakeRasa, **changes: Any) -> None:
    await bot_settings(
        hub, mode="bot_first", provider="rasa", rasa_url=rasa.url, welcome={}, **changes
    )


async def test_texts_images_and_buttons_with_a_stable_sender_and_metadata(
    running_hub: RunningHub, rasa: FakeRasa
) -> None:
    async def script(body: dict[str, Any]) -> Any:
        if body["message"] == "/choose_size":
            return [{"recipient_id": body["sender"], "text": "Size M it is."}]
        return [
            {"recipient_id": body["sender"], "text": "Which size?"},
            {"recipient_id": body["sender"], "image": f"{rasa.url}/sizes.png"},
            {"recipient_id": body["sender"], "image": f"{rasa.url}/missing.png"},
            {
                "recipient_id": body["sender"],
                "text": "Pick one:",
                "buttons": [
                    {"title": "M", "payload": "/choose_size"},
                    {"title": "L", "payload": "/choose_l"},
                ],
            },
        ]

    rasa.script = script
    await _use_rasa(running_hub, rasa)
    visitor = await running_hub.visitor(name="Kim")
    ack = await visitor.say("I need a jacket")
    conversation_id = ack["message"]["conversation_id"]
    buttons = await visitor.wait_for(
        "message", lambda m: m["sender"]["type"] == "bot" and m["text"] == "Pick one:"
    )
    assert buttons["meta"]["bot"]["buttons"] == ["M", "L"]
    bot = [m for m in visitor.events["message"] if m["sender"]["type"] == "bot"]
    assert bot[0]["text"] == "Which size?"
    # The picture is fetched and kept on the hub (the widget loads only the hub's files); one
    # that cannot be fetched goes as its link.
    assert bot[1]["type"] == "image"
    picture = bot[1]["attachments"][0]
    assert picture["url"].startswith("/uploads/") and picture["mime"] == "image/png"
    async with running_hub.api.session.get(running_hub.base_url + picture["url"]) as got:
        assert got.status == 200 and await got.read() == PNG
    assert bot[2]["type"] == "text" and bot[2]["text"].endswith("/missing.png")
    # Choosing a button sends its payload to Rasa (here by its number).
    chosen = await ask(visitor, "1")
    assert chosen["text"] == "Size M it is."
    first, second = rasa.requests
    assert first["sender"] == second["sender"] == conversation_id
    assert second["message"] == "/choose_size"
    metadata = first["metadata"]
    assert metadata["channel"] == "webim" and metadata["conversation_id"] == conversation_id
    assert metadata["contact"]["id"] == ack["message"]["sender"]["id"]
    assert metadata["contact"]["name"] == "Kim"


async def test_a_custom_handoff_payload_routes_to_the_skill_it_names(
    running_hub: RunningHub, rasa: FakeRasa
) -> None:
    async def script(body: dict[str, Any]) -> Any:
        return [
            {"recipient_id": body["sender"], "text": "A billing colleague will help."},
            {"recipient_id": body["sender"], "custom": {"handoff": True, "skill": "billing"}},
        ]

    rasa.script = script
    await _use_rasa(running_hub, rasa)
    generalist = await running_hub.agent()
    billing = await running_hub.agent(skills=["billing"])
    visitor = await running_hub.visitor()
    ack = await visitor.say("my invoice is wrong")
    assigned = await billing.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    assert assigned["conversation"]["skill"] == "billing"
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "bot"
    assert "billing colleague" in [m["text"] for m in assigned["messages"]][1]
    assert generalist.count("conversation.assigned") == 0


@pytest.mark.parametrize("failure", ["outage", "error", "timeout", "not_a_list"])
async def test_rasa_failing_hands_off_instead_of_leaving_the_customer_waiting(
    running_hub: RunningHub, rasa: FakeRasa, failure: str
) -> None:
    release = asyncio.Event()

    async def script(body: dict[str, Any]) -> Any:
        if failure == "error":
            return web.Response(status=500, text="boom")
        if failure == "timeout":
            await release.wait()
        if failure == "not_a_list":
            return {"text": "?"}
        return []

    rasa.script = script
    await _use_rasa(running_hub, rasa, rasa_timeout_seconds=0.5)
    if failure == "outage":
        await rasa.stop()
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("hello?")
    assigned = await agent.wait_for("conversation.assigned")
    release.set()
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "error"
    status, metrics = await running_hub.api.request(
        "GET", "/api/v1/bot/metrics", token=running_hub.admin_token
    )
    assert status == 200 and metrics["days"][-1]["counts"]["handoff_error"] == 1


async def test_an_empty_answer_is_a_miss_and_misses_hand_off(
    running_hub: RunningHub, rasa: FakeRasa
) -> None:
    async def script(body: dict[str, Any]) -> Any:
        return []

    rasa.script = script
    await _use_rasa(running_hub, rasa, max_misses=2)
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    ack = await visitor.say("first")
    await visitor.wait_for("conversation.status", lambda s: s["status"] == "bot")
    assert agent.count("conversation.assigned") == 0
    assert (await visitor.say("second"))["ok"]
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == ack["message"]["conversation_id"]
    assert assigned["conversation"]["meta"]["bot"]["handoff"] == "misses"
