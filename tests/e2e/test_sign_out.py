"""One rule for a sign-in the hub no longer accepts, in the inbox and the console alike: sign
out and show the login, saying why."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 30_000
STALE = """([me]) => {
  localStorage.setItem("hub:agent-token", "not-a-token-the-hub-signed");
  localStorage.setItem("hub:agent-token:me", me);
}"""
ME = json.dumps({"id": "a1", "name": "Gone", "email": "gone@example.com", "roles": ["admin"]})


@pytest.mark.parametrize("start", ["/agent/", "/agent/console"])
def test_a_refused_token_signs_out_and_shows_the_login(hub_url: str, browser, start: str) -> None:
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    page.goto(hub_url + "/agent/")
    page.evaluate(STALE, [ME])
    page.goto(hub_url + start)
    page.wait_for_url(hub_url + "/agent/")
    expect(page.get_by_test_id("login-submit")).to_be_visible(timeout=WAIT)
    expect(page.locator("#loginError")).to_have_text("You were signed out. Please sign in again.")
    assert page.evaluate("localStorage.getItem('hub:agent-token')") is None
    ctx.close()
