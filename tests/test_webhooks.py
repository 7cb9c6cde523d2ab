"""Outbound webhooks against a real HTTP receiver on a free port (loopback, so these hubs
run with webhook_allow_private): signed deliveries, retries after a 5xx and across a hub
restart, disabling after persistent failure with the reason, the log and resending, and
the clear errors for bad subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningHub, free_port, hub_running
from tests.webhook_receiver import receiver_running

SECRET = "a-long-webhook-secret"
FAST = {
    "webhook_allow_private": True,
    "webhook_retry_min_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_poll_seconds": 0.05,
}


async def subscribe(running: RunningHub, url: str, events: list[str] | None = None) -> str:
    status, body = await running.api.request(
        "POST",
        "/api/v1/webhooks",
        token=running.admin_token,
        json={"url": url, "events": events or ["message.created"], "secret": SECRET},
    )
    assert status == 201, body
    return body["id"]


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Polls the hub's REST answer until `check` gives something true (the hub has no event
    a test could wait on for a delivery's outcome)."""
    async with asyncio.timeout(timeout):
        while not (found := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return found


async def deliveries(running: RunningHub, webhook_id: str) -> list[dict[str, Any]]:
    status, body = await running.api.request(
        "GET", f"/api/v1/webhooks/{webhook_id}/deliveries", token=running.admin_token
    )
    assert status == 200, body
    return body["items"]


async def test_deliveries_are_signed_and_carry_the_event(tmp_path: Path) -> None:
    async with receiver_running() as receiver, hub_running(tmp_path, **FAST) as running:
        await subscribe(
            running,
            receiver.url,
            ["conversation.created", "message.created", "contact.updated"],
        )
        visitor = await running.visitor()
        ack = await visitor.say("hello hooks")
        assert ack["ok"], ack
        await receiver.wait_for(2)
        created, message = sorted(receiver.received, key=lambda r: r.json["event"])
        for delivery in (created, message):
            assert delivery.signed_with(SECRET)
            assert not delivery.signed_with("another-secret")
            assert delivery.headers["Content-Type"] == "application/json"
            assert set(delivery.json) == {"id", "event", "tenant", "created_at", "sent_at", "data"}
            assert delivery.json["tenant"] == "default"
        assert created.json["event"] == "conversation.created"
        assert message.json["event"] == "message.created"
        assert message.json["data"]["message"]["text"] == "hello hooks"
        conversation_id = created.json["data"]["conversation"]["id"]
        assert message.json["data"]["conversation_id"] == conversation_id
        assert created.json["id"] != message.json["id"]


async def test_a_5xx_is_retried_until_a_2xx(tmp_path: Path) -> None:
    async with (
        receiver_running(statuses=[503, 500]) as receiver,
        hub_running(tmp_path, **FAST) as running,
    ):
        webhook_id = await subscribe(running, receiver.url)
        visitor = await running.visitor()
        await visitor.say("try again")
        first, second, third = await receiver.wait_for(3)
        # The same event each time (receivers dedupe by id), signed afresh.
        assert first.json["id"] == second.json["id"] == third.json["id"]
        assert all(r.signed_with(SECRET) for r in (first, second, third))
        (logged,) = await until(lambda: _with_status(deliveries(running, webhook_id), "delivered"))
        assert logged["attempts"] == 3 and logged["response_status"] == 200
        assert logged["event_id"] == first.json["id"]


async def _with_status(
    listing: Awaitable[list[dict[str, Any]]], status: str
) -> list[dict[str, Any]]:
    items = await listing
    return items if items and all(i["status"] == status for i in items) else []


async def test_a_restart_loses_no_delivery(tmp_path: Path) -> None:
    """The receiver is down while the first hub runs; a new hub on the same data directory
    delivers what the first one queued."""
    port = free_port()
    settings = FAST | {"webhook_retry_min_seconds": 0.3, "webhook_retry_max_seconds": 0.3}
    async with hub_running(tmp_path, **settings) as running:
        webhook_id = await subscribe(running, f"http://127.0.0.1:{port}/hook")
        visitor = await running.visitor()
        await visitor.say("while the receiver is down")
        (pending,) = await until(lambda: _attempted(running, webhook_id))
        assert pending["status"] == "pending" and pending["last_error"]
    async with (
        receiver_running(port) as receiver,
        hub_running(tmp_path, **settings) as restarted,
    ):
        (delivery,) = await receiver.wait_for(1)
        assert delivery.json["id"] == pending["event_id"] and delivery.signed_with(SECRET)
        (logged,) = await until(
            lambda: _with_status(deliveries(restarted, webhook_id), "delivered")
        )
        assert logged["attempts"] >= 2


async def _attempted(running: RunningHub, webhook_id: str) -> list[dict[str, Any]]:
    items = await deliveries(running, webhook_id)
    return items if items and items[0]["attempts"] >= 1 else []


async def test_persistent_failure_disables_the_webhook_and_resend_sends_again(
    tmp_path: Path,
) -> None:
    async with (
        receiver_running(then=500) as receiver,
        hub_running(tmp_path, **FAST, webhook_max_attempts=2) as running,
    ):
        api, admin = running.api, running.admin_token
        webhook_id = await subscribe(running, receiver.url)
        visitor = await running.visitor()
        await visitor.say("nobody takes this")

        async def disabled() -> dict[str, Any] | None:
            _, body = await api.request("GET", f"/api/v1/webhooks/{webhook_id}", token=admin)
            return body if not body["enabled"] else None

        webhook = await until(disabled)
        assert "after 2 attempts" in webhook["disabled_reason"]
        assert "HTTP 500" in webhook["disabled_reason"]
        (failed,) = await deliveries(running, webhook_id)
        assert failed["status"] == "failed" and failed["attempts"] == 2
        assert len(receiver.received) == 2

        # Disabled: new events are not queued for it.
        await visitor.say("still disabled")
        status, body = await api.request(
            "PATCH", f"/api/v1/webhooks/{webhook_id}", token=admin, json={"enabled": True}
        )
        assert status == 200 and body["enabled"] and body["disabled_reason"] == ""
        assert len(await deliveries(running, webhook_id)) == 1

        receiver.then = 200
        status, body = await api.request(
            "POST",
            f"/api/v1/webhooks/{webhook_id}/deliveries/{failed['id']}/resend",
            token=admin,
        )
        assert status == 200 and body["status"] == "pending"
        third = (await receiver.wait_for(3))[2]
        assert third.json["id"] == failed["event_id"]
        await until(lambda: _with_status(deliveries(running, webhook_id), "delivered"))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://example.com/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "example.com/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "http://", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "http://127.0.0.1:8080/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "http://localhost/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "http://[::1]/x", "events": ["message.created"]}, "invalid_webhook_url"),
        (
            {"url": "http://169.254.169.254/latest", "events": ["message.created"]},
            "invalid_webhook_url",
        ),
        ({"url": "http://10.1.2.3/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "http://192.168.0.1/x", "events": ["message.created"]}, "invalid_webhook_url"),
        (
            {"url": "http://[::ffff:127.0.0.1]/x", "events": ["message.created"]},
            "invalid_webhook_url",
        ),
        ({"url": "http://0.0.0.0/x", "events": ["message.created"]}, "invalid_webhook_url"),
        ({"url": "https://93.184.215.14/x", "events": ["message.sent"]}, "unknown_event"),
        ({"url": "https://93.184.215.14/x", "events": []}, "invalid_body"),
        ({"url": "https://93.184.215.14/x", "events": "message.created"}, "invalid_body"),
    ],
)
async def test_bad_subscriptions_get_clear_errors(
    running_hub: RunningHub, body: dict[str, Any], code: str
) -> None:
    status, answer = await running_hub.api.request(
        "POST", "/api/v1/webhooks", token=running_hub.admin_token, json=body | {"secret": SECRET}
    )
    assert status == 400, answer
    assert answer["error"]["code"] == code and answer["error"]["message"]
    listed = await running_hub.api.request("GET", "/api/v1/webhooks", token=running_hub.admin_token)
    assert listed[1]["items"] == []


async def test_a_short_or_missing_secret_is_refused(running_hub: RunningHub) -> None:
    for secret in ({}, {"secret": "short"}):
        status, answer = await running_hub.api.request(
            "POST",
            "/api/v1/webhooks",
            token=running_hub.admin_token,
            json={"url": "https://93.184.215.14/x", "events": ["message.created"]} | secret,
        )
        assert status == 400 and answer["error"]["code"] == "invalid_body"


async def test_only_administrators_manage_webhooks(running_hub: RunningHub) -> None:
    token, _ = await running_hub.create_agent(roles=["supervisor"])
    status, answer = await running_hub.api.request("GET", "/api/v1/webhooks", token=token)
    assert status == 403 and answer["error"]["code"] == "admin_only"


async def test_a_name_resolving_to_a_private_address_is_not_delivered_to(tmp_path: Path) -> None:
    """Saved while allowed, then the hub runs without webhook_allow_private: the delivery is
    refused at connection time, on the address the name resolves to then."""
    async with receiver_running() as receiver:
        url = f"http://localhost:{receiver.port}/hook"
        async with hub_running(tmp_path, **FAST) as running:
            webhook_id = await subscribe(running, url)
        strict = FAST | {"webhook_allow_private": False, "webhook_max_attempts": 1}
        async with hub_running(tmp_path, **strict) as running:
            visitor = await running.visitor()
            await visitor.say("to nowhere")
            (failed,) = await until(lambda: _with_status(deliveries(running, webhook_id), "failed"))
            assert "private" in failed["last_error"]
        assert receiver.received == []


async def test_a_conversation_life_is_told_event_by_event(tmp_path: Path) -> None:
    """Assigned, a contact edit, closed: each subscribed event arrives with its data; the
    events not subscribed to do not."""
    async with receiver_running() as receiver, hub_running(tmp_path, **FAST) as running:
        await subscribe(
            running,
            receiver.url,
            ["conversation.assigned", "conversation.closed", "contact.updated"],
        )
        agent = await running.agent()
        visitor = await running.visitor()
        await visitor.say("please help")
        assigned = await agent.wait_for("conversation.assigned")
        conversation_id = assigned["conversation"]["id"]
        contact_id = assigned["conversation"]["contact_id"]
        status, _ = await running.api.request(
            "PATCH",
            f"/api/v1/contacts/{contact_id}",
            token=running.admin_token,
            json={"name": "李雷"},
        )
        assert status == 200
        ack = await agent.call("conversation.close", {"conversation_id": conversation_id})
        assert ack["ok"], ack
        for event in ("conversation.assigned", "contact.updated", "conversation.closed"):
            await receiver.wait_for_event(event)
        by_event = {r.json["event"]: r.json for r in receiver.received}
        assert set(by_event) == {
            "conversation.assigned",
            "contact.updated",
            "conversation.closed",
        }
        assigned_data = by_event["conversation.assigned"]["data"]
        assert assigned_data["conversation"]["id"] == conversation_id
        assert assigned_data["agent_id"] == agent.id
        assert by_event["contact.updated"]["data"]["contact"]["name"] == "李雷"
        closed = by_event["conversation.closed"]["data"]
        assert closed["conversation"]["status"] == "closed" and closed["reason"]
        assert all(r.signed_with(SECRET) for r in receiver.received)
