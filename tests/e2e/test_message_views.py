"""The email view, delivery states and retry, and the channel badges, in headless Chromium
against the real hub: a real mail delivered through Dovecot becomes the conversation shown,
and the agent's replies go out through the outbox to a real SMTP server (aiosmtpd), which
refuses one of them for the inbox to show the reason and the retry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ARTIFACTS,
    SCREENSHOTS,
    call,
    rest,
    sign_in,
    static_version,
)
from tests.peers import Dovecot, SmtpServer, dovecot_server, smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 30_000
QUOTED = "On Monday, Shop wrote:\n> Your order 4711 has shipped."
HTML = (
    "<p>Hello, the <b>blue</b> one please.</p>"
    "<script>parent.document.title = 'ran'</script>"
    "<img src=x onerror=\"parent.document.title='ran'\">"
)


@pytest.fixture(scope="module")
def mail_peers() -> Iterator[tuple[Dovecot, SmtpServer]]:
    with dovecot_server() as dovecot, smtp_server() as smtp:
        yield dovecot, smtp


@pytest.fixture(scope="module")
def token(hub_url: str) -> str:
    return rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
        "token"
    ]


@pytest.fixture(scope="module")
def mailbox(hub_url: str, token: str, mail_peers: tuple[Dovecot, SmtpServer]) -> dict[str, Any]:
    dovecot, smtp = mail_peers
    config = dovecot.account(smtp_port=smtp.port)
    return call(
        hub_url,
        "POST",
        "/api/v1/channels",
        {"type": "email", "name": "Shop", "config": config},
        token,
    )


def customer_mail() -> bytes:
    """What a customer's mail program sends: text and HTML, a quote, people in Cc, a PDF."""
    mail = EmailMessage()
    mail["From"] = "Wang Fang <fang@example.com>"
    mail["To"] = "support@example.com"
    mail["Cc"] = "Li Lei <lei@example.com>, boss@example.com"
    mail["Subject"] = "Order 4711: colour"
    mail["Message-ID"] = "<a1@example.com>"
    mail.set_content(f"Hello, the blue one please.\n\n{QUOTED}\n")
    mail.add_alternative(HTML, subtype="html")
    mail.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    return bytes(mail)


def conversation_from(url: str, token: str, subject: str) -> dict[str, Any]:
    """The email conversation the hub made of the mail, once its IMAP reader took it."""
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        items = call(url, "GET", "/api/v1/conversations?channel=email&limit=50", token=token)
        for conversation in items["items"]:
            if conversation.get("meta", {}).get("subject") == subject:
                return conversation
        time.sleep(0.2)  # polling the hub's REST list: the test has no event to wait on here
    raise AssertionError(f"no email conversation with the subject {subject!r}: {items}")


def test_email_view_delivery_states_retry_and_badges(
    hub_url: str, browser, token: str, mail_peers: tuple[Dovecot, SmtpServer], mailbox: dict
) -> None:
    dovecot, smtp = mail_peers
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    # Playwright's sync API holds this thread's loop: the IMAP APPEND runs on a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, dovecot.append(customer_mail())).result()
    conversation = conversation_from(hub_url, token, "Order 4711: colour")
    page.goto(f"{hub_url}/agent/#conversation={conversation['id']}")

    first = page.locator("[data-testid=message][data-sender-type=contact]").first
    expect(first.get_by_test_id("email-subject")).to_have_text("Order 4711: colour", timeout=WAIT)
    expect(first.get_by_test_id("email-from")).to_have_text("Wang Fang <fang@example.com>")
    expect(first.get_by_test_id("email-to")).to_have_text("support@example.com")
    expect(first.get_by_test_id("email-cc")).to_have_text(
        "Li Lei <lei@example.com>, boss@example.com"
    )
    expect(first.get_by_test_id("message-file")).to_contain_text("invoice.pdf")
    quoted = first.get_by_test_id("email-quoted")
    expect(quoted.locator(".quoted-text")).to_be_hidden()  # collapsed
    quoted.locator("summary").click()
    expect(quoted.locator(".quoted-text")).to_contain_text("Your order 4711 has shipped.")
    # HTML mail in a sandbox: shown, never run.
    html = first.get_by_test_id("email-html")
    if html.count():
        assert "allow-scripts" not in (html.get_attribute("sandbox") or "").split()
    expect(page.locator(".pane .bar [data-testid=channel-badge]")).to_have_attribute(
        "data-channel", "email"
    )
    # The list shows the subject as the preview.
    item = page.locator(
        f"[data-testid=conversation-item][data-conversation-id='{conversation['id']}']"
    )
    expect(item.get_by_test_id("conversation-preview")).to_have_text("Order 4711: colour")

    def reply(text: str) -> Any:
        page.get_by_test_id("composer-input").fill(text)
        page.get_by_test_id("composer-send").click()
        bubble = page.locator("[data-testid=message][data-sender-type=agent]", has_text=text)
        bubble.wait_for(timeout=WAIT)
        return bubble

    # Through the outbox to the SMTP server: sent, shown as such.
    expect(page.get_by_test_id("contact-email")).to_have_value("fang@example.com")
    sent = reply("Noted, blue it is.")
    # Stored with the subject it goes out with, not "(no subject)".
    expect(sent.get_by_test_id("email-subject")).to_have_text("Re: Order 4711: colour")
    expect(sent.get_by_test_id("message-delivery")).to_have_attribute(
        "data-status", "sent", timeout=WAIT
    )
    expect(sent.get_by_test_id("message-retry")).to_have_count(0)
    assert [e.rcpt_tos for e in smtp.received] == [["fang@example.com"]]

    # The server refuses the recipient: failed, with the server's reason, and a retry.
    smtp.reject["RCPT"] = "550 5.1.1 user unknown"
    refused = reply("Tracking number 7741")
    state = refused.get_by_test_id("message-delivery")
    expect(state).to_have_attribute("data-status", "failed", timeout=WAIT)
    expect(refused.get_by_test_id("message-delivery-error")).to_contain_text("user unknown")
    page.screenshot(path=str(SCREENSHOTS / "inbox-email.png"))
    page.screenshot(path=str(ARTIFACTS / "inbox-delivery-failed.png"))
    retry = refused.get_by_test_id("message-retry")
    expect(retry).to_be_visible()

    # Fixed on the mail server's side; the agent sends it again by hand.
    del smtp.reject["RCPT"]
    retry.click()
    expect(state).to_have_attribute("data-status", "sent", timeout=WAIT)
    expect(refused.get_by_test_id("message-retry")).to_have_count(0)
    assert len(smtp.received) == 2
    assert b"Tracking number 7741" in smtp.received[-1].original_content
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
    expect(page.locator("[data-testid=message][data-sender-type=contact] dt").first).to_have_text(
        "发件人"
    )
    ctx.close()
