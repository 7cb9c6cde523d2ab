"""The channel framework against a stand-in channel (tests/standin.py): accounts managed at
run time, supervised connections, inbound deduplication and first-contact races, and the
outbox (retry, back-off, give-up, restart survival, no second send after a crash mid-send)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.channels import DeliveryError
from hub.context import HUB
from hub.domain import Identity
from hub.outbox import Outbox
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, hub_running, start_hub
from tests.realtime_clients import AgentClient, Api
from tests.standin import STANDIN, StandInChannel, StandInConnector

FAST = {
    "channel_retry_min_seconds": 0.05,
    "channel_retry_max_seconds": 0.2,
    "outbox_retry_min_seconds": 0.05,
    "outbox_retry_max_seconds": 0.2,
    "outbox_poll_seconds": 0.05,
    "outbox_max_attempts": 3,
}


@dataclass
class ChannelHub:
    running: RunningHub
    channel: StandInChannel
    data_dir: Path

    @property
    def api(self) -> Api:
        return self.running.api

    async def create(self, **config: Any) -> dict[str, Any]:
        status, body = await self.api.request(
            "POST",
            "/api/v1/channels",
            token=self.running.admin_token,
            json={"type": STANDIN, "name": "Stand-in", "config": {"token": "s3cret", **config}},
        )
        assert status == 201, body
        return body

    async def webhook(self, account_id: str, **body: Any) -> tuple[int, Any]:
        return await self.api.request("POST", f"/channels/standin/{account_id}", json=body)


async def _start(
    tmp_path: Path, channel: StandInChannel, **overrides: Any
) -> tuple[web.AppRunner, str]:
    return await start_hub(tmp_path / "data", channel_types=[channel], **(FAST | overrides))


@pytest.fixture
async def channel_hub(tmp_path: Path) -> AsyncIterator[ChannelHub]:
    channel = StandInChannel()
    async with hub_running(tmp_path / "data", channel_types=[channel], **FAST) as running:
        yield ChannelHub(running, channel, tmp_path / "data")


# accounts ------------------------------------------------------------------------------


async def test_accounts_are_managed_at_run_time_with_secrets_masked(
    channel_hub: ChannelHub,
) -> None:
    script, api, token = (
        channel_hub.channel.script,
        channel_hub.api,
        channel_hub.running.admin_token,
    )
    created = await channel_hub.create(label="one")
    account_id = created["id"]
    assert created["config"]["token"] == "***" and created["config"]["label"] == "one"
    assert created["inbound_url"] == f"/channels/standin/{account_id}"
    assert created["type"] == STANDIN and created["enabled"] is True
    await script.wait(lambda: [a for a, _ in script.started] == [account_id])
    status, shown = await api.request("GET", f"/api/v1/channels/{account_id}", token=token)
    assert status == 200 and shown["status"] == "ok" and shown["config"]["token"] == "***"
    status, listed = await api.request("GET", "/api/v1/channels", token=token)
    assert [c["id"] for c in listed["items"]] == [account_id]
    assert "s3cret" not in str(listed)

    # A change takes effect at once: the connector is rebuilt with the new config; a secret
    # sent back masked keeps the stored one.
    status, changed = await api.request(
        "PATCH",
        f"/api/v1/channels/{account_id}",
        token=token,
        json={"config": {"token": "***", "label": "two"}},
    )
    assert status == 200 and changed["config"]["label"] == "two"
    await script.wait(lambda: len(script.started) == 2)
    assert script.started[1][1]["token"] == "s3cret" and script.stopped == [account_id]

    status, disabled = await api.request(
        "PATCH", f"/api/v1/channels/{account_id}", token=token, json={"enabled": False}
    )
    assert disabled["status"] == "disabled"
    await script.wait(lambda: len(script.stopped) == 2)
    assert channel_hub.running.hub.connectors.get(STANDIN, account_id) is None

    status, _ = await api.request("DELETE", f"/api/v1/channels/{account_id}", token=token)
    assert status == 204
    status, gone = await api.request("GET", f"/api/v1/channels/{account_id}", token=token)
    assert status == 404 and gone["error"]["code"] == "channel_not_found"


async def test_bad_account_config_is_refused_naming_the_key(channel_hub: ChannelHub) -> None:
    api, token = channel_hub.api, channel_hub.running.admin_token
    cases = [
        ({"type": "fax", "name": "x", "config": {}}, "invalid_channel_type", None),
        ({"type": STANDIN, "name": "x", "config": {}}, "invalid_channel_config", "token"),
        (
            {"type": STANDIN, "name": "x", "config": {"token": "t", "fail_connects": -1}},
            "invalid_channel_config",
            "fail_connects",
        ),
        ({"type": STANDIN, "name": "", "config": {"token": "t"}}, "invalid_channel_name", None),
        ({"type": STANDIN, "name": "x", "config": []}, "invalid_channel_config", None),
    ]
    for body, code, key in cases:
        status, refused = await api.request("POST", "/api/v1/channels", token=token, json=body)
        assert status == 400, body
        assert refused["error"]["code"] == code
        if key is not None:
            assert refused["error"]["key"] == key and key in refused["error"]["message"]
    _, listed = await api.request("GET", "/api/v1/channels", token=token)
    assert listed["items"] == []
    agent = await channel_hub.running.agent()
    status, denied = await api.request("GET", "/api/v1/channels", token=agent.token)
    assert status == 403 and denied["error"]["code"] == "admin_only"


async def test_a_failing_connection_shows_its_error_and_reconnects(
    channel_hub: ChannelHub,
) -> None:
    running = channel_hub.running
    token, admin = await running.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    console = AgentClient(running.base_url, token, admin)
    running.clients.append(console)
    await console.start(ready=False)
    created = await channel_hub.create(hold=True, fail_connects=2)
    account_id = created["id"]
    error = await console.wait_for(
        "channel.updated",
        lambda d: d["channel"]["id"] == account_id and d["channel"]["status"] == "error",
    )
    assert "refused" in error["channel"]["last_error"]
    await console.wait_for(
        "channel.updated",
        lambda d: d["channel"]["id"] == account_id and d["channel"]["status"] == "ok",
    )
    assert channel_hub.channel.script.connects[account_id] == 3


# inbound --------------------------------------------------------------------------------


async def test_a_redelivered_webhook_makes_no_second_message(channel_hub: ChannelHub) -> None:
    account_id = (await channel_hub.create())["id"]
    agent = await channel_hub.running.agent()
    first = await channel_hub.webhook(account_id, **{"from": "u1", "text": "hi", "id": "p-1"})
    again = await channel_hub.webhook(account_id, **{"from": "u1", "text": "hi", "id": "p-1"})
    assert first[0] == again[0] == 200 and first[1] == again[1]
    assigned = await agent.wait_for("conversation.assigned")
    conversation = assigned["conversation"]
    assert conversation["channel"] == STANDIN and conversation["channel_id"] == account_id
    _, messages = await channel_hub.api.request(
        "GET", f"/api/v1/conversations/{conversation['id']}/messages", token=agent.token
    )
    assert [m["text"] for m in messages["items"]] == ["hi"]


async def test_concurrent_first_webhooks_make_one_contact_and_conversation(
    channel_hub: ChannelHub,
) -> None:
    account_id = (await channel_hub.create())["id"]
    results = await asyncio.gather(
        *[
            channel_hub.webhook(account_id, **{"from": "newcomer", "text": f"m{i}", "id": f"p{i}"})
            for i in range(10)
        ]
    )
    assert all(status == 200 for status, _ in results)
    hub = channel_hub.running.hub
    conversations = await hub.store.list_conversations("default", channel=STANDIN)
    assert len(conversations) == 1
    assert len({c.contact_id for c in conversations}) == 1
    assert conversations[0].last_seq == 10


async def test_a_non_live_channel_waits_without_a_queue_timeout(channel_hub: ChannelHub) -> None:
    await channel_hub.running.routing(queue_timeout_seconds=0.1)
    account_id = (await channel_hub.create())["id"]
    await channel_hub.webhook(account_id, **{"from": "u1", "text": "anyone?"})
    script, hub = channel_hub.channel.script, channel_hub.running.hub
    await script.wait(lambda: any(n.kind == "status" for _, n in script.notified))
    (conversation,) = await hub.store.list_conversations("default", channel=STANDIN)
    # Told their place through their channel.
    assert ("status", {"status": "queued", "queue_position": 1}) in [
        (n.kind, n.data) for _, n in script.notified
    ]
    # A web visitor who arrived after them times out; they are still waiting.
    visitor = await channel_hub.running.visitor()
    await visitor.say("anyone there?")
    await visitor.wait_for("conversation.status", lambda d: d.get("reason") == "queue_timeout")
    waiting = await hub.store.get_conversation("default", conversation.id)
    assert waiting is not None and waiting.status == "queued"
    agent = await channel_hub.running.agent()
    assigned = await agent.wait_for("conversation.assigned")
    assert assigned["conversation"]["id"] == conversation.id


# the outbox ---------------------------------------------------------------------------


async def _conversation_with_agent(channel_hub: ChannelHub) -> tuple[str, AgentClient]:
    account_id = (await channel_hub.create())["id"]
    agent = await channel_hub.running.agent()
    await channel_hub.webhook(account_id, **{"from": "u1", "text": "help"})
    assigned = await agent.wait_for("conversation.assigned")
    return assigned["conversation"]["id"], agent


async def test_a_reply_goes_through_the_outbox_and_its_delivery_is_pushed(
    channel_hub: ChannelHub,
) -> None:
    conversation_id, agent = await _conversation_with_agent(channel_hub)
    ack = await agent.call(
        "message",
        {"conversation_id": conversation_id, "client_id": "r1", "text": "on it", "subject": "Re"},
    )
    assert ack["ok"] and ack["message"]["delivery"]["status"] == "pending"
    assert ack["message"]["meta"] == {"subject": "Re"}
    message_id = ack["message"]["id"]
    sent = await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == message_id and d["delivery"]["status"] == "sent",
    )
    assert sent["conversation_id"] == conversation_id
    script = channel_hub.channel.script
    assert [m.text for _, m in script.sent] == ["on it"]
    stored = await channel_hub.running.hub.store.get_message("default", conversation_id, message_id)
    assert stored is not None and stored.meta["platform_id"] == "platform-1"


async def test_transient_failures_are_retried_and_a_permanent_one_fails_with_its_reason(
    channel_hub: ChannelHub,
) -> None:
    script = channel_hub.channel.script
    script.outcomes = [
        DeliveryError("platform down", code="unreachable"),
        DeliveryError("platform down", code="unreachable"),
        "ok",
        DeliveryError("outside the 48-hour window", code="outside_reply_window", permanent=True),
    ]
    conversation_id, agent = await _conversation_with_agent(channel_hub)
    first = (await agent.say(conversation_id, "first"))["message"]["id"]
    retrying = await agent.wait_for(
        "message.delivery", lambda d: d["message_id"] == first and d["delivery"].get("error")
    )
    assert retrying["delivery"]["status"] == "pending"
    assert retrying["delivery"]["error"]["code"] == "unreachable"
    await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == first and d["delivery"]["status"] == "sent",
    )
    second = (await agent.say(conversation_id, "second"))["message"]["id"]
    failed = await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == second and d["delivery"]["status"] == "failed",
    )
    assert failed["delivery"]["error"]["code"] == "outside_reply_window"
    assert [m.text for _, m in script.sent] == ["first", "first", "first", "second"]


async def test_it_gives_up_after_the_last_attempt_and_a_retry_by_hand_sends_it(
    channel_hub: ChannelHub,
) -> None:
    script = channel_hub.channel.script
    script.outcomes = [DeliveryError("down", code="unreachable")] * 3
    conversation_id, agent = await _conversation_with_agent(channel_hub)
    message_id = (await agent.say(conversation_id, "hello?"))["message"]["id"]
    failed = await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == message_id and d["delivery"]["status"] == "failed",
    )
    assert failed["delivery"]["attempts"] == 3
    assert len(script.sent) == 3
    retried = await agent.call(
        "message.retry", {"conversation_id": conversation_id, "message_id": message_id}
    )
    assert retried["ok"] and retried["message"]["delivery"]["status"] == "pending"
    await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == message_id and d["delivery"]["status"] == "sent",
    )
    assert len(script.sent) == 4
    again = await agent.call(
        "message.retry", {"conversation_id": conversation_id, "message_id": message_id}
    )
    assert again["error"]["code"] == "not_failed"


async def test_a_pending_reply_is_sent_after_a_restart(tmp_path: Path) -> None:
    channel = StandInChannel()
    script = channel.script
    runner, base_url = await _start(tmp_path, channel, outbox_retry_min_seconds=30.0)
    async with aiohttp.ClientSession() as session:
        api = Api(base_url, session)
        admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        running = RunningHub(base_url, runner.app[HUB], api, admin_token)
        hub_view = ChannelHub(running, channel, tmp_path / "data")
        try:
            script.outcomes = [DeliveryError("down", code="unreachable")]
            conversation_id, agent = await _conversation_with_agent(hub_view)
            message_id = (await agent.say(conversation_id, "after the restart"))["message"]["id"]
            await agent.wait_for(
                "message.delivery",
                lambda d: d["message_id"] == message_id and d["delivery"].get("error"),
            )
        finally:
            for client in running.clients:
                await client.close()
            await runner.cleanup()
    # The retry is 30 s away: a new hub on the same data sends it when it comes due, which
    # the test brings forward instead of waiting.
    restarted, _ = await _start(tmp_path, channel)
    try:
        hub = restarted.app[HUB]
        stored = await hub.store.get_message("default", conversation_id, message_id)
        assert stored is not None and stored.delivery is not None
        assert stored.delivery.status == "pending"
        stored.delivery.due_at = stored.delivery.updated_at
        await hub.store.update_message(stored, ["delivery"])
        await script.wait(lambda: [m.text for _, m in script.sent][-1:] == ["after the restart"])
        await script.wait(lambda: len(script.sent) == 2)
    finally:
        await restarted.cleanup()


@pytest.mark.parametrize("resend_safe", [False, True])
async def test_a_send_cut_off_midway_is_not_sent_twice_unless_the_channel_allows(
    channel_hub: ChannelHub, monkeypatch: pytest.MonkeyPatch, resend_safe: bool
) -> None:
    """The worker is cancelled while the platform call is under way (what the store sees
    when the hub dies mid-send): nothing recorded, the lease runs out, the message is due
    again. A channel whose copies are not recognisable does not get a second send."""
    capabilities = replace(StandInConnector.capabilities, resend_safe=resend_safe)
    monkeypatch.setattr(StandInConnector, "capabilities", capabilities)
    late_outcome_refused = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "changed while it was being sent" in record.getMessage():
                late_outcome_refused.set()

    watch = Watch()
    logging.getLogger("hub.outbox").addHandler(watch)
    hub = channel_hub.running.hub
    script = channel_hub.channel.script
    hanging = asyncio.Event()
    script.outcomes = [hanging]
    conversation_id, agent = await _conversation_with_agent(channel_hub)
    # The app's worker sends it and hangs in the platform call.
    message_id = (await agent.say(conversation_id, "once"))["message"]["id"]
    await script.wait(lambda: len(script.sent) == 1)
    stored = await hub.store.get_message("default", conversation_id, message_id)
    assert stored is not None and stored.delivery is not None
    assert stored.delivery.attempt_started_at is not None  # claimed, outcome unknown
    # Another node's worker, after the lease: the first never records anything.
    stored.delivery.due_at = stored.delivery.attempt_started_at
    await hub.store.update_message(stored, ["delivery"])
    other_node = Outbox(hub)
    assert await other_node.run_once()
    after = await hub.store.get_message("default", conversation_id, message_id)
    assert after is not None and after.delivery is not None
    if resend_safe:
        assert after.delivery.status == "sent" and len(script.sent) == 2
    else:
        assert after.delivery.status == "failed" and len(script.sent) == 1
        assert after.delivery.error == {
            "code": "delivery_unknown",
            "message": after.delivery.error["message"],
        }
    try:
        hanging.set()  # the first attempt ends late: it must not record over the outcome
        async with asyncio.timeout(10):
            await late_outcome_refused.wait()
    finally:
        logging.getLogger("hub.outbox").removeHandler(watch)
    final = await hub.store.get_message("default", conversation_id, message_id)
    assert final is not None and final.delivery == after.delivery


async def test_an_agent_starts_a_conversation_that_the_customers_answer_continues(
    channel_hub: ChannelHub,
) -> None:
    account_id = (await channel_hub.create())["id"]
    agent = await channel_hub.running.agent()
    status, started = await channel_hub.api.request(
        "POST",
        "/api/v1/conversations",
        token=agent.token,
        json={"channel_id": account_id, "to": "Customer-7", "text": "Your order shipped"},
    )
    assert status == 201, started
    conversation = started["conversation"]
    assert conversation["status"] == "assigned" and conversation["agent_id"] == agent.id
    assert conversation["channel"] == STANDIN and conversation["channel_id"] == account_id
    assert started["message"]["delivery"]["status"] == "pending"
    script = channel_hub.channel.script
    await script.wait(lambda: [m.text for _, m in script.sent] == ["Your order shipped"])
    # The customer's answer comes from the same (normalised) address: the same conversation.
    await channel_hub.webhook(account_id, **{"from": "customer-7", "text": "thanks!"})
    answer = await agent.wait_for("message", lambda m: m["text"] == "thanks!")
    assert answer["conversation_id"] == conversation["id"]
    # A second start while it is open is refused, naming the open conversation.
    status, refused = await channel_hub.api.request(
        "POST",
        "/api/v1/conversations",
        token=agent.token,
        json={"channel_id": account_id, "to": "customer-7", "text": "again"},
    )
    assert status == 409 and refused["error"]["code"] == "conversation_open"
    assert refused["error"]["conversation_id"] == conversation["id"]


async def test_a_refused_start_leaves_nothing_behind(channel_hub: ChannelHub) -> None:
    account_id = (await channel_hub.create())["id"]
    agent = await channel_hub.running.agent()
    for body, code in (
        ({"channel_id": account_id, "to": "has space", "text": "x"}, "invalid_recipient"),
        ({"channel_id": account_id, "to": "c1", "text": "x" * 1001}, "text_too_long"),
        ({"channel_id": account_id, "to": "c1", "text": "x", "subject": 5}, "invalid_subject"),
        ({"channel_id": "nope", "to": "c1", "text": "x"}, "channel_not_found"),
        ({"channel_id": account_id, "to": "c1", "text": ""}, "empty_text"),
    ):
        status, refused = await channel_hub.api.request(
            "POST", "/api/v1/conversations", token=agent.token, json=body
        )
        assert status in (400, 404, 413) and refused["error"]["code"] == code, refused
    hub = channel_hub.running.hub
    assert await hub.store.list_conversations("default") == []
    assert await hub.store.list_contacts("default") == []


async def test_a_web_visitor_and_a_channel_contact_merge_into_one(
    channel_hub: ChannelHub,
) -> None:
    running = channel_hub.running
    account_id = (await channel_hub.create())["id"]
    agent = await running.agent(max_concurrent=5)
    visitor = await running.visitor()
    web_conversation = (await visitor.say("hi from the web"))["message"]["conversation_id"]
    await channel_hub.webhook(account_id, **{"from": "kim", "text": "hi by mail", "name": "Kim"})
    hub = running.hub
    channel_contact = await hub.store.find_contact("default", Identity(STANDIN, "kim"))
    assert channel_contact is not None
    web_contact_id = visitor.session["contact_id"]
    path = f"/api/v1/contacts/{web_contact_id}/merge"
    heard_before = agent.count("conversation.updated")
    status, merged = await running.api.request(
        "POST", path, token=agent.token, json={"contact_id": channel_contact.id}
    )
    assert status == 200, merged
    assert merged["name"] == "Kim"  # a real name over the generic "Visitor …"
    assert {(i["channel"], i["external_id"]) for i in merged["identities"]} == {
        ("webim", web_contact_id),
        (STANDIN, "kim"),
    }
    assert merged["merged_from"][0]["contact_id"] == channel_contact.id
    assert merged["merged_from"][0]["by"] == agent.id
    conversations = await hub.store.list_conversations("default", contact_id=web_contact_id)
    assert {c.channel for c in conversations} == {"webim", STANDIN}
    # The agent's list hears that the channel's conversation belongs to the kept contact now.
    await agent.wait_for(
        "conversation.updated",
        lambda d: (
            d["conversation"]["channel"] == STANDIN
            and d["conversation"]["contact_id"] == web_contact_id
        ),
        start=heard_before,
    )
    old = await hub.store.get_contact("default", channel_contact.id)
    assert old is not None and old.merged_into == web_contact_id and old.identities == []
    # The channel's next message lands in the merged contact's open conversation there.
    await channel_hub.webhook(account_id, **{"from": "kim", "text": "still me"})
    again = await agent.wait_for("message", lambda m: m["text"] == "still me")
    assert again["conversation_id"] in {c.id for c in conversations}
    assert again["sender"]["id"] == web_contact_id
    # Once merged, twice is refused; so is merging into oneself; the web chat goes on.
    status, refused = await running.api.request(
        "POST", path, token=agent.token, json={"contact_id": channel_contact.id}
    )
    assert status == 409 and refused["error"]["code"] == "already_merged"
    status, refused = await running.api.request(
        "POST", path, token=agent.token, json={"contact_id": web_contact_id}
    )
    assert status == 400 and refused["error"]["code"] == "invalid_merge"
    follow_up = await visitor.say("and from the web again")
    assert follow_up["message"]["conversation_id"] == web_conversation


async def test_merging_two_contacts_with_open_chats_on_one_channel_is_refused(
    channel_hub: ChannelHub,
) -> None:
    running = channel_hub.running
    agent = await running.agent(max_concurrent=5)
    first, second = await running.visitor(), await running.visitor()
    await first.say("one")
    await second.say("two")
    status, refused = await running.api.request(
        "POST",
        f"/api/v1/contacts/{first.session['contact_id']}/merge",
        token=agent.token,
        json={"contact_id": second.session["contact_id"]},
    )
    assert status == 409 and refused["error"]["code"] == "conversation_open"
    hub = running.hub
    second_contact = await hub.store.get_contact("default", second.session["contact_id"])
    assert second_contact is not None and second_contact.merged_into is None
    assert (
        len(await hub.store.list_conversations("default", contact_id=first.session["contact_id"]))
        == 1
    )
