"""The widget on a host page and the agent inbox, end to end in headless Chromium."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, sign_in

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def test_visitor_and_agent_full_flow(hub_url: str, browser) -> None:
    visitor_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    host = visitor_ctx.new_page()
    dialogs: list[str] = []
    host.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Embed on a host page: only the launcher until opened.
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Hello, I need help")
    frame.get_by_test_id("composer-send").click()
    status = frame.get_by_test_id("conversation-status")
    # Nobody is ready: queue position shown.
    status.filter(has_text=re.compile(r"number 1 in the queue")).wait_for()

    # Agent logs in, goes ready, receives the conversation.
    agent = agent_ctx.new_page()
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    agent.get_by_test_id("presence-toggle").click()
    item = agent.get_by_test_id("conversation-item").first
    item.wait_for()
    item.click()
    agent.locator(
        "[data-testid=message][data-sender-type=contact]", has_text="Hello, I need help"
    ).wait_for()
    # Queue position replaced by the agent's name.
    status.filter(has_text=re.compile(r"is serving you")).wait_for()

    # Typing indicator, agent to visitor.
    agent.get_by_test_id("composer-input").press_sequentially("Sure")
    frame.get_by_test_id("typing-indicator").filter(has_text="typing").wait_for()
    agent.get_by_test_id("composer-input").fill("Sure, how can I help?")
    agent.get_by_test_id("composer-send").click()
    frame.locator(
        "[data-testid=message][data-sender-type=agent]", has_text="Sure, how can I help?"
    ).wait_for()

    # Typing indicator, visitor to agent.
    frame.get_by_test_id("composer-input").press_sequentially("ok")
    agent.locator("#typing", has_text="typing").wait_for()

    # XSS: shown as text on both sides, nothing executes.
    frame.get_by_test_id("composer-input").fill(XSS)
    frame.get_by_test_id("composer-send").click()
    shown = agent.locator("[data-testid=message][data-sender-type=contact]", has_text="onerror")
    shown.wait_for()
    assert shown.inner_text() == XSS
    assert agent.locator("#log img").count() == 0
    assert frame.locator("#log img").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    host.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))
    agent.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    # Reload keeps the history (visitor token kept in the browser).
    host.reload()
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.locator(
        "[data-testid=message][data-sender-type=agent]", has_text="Sure, how can I help?"
    ).wait_for()
    frame.locator(
        "[data-testid=message][data-sender-type=contact]", has_text="Hello, I need help"
    ).wait_for()
    assert (
        frame.locator(
            "[data-testid=message][data-sender-type=contact]", has_text="Hello, I need help"
        ).count()
        == 1
    )

    # Close: the visitor is offered a rating.
    agent.get_by_test_id("conversation-close").click()
    frame.get_by_test_id("rating").wait_for()
    frame.get_by_test_id("rating-star-5").click()
    frame.get_by_test_id("rating-submit").click()
    frame.get_by_text("Thank you for your feedback!").wait_for()
    assert dialogs == []
    visitor_ctx.close()
    agent_ctx.close()


def test_chinese_and_mobile_layout(hub_url: str, browser) -> None:
    ctx = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    page.goto(hub_url + "/")
    page.get_by_test_id("hub-launcher").click()
    frame_el = page.get_by_test_id("hub-frame")
    frame = page.frame_locator("[data-testid=hub-frame]")
    frame.get_by_text("在线咨询").wait_for()
    frame.get_by_test_id("composer-input").fill("你好")
    frame.get_by_test_id("composer-send").click()
    frame.get_by_test_id("conversation-status").filter(has_text="排在第").wait_for()
    box = frame_el.bounding_box()
    assert box is not None and box["width"] == 390 and box["height"] == 844  # full screen
    page.screenshot(path=str(SCREENSHOTS / "widget-mobile.png"))
    ctx.close()

    en = browser.new_context(locale="en-US")
    page = en.new_page()
    page.goto(hub_url + "/agent/")
    page.get_by_test_id("login-submit").filter(has_text="Sign in").wait_for()
    en.close()
