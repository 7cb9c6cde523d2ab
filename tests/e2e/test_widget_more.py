"""The widget's pre-chat form, working hours, network drops, blacklist notice and unread badge,
end to end in headless Chromium against the real hub."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, call, link_target, rest
from tests.realtime_clients import AgentClient

pytestmark = pytest.mark.browser

WAIT = 30_000  # ms: the machine is shared and slow
_numbers = itertools.count(1)
CLOSED_ALL_WEEK = {"timezone": "UTC", "days": [], "start": "09:00", "end": "18:00", "holidays": []}


@pytest.fixture(scope="module")
def admin_token(hub_url: str) -> str:
    return rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
        "token"
    ]


@pytest.fixture
def widget_settings(hub_url: str, admin_token: str) -> Iterator[Any]:
    """Change the widget settings for one test; the defaults come back afterwards."""

    def put(**changes: Any) -> dict[str, Any]:
        return call(hub_url, "PUT", "/api/v1/settings/widget", changes, admin_token)

    yield put
    put(prechat_enabled=False, working_hours_enabled=False, offline_message="")


class ThreadedAgent:
    """A real Socket.IO agent on its own event loop, so sync Playwright tests can drive it."""

    def __init__(self, url: str, admin_token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        number = next(_numbers)
        email = f"e2e-agent{number}@example.com"
        call(
            url,
            "POST",
            "/api/v1/agents",
            {"name": f"Agent Zhao {number}", "email": email, "password": "agent-password-1"},
            admin_token,
        )
        login = rest(url, "/api/v1/auth/login", {"email": email, "password": "agent-password-1"})
        self.client = self.run(self._start(url, login["token"], login["agent"]))

    async def _start(self, url: str, token: str, agent: dict[str, Any]) -> AgentClient:
        return await AgentClient(url, token, agent).start(ready=True)

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def conversation_with(self, text: str) -> str:
        """The id of the conversation assigned to this agent whose messages include `text`."""
        event = self.run(
            self.client.wait_for(
                "conversation.assigned",
                lambda e: any(m.get("text") == text for m in e["messages"]),
                timeout=60,
            )
        )
        return event["conversation"]["id"]

    def say(self, conversation_id: str, text: str) -> None:
        ack = self.run(self.client.say(conversation_id, text))
        assert ack["ok"], ack

    def received(self, text: str) -> int:
        return sum(1 for m in self.client.events["message"] if m.get("text") == text)

    def close(self) -> None:
        self.run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def agent(hub_url: str, admin_token: str) -> Iterator[ThreadedAgent]:
    threaded = ThreadedAgent(hub_url, admin_token)
    yield threaded
    threaded.close()


def _open_widget(browser: Any, url: str, locale: str = "en-US", **options: Any) -> tuple:
    ctx = browser.new_context(locale=locale, **options)
    host = ctx.new_page()
    host.goto(url + "/")
    host.get_by_test_id("hub-launcher").click()
    return ctx, host, host.frame_locator("[data-testid=hub-frame]")


def _send(frame: Any, text: str) -> None:
    frame.get_by_test_id("composer-input").fill(text)
    frame.get_by_test_id("composer-send").click()


def _bubble(frame: Any, sender: str, text: str) -> Any:
    return frame.locator(f"[data-testid=message][data-sender-type={sender}]", has_text=text)


def _conversation_by_preview(url: str, token: str, text: str) -> dict[str, Any]:
    items = call(url, "GET", "/api/v1/conversations?limit=200", token=token)["items"]
    return next(c for c in items if c.get("last_message_preview") == text)


def test_prechat_form_saves_name_and_phone(hub_url, browser, admin_token, widget_settings):
    widget_settings(prechat_enabled=True, prechat_fields=["name", "phone"])
    ctx, host, frame = _open_widget(browser, hub_url, viewport={"width": 1100, "height": 760})
    form = frame.get_by_test_id("prechat-form")
    form.wait_for(timeout=WAIT)
    expect(form).to_contain_text("Before we start")
    expect(frame.get_by_test_id("composer-input")).to_be_hidden()
    assert frame.get_by_test_id("prechat-email").count() == 0  # only the configured fields

    # A phone that is not a phone: the hub refuses it and the form says why, in English.
    frame.get_by_test_id("prechat-name").fill("Li Lei")
    frame.get_by_test_id("prechat-phone").fill("call me maybe")
    frame.get_by_test_id("prechat-submit").click()
    expect(frame.get_by_test_id("prechat-error")).to_have_text(
        "Please enter a valid phone number.", timeout=WAIT
    )
    expect(frame.get_by_test_id("composer-input")).to_be_hidden()

    frame.get_by_test_id("prechat-phone").fill("+86 138 0013 8000")
    expect(frame.get_by_test_id("prechat-error")).to_have_text("")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    host.screenshot(path=str(SCREENSHOTS / "widget-prechat.png"))
    frame.get_by_test_id("prechat-submit").click()
    expect(form).to_have_count(0, timeout=WAIT)
    _send(frame, "Hi, this is Li Lei")
    frame.locator("[data-testid=message][data-state=sent]", has_text="Li Lei").wait_for(
        timeout=WAIT
    )

    conversation = _conversation_by_preview(hub_url, admin_token, "Hi, this is Li Lei")
    contact = call(
        hub_url, "GET", f"/api/v1/contacts/{conversation['contact_id']}", token=admin_token
    )
    assert contact["name"] == "Li Lei" and contact["phone"] == "+86 138 0013 8000"

    # Answered once: a reload does not ask again.
    host.reload()
    host.get_by_test_id("hub-launcher").click()
    _bubble(frame, "contact", "Hi, this is Li Lei").wait_for(timeout=WAIT)
    expect(frame.get_by_test_id("composer-input")).to_be_visible()
    assert frame.get_by_test_id("prechat-form").count() == 0
    ctx.close()


def test_outside_working_hours_offers_leave_a_message(
    hub_url, browser, admin_token, widget_settings
):
    offline = "We are closed for the holiday. Leave a message!"
    widget_settings(
        working_hours_enabled=True, working_hours=CLOSED_ALL_WEEK, offline_message=offline
    )
    availability = call(hub_url, "GET", "/api/v1/widget/availability?tenant=default")
    assert availability["open"] is False
    ctx, host, frame = _open_widget(browser, hub_url)
    form = frame.get_by_test_id("leave-message-form")
    form.wait_for(timeout=WAIT)
    expect(frame.get_by_test_id("leave-title")).to_have_text(offline)
    expect(frame.get_by_test_id("conversation-status")).to_have_text("Outside working hours")
    expect(frame.get_by_test_id("composer-input")).to_be_hidden()
    frame.get_by_test_id("leave-name").fill("Han Meimei")
    frame.get_by_test_id("leave-text").fill("Please call me about the 40L backpack")
    frame.get_by_test_id("leave-submit").click()  # no phone, no email: refused, said clearly
    expect(frame.get_by_test_id("leave-error")).to_have_text(
        "Please write your message and leave a phone number or an email.", timeout=WAIT
    )
    frame.get_by_test_id("leave-phone").fill("13900139000")
    frame.get_by_test_id("leave-submit").click()
    expect(frame.get_by_test_id("leave-thanks")).to_have_text(
        "Thanks! We will contact you soon.", timeout=WAIT
    )
    left = call(hub_url, "GET", "/api/v1/left-messages", token=admin_token)["items"]
    assert any(item["text"] == "Please call me about the 40L backpack" for item in left)

    # Back within hours: the chat is offered again.
    widget_settings(working_hours_enabled=False)
    host.reload()
    host.get_by_test_id("hub-launcher").click()
    expect(frame.get_by_test_id("composer-input")).to_be_visible(timeout=WAIT)
    assert frame.get_by_test_id("leave-message-form").count() == 0
    ctx.close()


def test_network_drop_then_sync_shows_everything_once(hub_url, browser, agent):
    ctx, _host, frame = _open_widget(browser, hub_url)
    _send(frame, "Hello before the tunnel")
    conversation_id = agent.conversation_with("Hello before the tunnel")
    agent.say(conversation_id, "Welcome aboard")
    _bubble(frame, "agent", "Welcome aboard").wait_for(timeout=WAIT)

    ctx.set_offline(True)
    banner = frame.get_by_test_id("connection-banner")
    expect(banner).to_be_visible(timeout=WAIT)
    expect(banner).to_contain_text("reconnecting")
    agent.say(conversation_id, "Missed one")
    agent.say(conversation_id, "Missed two")
    _send(frame, "Typed in the tunnel")
    typed = frame.locator("[data-testid=message][data-sender-type=contact]", has_text="tunnel")
    expect(typed.last).to_have_attribute("data-state", "queued")

    ctx.set_offline(False)
    expect(banner).to_be_hidden(timeout=WAIT)
    _bubble(frame, "agent", "Missed two").wait_for(timeout=WAIT)
    expect(
        frame.locator("[data-testid=message][data-state=sent]", has_text="Typed in the tunnel")
    ).to_have_count(1, timeout=WAIT)

    agent_texts = frame.locator("[data-testid=message][data-sender-type=agent]").all_inner_texts()
    shown = [text for text in agent_texts for w in ("Welcome", "Missed") if w in text]
    assert [re.sub(r"\s+", " ", s).strip().split(" ")[-1] for s in shown] == [
        "aboard",
        "one",
        "two",
    ], agent_texts
    assert _bubble(frame, "contact", "Typed in the tunnel").count() == 1
    # In stored order: the agent's two missed messages were written before the typed one.
    every = frame.locator("[data-testid=message]").all_inner_texts()
    position = {w: next(i for i, t in enumerate(every) if w in t) for w in ("two", "Typed in")}
    assert position["two"] < position["Typed in"], every
    # Stored exactly once, and the agent got it once.
    history = agent.run(
        agent.client.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    )
    texts = [m["text"] for m in history["messages"]]
    assert texts.count("Typed in the tunnel") == 1
    assert texts.count("Missed one") == 1 and texts.count("Missed two") == 1
    assert agent.received("Typed in the tunnel") == 1

    # A second conversation (seq starts again at 1) also catches up after a drop.
    ack = agent.run(agent.client.call("conversation.close", {"conversation_id": conversation_id}))
    assert ack["ok"], ack
    frame.get_by_test_id("rating").wait_for(timeout=WAIT)
    _send(frame, "Back again")
    second = agent.conversation_with("Back again")
    assert second != conversation_id
    expect(frame.get_by_test_id("conversation-status")).to_contain_text(
        "is serving you", timeout=WAIT
    )
    ctx.set_offline(True)
    expect(banner).to_be_visible(timeout=WAIT)
    agent.say(second, "Good to see you again")
    ctx.set_offline(False)
    expect(_bubble(frame, "agent", "Good to see you again")).to_have_count(1, timeout=WAIT)
    expect(banner).to_be_hidden(timeout=WAIT)
    ctx.close()


def test_blocked_visitor_sees_a_notice_not_a_retry_loop(hub_url, browser, admin_token):
    ctx, host, frame = _open_widget(browser, hub_url)
    _send(frame, "Buy cheap followers now")
    frame.locator("[data-testid=message][data-state=sent]", has_text="cheap followers").wait_for(
        timeout=WAIT
    )
    conversation = _conversation_by_preview(hub_url, admin_token, "Buy cheap followers now")
    call(
        hub_url,
        "POST",
        f"/api/v1/contacts/{conversation['contact_id']}/block",
        {"minutes": 60, "reason": "spam"},
        admin_token,
    )
    notice = frame.get_by_test_id("blocked-notice")
    expect(notice).to_have_text("You can no longer send messages in this chat.", timeout=WAIT)
    expect(frame.get_by_test_id("composer-input")).to_be_disabled()
    expect(frame.get_by_test_id("composer-send")).to_be_disabled()
    expect(frame.get_by_test_id("conversation-status")).to_have_text("This conversation has ended")
    assert frame.get_by_test_id("rating").count() == 0  # no rating for a blacklisted close
    assert frame.get_by_test_id("leave-message-form").count() == 0

    # After a reload the widget cannot know yet; the first refused message tells it.
    host.reload()
    host.get_by_test_id("hub-launcher").click()
    _send(frame, "Still here")
    expect(notice).to_be_visible(timeout=WAIT)
    refused = _bubble(frame, "contact", "Still here")
    expect(refused).to_have_attribute("data-state", "notDelivered")
    expect(refused).to_contain_text("Not delivered")
    expect(frame.get_by_test_id("composer-input")).to_be_disabled()
    refused.click(force=True)  # no retry loop: clicking does nothing
    expect(refused).to_have_attribute("data-state", "notDelivered")
    assert frame.get_by_test_id("rating").count() == 0
    ctx.close()


def test_unread_badge_counts_while_closed(hub_url, browser, agent):
    ctx, host, frame = _open_widget(browser, hub_url)
    badge = host.get_by_test_id("hub-unread")
    _send(frame, "Is the 40L in stock?")
    conversation_id = agent.conversation_with("Is the 40L in stock?")
    expect(frame.get_by_test_id("conversation-status")).to_contain_text(
        "is serving you", timeout=WAIT
    )
    agent.say(conversation_id, "Let me check")
    _bubble(frame, "agent", "Let me check").wait_for(timeout=WAIT)
    expect(badge).to_be_hidden()  # seen while open: nothing unread

    host.get_by_test_id("hub-launcher").click()  # close the chat
    expect(host.get_by_test_id("hub-frame")).to_be_hidden()
    agent.say(conversation_id, "Yes, 12 left")
    agent.say(conversation_id, "Shall I reserve one?")
    expect(badge).to_have_text("2", timeout=WAIT)
    expect(host.get_by_test_id("hub-launcher")).to_have_attribute(
        "aria-label", "Chat (2 new messages)"
    )

    host.get_by_test_id("hub-launcher").click()  # open: read
    expect(badge).to_be_hidden()
    _bubble(frame, "agent", "Shall I reserve one?").wait_for(timeout=WAIT)
    # Closed again, one more: the count starts afresh.
    host.get_by_test_id("hub-launcher").click()
    agent.say(conversation_id, "Reserved for you")
    expect(badge).to_have_text("1", timeout=WAIT)

    # Next page of the shop: the chat frame loads hidden (a conversation is open); the history
    # it loads is not news, only what arrives afterwards is.
    host.reload()
    hidden_frame = host.frame_locator("[data-testid=hub-frame]")
    _bubble(hidden_frame, "agent", "Reserved for you").wait_for(state="attached", timeout=WAIT)
    expect(badge).to_be_hidden()
    agent.say(conversation_id, "Anything else?")
    expect(badge).to_have_text("1", timeout=WAIT)
    host.get_by_test_id("hub-launcher").click()
    expect(badge).to_be_hidden()
    ctx.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5f1e0d80000000049454e44ae426082"
)


def test_file_bubbles_show_name_and_size_and_images_a_thumbnail(hub_url, browser, tmp_path):
    ctx, _host, frame = _open_widget(browser, hub_url)
    doc = tmp_path / "order-4711.txt"
    doc.write_bytes(b"x" * 2048)
    frame.get_by_test_id("composer-file").set_input_files(str(doc))
    file_bubble = frame.locator("[data-testid=message][data-state=sent]", has_text="order-4711")
    file_bubble.wait_for(timeout=WAIT)
    link = file_bubble.get_by_test_id("message-file")
    expect(link).to_contain_text("order-4711.txt")
    expect(link).to_contain_text("2.0 KB")
    assert link_target(link).startswith(f"{hub_url}/uploads/")

    frame.get_by_test_id("composer-file").set_input_files(
        {"name": "<b>photo.png", "mimeType": "image/png", "buffer": PNG}
    )
    thumb = frame.locator("[data-testid=message][data-state=sent] [data-testid=message-image]")
    expect(thumb).to_have_count(1, timeout=WAIT)
    assert thumb.get_attribute("alt") == "<b>photo.png"  # the name stays text
    assert frame.locator("[data-testid=message] b").count() == 0
    ctx.close()


def _png(width: int, height: int) -> bytes:
    """A real PNG of that size (grey), for the viewer to show at its natural size."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_an_image_opens_full_size_in_the_viewer(hub_url, browser):
    """Issue 23 item 5: a thumbnail opens the picture full size over the page, in both
    languages' wording, and Esc closes it."""
    ctx, _host, frame = _open_widget(browser, hub_url, locale="zh-CN")
    frame.get_by_test_id("composer-file").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": _png(640, 480)}
    )
    thumb = frame.locator("[data-testid=message][data-state=sent] [data-testid=message-image]")
    expect(thumb).to_have_count(1, timeout=WAIT)
    thumb_width = thumb.evaluate("e => e.getBoundingClientRect().width")
    thumb.click()
    viewer = frame.get_by_test_id("image-viewer")
    expect(viewer).to_be_visible()
    image = frame.get_by_test_id("image-viewer-image")
    expect(image).to_have_js_property("naturalWidth", 640, timeout=WAIT)
    assert image.evaluate("e => e.getBoundingClientRect().width") > thumb_width * 1.5
    expect(frame.get_by_test_id("image-viewer-original")).to_have_text("查看原图")
    frame.locator("body").press("Escape")
    expect(viewer).to_be_hidden()
    thumb.click()
    frame.get_by_test_id("image-viewer-close").click()
    expect(viewer).to_be_hidden()
    ctx.close()


def test_queue_timeout_offers_a_message_not_a_rating(hub_url, browser, admin_token):
    routing = call(hub_url, "GET", "/api/v1/settings/routing", token=admin_token)
    call(
        hub_url,
        "PUT",
        "/api/v1/settings/routing",
        {**routing, "queue_timeout_seconds": 1.5},
        admin_token,
    )
    try:
        ctx, _host, frame = _open_widget(browser, hub_url)
        _send(frame, "Anyone there?")
        expect(frame.get_by_test_id("conversation-status")).to_have_text(
            "This conversation has ended", timeout=WAIT
        )
        expect(frame.get_by_test_id("leave-message-form")).to_be_visible(timeout=WAIT)
        assert frame.get_by_test_id("rating").count() == 0
        ctx.close()
    finally:
        call(hub_url, "PUT", "/api/v1/settings/routing", routing, admin_token)


def test_chinese_visitor_hears_chinese_only_and_the_configured_welcome(
    hub_url, browser, admin_token, widget_settings
):
    """Issue 23 item 4: the queue line counts right, the system message is in the visitor's
    language only, and a configured welcome replaces the default greeting everywhere."""
    widget_settings(welcome_message="欢迎光临！")
    routing = call(hub_url, "GET", "/api/v1/settings/routing", token=admin_token)
    call(
        hub_url,
        "PUT",
        "/api/v1/settings/routing",
        {**routing, "queue_timeout_seconds": 3},
        admin_token,
    )
    try:
        ctx, _host, frame = _open_widget(browser, hub_url, locale="zh-CN")
        expect(frame.locator(".msg.welcome")).to_have_text("欢迎光临！", timeout=WAIT)
        _send(frame, "有人吗？")
        # Its own place (other tests' visitors may wait ahead of it), not those ahead.
        status = frame.get_by_test_id("conversation-status")
        expect(status).to_have_text(re.compile(r"^您当前排在第 \d+ 位，请稍候$"), timeout=WAIT)

        system = frame.locator("[data-testid=message][data-sender-type=system]").last
        expect(system).to_have_text(
            "暂时没有坐席可以接待，请留言，我们会尽快联系您。", timeout=WAIT
        )
        body = frame.locator("body")
        expect(body).not_to_contain_text("No agent is available")
        expect(body).not_to_contain_text("您好！请问有什么可以帮您？")
        ctx.close()
    finally:
        call(hub_url, "PUT", "/api/v1/settings/routing", routing, admin_token)
        widget_settings(welcome_message="")


def test_new_parts_speak_chinese(hub_url, browser, admin_token, widget_settings):
    widget_settings(prechat_enabled=True, prechat_fields=["name", "email"])
    ctx, host, frame = _open_widget(browser, hub_url, locale="zh-CN")
    form = frame.get_by_test_id("prechat-form")
    expect(form).to_contain_text("开始咨询前，请留下您的联系方式。", timeout=WAIT)
    expect(form).to_contain_text("姓名")
    expect(form).to_contain_text("邮箱")
    expect(frame.get_by_test_id("prechat-submit")).to_have_text("开始咨询")
    expect(host.get_by_test_id("hub-launcher")).to_have_attribute("aria-label", "在线咨询")
    expect(frame.locator("#close")).to_have_attribute("aria-label", "关闭对话窗口")
    frame.get_by_test_id("prechat-name").fill("韩梅梅")
    frame.get_by_test_id("prechat-email").fill("meimei@example")
    frame.get_by_test_id("prechat-submit").click()
    expect(frame.get_by_test_id("prechat-error")).to_have_text(
        "请输入正确的邮箱地址。", timeout=WAIT
    )
    ctx.close()

    widget_settings(working_hours_enabled=True, working_hours=CLOSED_ALL_WEEK)
    ctx, _host, frame = _open_widget(browser, hub_url, locale="zh-CN")
    expect(frame.get_by_test_id("leave-title")).to_have_text(
        "当前为非工作时间，请留言，我们会尽快联系您。", timeout=WAIT
    )
    expect(frame.get_by_test_id("conversation-status")).to_have_text("非工作时间")
    ctx.set_offline(True)
    expect(frame.get_by_test_id("connection-banner")).to_contain_text("正在重新连接", timeout=WAIT)
    ctx.set_offline(False)
    ctx.close()

    widget_settings(working_hours_enabled=False, prechat_enabled=False)
    ctx, _host, frame = _open_widget(browser, hub_url, locale="zh-CN")
    _send(frame, "广告推广")
    frame.locator("[data-testid=message][data-state=sent]", has_text="广告推广").wait_for(
        timeout=WAIT
    )
    conversation = _conversation_by_preview(hub_url, admin_token, "广告推广")
    call(
        hub_url,
        "POST",
        f"/api/v1/contacts/{conversation['contact_id']}/block",
        {"minutes": None},
        admin_token,
    )
    expect(frame.get_by_test_id("blocked-notice")).to_have_text(
        "您已无法在此会话中发送消息。", timeout=WAIT
    )
    ctx.close()
