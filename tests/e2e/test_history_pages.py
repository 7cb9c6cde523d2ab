"""History a page at a time, in headless Chromium: the inbox and the widget show the newest 50
messages of a long conversation, and older pages as the reader scrolls up, in order and
without losing their place; no request asks for more than a page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ARTIFACTS, sign_in, socket_io_url

pytestmark = pytest.mark.browser

WAIT = 30_000
PAGE = 50
COUNT = 120

# A visitor who wrote COUNT messages (nobody is ready: the conversation waits in the queue);
# the browser keeps its token, so the widget on this origin resumes the same visitor.
SEED = """async ([ioUrl, count, label]) => {
  const { io } = await import(ioUrl);
  const socket = io("/visitor", { auth: { tenant: "default" }, transports: ["websocket"] });
  const session = await new Promise((resolve) => socket.on("session", resolve));
  let conversationId = null;
  for (let n = 1; n <= count; n++) {
    const text = `${label} ${String(n).padStart(3, "0")}`;
    const ack = await socket.emitWithAck("message", { client_id: `${label}-${n}`, text });
    if (!ack.ok) throw new Error(ack.error.message);
    conversationId = ack.message.conversation_id;
  }
  socket.close();
  localStorage.setItem("hub:visitor:default", session.visitor_token);
  return conversationId;
}"""


ARTIFACTS.mkdir(parents=True, exist_ok=True)


def texts(label: str, first: int, last: int) -> list[str]:
    return [f"{label} {n:03d}" for n in range(first, last + 1)]


def page_sizes(requests: list[str]) -> list[int]:
    return [int(parse_qs(urlparse(url).query)["limit"][0]) for url in requests]


def test_inbox_pages_back_through_a_long_conversation(hub_url: str, browser) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    page.goto(hub_url + "/agent/")
    conversation_id = page.evaluate(SEED, [socket_io_url(hub_url), COUNT, "inbox"])
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.url) if re.search(r"/conversations/[^/?]+/messages", r.url) else None
        ),
    )
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{hub_url}/agent/#conversation={conversation_id}")
    log = page.get_by_test_id("chat-log")
    bubbles = log.locator("[data-testid=message]")
    expect(bubbles).to_have_count(PAGE, timeout=WAIT)
    assert bubbles.all_inner_texts() == texts("inbox", COUNT - PAGE + 1, COUNT)
    expect(page.get_by_test_id("log-older")).to_have_attribute("data-state", "more")
    # Opened at the newest message.
    assert log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight") < 5

    # Scrolled to the top: the page before, above, and the message read last stays in view.
    anchor = bubbles.filter(has_text=texts("inbox", COUNT - PAGE + 1, COUNT - PAGE + 1)[0])
    log.evaluate("l => { l.scrollTop = 0; }")
    expect(bubbles).to_have_count(2 * PAGE, timeout=WAIT)
    assert log.evaluate("l => l.scrollTop") > 0
    box, view = anchor.bounding_box(), log.bounding_box()
    assert box and view and view["y"] <= box["y"] < view["y"] + view["height"]
    page.screenshot(path=str(ARTIFACTS / "inbox-history-pages.png"))

    log.evaluate("l => { l.scrollTop = 0; }")
    expect(bubbles).to_have_count(COUNT, timeout=WAIT)
    assert bubbles.all_inner_texts() == texts("inbox", 1, COUNT)
    expect(page.get_by_test_id("log-older")).to_have_attribute("data-state", "start", timeout=WAIT)
    assert asked and max(page_sizes(asked)) == PAGE
    ctx.close()


def test_widget_pages_back_through_a_long_conversation(hub_url: str, browser) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    host = ctx.new_page()
    host.goto(hub_url + "/")
    host.evaluate(SEED, [socket_io_url(hub_url), COUNT, "widget"])
    synced: list[str] = []

    def watch(ws) -> None:
        ws.on(
            "framesent",
            lambda payload: synced.append(payload) if '"sync"' in str(payload) else None,
        )

    host.on("websocket", watch)
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    bubbles = frame.locator("[data-testid=message]")
    expect(bubbles).to_have_count(PAGE, timeout=WAIT)
    assert bubbles.all_inner_texts() == texts("widget", COUNT - PAGE + 1, COUNT)

    log = frame.locator("#log")
    log.evaluate("l => { l.scrollTop = 0; }")
    expect(bubbles).to_have_count(2 * PAGE, timeout=WAIT)
    assert log.evaluate("l => l.scrollTop") > 0  # the reader's place kept, not thrown to the top
    host.screenshot(path=str(ARTIFACTS / "widget-history-pages.png"))
    log.evaluate("l => { l.scrollTop = 0; }")
    expect(bubbles).to_have_count(COUNT, timeout=WAIT)
    assert bubbles.all_inner_texts() == texts("widget", 1, COUNT)
    # The widget's own frame page moved from the newest page back, a page at a time.
    frames = [f for f in synced if '"before_seq"' in f]
    assert len(frames) == 3 and all(f'"limit":{PAGE}' in f for f in frames)
    ctx.close()
