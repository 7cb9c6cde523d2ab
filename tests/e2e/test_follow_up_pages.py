"""Issue 23 items 6-8 in headless Chromium against the real hub: a rating on the conversation
and in the console, reopening, the contacts page with search, and left messages taken and
not asked for twice."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, call, rest, sign_in
from tests.e2e.test_console import open_console

pytestmark = pytest.mark.browser

WAIT = 30_000
CLOSED_ALL_WEEK = {"timezone": "UTC", "days": [], "start": "09:00", "end": "18:00", "holidays": []}


@pytest.fixture(scope="module")
def admin_token(hub_url: str) -> str:
    return rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
        "token"
    ]


def _widget(browser: Any, url: str) -> tuple[Any, Any, Any]:
    ctx = browser.new_context(locale="en-US")
    host = ctx.new_page()
    host.goto(url + "/")
    host.get_by_test_id("hub-launcher").click()
    return ctx, host, host.frame_locator("[data-testid=hub-frame]")


def test_rating_reopen_and_the_contacts_page(hub_url: str, browser: Any, admin_token: str) -> None:
    agent_ctx = browser.new_context(locale="en-US")
    agent = agent_ctx.new_page()
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    visitor_ctx, _, frame = _widget(browser, hub_url)
    frame.get_by_test_id("composer-input").fill("我的快递到哪里了")
    frame.get_by_test_id("composer-send").click()
    item = agent.locator("[data-testid=conversation-item]").first
    item.click()
    agent.locator("[data-testid=message]", has_text="我的快递到哪里了").wait_for(timeout=WAIT)
    conversation_id = item.get_attribute("data-conversation-id")
    assert conversation_id
    contact_id = call(
        hub_url, "GET", f"/api/v1/conversations/{conversation_id}", None, admin_token
    )["contact_id"]
    call(hub_url, "PATCH", f"/api/v1/contacts/{contact_id}", {"name": "王小明"}, admin_token)

    agent.get_by_test_id("conversation-close").click()
    frame.get_by_test_id("rating-star-4").click()
    frame.locator("[data-testid=rating] textarea").fill("很好，谢谢")
    frame.get_by_test_id("rating-submit").click()
    rating = agent.get_by_test_id("conversation-rating")
    expect(rating).to_have_attribute("data-score", "4", timeout=WAIT)
    expect(rating).to_have_text("★★★★☆")
    expect(agent.get_by_test_id("conversation-rating-comment")).to_have_text("很好，谢谢")

    # Reopened: the agent serves it again, the visitor's widget says so.
    agent.get_by_test_id("conversation-reopen").click()
    expect(agent.locator("#paneStatus")).to_have_text("Serving", timeout=WAIT)
    expect(agent.get_by_test_id("composer-input")).to_be_visible()
    expect(frame.get_by_test_id("conversation-status")).to_have_attribute(
        "data-status", "assigned", timeout=WAIT
    )
    assert frame.get_by_test_id("rating").count() == 0

    # The contacts page: search a contact by part of a Chinese name, open their conversations.
    agent.get_by_test_id("nav-contacts").click()
    agent.get_by_test_id("contacts-search").fill("小明")
    found = agent.locator("[data-testid=contacts-item]", has_text="王小明")
    expect(found).to_have_count(1, timeout=WAIT)
    found.click()
    row = agent.locator(
        f"[data-testid=contact-conversation][data-conversation-id='{conversation_id}']"
    )
    row.click()
    expect(agent.get_by_test_id("contacts-page")).to_be_hidden()
    agent.locator("[data-testid=message]", has_text="我的快递到哪里了").wait_for(timeout=WAIT)
    # And a conversation by a word inside a Chinese sentence.
    agent.get_by_test_id("nav-contacts").click()
    agent.get_by_test_id("conversation-search").fill("快递")
    hit = agent.locator(
        f"[data-testid=conversation-search-hit][data-conversation-id='{conversation_id}']"
    )
    expect(hit).to_have_count(1, timeout=WAIT)

    # The console's monitor lists the rating with its agent and comment.
    console = agent_ctx.new_page()
    open_console(console, hub_url, "monitor")
    shown = console.locator(
        f"[data-testid=monitor-rating][data-conversation-id='{conversation_id}']"
    )
    expect(shown).to_have_attribute("data-score", "4", timeout=WAIT)
    expect(shown.get_by_test_id("monitor-rating-comment")).to_have_text("很好，谢谢")
    visitor_ctx.close()
    agent_ctx.close()


def test_a_left_message_is_taken_and_not_asked_for_twice(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    call(
        hub_url,
        "PUT",
        "/api/v1/settings/widget",
        {"working_hours_enabled": True, "working_hours": CLOSED_ALL_WEEK},
        admin_token,
    )
    try:
        ctx, host, frame = _widget(browser, hub_url)
        frame.get_by_test_id("leave-message-form").wait_for(timeout=WAIT)
        frame.get_by_test_id("leave-name").fill("韩梅梅")
        frame.get_by_test_id("leave-email").fill("han@example.com")
        frame.get_by_test_id("leave-text").fill("请明天上午回电")
        frame.get_by_test_id("leave-submit").click()
        expect(frame.get_by_test_id("leave-thanks")).to_be_visible(timeout=WAIT)
        host.reload()
        host.get_by_test_id("hub-launcher").click()
        expect(frame.get_by_test_id("leave-thanks")).to_be_visible(timeout=WAIT)
        assert frame.get_by_test_id("leave-message-form").count() == 0
        ctx.close()
    finally:
        call(
            hub_url, "PUT", "/api/v1/settings/widget", {"working_hours_enabled": False}, admin_token
        )
    left = next(
        m
        for m in call(hub_url, "GET", "/api/v1/left-messages", None, admin_token)["items"]
        if m["text"] == "请明天上午回电"
    )
    contact = call(hub_url, "GET", f"/api/v1/contacts/{left['contact_id']}", None, admin_token)
    assert (contact["name"], contact["email"]) == ("韩梅梅", "han@example.com")

    agent_ctx = browser.new_context(locale="en-US")
    agent = agent_ctx.new_page()
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    item = agent.locator(f"[data-testid=left-message][data-id='{left['id']}']")
    item.get_by_test_id("left-message-take").click()
    expect(item.get_by_test_id("left-message-taken")).to_have_text("Yours", timeout=WAIT)
    item.get_by_test_id("left-message-note").fill("已回电，客户不在")
    item.get_by_test_id("left-message-note-save").click()
    expect(item).to_have_attribute("data-noted", "true", timeout=WAIT)
    expect(item.get_by_test_id("left-message-reply")).to_be_visible()
    stored = next(
        m
        for m in call(hub_url, "GET", "/api/v1/left-messages", None, admin_token)["items"]
        if m["id"] == left["id"]
    )
    assert stored["agent_id"] and stored["note"] == "已回电，客户不在"
    agent_ctx.close()
