"""The agent's unified inbox, end to end in headless Chromium: list tabs, unread counts and the
tab title; the history of a returning visitor; close with a service summary; blacklist and
lift; tags from the catalogue; supervisor read-only view and take-over; deep links; left
messages marked handled; Chinese and a phone-sized screen."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SCREENSHOTS,
    call,
    link_target,
    sign_in,
    socket_io_url,
)

pytestmark = pytest.mark.browser

WAIT = 30_000  # ms; the machine is shared and slow, Playwright returns as soon as it can
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def admin_token(hub_url: str) -> str:
    token = call(
        hub_url, "POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )["token"]
    # Agents of earlier tests close their browsers; a long grace keeps their conversations
    # with them instead of routing them to the agents of later tests.
    routing = call(hub_url, "GET", "/api/v1/settings/routing", token=token)
    call(
        hub_url,
        "PUT",
        "/api/v1/settings/routing",
        routing | {"disconnect_grace_seconds": 3600},
        token,
    )
    return token


def new_agent(url: str, admin_token: str, name: str, **extra: Any) -> tuple[str, str, dict]:
    email = f"{name.lower()}{next(_numbers)}@example.com"
    body = {"name": name, "email": email, "password": "agent-password", **extra}
    agent = call(url, "POST", "/api/v1/agents", body, admin_token)
    return email, "agent-password", agent


def open_widget(ctx, url: str):
    host = ctx.new_page()
    host.goto(url + "/")
    host.get_by_test_id("hub-launcher").click()
    return host.frame_locator("[data-testid=hub-frame]")


def say(frame, text: str) -> None:
    frame.get_by_test_id("composer-input").fill(text)
    frame.get_by_test_id("composer-send").click()


def item(page, preview: str):
    return page.get_by_test_id("conversation-item").filter(
        has=page.get_by_test_id("conversation-preview").filter(has_text=preview)
    )


def test_tabs_unread_counts_and_title(hub_url: str, browser, admin_token: str) -> None:
    email, password, mei = new_agent(hub_url, admin_token, "Mei", max_concurrent=2)
    agent_ctx = browser.new_context(locale="en-US")
    page = agent_ctx.new_page()
    sign_in(page, hub_url, email, password, ready=True)
    expect(page).to_have_title("Inbox")
    # A plain agent has no "all" tab and no console link.
    expect(page.get_by_test_id("tab-all")).to_be_hidden()
    expect(page.get_by_test_id("nav-console")).to_be_hidden()

    visitors = [browser.new_context(locale="en-US") for _ in range(3)]
    a, b, c = (open_widget(ctx, hub_url) for ctx in visitors)
    say(a, "A: first question")
    first = item(page, "A: first question")
    expect(first.get_by_test_id("unread-count")).to_have_text("1", timeout=WAIT)
    expect(first.get_by_test_id("channel-badge")).to_have_attribute("data-channel", "webim")
    expect(first.get_by_test_id("conversation-status-chip")).to_have_text("Serving")
    expect(page).to_have_title("(1) Inbox", timeout=WAIT)

    say(b, "B: second question")
    second = item(page, "B: second question")
    expect(second.get_by_test_id("unread-count")).to_have_text("1", timeout=WAIT)
    expect(page).to_have_title("(2) Inbox", timeout=WAIT)
    expect(page.get_by_test_id("tab-mine")).to_contain_text("2")

    # Opening a conversation reads it.
    first.click()
    page.locator(
        "[data-testid=message][data-sender-type=contact]", has_text="A: first question"
    ).wait_for(timeout=WAIT)
    expect(first.get_by_test_id("unread-count")).to_have_count(0)
    expect(page).to_have_title("(1) Inbox", timeout=WAIT)

    # A message for another conversation counts; one for the open conversation does not.
    say(b, "B: more details")
    second = item(page, "B: more details")
    expect(second.get_by_test_id("unread-count")).to_have_text("2", timeout=WAIT)
    expect(page).to_have_title("(2) Inbox", timeout=WAIT)
    say(a, "A: follow-up")
    page.locator("[data-testid=message]", has_text="A: follow-up").wait_for(timeout=WAIT)
    expect(item(page, "A: follow-up").get_by_test_id("unread-count")).to_have_count(0)
    expect(page).to_have_title("(2) Inbox")

    # Mei is at her maximum of two: the third visitor waits in the queue tab.
    say(c, "C: waiting here")
    page.get_by_test_id("tab-queued").click()
    waiting = item(page, "C: waiting here")
    expect(waiting.get_by_test_id("conversation-status-chip")).to_have_text("Queued", timeout=WAIT)
    expect(page.get_by_test_id("tab-queued")).to_contain_text("1")

    # Closing A frees a place: C comes to Mei live and leaves the queue; A is under "closed".
    page.get_by_test_id("tab-mine").click()
    item(page, "A: follow-up").click()
    page.get_by_test_id("conversation-close").click()
    page.get_by_test_id("conversation-closed-banner").wait_for(timeout=WAIT)
    expect(item(page, "C: waiting here")).to_have_count(1, timeout=WAIT)
    expect(item(page, "C: waiting here").get_by_test_id("unread-count")).to_have_text("1")
    expect(item(page, "A: follow-up")).to_have_count(0)
    expect(page).to_have_title("(3) Inbox", timeout=WAIT)
    page.get_by_test_id("tab-queued").click()
    expect(item(page, "C: waiting here")).to_have_count(0, timeout=WAIT)
    page.get_by_test_id("tab-closed").click()
    closed = item(page, "A: follow-up")
    expect(closed.get_by_test_id("conversation-status-chip")).to_have_text("Closed")

    # An unsent reply stays with its conversation while Mei looks at another one.
    page.get_by_test_id("tab-mine").click()
    item(page, "B: more details").click()
    page.get_by_test_id("composer-input").fill("Draft for B")
    item(page, "C: waiting here").click()
    page.locator("[data-testid=message]", has_text="C: waiting here").wait_for(timeout=WAIT)
    expect(page.get_by_test_id("composer-input")).to_have_value("")
    item(page, "B: more details").click()
    page.locator("[data-testid=message]", has_text="B: more details").wait_for(timeout=WAIT)
    expect(page.get_by_test_id("composer-input")).to_have_value("Draft for B")
    expect(page).to_have_title("Inbox")

    mine = call(
        hub_url,
        "GET",
        f"/api/v1/conversations?status=assigned&agent_id={mei['id']}",
        None,
        admin_token,
    )
    assert sorted(x["last_message_preview"] for x in mine["items"]) == [
        "B: more details",
        "C: waiting here",
    ]
    for ctx in (*visitors, agent_ctx):
        ctx.close()


def test_history_summary_tags_and_blacklist(hub_url: str, browser, admin_token: str) -> None:
    call(
        hub_url,
        "PUT",
        "/api/v1/tags",
        {
            "items": [
                {"name": "VIP客户", "color": "#dc2626"},
                {"name": "重点关注", "color": "#f59e0b"},
            ]
        },
        admin_token,
    )
    email, password, bo = new_agent(hub_url, admin_token, "Bo", max_concurrent=10)
    agent_ctx = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 860})
    page = agent_ctx.new_page()
    sign_in(page, hub_url, email, password, ready=True)
    visitor_ctx = browser.new_context(locale="en-US")
    frame = open_widget(visitor_ctx, hub_url)

    # First visit: answered, then closed with a service summary.
    say(frame, "V: where is my order?")
    item(page, "V: where is my order?").click()
    page.get_by_test_id("composer-input").fill("It ships today")
    page.get_by_test_id("composer-send").click()
    frame.locator("[data-testid=message]", has_text="It ships today").wait_for(timeout=WAIT)
    first_id = item(page, "It ships today").get_attribute("data-conversation-id")
    page.get_by_test_id("conversation-summary").click()
    page.get_by_test_id("summary-text").fill("Asked for order status; ships today")
    page.get_by_test_id("summary-submit").click()
    page.get_by_test_id("conversation-closed-banner").filter(
        has_text="Asked for order status; ships today"
    ).wait_for(timeout=WAIT)
    first = call(hub_url, "GET", f"/api/v1/conversations/{first_id}", None, admin_token)
    assert first["status"] == "closed"
    assert first["summary"] == "Asked for order status; ships today"
    contact_id = first["contact_id"]

    # The same visitor comes back: the earlier conversation is shown above the new one.
    say(frame, "V: I am back")
    item(page, "V: I am back").click()
    separator = page.get_by_test_id("history-separator")
    expect(separator).to_have_count(1, timeout=WAIT)
    expect(separator).to_contain_text("closed by Bo")
    expect(separator.get_by_test_id("history-summary")).to_have_text(
        "Summary: Asked for order status; ships today"
    )
    expect(page.locator("[data-testid=history-message][data-sender-type=contact]")).to_have_text(
        ["V: where is my order?"]
    )
    expect(page.locator("[data-testid=history-message][data-sender-type=agent]")).to_have_text(
        ["It ships today"]
    )
    expect(page.locator("[data-testid=message][data-sender-type=contact]")).to_have_text(
        ["V: I am back"]
    )
    page.get_by_test_id("current-separator").wait_for()
    details = page.get_by_test_id("contact-details")
    expect(details.locator("[data-field=browser]")).not_to_be_empty()
    expect(details.locator("[data-field=device]")).to_have_text("PC")
    expect(details.locator("[data-field=visits]")).to_have_text(re.compile(r"\d+"))

    # Tags: one from the catalogue (its colour), one typed freely, one removed.
    page.locator("[data-testid=tag-suggestion][data-tag='VIP客户']").click()
    vip = page.locator("[data-testid=contact-tag][data-tag='VIP客户']")
    expect(vip).to_have_css("background-color", "rgb(220, 38, 38)", timeout=WAIT)
    page.get_by_test_id("contact-tag-input").fill("回头客")
    page.get_by_test_id("contact-tag-add").click()
    typed = page.locator("[data-testid=contact-tag][data-tag='回头客']")
    expect(typed).to_have_css("background-color", "rgb(100, 116, 139)", timeout=WAIT)
    contact = call(hub_url, "GET", f"/api/v1/contacts/{contact_id}", None, admin_token)
    assert contact["tags"] == ["VIP客户", "回头客"]
    typed.get_by_test_id("contact-tag-remove").click()
    expect(typed).to_have_count(0, timeout=WAIT)
    contact = call(hub_url, "GET", f"/api/v1/contacts/{contact_id}", None, admin_token)
    assert contact["tags"] == ["VIP客户"]

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox-workspace.png"))

    # Blacklist for a day: the conversation closes, the visitor cannot write.
    second_id = item(page, "V: I am back").get_attribute("data-conversation-id")
    page.get_by_test_id("contact-block").click()
    page.get_by_test_id("block-duration").select_option("1440")
    page.get_by_test_id("block-reason").fill("abusive language")
    page.get_by_test_id("block-submit").click()
    blocked = page.get_by_test_id("contact-blocked")
    expect(blocked).to_contain_text("abusive language", timeout=WAIT)
    expect(blocked).to_contain_text("Blacklisted until")
    page.get_by_test_id("conversation-closed-banner").wait_for(timeout=WAIT)
    expect(page.get_by_test_id("contact-block")).to_have_count(0)
    contact = call(hub_url, "GET", f"/api/v1/contacts/{contact_id}", None, admin_token)
    assert contact["blocked_until"] is not None
    assert contact["attributes"]["blocked_reason"] == "abusive language"
    second = call(hub_url, "GET", f"/api/v1/conversations/{second_id}", None, admin_token)
    assert second["status"] == "closed" and second["close_reason"] == "blocked"

    # The widget says so and stops offering the composer.
    frame.get_by_test_id("blocked-notice").wait_for(timeout=WAIT)
    expect(frame.get_by_test_id("composer-input")).to_be_disabled()
    conversations = call(
        hub_url, "GET", f"/api/v1/conversations?contact_id={contact_id}", None, admin_token
    )["items"]
    assert {x["status"] for x in conversations} == {"closed"}

    # Lift it: the visitor writes again and Bo gets the new conversation.
    page.get_by_test_id("contact-unblock").click()
    expect(blocked).to_have_count(0, timeout=WAIT)
    contact = call(hub_url, "GET", f"/api/v1/contacts/{contact_id}", None, admin_token)
    assert contact["blocked_until"] is None
    # The visitor's next page load (same browser, same visitor token) may write again.
    frame = open_widget(visitor_ctx, hub_url)
    say(frame, "V: sorry about that")
    expect(item(page, "V: sorry about that")).to_have_count(1, timeout=WAIT)
    latest = call(
        hub_url, "GET", f"/api/v1/conversations?contact_id={contact_id}&limit=1", None, admin_token
    )["items"][0]
    assert latest["status"] == "assigned" and latest["agent_id"] == bo["id"]
    agent_ctx.close()
    visitor_ctx.close()


def test_supervisor_reads_then_takes_over_by_deep_link(
    hub_url: str, browser, admin_token: str
) -> None:
    email, password, cai = new_agent(hub_url, admin_token, "Cai", max_concurrent=10)
    cai_ctx = browser.new_context(locale="en-US")
    cai_page = cai_ctx.new_page()
    sign_in(cai_page, hub_url, email, password, ready=True)
    visitor_ctx = browser.new_context(locale="en-US")
    frame = open_widget(visitor_ctx, hub_url)
    say(frame, "S: please escalate")
    served = item(cai_page, "S: please escalate")
    served.wait_for(timeout=WAIT)
    conversation_id = served.get_attribute("data-conversation-id")
    served.click()
    cai_page.get_by_test_id("composer-input").wait_for()

    admin_ctx = browser.new_context(locale="en-US")
    first_tab = admin_ctx.new_page()
    sign_in(first_tab, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=False)
    console = first_tab.get_by_test_id("nav-console")
    expect(console).to_be_visible()
    assert link_target(console) == f"{hub_url}/agent/console"
    expect(console).to_have_text("Console")
    first_tab.goto(f"{hub_url}/agent/#conversation=does-not-exist")
    expect(first_tab.get_by_test_id("pane-empty")).to_have_text(
        "That conversation was not found.", timeout=WAIT
    )
    first_tab.close()

    # A deep link (the console links here) opens the conversation read-only.
    page = admin_ctx.new_page()
    page.goto(f"{hub_url}/agent/#conversation={conversation_id}")
    banner = page.get_by_test_id("conversation-readonly")
    expect(banner).to_contain_text("Cai is serving this conversation", timeout=WAIT)
    expect(page.get_by_test_id("tab-all")).to_have_class(re.compile(r"\bactive\b"))
    expect(
        page.locator(f"[data-testid=conversation-item][data-conversation-id='{conversation_id}']")
    ).to_have_class(re.compile(r"\bactive\b"))
    page.locator("[data-testid=message]", has_text="S: please escalate").wait_for(timeout=WAIT)
    expect(page.get_by_test_id("composer-input")).to_have_count(0)
    expect(page.get_by_test_id("conversation-close")).to_have_count(0)
    # Watching: the visitor's next message arrives live.
    say(frame, "S: is anyone there?")
    page.locator("[data-testid=message]", has_text="S: is anyone there?").wait_for(timeout=WAIT)

    page.get_by_test_id("conversation-take-over").click()
    page.get_by_test_id("composer-input").wait_for(timeout=WAIT)
    expect(banner).to_have_count(0)
    frame.get_by_test_id("conversation-status").filter(
        has_text=re.compile(r"admin is serving you")
    ).wait_for(timeout=WAIT)
    # Cai lost it: gone from the list, the pane says where it went.
    expect(cai_page.get_by_test_id("pane-empty")).to_contain_text("admin", timeout=WAIT)
    expect(
        cai_page.locator(
            f"[data-testid=conversation-item][data-conversation-id='{conversation_id}']"
        )
    ).to_have_count(0)
    page.get_by_test_id("composer-input").fill("Supervisor here, I will help you")
    page.get_by_test_id("composer-send").click()
    frame.locator(
        "[data-testid=message][data-sender-type=agent]", has_text="Supervisor here"
    ).wait_for(timeout=WAIT)
    stored = call(hub_url, "GET", f"/api/v1/conversations/{conversation_id}", None, admin_token)
    me = call(hub_url, "GET", "/api/v1/auth/me", None, admin_token)
    assert stored["agent_id"] == me["id"] and stored["agent_id"] != cai["id"]
    for ctx in (cai_ctx, visitor_ctx, admin_ctx):
        ctx.close()


LEAVE_SCRIPT = """async ([ioUrl, text]) => {
  const { io } = await import(ioUrl);
  const socket = io("/visitor", { auth: { tenant: "default" }, transports: ["websocket"] });
  const session = await new Promise((resolve) => socket.on("session", resolve));
  socket.close();
  const res = await fetch("/api/v1/left-messages", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Visitor-Token": session.visitor_token },
    body: JSON.stringify({ name: "Zhou", phone: "13700000000", text }),
  });
  return (await res.json()).id;
}"""


def test_left_messages_marked_handled(hub_url: str, browser, admin_token: str) -> None:
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    page.goto(hub_url + "/agent/")
    left_id = page.evaluate(LEAVE_SCRIPT, [socket_io_url(hub_url), "Call me back about invoice 7"])
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=False)
    left = page.locator(f"[data-testid=left-message][data-id='{left_id}']")
    expect(left).to_contain_text("Call me back about invoice 7", timeout=WAIT)
    expect(left).to_have_attribute("data-handled", "false")
    left.get_by_test_id("left-message-handle").click()
    expect(left).to_have_attribute("data-handled", "true", timeout=WAIT)
    expect(left.get_by_test_id("left-message-handle")).to_have_text("Reopen")

    def stored() -> dict:
        items = call(hub_url, "GET", "/api/v1/left-messages", None, admin_token)["items"]
        return next(x for x in items if x["id"] == left_id)

    assert stored()["handled"] is True
    left.get_by_test_id("left-message-handle").click()
    expect(left).to_have_attribute("data-handled", "false", timeout=WAIT)
    assert stored()["handled"] is False
    ctx.close()


def test_chinese_on_a_phone(hub_url: str, browser, admin_token: str) -> None:
    ctx = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    page.goto(hub_url + "/agent/")
    # Nobody is ready: a visitor's conversation waits in the queue.
    page.evaluate(
        """async (ioUrl) => {
          const { io } = await import(ioUrl);
          const socket = io("/visitor", { auth: { tenant: "default" }, transports: ["websocket"] });
          await new Promise((resolve) => socket.on("session", resolve));
          const message = { client_id: "zh-1", text: "你好，在吗？" };
          const ack = await socket.emitWithAck("message", message);
          if (!ack.ok) throw new Error(ack.error.message);
        }""",
        socket_io_url(hub_url),
    )
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=False)
    expect(page.get_by_test_id("tab-mine")).to_contain_text("我的")
    expect(page.get_by_test_id("tab-queued")).to_contain_text("排队")
    expect(page.get_by_test_id("tab-all")).to_contain_text("全部")
    expect(page.get_by_test_id("tab-closed")).to_contain_text("已结束")
    expect(page.get_by_test_id("nav-console")).to_have_text("管理台")
    page.get_by_test_id("tab-queued").click()
    waiting = item(page, "你好，在吗？")
    expect(waiting.get_by_test_id("conversation-status-chip")).to_have_text("排队中")
    waiting.click()
    # One column on a phone: the pane replaces the list, "back" returns to it.
    expect(page.get_by_test_id("conversation-readonly")).to_contain_text("只读", timeout=WAIT)
    expect(page.get_by_test_id("conversation-take-over")).to_have_text("接管会话")
    expect(page.locator(".list")).to_be_hidden()
    box = page.locator("#pane").bounding_box()
    assert box is not None and box["width"] == 390
    page.get_by_test_id("contact-toggle").click()
    expect(page.get_by_test_id("contact-details")).to_be_visible()
    page.get_by_test_id("contact-panel-close").click()
    expect(page.get_by_test_id("contact-details")).to_be_hidden()
    page.get_by_test_id("pane-back").click()
    expect(page.locator(".list")).to_be_visible()
    expect(page.locator("#pane")).to_be_hidden()
    ctx.close()
