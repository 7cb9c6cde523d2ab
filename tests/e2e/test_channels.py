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
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ARTIFACTS, SCREENSHOTS, call, sign_in
from tests.e2e.test_console import (
    admin_token,
    newest_conversation,
    open_console,
    open_page,
    visitor_says,
)
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


def add_mailbox(url: str, dovecot: Dovecot, name: str) -> dict[str, Any]:
    """An email account on the real Dovecot (its SMTP side refuses: replies wait as pending)."""
    return call(
        url,
        "POST",
        "/api/v1/channels",
        {"type": "email", "name": name, "config": dovecot.account(smtp_port=free_port())},
        token=admin_token(url),
    )


def messages_of(url: str, conversation_id: str) -> list[dict[str, Any]]:
    path = f"/api/v1/conversations/{conversation_id}/messages"
    return call(url, "GET", path, token=admin_token(url))["items"]


def web_contact(browser, url: str, text: str, **details: str) -> tuple[Any, dict[str, Any]]:
    """A web visitor who wrote `text`, with the contact details an agent filled in."""
    page = visitor_says(browser, url, text)
    conversation = newest_conversation(url, text)
    contact_id = conversation["contact_id"]
    call(url, "PATCH", f"/api/v1/contacts/{contact_id}", details, token=admin_token(url))
    return page, conversation


def open_conversation(page, url: str, conversation_id: str) -> None:
    page.goto(f"{url}/agent/#conversation={conversation_id}")
    page.locator("[data-testid=contact-title]").wait_for()
    expect(
        page.locator(f"[data-testid=message][data-conversation-id='{conversation_id}']").first
    ).to_be_visible()


def test_email_reply_carries_subject_and_cc(hub_url: str, browser, dovecot: Dovecot) -> None:
    account = add_mailbox(hub_url, dovecot, "Orders mailbox")
    started = call(
        hub_url,
        "POST",
        "/api/v1/conversations",
        {
            "channel_id": account["id"],
            "to": "li@example.com",
            "subject": "Your order",
            "text": "Hi Li",
        },
        token=admin_token(hub_url),
    )
    conversation_id = started["conversation"]["id"]
    admin = open_page(browser, viewport={"width": 1280, "height": 860})
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_conversation(admin, hub_url, conversation_id)
    subject = admin.get_by_test_id("composer-subject")
    expect(subject).to_have_attribute("placeholder", "Re: Your order")

    # A bad Cc is refused with its reason; the reply's text stays to be corrected.
    admin.get_by_test_id("composer-cc").fill("not-an-address")
    admin.get_by_test_id("composer-input").fill("The parcel left today.")
    admin.get_by_test_id("composer-send").click()
    expect(admin.get_by_test_id("composer-error")).to_have_text(re.compile("Cc"))
    expect(admin.get_by_test_id("composer-input")).to_have_value("The parcel left today.")
    assert len(messages_of(hub_url, conversation_id)) == 1

    subject.fill("Your order has shipped")
    admin.get_by_test_id("composer-cc").fill("Boss@Example.com, warehouse@example.com")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(SCREENSHOTS / "inbox-email-reply.png"))
    admin.get_by_test_id("composer-send").click()
    admin.locator("[data-testid=message]", has_text="The parcel left today.").wait_for()
    expect(admin.get_by_test_id("composer-error")).to_have_text("")
    reply = messages_of(hub_url, conversation_id)[-1]
    assert reply["text"] == "The parcel left today."
    assert reply["meta"]["subject"] == "Your order has shipped"
    assert [a["email"] for a in reply["meta"]["cc"]] == [
        "boss@example.com",
        "warehouse@example.com",
    ]
    # Sent: the next reply starts from the thread's default again.
    expect(subject).to_have_value("")
    expect(admin.get_by_test_id("composer-cc")).to_have_value("")

    # A private note carries neither.
    admin.get_by_test_id("composer-note").check()
    expect(admin.get_by_test_id("composer-email")).to_be_hidden()
    admin.get_by_test_id("composer-input").fill("Customer prefers mornings")
    admin.get_by_test_id("composer-send").click()
    admin.locator("[data-testid=message]", has_text="Customer prefers mornings").wait_for()
    note = messages_of(hub_url, conversation_id)[-1]
    assert note["type"] == "note" and "subject" not in (note["meta"] or {})
    assert admin.js_errors == []
    admin.context.close()


def test_new_email_from_the_contact_panel(hub_url: str, browser, dovecot: Dovecot) -> None:
    account = add_mailbox(hub_url, dovecot, "Service mailbox")
    admin = open_page(browser, viewport={"width": 1280, "height": 860})
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    visitor, chat = web_contact(
        browser, hub_url, "Please email me the invoice", name="Chen Jing", email="jing@example.com"
    )
    open_conversation(admin, hub_url, chat["id"])
    # Web chat has no subject or cc.
    expect(admin.get_by_test_id("composer-email")).to_have_count(0)

    admin.get_by_test_id("contact-new-email").click()
    dialog = admin.get_by_test_id("new-email-dialog")
    expect(dialog.get_by_test_id("new-email-to")).to_have_value("jing@example.com")
    dialog.get_by_test_id("new-email-account").select_option(label="Service mailbox")
    dialog.get_by_test_id("new-email-subject").fill("Invoice 2026-031")
    dialog.get_by_test_id("new-email-text").fill("Dear Ms Chen, the invoice is attached.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "inbox-new-email.png"))
    dialog.get_by_test_id("new-email-send").click()
    expect(dialog).to_have_count(0)

    # The new thread is open, assigned to the agent, with the mail as its first message.
    admin.wait_for_url(re.compile(r"#conversation=(?!" + chat["id"] + ")"))
    conversation_id = admin.url.split("#conversation=")[1]
    shown = admin.locator(f"[data-testid=message][data-conversation-id='{conversation_id}']")
    expect(shown.first).to_contain_text("the invoice is attached")
    expect(admin.get_by_test_id("composer-subject")).to_have_attribute(
        "placeholder", "Re: Invoice 2026-031"
    )
    conversation = call(
        hub_url, "GET", f"/api/v1/conversations/{conversation_id}", token=admin_token(hub_url)
    )
    assert conversation["channel"] == "email" and conversation["channel_id"] == account["id"]
    assert (
        conversation["status"] == "assigned"
        and conversation["meta"]["subject"] == "Invoice 2026-031"
    )
    (mail,) = messages_of(hub_url, conversation_id)
    assert mail["text"] == "Dear Ms Chen, the invoice is attached."
    assert mail["meta"]["subject"] == "Invoice 2026-031"
    assert admin.js_errors == []
    for page in (admin, visitor):
        page.context.close()


def test_merge_contacts_from_the_contact_panel(hub_url: str, browser, dovecot: Dovecot) -> None:
    account = add_mailbox(hub_url, dovecot, "Merge mailbox")
    admin = open_page(browser, viewport={"width": 1280, "height": 860})
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    web, chat = web_contact(browser, hub_url, "I wrote by email too", name="Zhang Wei")
    started = call(
        hub_url,
        "POST",
        "/api/v1/conversations",
        {
            "channel_id": account["id"],
            "to": "wei@example.com",
            "text": "Hello Mr Zhang",
            "name": "Z. Wei",
        },
        token=admin_token(hub_url),
    )
    mail_contact = started["conversation"]["contact_id"]
    open_conversation(admin, hub_url, started["conversation"]["id"])

    admin.get_by_test_id("contact-merge").click()
    dialog = admin.get_by_test_id("merge-dialog")
    expect(dialog.get_by_test_id("merge-submit")).to_be_disabled()
    dialog.get_by_test_id("merge-search").fill("zhang wei")
    candidate = dialog.locator(
        f"[data-testid=merge-candidate][data-contact-id='{chat['contact_id']}']"
    )
    candidate.click()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "inbox-merge.png"))
    expect(dialog.get_by_test_id("merge-candidate")).to_have_count(1)
    expect(dialog.get_by_test_id("merge-confirm")).to_contain_text(
        "Zhang Wei will be merged into Z. Wei"
    )
    dialog.get_by_test_id("merge-submit").click()
    expect(dialog).to_have_count(0)
    expect(admin.get_by_test_id("contact-merge-done")).to_have_text(
        "Merged Zhang Wei into this contact."
    )
    expect(
        admin.locator(f"[data-testid=contact-merged-from][data-contact-id='{chat['contact_id']}']")
    ).to_be_visible()
    kept = call(hub_url, "GET", f"/api/v1/contacts/{mail_contact}", token=admin_token(hub_url))
    assert {i["channel"] for i in kept["identities"]} == {"email", "webim"}
    gone = call(
        hub_url, "GET", f"/api/v1/contacts/{chat['contact_id']}", token=admin_token(hub_url)
    )
    assert gone["merged_into"] == mail_contact

    # Two web visitors, each with an open chat: the hub refuses, and the dialog says why.
    first, one = web_contact(browser, hub_url, "First visitor here", name="Liu Yang")
    second, two = web_contact(browser, hub_url, "Second visitor here", name="Liu Yang (phone)")
    open_conversation(admin, hub_url, one["id"])
    admin.get_by_test_id("contact-merge").click()
    dialog = admin.get_by_test_id("merge-dialog")
    dialog.get_by_test_id("merge-search").fill("phone")
    dialog.locator(f"[data-testid=merge-candidate][data-contact-id='{two['contact_id']}']").click()
    dialog.get_by_test_id("merge-submit").click()
    expect(dialog.locator(".error")).to_have_text(
        re.compile("open conversation on the same channel account")
    )
    assert (
        call(hub_url, "GET", f"/api/v1/contacts/{two['contact_id']}", token=admin_token(hub_url))[
            "merged_into"
        ]
        is None
    )
    assert admin.js_errors == []
    for page in (admin, web, first, second):
        page.context.close()


def test_inbound_url_is_shown_with_a_copy_button(hub_url: str, browser, dovecot: Dovecot) -> None:
    # Email has no inbound address and it is the only type this hub runs: the list's answer
    # is given one, as a webhook type's account has, to show what the console does with it.
    account = add_mailbox(hub_url, dovecot, "Webhook-like account")
    add_mailbox(hub_url, dovecot, "Plain mailbox")
    path = f"/channels/webhook/{account['id']}"
    admin = open_page(browser, permissions=["clipboard-read", "clipboard-write"])

    def with_inbound_url(route) -> None:
        answer = route.fetch()
        body = answer.json()
        for item in body["items"]:
            if item["id"] == account["id"]:
                item["inbound_url"] = path
        route.fulfill(response=answer, json=body)

    admin.route(re.compile(r".*/api/v1/channels$"), with_inbound_url)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "channels")
    row = admin.locator(f"[data-testid=channel-row][data-channel-id='{account['id']}']")
    expect(row.get_by_test_id("channel-inbound-url")).to_have_value(hub_url + path)
    row.get_by_test_id("channel-inbound-copy").click()
    expect(row.get_by_test_id("channel-inbound-copy")).to_have_text("Copied")
    assert admin.evaluate("navigator.clipboard.readText()") == hub_url + path
    # Accounts without one show no such section.
    assert admin.locator("[data-testid=channel-row]").count() > 1
    assert admin.locator("[data-testid=channel-inbound]").count() == 1
    assert admin.js_errors == []
    admin.context.close()
