"""Delivery state with retry, the email view and the channel badges, in headless Chromium.

The hub does not emit `message.delivery` nor answer `message.retry` yet (the outbox is being
built beside this work), so the delivery test puts itself between the inbox and the real hub:
Playwright proxies the agent's WebSocket, adds `message.delivery` events of the contract for
messages the hub really stored, and answers `message.retry` in the hub's place. No email
channel exists yet either: the email test answers the inbox's REST reads for one email
conversation with messages shaped as the contract says (`meta`, `delivery`)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ARTIFACTS,
    SCREENSHOTS,
    call,
    sign_in,
    static_version,
)

pytestmark = pytest.mark.browser

WAIT = 30_000
RETRY = re.compile(r'^42/agent,(\d+)\["message\.retry",(.*)\]$', re.S)


class AgentSocketProxy:
    """Forwards the inbox's Socket.IO WebSocket to the hub and lets the test speak as the hub."""

    def __init__(self, retry_answers: list[dict[str, Any]]) -> None:
        self.pages: list[Any] = []
        self.retries: list[dict[str, Any]] = []
        self.retry_answers = retry_answers

    def route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        self.pages.append(ws)

        def from_page(message: str | bytes) -> None:
            match = RETRY.match(message) if isinstance(message, str) else None
            if match is None:
                server.send(message)
                return
            self.retries.append(json.loads(match.group(2)))
            answer = self.retry_answers.pop(0)
            ws.send(f"43/agent,{match.group(1)}[{json.dumps(answer)}]")

        ws.on_message(from_page)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        for ws in self.pages:
            ws.send("42/agent," + json.dumps([event, data]))


def now() -> str:
    return datetime.now(UTC).isoformat()


def delivery(conversation_id: str, message_id: str, status: str, **error: str) -> dict:
    state: dict[str, Any] = {"status": status, "updated_at": now()}
    if error:
        state["error"] = error
    return {"conversation_id": conversation_id, "message_id": message_id, "delivery": state}


def test_delivery_states_and_retry(hub_url: str, browser) -> None:
    answers = [
        {"ok": False, "error": {"code": "not_retryable", "message": "the account is disabled"}},
        {"ok": True},
    ]
    proxy = AgentSocketProxy(answers)
    agent_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    agent = agent_ctx.new_page()
    agent.route_web_socket(re.compile(r"/socket\.io/"), proxy.route)
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)

    visitor_ctx = browser.new_context(locale="en-US")
    host = visitor_ctx.new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Has my parcel left?")
    frame.get_by_test_id("composer-send").click()
    agent.get_by_test_id("conversation-item").first.click()
    agent.locator("[data-testid=message]", has_text="Has my parcel left?").wait_for(timeout=WAIT)

    def reply(text: str) -> tuple[str, Any]:
        agent.get_by_test_id("composer-input").fill(text)
        agent.get_by_test_id("composer-send").click()
        bubble = agent.locator("[data-testid=message][data-sender-type=agent]", has_text=text)
        bubble.wait_for(timeout=WAIT)
        return bubble.get_attribute("data-message-id") or "", bubble

    first_id, first = reply("It left this morning")
    conversation_id = first.get_attribute("data-conversation-id") or ""
    state = first.get_by_test_id("message-delivery")
    # ("sent" on web chat shows no line: every web chat message is sent once emitted.)
    for status, label in [("pending", "Sending…"), ("delivered", "Delivered")]:
        proxy.emit("message.delivery", delivery(conversation_id, first_id, status))
        expect(state).to_have_attribute("data-status", status, timeout=WAIT)
        expect(state).to_have_text(label)
    expect(first.get_by_test_id("message-retry")).to_have_count(0)

    second_id, second = reply("Tracking number 7741")
    proxy.emit(
        "message.delivery",
        delivery(conversation_id, second_id, "failed", code="rejected", message="550 mailbox full"),
    )
    expect(second.get_by_test_id("message-delivery")).to_have_attribute("data-status", "failed")
    expect(second.get_by_test_id("message-delivery-error")).to_have_text("550 mailbox full")
    # A state older than the one shown changes nothing.
    stale = delivery(conversation_id, second_id, "sent")
    stale["delivery"]["updated_at"] = "2000-01-01T00:00:00+00:00"
    proxy.emit("message.delivery", stale)
    agent.screenshot(path=str(ARTIFACTS / "inbox-delivery-failed.png"))
    expect(second.get_by_test_id("message-delivery")).to_have_attribute("data-status", "failed")

    retry = second.get_by_test_id("message-retry")
    retry.click()  # the hub refuses: the reason is shown, the button stays
    expect(second.get_by_test_id("message-retry-error")).to_have_text(
        "Retry failed: the account is disabled", timeout=WAIT
    )
    expect(retry).to_be_enabled()
    retry.click()
    expect(second.get_by_test_id("message-delivery")).to_have_attribute(
        "data-status", "pending", timeout=WAIT
    )
    expect(second.get_by_test_id("message-retry")).to_have_count(0)
    assert proxy.retries == [{"conversation_id": conversation_id, "message_id": second_id}] * 2
    proxy.emit("message.delivery", delivery(conversation_id, second_id, "sent"))
    expect(second.get_by_test_id("message-delivery")).to_have_count(0, timeout=WAIT)
    # The proxy only added events: the real conversation went on meanwhile.
    frame.locator("[data-testid=message]", has_text="Tracking number 7741").wait_for(timeout=WAIT)
    agent_ctx.close()
    visitor_ctx.close()


QUOTED = "On Monday, Shop wrote:\n> Your order 4711 has shipped."
HTML = (
    "<p>Hello, the <b>blue</b> one please.</p>"
    "<script>parent.document.title = 'ran'</script>"
    "<img src=x onerror=\"parent.document.title='ran'\">"
)


def email_conversation(agent_id: str) -> tuple[dict, list[dict]]:
    conversation = {
        "id": "email-conv-1",
        "tenant": "default",
        "channel": "email",
        "contact_id": "email-contact-1",
        "status": "assigned",
        "agent_id": agent_id,
        "created_at": "2026-11-30T08:00:00+00:00",
        "assigned_at": "2026-11-30T08:00:01+00:00",
        "last_seq": 3,
    }
    sender = {"type": "contact", "id": "email-contact-1", "name": "Wang Fang"}
    me = {"type": "agent", "id": agent_id, "name": "Admin"}
    base = {"conversation_id": "email-conv-1", "client_id": None, "attachments": []}
    messages = [
        {
            **base,
            "id": "em-1",
            "seq": 1,
            "sender": sender,
            "type": "file",
            "text": "Which colour do you want?\nThe blue one, please.",
            "created_at": "2026-11-30T08:00:00+00:00",
            "attachments": [
                {
                    "url": "/uploads/x/invoice.pdf",
                    "name": "invoice.pdf",
                    "type": "file",
                    "size": 2048,
                }
            ],
            "meta": {
                "subject": "Order 4711: colour",
                "from": [{"name": "Wang Fang", "address": "fang@example.com"}],
                "to": ["shop@example.com"],
                "cc": [{"name": "Li Lei", "address": "lei@example.com"}, "boss@example.com"],
                "message_id": "<a1@example.com>",
                "quoted": QUOTED,
            },
        },
        {
            **base,
            "id": "em-2",
            "seq": 2,
            "sender": sender,
            "type": "text",
            "text": "Hello, the blue one please.",
            "created_at": "2026-11-30T08:05:00+00:00",
            "meta": {"subject": "Re: Order 4711: colour", "from": "fang@example.com", "html": HTML},
        },
        {
            **base,
            "id": "em-3",
            "seq": 3,
            "sender": me,
            "type": "text",
            "text": "Noted, blue it is.",
            "created_at": "2026-11-30T08:10:00+00:00",
            "meta": {"subject": "Re: Order 4711: colour", "to": ["fang@example.com"]},
            "delivery": {
                "status": "failed",
                "error": {"code": "smtp_550", "message": "550 5.1.1 user unknown"},
                "updated_at": "2026-11-30T08:10:05+00:00",
            },
        },
    ]
    return conversation, messages


def test_email_view_channel_badges_and_list_preview(hub_url: str, browser) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    me = call(
        hub_url, "POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    conversation, messages = email_conversation(me["agent"]["id"])
    contact = {
        "id": "email-contact-1",
        "name": "Wang Fang",
        "email": "fang@example.com",
        "tags": [],
    }
    answers = {
        r"/api/v1/conversations/email-conv-1$": conversation,
        r"/api/v1/conversations/email-conv-1/messages\?": {"items": messages},
        r"/api/v1/conversations\?contact_id=email-contact-1": {"items": [conversation]},
        r"/api/v1/contacts/email-contact-1$": contact,
    }

    def answer(body: dict) -> Any:
        return lambda route: route.fulfill(json=body)

    for pattern, body in answers.items():
        page.route(re.compile(re.escape(hub_url) + pattern), answer(body))
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{hub_url}/agent/#conversation=email-conv-1")

    first = page.locator("[data-testid=message][data-message-id=em-1]")
    expect(first.get_by_test_id("email-subject")).to_have_text("Order 4711: colour", timeout=WAIT)
    expect(first.get_by_test_id("email-from")).to_have_text("Wang Fang <fang@example.com>")
    expect(first.get_by_test_id("email-to")).to_have_text("shop@example.com")
    expect(first.get_by_test_id("email-cc")).to_have_text(
        "Li Lei <lei@example.com>, boss@example.com"
    )
    expect(first.get_by_test_id("message-file")).to_contain_text("invoice.pdf")
    quoted = first.get_by_test_id("email-quoted")
    expect(quoted.locator(".quoted-text")).to_be_hidden()  # collapsed
    quoted.locator("summary").click()
    expect(quoted.locator(".quoted-text")).to_have_text(QUOTED)

    # HTML mail in a sandbox: shown, never run.
    html = page.locator("[data-message-id=em-2] [data-testid=email-html]")
    sandbox = html.get_attribute("sandbox") or ""
    assert "allow-scripts" not in sandbox.split()
    expect(
        page.frame_locator("[data-message-id=em-2] [data-testid=email-html]").locator("b")
    ).to_have_text("blue")
    reply = page.locator("[data-message-id=em-3]")
    expect(reply.get_by_test_id("message-delivery")).to_have_attribute("data-status", "failed")
    expect(reply.get_by_test_id("message-delivery-error")).to_have_text("550 5.1.1 user unknown")
    expect(reply.get_by_test_id("message-retry")).to_be_visible()
    expect(page.locator(".pane .bar [data-testid=channel-badge]")).to_have_attribute(
        "data-channel", "email"
    )
    # The list shows the subject as the preview.
    item = page.locator("[data-testid=conversation-item][data-conversation-id=email-conv-1]")
    expect(item.get_by_test_id("conversation-preview")).to_have_text("Re: Order 4711: colour")
    page.screenshot(path=str(SCREENSHOTS / "inbox-email.png"))
    assert page.title() != "ran" and dialogs == []

    # A badge, with its own look and name, for every channel type, in both languages.
    channels = f"{hub_url}/static/{static_version(hub_url)}/agent/channels.js"
    badges = """async (url) => {
      const { CHANNEL_TYPES, channelBadge } = await import(url);
      return CHANNEL_TYPES.map((c) => [c, channelBadge(c).className, channelBadge(c).textContent]);
    }"""
    shown = page.evaluate(badges, channels)
    assert [c for c, _, _ in shown] == ["webim", "wechat", "weibo", "email", "sms", "voice"]
    assert [label for _, _, label in shown] == ["Web", "WeChat", "Weibo", "Email", "SMS", "Voice"]
    assert all(css == f"badge ch-{c}" for c, css, _ in shown)
    page.evaluate("localStorage.setItem('hub:lang', 'zh')")
    page.reload()
    zh = page.evaluate(badges, channels)
    assert [label for _, _, label in zh] == ["网页", "微信", "微博", "邮件", "短信", "电话"]
    expect(page.get_by_test_id("email-subject").first).to_be_visible(timeout=WAIT)
    expect(page.locator("[data-message-id=em-1] dt").first).to_have_text("发件人")
    expect(reply.get_by_test_id("message-retry")).to_have_text("重试")
    ctx.close()
