"""Files, quick replies and transfer between agents, end to end in headless Chromium."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, rest, sign_in

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5f1e0d80000000049454e44ae426082"
)


def test_files_quick_reply_and_transfer(hub_url: str, browser, tmp_path) -> None:
    admin = rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    token = admin["token"]
    rest(
        hub_url,
        "/api/v1/agents",
        {"name": "Lily", "email": "lily@example.com", "password": "lily-password"},
        token,
    )
    req = urllib.request.Request(
        hub_url + "/api/v1/quick-replies",
        method="PUT",
        data=json.dumps(
            {"items": [{"title": "shipping", "text": "Orders ship within 24 hours."}]}
        ).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    urllib.request.urlopen(req, timeout=10).close()

    visitor_ctx = browser.new_context(locale="en-US")
    host = visitor_ctx.new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Where is my parcel?")
    frame.get_by_test_id("composer-send").click()

    agent_ctx = browser.new_context(locale="en-US")
    agent = agent_ctx.new_page()
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    agent.get_by_test_id("conversation-item").first.click()
    agent.locator("[data-testid=message]", has_text="Where is my parcel?").wait_for()

    # Quick reply with the "/" shortcut.
    agent.get_by_test_id("composer-input").press_sequentially("/ship")
    agent.get_by_test_id("quick-reply-item").first.click()
    agent.get_by_test_id("composer-send").click()
    frame.locator(
        "[data-testid=message][data-sender-type=agent]", has_text="Orders ship within 24 hours."
    ).wait_for()

    # Visitor uploads an image: the agent sees a thumbnail.
    image = tmp_path / "photo.png"
    image.write_bytes(PNG)
    frame.get_by_test_id("composer-file").set_input_files(str(image))
    agent.locator("[data-testid=message][data-sender-type=contact] img.thumb").wait_for()
    # Agent sends a file: the visitor gets a download link.
    doc = tmp_path / "invoice.txt"
    doc.write_text("invoice 42")
    agent.get_by_test_id("composer-file").set_input_files(str(doc))
    frame.locator(
        "[data-testid=message][data-sender-type=agent] a.file", has_text="invoice.txt"
    ).wait_for()

    # Contact edit from the panel.
    agent.get_by_test_id("contact-name").fill("Zhang Wei")
    agent.get_by_test_id("contact-phone").fill("13900000000")
    agent.get_by_test_id("contact-save").click()
    agent.get_by_test_id("conversation-item").filter(has_text="Zhang Wei").wait_for()

    # A private note stays with the agents.
    agent.get_by_test_id("composer-note").check()
    agent.get_by_test_id("composer-input").fill("internal: check warehouse")
    agent.get_by_test_id("composer-send").click()
    agent.locator("[data-testid=message].note", has_text="internal: check warehouse").wait_for()
    agent.get_by_test_id("composer-note").uncheck()
    agent.get_by_test_id("composer-input").fill("One moment please")
    agent.get_by_test_id("composer-send").click()
    frame.locator("[data-testid=message]", has_text="One moment please").wait_for()
    assert frame.locator("[data-testid=message]", has_text="internal").count() == 0

    # Transfer to Lily with a note.
    lily_ctx = browser.new_context(locale="en-US")
    lily = lily_ctx.new_page()
    sign_in(lily, hub_url, "lily@example.com", "lily-password", ready=True)
    agent.get_by_test_id("conversation-transfer").click()
    agent.get_by_test_id("transfer-agent").select_option(label="Lily <lily@example.com>")
    agent.get_by_test_id("transfer-note").fill("VIP customer")
    agent.get_by_test_id("transfer-submit").click()
    lily.get_by_test_id("conversation-item").first.wait_for()
    frame.get_by_test_id("conversation-status").filter(
        has_text=re.compile("Lily is serving you")
    ).wait_for()
    for ctx in (visitor_ctx, agent_ctx, lily_ctx):
        ctx.close()


def test_leave_a_message_when_no_agent(hub_url: str, browser) -> None:
    ctx = browser.new_context(locale="en-US")
    host = ctx.new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Anyone there?")
    frame.get_by_test_id("composer-send").click()
    form = frame.get_by_test_id("leave-message-form")
    form.wait_for()
    frame.get_by_test_id("leave-name").fill("Wang Fang")
    frame.get_by_test_id("leave-phone").fill("13800000000")
    frame.get_by_test_id("leave-text").fill("Please call me about <b>order</b> 42")
    frame.get_by_test_id("leave-submit").click()
    frame.get_by_text("Thanks! We will contact you soon.").wait_for()

    agent_ctx = browser.new_context(locale="en-US")
    agent = agent_ctx.new_page()
    agent.goto(hub_url + "/agent/")
    agent.get_by_test_id("login-email").fill(ADMIN_EMAIL)
    agent.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    agent.get_by_test_id("login-submit").click()
    left = agent.get_by_test_id("left-message").filter(has_text="Wang Fang")
    left.wait_for()
    assert "Please call me about <b>order</b> 42" in left.inner_text()
    ctx.close()
    agent_ctx.close()
