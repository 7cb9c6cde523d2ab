"""Channel accounts in the browser, end to end in headless Chromium against the real hub: the
console's Channels section (add an email account, its live status, edit keeping the password,
errors next to their field, disable and enable, delete), the inbox's email composer (subject
and cc), a new email from the contact panel, and merging two contacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, call, sign_in
from tests.e2e.test_console import admin_token, open_console, open_page
from tests.peers import Dovecot, dovecot_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with dovecot_server() as server:
        yield server


def mailbox(imap_port: int, password: str) -> dict[str, Any]:
    """What the admin types: the IMAP side at `imap_port`, SMTP where nothing listens."""
    return {
        "imap_host": "127.0.0.1",
        "imap_port": str(imap_port),
        "imap_security": "none",
        "imap_user": "hub",
        "imap_password": password,
        "smtp_host": "127.0.0.1",
        "smtp_port": str(free_port()),
        "smtp_security": "none",
        "from_address": "support@example.com",
    }


def fill_account(page, name: str, values: dict[str, Any]) -> None:
    form = page.get_by_test_id("channel-form")
    form.get_by_test_id("channel-name-input").fill(name)
    for key, value in values.items():
        control = form.get_by_test_id(f"channel-field-{key}")
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def account_named(url: str, name: str) -> dict[str, Any]:
    items = call(url, "GET", "/api/v1/channels", token=admin_token(url))["items"]
    return next(a for a in items if a["name"] == name)


def test_console_manages_an_email_account(hub_url: str, browser, dovecot: Dovecot) -> None:
    admin = open_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "channels")
    admin.get_by_test_id("channels-empty").wait_for()

    # Added with the real mailbox's password: the connection comes up, shown live.
    admin.get_by_test_id("channel-new").click()
    assert admin.get_by_test_id("channel-type-select").input_value() == "email"
    assert admin.get_by_test_id("channel-field-imap_password").get_attribute("type") == "password"
    fill_account(admin, "Support mailbox", mailbox(dovecot.port, dovecot.password))
    admin.get_by_test_id("channel-save").click()
    admin.get_by_test_id("channel-saved").wait_for()
    row = admin.locator("[data-testid=channel-row]", has_text="Support mailbox")
    expect(row).to_have_attribute("data-status", "ok", timeout=TIMEOUT)
    expect(row.get_by_test_id("channel-status")).to_have_text("Connected")
    expect(row.get_by_test_id("channel-type")).to_have_text("Email")
    # Email has no address for a platform to call: no inbound section.
    expect(row.get_by_test_id("channel-inbound")).to_have_count(0)
    stored = account_named(hub_url, "Support mailbox")
    assert stored["config"]["imap_password"] == "***"
    assert stored["config"]["imap_port"] == dovecot.port  # typed text, sent as a number

    # Edited without typing the password again: the rebuilt connection still signs in.
    row.get_by_test_id("channel-edit").click()
    password = admin.get_by_test_id("channel-field-imap_password")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", re.compile("Unchanged"))
    admin.get_by_test_id("channel-form").locator("details.advanced > summary").click()
    admin.get_by_test_id("channel-field-imap_poll_seconds").fill("30")
    admin.get_by_test_id("channel-field-imap_idle").uncheck()
    admin.get_by_test_id("channel-save").click()
    admin.get_by_test_id("channel-saved").wait_for()
    changed = account_named(hub_url, "Support mailbox")
    assert changed["config"]["imap_poll_seconds"] == 30
    assert changed["config"]["imap_idle"] is False
    assert changed["config"]["imap_password"] == "***"
    expect(row).to_have_attribute("data-status", "ok", timeout=TIMEOUT)

    # A port out of range: the hub's error stands next to that field, nothing is saved.
    admin.get_by_test_id("channel-new").click()
    fill_account(admin, "Broken mailbox", {**mailbox(free_port(), "pw"), "smtp_port": "70000"})
    admin.get_by_test_id("channel-save").click()
    error = admin.locator("[data-testid=channel-field-error][data-key=smtp_port]")
    expect(error).to_have_text(re.compile("1 to 65535"))
    expect(admin.get_by_test_id("channel-field-smtp_port")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(admin.locator("[data-testid=channel-field-error][data-key=imap_port]")).to_have_text("")
    expect(admin.get_by_test_id("channel-form-error")).to_have_text(re.compile("SMTP port"))
    assert all(
        a["name"] != "Broken mailbox"
        for a in call(hub_url, "GET", "/api/v1/channels", token=admin_token(hub_url))["items"]
    )

    # Corrected: a mailbox nobody answers at shows its error and the reason.
    admin.get_by_test_id("channel-field-smtp_port").fill(str(free_port()))
    admin.get_by_test_id("channel-save").click()
    broken = admin.locator("[data-testid=channel-row]", has_text="Broken mailbox")
    expect(broken).to_have_attribute("data-status", "error", timeout=TIMEOUT)
    expect(broken.get_by_test_id("channel-last-error")).not_to_be_empty()
    admin.screenshot(path=str(SCREENSHOTS / "console-channels.png"), full_page=True)

    # Disabled and enabled again from its row; a change made elsewhere shows up live.
    broken.get_by_test_id("channel-toggle").click()
    expect(broken).to_have_attribute("data-status", "disabled")
    assert account_named(hub_url, "Broken mailbox")["enabled"] is False
    broken.get_by_test_id("channel-toggle").click()
    expect(broken).to_have_attribute("data-status", re.compile("connecting|error"))
    assert account_named(hub_url, "Broken mailbox")["enabled"] is True
    broken_id = account_named(hub_url, "Broken mailbox")["id"]
    call(
        hub_url,
        "PATCH",
        f"/api/v1/channels/{broken_id}",
        {"name": "Old mailbox"},
        token=admin_token(hub_url),
    )
    old = admin.locator(f"[data-testid=channel-row][data-channel-id='{broken_id}']")
    expect(old.get_by_test_id("channel-name")).to_have_text("Old mailbox")

    # Deleted after a second click.
    old.get_by_test_id("channel-delete").click()
    old.get_by_test_id("channel-delete").click()
    expect(old).to_have_count(0)
    assert [
        a["name"]
        for a in call(hub_url, "GET", "/api/v1/channels", token=admin_token(hub_url))["items"]
    ] == ["Support mailbox"]
    assert admin.js_errors == []


def test_channels_section_in_chinese(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin.goto(f"{hub_url}/agent/console?lang=zh#channels")
    admin.locator("#section[data-section=channels]").wait_for()
    expect(admin.get_by_test_id("console-nav-channels")).to_have_text("渠道接入")
    admin.get_by_test_id("channel-new").click()
    expect(admin.get_by_test_id("channel-form")).to_contain_text("IMAP 服务器")
    assert admin.js_errors == []
