"""Online visitors and invitations end to end in headless Chromium: the loader on a foreign
host page reports its page views, the agent sees the visitor in the inbox's online list and
invites them, the pop-up on the host page is refused, then accepted into a chat."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, call, rest, sign_in

pytestmark = pytest.mark.browser

WAIT = 30_000  # ms: the machine is shared and slow


def host_page(hub_url: str, title: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1><a href='/cart' data-testid=next>Cart</a>"
        f"<script src='{hub_url}/widget.js' data-tenant='default' async></script></body></html>"
    ).encode()


@contextmanager
def customer_site(hub_url: str) -> Iterator[str]:
    """A customer's site on another origin (localhost and another port: another site than
    the hub's 127.0.0.1), embedding the loader with its one line."""
    titles = {"/backpack": "Trail backpack 40L", "/cart": "Your cart"}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = host_page(hub_url, titles.get(self.path, "Shop"))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_invitation_pop_up_on_a_foreign_site_and_the_online_list(
    hub_url: str, browser: Any
) -> None:
    admin_token = rest(
        hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )["token"]
    call(
        hub_url,
        "PUT",
        "/api/v1/settings/invitation",
        {"title": "Acme help", "color": "#0f766e"},
        admin_token,
    )
    agent_ctx = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 800})
    inbox = agent_ctx.new_page()
    sign_in(inbox, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    site = ExitStack()
    shop = site.enter_context(customer_site(hub_url))
    shop_ctx = browser.new_context(locale="en-US")
    host = shop_ctx.new_page()
    try:
        host.goto(f"{shop}/backpack")
        inbox.get_by_test_id("nav-visitors").click()
        first = inbox.get_by_test_id("visitor-row").filter(has_text="Trail backpack")
        expect(first).to_be_visible(timeout=WAIT)
        host.get_by_test_id("next").click()  # a second page view, on the next page
        host.wait_for_url(f"{shop}/cart")
        row = inbox.get_by_test_id("visitor-row").filter(has_text="Your cart")
        expect(row).to_be_visible(timeout=WAIT)
        expect(row).to_contain_text("127.0.0.1")
        expect(inbox.get_by_test_id("nav-visitors")).to_have_text("Visitors 1", timeout=WAIT)

        # First invitation: refused, and counted on the row.
        row.get_by_test_id("visitor-invite").click()
        popup = host.get_by_test_id("hub-invitation")
        expect(popup).to_be_visible(timeout=WAIT)
        expect(popup).to_contain_text("Acme help")
        popup.get_by_test_id("hub-invitation-refuse").click()
        expect(popup).to_be_hidden()
        expect(inbox.get_by_test_id("inbox-notice")).to_contain_text("declined", timeout=WAIT)
        expect(row.get_by_test_id("visitor-invites")).to_have_text("1 / 1", timeout=WAIT)

        # Second invitation: accepted, the chat opens with the agent's words.
        row.get_by_test_id("visitor-invite").click()
        expect(popup).to_be_visible(timeout=WAIT)
        inbox.screenshot(path=str(SCREENSHOTS / "inbox-online-visitors.png"))
        host.screenshot(path=str(SCREENSHOTS / "widget-invitation.png"))
        popup.get_by_test_id("hub-invitation-accept").click()
        frame = host.frame_locator("[data-testid=hub-frame]")
        expect(frame.get_by_test_id("message").first).to_contain_text(
            "Can we help you", timeout=WAIT
        )
        expect(inbox.get_by_test_id("inbox-notice")).to_contain_text("accepted", timeout=WAIT)
        # The visitor's reply reaches the inviting agent's inbox.
        frame.get_by_test_id("composer-input").fill("Is it waterproof?")
        frame.get_by_test_id("composer-input").press("Enter")
        inbox.get_by_test_id("visitors-back").click()
        expect(inbox.get_by_text("Is it waterproof?").first).to_be_visible(timeout=WAIT)
    finally:
        shop_ctx.close()
        agent_ctx.close()
        site.close()


def test_console_sets_auto_invite_rules_and_the_monitor_counts_visitors(
    hub_url: str, browser: Any
) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 900})
    console = ctx.new_page()
    sign_in(console, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    console.goto(hub_url + "/agent/console#invitation")
    console.get_by_test_id("invitation-auto-enabled").check()
    console.get_by_test_id("invitation-auto-urls").fill("*/backpack*")
    console.get_by_test_id("invitation-auto-text").fill("Going hiking? Ask us.")
    console.get_by_test_id("invitation-save").click()
    expect(console.get_by_test_id("invitation-status")).to_have_attribute(
        "data-kind", "ok", timeout=WAIT
    )
    site = ExitStack()
    shop = site.enter_context(customer_site(hub_url))
    shop_ctx = browser.new_context(locale="zh-CN")
    host = shop_ctx.new_page()
    try:
        host.goto(f"{shop}/backpack")
        popup = host.get_by_test_id("hub-invitation")
        expect(popup).to_contain_text("Going hiking? Ask us.", timeout=WAIT)
        expect(popup.get_by_test_id("hub-invitation-refuse")).to_have_text("以后再说")
        popup.get_by_test_id("hub-invitation-refuse").click()
        console.goto(hub_url + "/agent/console#monitor")
        expect(console.get_by_test_id("monitor-visitors-online")).not_to_have_text(
            "0", timeout=WAIT
        )
        expect(console.get_by_test_id("monitor-auto-invited")).not_to_have_text("0", timeout=WAIT)
        expect(console.get_by_test_id("monitor-workbench-row").first).to_be_visible()
        console.screenshot(path=str(SCREENSHOTS / "console-monitor-visitors.png"), full_page=True)
    finally:
        call(
            hub_url,
            "PUT",
            "/api/v1/settings/invitation",
            {"auto": {"enabled": False}},
            rest(hub_url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
                "token"
            ],
        )
        shop_ctx.close()
        ctx.close()
        site.close()
