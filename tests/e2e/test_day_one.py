"""Issue 23 ("What a new support team hits on day one"), items 2, 3 and 9, in headless
Chromium against the real hub: limits shown up front and every refusal explained, the
visitor's earlier conversations, and the polish."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, call, rest, sign_in
from tests.e2e.test_widget_more import _open_widget, _send
from tests.realtime_clients import AgentClient, Visitor
from tests.test_day_one import chat_and_close

pytestmark = pytest.mark.browser

WAIT = 30_000
BIG = 12 * 1024 * 1024
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def admin_token(hub_url: str) -> str:
    return rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
        "token"
    ]


def _in_thread(coro_fn: Any) -> Any:
    """Run a coroutine on a loop of its own (the sync Playwright API holds this thread's)."""
    result: dict[str, Any] = {}

    def run() -> None:
        result["value"] = asyncio.run(coro_fn())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    return result["value"]


def visitor_says(url: str, text: str, *, skill: str, token: str | None = None) -> str:
    """A visitor (a real socket) writes; answers its visitor token."""

    async def say() -> str:
        visitor = Visitor(url)
        await visitor.join("default", skill=skill, **({"visitor_token": token} if token else {}))
        ack = await visitor.say(text)
        assert ack["ok"], ack
        await visitor.close()
        return visitor.token

    return _in_thread(say)


def new_agent(url: str, admin_token: str, skill: str, password: str = "agent-password-1") -> str:
    email = f"dayone-{skill}@example.com"
    body = {"name": f"Agent {skill}", "email": email, "password": password, "skills": [skill]}
    call(url, "POST", "/api/v1/agents", body, admin_token)
    return email


def serving(browser: Any, url: str, admin_token: str, locale: str = "en-US") -> tuple:
    """An inbox page of a fresh agent holding a fresh visitor's conversation, opened."""
    skill = f"s{next(_numbers)}"
    email = new_agent(url, admin_token, skill)
    ctx = browser.new_context(locale=locale)
    page = ctx.new_page()
    sign_in(page, url, email, "agent-password-1", ready=True)
    text = f"hello from visitor {skill}"
    token = visitor_says(url, text, skill=skill)
    page.get_by_test_id("conversation-item").filter(has_text=text).click(timeout=WAIT)
    page.locator("[data-testid=message]", has_text=text).wait_for(timeout=WAIT)
    return ctx, page, {"skill": skill, "email": email, "visitor_token": token}


# Item 2: limits up front, every refusal with its reason.


def test_inbox_composer_shows_the_limits_and_refuses_with_the_reason(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    """Before: a 10,000-character reply did nothing on Enter, and a 12 MB file did nothing."""
    ctx, page, _ = serving(browser, hub_url, admin_token)
    composer = page.get_by_test_id("composer-input")
    counter = page.get_by_test_id("composer-counter")
    expect(counter).to_have_text("0 / 5000")
    composer.fill("y" * 10_000)
    expect(counter).to_have_text("10000 / 5000")
    expect(counter).to_have_class(re.compile("over"))
    composer.press("Enter")
    expect(page.get_by_test_id("composer-error")).to_have_text(
        re.compile("10000 characters, 5000 over the limit of 5000")
    )
    expect(composer).to_have_value("y" * 10_000)
    expect(page.get_by_test_id("message-pending")).to_have_count(0)
    composer.fill("")
    page.get_by_test_id("composer-file").set_input_files(
        {"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"0" * BIG}
    )
    expect(page.get_by_test_id("composer-error")).to_have_text(
        "Not sent: files are limited to 10.0 MB."
    )
    # A refusal of the hub itself, with its reason: a type it does not take.
    page.get_by_test_id("composer-file").set_input_files(
        {"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}
    )
    expect(page.get_by_test_id("composer-error")).to_have_text(
        re.compile("this kind of file is not accepted")
    )
    ctx.close()


def test_widget_shows_the_limits_and_refuses_with_the_reason_in_chinese(
    hub_url: str, browser: Any
) -> None:
    """Before: 10,000 characters were cut to 2,000 without a word, and a 12 MB file failed
    with "tap to retry", which could never succeed."""
    ctx, _host, frame = _open_widget(browser, hub_url, locale="zh-CN")
    counter = frame.get_by_test_id("composer-counter")
    expect(counter).to_have_text("0 / 2000", timeout=WAIT)
    frame.get_by_test_id("composer-input").fill("字" * 10_000)
    expect(counter).to_have_text("10000 / 2000")
    expect(counter).to_have_class(re.compile("over"))
    frame.get_by_test_id("composer-send").click()
    expect(frame.get_by_test_id("composer-error")).to_have_text(
        "消息过长，无法发送：共 10000 个字，超出上限（2000 字）8000 个字。"
    )
    expect(frame.get_by_test_id("composer-input")).to_have_value("字" * 10_000)
    expect(frame.get_by_test_id("message")).to_have_count(0)
    frame.get_by_test_id("composer-input").fill("")
    frame.get_by_test_id("composer-file").set_input_files(
        {"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"0" * BIG}
    )
    expect(frame.get_by_test_id("composer-error")).to_have_text("发送失败：文件不能超过 10.0 MB。")
    expect(frame.get_by_test_id("message")).to_have_count(0)
    # The hub's refusal of a type it never takes: said on the bubble, no retry offered.
    frame.get_by_test_id("composer-file").set_input_files(
        {"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}
    )
    bubble = frame.locator("[data-testid=message][data-state=notDelivered]")
    expect(bubble).to_contain_text("不支持此类文件", timeout=WAIT)
    expect(bubble).not_to_contain_text("重试")
    ctx.close()


def test_widget_offers_a_retry_only_when_it_can_pass(hub_url: str, browser: Any) -> None:
    ctx, host, frame = _open_widget(browser, hub_url)
    expect(frame.get_by_test_id("composer-counter")).to_have_text("0 / 2000", timeout=WAIT)
    # The disk of the hub is full for a moment (507): worth another try, and it passes then.
    full = {"error": {"code": "insufficient_storage", "message": "low on disk"}}
    host.route("**/api/v1/uploads", lambda route: route.fulfill(status=507, json=full))
    frame.get_by_test_id("composer-file").set_input_files(
        {"name": "note.txt", "mimeType": "text/plain", "buffer": b"hello"}
    )
    bubble = frame.locator("[data-testid=message][data-state=failed]")
    expect(bubble).to_contain_text("short of disk space", timeout=WAIT)
    expect(bubble).to_contain_text("Tap to retry.")
    host.unroute("**/api/v1/uploads")
    bubble.click()
    expect(frame.locator("[data-testid=message][data-state=sent] a.file")).to_have_count(
        1, timeout=WAIT
    )
    ctx.close()


# Item 3: the visitor's earlier conversations.


def earlier_conversations(url: str, admin_token: str, count: int) -> str:
    """`count` conversations of one visitor, each answered, noted privately and closed;
    answers the visitor's token."""
    skill = f"h{next(_numbers)}"
    email = new_agent(url, admin_token, skill)
    login = rest(url, "/api/v1/auth/login", {"email": email, "password": "agent-password-1"})

    async def run() -> str:
        agent = await AgentClient(url, login["token"], login["agent"]).start(ready=True)
        visitor = Visitor(url)
        await visitor.join("default", skill=skill)
        for n in range(count):
            await chat_and_close(agent, visitor, f"earlier question {skill}-{n}")
        await visitor.close()
        await agent.close()
        return visitor.token

    return _in_thread(run)


def test_widget_shows_the_visitors_earlier_conversations(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    """Before: after a close, a reload showed only the welcome text."""
    token = earlier_conversations(hub_url, admin_token, 4)
    ctx = browser.new_context(locale="en-US")
    ctx.add_init_script(f"localStorage.setItem('hub:visitor:default', {token!r})")
    host = ctx.new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    earlier = frame.get_by_test_id("history-conversation")
    # The newest page of `history` (three) as far as the log shows; the rest on scrolling up.
    expect(earlier).to_have_count(3, timeout=WAIT)
    frame.locator("#log").evaluate("log => { log.scrollTop = 0; }")
    expect(earlier).to_have_count(4, timeout=WAIT)
    texts = [earlier.nth(n).inner_text() for n in range(4)]
    for n, text in enumerate(texts):
        assert re.search(rf"earlier question h\d+-{n}\b", text), text
        assert "answer to earlier question" in text and "Conversation ended" in text
        assert "secret note" not in text
    expect(earlier.first.get_by_test_id("history-divider")).to_have_text(
        re.compile(r"^Conversation of \d\d/\d\d/\d{4}")
    )
    # Read-only: nothing of it is a message of the current conversation, which starts anew.
    expect(frame.get_by_test_id("message")).to_have_count(0)
    _send(frame, "a new question")
    expect(frame.locator("[data-testid=message][data-state=sent]")).to_have_count(1, timeout=WAIT)
    expect(earlier).to_have_count(4)
    ctx.close()


# Item 9: polish.


def test_inbox_fits_a_phone(hub_url: str, browser: Any, admin_token: str) -> None:
    """Before, at 390×844 'Sign out' was off screen and the conversation header took three rows."""
    skill = f"p{next(_numbers)}"
    email = new_agent(hub_url, admin_token, skill)
    # In Chinese, whose labels are the wider ones here; the picture is the README's.
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    sign_in(page, hub_url, email, "agent-password-1", ready=True)
    top = page.locator(".top")
    assert top.evaluate("bar => bar.scrollWidth <= bar.clientWidth"), "the top bar overflows"
    page.get_by_test_id("account-menu-toggle").click()
    sign_out = page.get_by_test_id("sign-out")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.get_by_test_id("account-menu-toggle").click()
    text = f"你好，请问什么时候发货？{skill}"
    visitor_says(hub_url, text, skill=skill)
    page.get_by_test_id("conversation-item").filter(has_text=text).click(timeout=WAIT)
    bar = page.locator(".pane .bar")
    expect(page.get_by_test_id("conversation-close")).to_be_attached(timeout=WAIT)
    name = page.get_by_test_id("pane-contact-name").bounding_box()
    assert name and name["width"] > 40, f"the contact's name is squeezed out: {name}"
    height = bar.bounding_box()["height"]
    assert height < 56, f"the conversation header is {height}px high (more than one row)"
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone-zh.png"))
    ctx.close()


def test_pane_header_follows_a_renamed_contact(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    ctx, page, _ = serving(browser, hub_url, admin_token)
    name = page.get_by_test_id("pane-contact-name")
    expect(name).to_have_text(re.compile(r"^Visitor "))
    conversation_id = page.evaluate("location.hash").split("=")[1]
    conversation = call(
        hub_url, "GET", f"/api/v1/conversations/{conversation_id}", token=admin_token
    )
    call(
        hub_url,
        "PATCH",
        f"/api/v1/contacts/{conversation['contact_id']}",
        {"name": "Zhang Wei"},
        admin_token,
    )
    expect(name).to_have_text("Zhang Wei", timeout=WAIT)
    ctx.close()


def test_quick_replies_with_the_keyboard(hub_url: str, browser: Any, admin_token: str) -> None:
    """Before, Enter sent the literal '/sh'."""
    items = [
        {"title": "shipping", "text": "Orders ship within 24 hours."},
        {"title": "shop hours", "text": "We are open 9 to 6."},
    ]
    call(hub_url, "PUT", "/api/v1/quick-replies", {"items": items}, admin_token)
    ctx, page, _ = serving(browser, hub_url, admin_token)
    composer = page.get_by_test_id("composer-input")
    composer.press_sequentially("/sh")
    options = page.get_by_test_id("quick-reply-item")
    expect(options).to_have_count(2)
    expect(options.first).to_have_attribute("aria-selected", "true")
    composer.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    composer.press("Enter")
    expect(composer).to_have_value("We are open 9 to 6.")
    expect(page.get_by_test_id("quick-replies")).to_be_hidden()
    expect(page.get_by_test_id("message-pending")).to_have_count(0)
    composer.fill("")
    composer.press_sequentially("/sh")
    composer.press("ArrowUp")  # wraps round to the last
    composer.press("Tab")
    expect(composer).to_have_value("We are open 9 to 6.")
    composer.fill("")
    composer.press_sequentially("/sh")
    composer.press("Escape")
    expect(page.get_by_test_id("quick-replies")).to_be_hidden()
    expect(composer).to_have_value("/sh")
    composer.press("Enter")  # closed: Enter sends what is typed, as typed
    expect(
        page.locator("[data-testid=message][data-sender-type=agent]", has_text="/sh")
    ).to_have_count(1, timeout=WAIT)
    ctx.close()


def test_phone_fields_refuse_what_is_not_a_number(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    ctx, page, _ = serving(browser, hub_url, admin_token, locale="zh-CN")
    page.get_by_test_id("contact-phone").fill("not-a-phone-number!!")
    page.get_by_test_id("contact-save").click()
    expect(page.get_by_test_id("contact-error")).to_have_text(
        "电话号码格式不正确：应为 5 到 20 位数字，可含空格、+、- 或括号。"
    )
    expect(page.get_by_test_id("contact-phone")).to_have_value("not-a-phone-number!!")
    page.get_by_test_id("contact-phone").fill("+86 138-0013-8000")
    expect(page.get_by_test_id("contact-error")).to_have_text("")
    page.get_by_test_id("contact-save").click()
    expect(page.get_by_test_id("contact-phone")).to_have_value("+86 138-0013-8000", timeout=WAIT)
    expect(page.get_by_test_id("contact-error")).to_have_text("")
    ctx.close()


def test_rating_without_stars_says_so(hub_url: str, browser: Any, admin_token: str) -> None:
    ctx, page, who = serving(browser, hub_url, admin_token)
    visitor_ctx = browser.new_context(locale="en-US")
    token = who["visitor_token"]
    visitor_ctx.add_init_script(f"localStorage.setItem('hub:visitor:default', {token!r})")
    host = visitor_ctx.new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    expect(frame.get_by_test_id("conversation-status")).to_have_text(
        re.compile("is serving you"), timeout=WAIT
    )
    page.get_by_test_id("conversation-close").click()
    frame.get_by_test_id("rating-submit").click(timeout=WAIT)
    expect(frame.get_by_test_id("rating-hint")).to_have_text("Please choose 1 to 5 stars first.")
    frame.get_by_test_id("rating-star-4").click()
    expect(frame.get_by_test_id("rating-hint")).to_have_text("")
    frame.get_by_test_id("rating-submit").click()
    expect(frame.get_by_test_id("rating")).to_have_text(
        "Thank you for your feedback!", timeout=WAIT
    )
    visitor_ctx.close()
    ctx.close()


def test_a_reply_typed_offline_waits_and_goes_out_once(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    """Before, a reply sent while the socket was down showed nothing until it came back."""
    ctx, page, _ = serving(browser, hub_url, admin_token)
    conversation_id = page.evaluate("location.hash").split("=")[1]
    ctx.set_offline(True)
    expect(page.get_by_test_id("presence-toggle")).to_be_disabled(timeout=WAIT)
    page.get_by_test_id("composer-input").fill("typed in the lift")
    page.get_by_test_id("composer-input").press("Enter")
    pending = page.get_by_test_id("message-pending")
    expect(pending).to_have_attribute("data-state", "pending")
    expect(pending).to_contain_text("Waiting for the connection")
    ctx.set_offline(False)
    expect(pending).to_have_count(0, timeout=WAIT)
    expect(
        page.locator("[data-testid=message][data-sender-type=agent]", has_text="typed in the lift")
    ).to_have_count(1, timeout=WAIT)
    items = call(
        hub_url, "GET", f"/api/v1/conversations/{conversation_id}/messages", token=admin_token
    )["items"]
    assert [m["text"] for m in items].count("typed in the lift") == 1
    ctx.close()


def test_an_agent_changes_their_password_in_the_inbox(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    skill = f"w{next(_numbers)}"
    email = new_agent(hub_url, admin_token, skill)
    other_ctx = browser.new_context(locale="en-US")
    other = other_ctx.new_page()
    sign_in(other, hub_url, email, "agent-password-1")
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    sign_in(page, hub_url, email, "agent-password-1")
    page.get_by_test_id("account-menu-toggle").click()
    page.get_by_test_id("change-password").click()
    page.get_by_test_id("password-current").fill("wrong-password-1")
    page.get_by_test_id("password-new").fill("a-fresh-password-7")
    page.get_by_test_id("password-repeat").fill("a-fresh-password-7")
    page.get_by_test_id("password-submit").click()
    expect(page.locator("[data-testid=password-dialog] .error")).to_have_text(
        "The current password is not right."
    )
    page.get_by_test_id("password-current").fill("agent-password-1")
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-dialog")).to_have_count(0, timeout=WAIT)
    expect(page.get_by_test_id("inbox-notice")).to_contain_text("Password changed")
    # This tab carries on with its new token (its socket back, presence usable) …
    expect(page.get_by_test_id("presence-toggle")).to_be_enabled(timeout=WAIT)
    page.get_by_test_id("presence-toggle").click()
    expect(page.locator("[data-testid=presence-toggle][data-status=ready]")).to_be_visible(
        timeout=WAIT
    )
    # … the other session is signed out, and the new password signs in.
    expect(other.locator("#loginError")).to_have_text(
        "You were signed out. Please sign in again.", timeout=WAIT
    )
    rest(hub_url, "/api/v1/auth/login", {"email": email, "password": "a-fresh-password-7"})
    other_ctx.close()
    ctx.close()


def test_a_list_read_before_going_ready_does_not_undo_the_assignment(
    hub_url: str, browser: Any, admin_token: str
) -> None:
    """The inbox's first read of the queue, answered while the chat was still queued and
    delivered after the agent went ready and heard of the assignment, must not put it back
    under "queued" (the page merged any answer over what it had heard live)."""
    skill = f"r{next(_numbers)}"
    email = new_agent(hub_url, admin_token, skill)
    me = rest(hub_url, "/api/v1/auth/login", {"email": email, "password": "agent-password-1"})
    visitor_says(hub_url, f"waiting for {skill}", skill=skill)
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    held: list[tuple[Any, Any]] = []
    # The hub answers the first read of the queue at once (the chat still queued); the page
    # gets that answer only after the agent went ready and heard of the assignment.
    page.route(
        "**/api/v1/conversations?status=queued*",
        lambda route: held.append((route, route.fetch())),
    )
    # The closed list of the same first read is answered with a marker: once it shows, the
    # whole first read (the held queue answer too) has been applied.
    marker = {
        "id": f"marker-{skill}",
        "channel": "webim",
        "contact_id": f"nobody-{skill}",
        "status": "closed",
        "agent_id": me["agent"]["id"],
        "created_at": "2026-01-01T00:00:00Z",
        "closed_at": "2026-01-01T00:00:01Z",
    }
    page.route(
        "**/api/v1/conversations?status=closed*",
        lambda route: route.fulfill(json={"items": [marker], "next": None}),
    )
    page.goto(hub_url + "/agent/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill("agent-password-1")
    with page.expect_request("**/api/v1/conversations?status=queued*"):
        page.get_by_test_id("login-submit").click()
    page.get_by_test_id("presence-toggle").click()
    # Other tests may leave visitors of the default queue waiting, which a ready agent takes
    # too: this one is told apart by its text.
    mine = page.locator("[data-testid=conversation-item][data-status=assigned]").filter(
        has_text=f"waiting for {skill}"
    )
    expect(mine).to_have_count(1, timeout=WAIT)
    page.unroute("**/api/v1/conversations?status=queued*")
    for route, answer in held:
        route.fulfill(response=answer)
    page.get_by_test_id("tab-closed").click()
    expect(page.locator(f"[data-conversation-id={marker['id']}]")).to_have_count(1, timeout=WAIT)
    page.get_by_test_id("tab-mine").click()
    expect(mine).to_have_count(1)
    ctx.close()
