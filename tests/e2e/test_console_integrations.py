"""The console's Integrations section in headless Chromium against the real hub: an API
token shown once, used, then revoked; a webhook refused for a bad URL, then added for a
real receiver (a stdlib HTTP server on a free port: loopback, so this hub allows private
targets), disabled by the hub after it kept failing, enabled again and a delivery resent
from the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, sign_in

pytestmark = pytest.mark.browser

TIMEOUT = 20_000
HUB_ENV = {
    "HUB_WEBHOOK_ALLOW_PRIVATE": "true",
    "HUB_WEBHOOK_MAX_ATTEMPTS": "1",
    "HUB_WEBHOOK_POLL_SECONDS": "0.1",
}


class Receiver:
    def __init__(self) -> None:
        self.status = 500
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()

    def wait_for(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.bodies) >= count, timeout=20)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.arrived:
                state.bodies.append((dict(self.headers), body))
                state.arrived.notify_all()
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def status_of(url: str, path: str, token: str) -> int:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def open_integrations(browser: Any, url: str) -> Any:
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    sign_in(page, url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{url}/agent/console#integrations")
    page.locator("#section[data-section='integrations']").wait_for()
    return page


def test_api_token_is_shown_once_used_and_revoked(hub_url: str, browser: Any) -> None:
    page = open_integrations(browser, hub_url)
    page.get_by_test_id("api-token-name").fill("CRM sync")
    page.get_by_test_id("api-token-add").click()
    token = page.get_by_test_id("api-token-value").input_value()
    assert token.startswith("hubk_")
    item = page.get_by_test_id("api-token-item").filter(has_text="CRM sync")
    item.filter(has_text="never used").wait_for()
    assert status_of(hub_url, "/api/v1/contacts", token) == 200

    page.reload()
    page.locator("#section[data-section='integrations']").wait_for()
    assert page.get_by_test_id("api-token-value").count() == 0  # shown once
    item.filter(has_text="last used").wait_for()
    revoke = item.get_by_test_id("api-token-revoke")
    revoke.click()
    revoke.click()  # the second click confirms
    page.get_by_test_id("api-token-item").filter(has_text="CRM sync").wait_for(state="detached")
    assert status_of(hub_url, "/api/v1/contacts", token) == 401
    assert page.js_errors == []


def test_webhook_is_added_disabled_by_failures_and_resent(
    hub_url: str, browser: Any, receiver: tuple[Receiver, str]
) -> None:
    state, receiver_url = receiver
    page = open_integrations(browser, hub_url)
    page.get_by_test_id("webhook-url").fill("ftp://example.com/events")
    page.get_by_test_id("webhook-add").click()
    error = page.locator("[data-testid=webhook-status][data-kind=error]")
    error.wait_for()
    assert "public address" in error.inner_text() or "http" in error.inner_text()

    page.get_by_test_id("webhook-url").fill(receiver_url)
    secret = page.get_by_test_id("webhook-secret").input_value()
    page.get_by_test_id("webhook-event-contact.updated").uncheck()
    page.get_by_test_id("webhook-add").click()
    hook = page.get_by_test_id("webhook-item").filter(has_text=receiver_url)
    hook.wait_for()
    assert "contact.updated" not in hook.inner_text()

    # A visitor's first message: conversation.created and message.created, both refused.
    visitor = browser.new_context(locale="en-US").new_page()
    visitor.goto(hub_url + "/")
    visitor.get_by_test_id("hub-launcher").click()
    frame = visitor.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("hello integrations")
    frame.get_by_test_id("composer-send").click()
    state.wait_for(1)
    headers, body = state.bodies[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == expected
    assert json.loads(body)["tenant"] == "default"

    # The hub gives up after one failed attempt (HUB_WEBHOOK_MAX_ATTEMPTS) and says why.
    page.reload()
    disabled = page.locator("[data-testid=webhook-state][data-state=disabled]")
    for _ in range(50):
        if disabled.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    assert "HTTP 500" in disabled.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "console-integrations.png"), full_page=True)

    state.status = 200
    hook = page.get_by_test_id("webhook-item").filter(has_text=receiver_url)
    hook.get_by_test_id("webhook-toggle").click()
    hook.locator("[data-testid=webhook-state][data-state=enabled]").wait_for()
    hook.get_by_test_id("webhook-show-log").click()
    failed = hook.locator("[data-testid=webhook-delivery][data-status=failed]").first
    failed.wait_for()
    count = len(state.bodies)
    failed.get_by_test_id("webhook-resend").click()
    state.wait_for(count + 1)
    delivered = hook.locator("[data-testid=webhook-delivery][data-status=delivered]")
    for _ in range(50):
        if delivered.count():
            break
        hook.get_by_test_id("webhook-log-refresh").click()
        page.wait_for_timeout(100)
    assert delivered.count() >= 1
    assert page.js_errors == []
