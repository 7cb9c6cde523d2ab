"""The admin and supervisor console (/agent/console), end to end in headless Chromium against
the real hub: monitor, agents, routing, widget appearance, quick replies, tags, blacklist and
what each role may use."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SCREENSHOTS,
    call_status,
    link_target,
    rest,
    sign_in,
)

pytestmark = pytest.mark.browser

TIMEOUT = 20_000


def admin_token(url: str) -> str:
    return rest(url, "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[
        "token"
    ]


def create_agent(url: str, name: str, email: str, roles: list[str]) -> None:
    status, body = call_status(
        url,
        "POST",
        "/api/v1/agents",
        {"name": name, "email": email, "password": "password-123", "roles": roles},
        admin_token(url),
    )
    assert status == 201, body


def open_page(browser, **options):
    context = browser.new_context(locale="en-US", **options)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # checked at the end of each test
    return page


def open_console(page, url: str, section: str) -> None:
    page.goto(f"{url}/agent/console#{section}")
    page.locator(f"#section[data-section='{section}']").wait_for()
    page.locator(f"[data-testid=console-nav-{section}][aria-current=page]").wait_for()


def visitor_says(browser, url: str, text: str):
    page = open_page(browser)
    page.goto(url + "/")
    page.get_by_test_id("hub-launcher").click()
    frame = page.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill(text)
    frame.get_by_test_id("composer-send").click()
    frame.locator("[data-testid=message][data-state=sent]", has_text=text).wait_for()
    return page


def newest_conversation(url: str, text: str) -> dict[str, Any]:
    _, body = call_status(url, "GET", "/api/v1/conversations?limit=20", token=admin_token(url))
    return next(c for c in body["items"] if c["last_message_preview"] == text)


def test_supervisor_monitor_is_live(hub_url: str, browser) -> None:
    create_agent(hub_url, "Sam Supervisor", "sam@example.com", ["supervisor", "agent"])
    create_agent(hub_url, "Wendy Worker", "wendy@example.com", ["agent"])
    supervisor = open_page(browser, viewport={"width": 1280, "height": 860})
    sign_in(supervisor, hub_url, "sam@example.com", "password-123")
    # Leaving the inbox for the console (same tab) is not leaving: the console's socket
    # continues the supervisor's session, present and not ready as chosen.
    open_console(supervisor, hub_url, "monitor")
    supervisor.locator("[data-testid=console-live][data-state=on]").wait_for()
    sam = supervisor.locator("[data-testid=monitor-agent]", has_text="Sam Supervisor")
    wendy = supervisor.locator("[data-testid=monitor-agent]", has_text="Wendy Worker")
    supervisor.locator(
        "[data-testid=monitor-agent][data-presence=not_ready]", has_text="Sam Supervisor"
    ).wait_for()
    assert wendy.get_attribute("data-presence") == "offline"
    supervisor.locator("[data-testid=monitor-online]", has_text=re.compile(r"^1$")).wait_for()
    # A supervisor sees the monitor, the reports and the blacklist only.
    nav = supervisor.locator("nav [data-testid^=console-nav-]")
    assert nav.evaluate_all("links => links.map(a => a.dataset.section)") == [
        "monitor",
        "reports",
        "blacklist",
    ]

    worker = open_page(browser)
    sign_in(worker, hub_url, "wendy@example.com", "password-123")
    supervisor.locator(
        "[data-testid=monitor-agent][data-presence=not_ready]", has_text="Wendy Worker"
    ).wait_for()
    supervisor.locator("[data-testid=monitor-online]", has_text=re.compile(r"^2$")).wait_for()

    visitor = visitor_says(browser, hub_url, "Is the tent waterproof?")
    waiting = newest_conversation(hub_url, "Is the tent waterproof?")
    assert waiting["status"] == "queued"
    item = supervisor.locator(
        f"[data-testid=monitor-queue][data-skill=''] [data-testid=monitor-queue-item]"
        f"[data-conversation-id='{waiting['id']}']"
    )
    item.wait_for()
    assert link_target(item.get_by_test_id("monitor-conversation-link")) == (
        f"{hub_url}/agent/#conversation={waiting['id']}"
    )
    assert re.fullmatch(r"\d+:\d\d", item.get_by_test_id("monitor-queue-wait").text_content())
    supervisor.locator("[data-testid=monitor-queued]", has_text=re.compile(r"^1$")).wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    supervisor.screenshot(path=str(SCREENSHOTS / "console-monitor.png"), full_page=True)

    # The worker goes ready: the console sees it and the conversation leaves the queue for them.
    worker.get_by_test_id("presence-toggle").click()
    supervisor.locator(
        "[data-testid=monitor-agent][data-presence=ready]", has_text="Wendy Worker"
    ).wait_for()
    item.wait_for(state="detached")
    wendy.locator(
        f"[data-testid=monitor-conversation-link][data-conversation-id='{waiting['id']}']"
    ).wait_for()
    assert wendy.get_by_test_id("monitor-agent-load").text_content().startswith("1 / ")
    supervisor.locator("[data-testid=monitor-serving]", has_text=re.compile(r"^1$")).wait_for()
    # The supervisor is still not ready: watching never made them available for routing.
    assert sam.get_attribute("data-presence") == "not_ready"
    for page in (supervisor, worker, visitor):
        assert page.js_errors == []
        page.context.close()


def test_admin_creates_an_agent_who_can_sign_in(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "agents")
    admin.get_by_test_id("agent-new").click()
    admin.get_by_test_id("agent-name").fill("Nina <b>New</b>")
    admin.get_by_test_id("agent-email").fill("nina@example.com")
    admin.get_by_test_id("agent-password").fill("nina-password")
    admin.get_by_test_id("agent-role-supervisor").check()
    admin.get_by_test_id("agent-skills").fill("sales, billing")
    admin.get_by_test_id("agent-max").fill("4")
    admin.get_by_test_id("agent-save").click()
    admin.get_by_test_id("agent-saved").wait_for()
    row = admin.locator("[data-testid=agent-row][data-email='nina@example.com']")
    # Typed markup stays text.
    row.locator(".name", has_text="Nina <b>New</b>").wait_for()
    assert row.locator("b").count() == 0
    assert "sales" in row.text_content() and "billing" in row.text_content()

    # A duplicate email is refused inline and nothing is created.
    admin.get_by_test_id("agent-new").click()
    admin.get_by_test_id("agent-name").fill("Nina Again")
    admin.get_by_test_id("agent-email").fill("nina@example.com")
    admin.get_by_test_id("agent-password").fill("nina-password")
    admin.get_by_test_id("agent-save").click()
    admin.locator("[data-testid=agent-error][data-kind=error]").wait_for()
    assert "already" in admin.get_by_test_id("agent-error").text_content()
    assert admin.locator("[data-testid=agent-row][data-email='nina@example.com']").count() == 1

    # The new agent signs in to the inbox.
    nina = open_page(browser)
    sign_in(nina, hub_url, "nina@example.com", "nina-password")
    _, me = call_status(
        hub_url,
        "GET",
        "/api/v1/auth/me",
        token=nina.evaluate("localStorage.getItem('hub:agent-token')"),
    )
    assert me["roles"] == ["agent", "supervisor"] and me["skills"] == ["billing", "sales"]
    assert me["max_concurrent"] == 4

    # Editing: a new maximum, then disabling the account shuts the agent out.
    admin.get_by_test_id("agent-cancel").click()
    row.get_by_test_id("agent-edit").click()
    assert admin.get_by_test_id("agent-email").input_value() == "nina@example.com"
    admin.get_by_test_id("agent-max").fill("6")
    admin.get_by_test_id("agent-disabled").check()
    admin.get_by_test_id("agent-save").click()
    admin.get_by_test_id("agent-saved").wait_for()
    row.locator("[data-testid=agent-state]", has_text="Disabled").wait_for()
    status, error = call_status(
        hub_url,
        "POST",
        "/api/v1/auth/login",
        {"email": "nina@example.com", "password": "nina-password"},
    )
    assert status == 401 and error["error"]["code"] == "bad_credentials"
    for page in (admin, nina):
        assert page.js_errors == []
        page.context.close()


def test_routing_settings_persist(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "routing")
    admin.get_by_test_id("routing-policy").select_option("round_robin")
    admin.get_by_test_id("routing-history").uncheck()
    admin.get_by_test_id("routing-default-max").fill("7")
    admin.get_by_test_id("routing-queue-timeout").fill("240")
    admin.get_by_test_id("routing-grace").fill("45")
    # Two overflow rules added, the second removed again.
    admin.get_by_test_id("overflow-add").click()
    admin.get_by_test_id("overflow-add").click()
    first = admin.get_by_test_id("overflow-rule").nth(0)
    first.get_by_test_id("overflow-from").fill("billing")
    first.get_by_test_id("overflow-after").fill("30")
    first.get_by_test_id("overflow-kind").select_option("queue")
    first.get_by_test_id("overflow-to").fill("sales")
    admin.get_by_test_id("overflow-rule").nth(1).get_by_test_id("overflow-remove").click()
    admin.get_by_test_id("routing-save").click()
    admin.locator("[data-testid=routing-status][data-kind=ok]").wait_for()
    _, saved = call_status(hub_url, "GET", "/api/v1/settings/routing", token=admin_token(hub_url))
    assert saved == {
        "policy": "round_robin",
        "history_agent_first": False,
        "default_max_concurrent": 7,
        "queue_timeout_seconds": 240,
        "disconnect_grace_seconds": 45,
        "overflow": [
            {"skill": "billing", "after_seconds": 30, "max_queue": None, "to": {"skill": "sales"}}
        ],
    }
    admin.reload()
    admin.locator("#section[data-section=routing]").wait_for()
    assert admin.get_by_test_id("routing-policy").input_value() == "round_robin"
    assert not admin.get_by_test_id("routing-history").is_checked()
    assert admin.get_by_test_id("routing-default-max").input_value() == "7"
    assert admin.get_by_test_id("overflow-rule").count() == 1
    assert admin.get_by_test_id("overflow-from").input_value() == "billing"
    assert admin.get_by_test_id("overflow-to").input_value() == "sales"
    # A refused value is shown inline and changes nothing.
    admin.get_by_test_id("routing-queue-timeout").fill("0.0")
    admin.get_by_test_id("routing-queue-timeout").evaluate("e => e.removeAttribute('min')")
    admin.get_by_test_id("routing-save").click()
    admin.locator("[data-testid=routing-status][data-kind=error]").wait_for()
    _, after = call_status(hub_url, "GET", "/api/v1/settings/routing", token=admin_token(hub_url))
    assert after == saved
    # Put the defaults back for the other tests of this module.
    call_status(
        hub_url,
        "PUT",
        "/api/v1/settings/routing",
        saved | {"policy": "idle_first", "history_agent_first": True, "default_max_concurrent": 5},
        admin_token(hub_url),
    )
    assert admin.js_errors == []
    admin.context.close()


def test_widget_appearance_preview_embed_and_demo_page(hub_url: str, browser) -> None:
    admin = open_page(browser, viewport={"width": 1280, "height": 900})
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub_url)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "widget")
    # Exactly the settings the server returns are rendered (forward compatible).
    with urllib.request.urlopen(hub_url + "/api/v1/widget/config?tenant=default") as res:
        config = json.loads(res.read())
    rendered = admin.locator("[data-testid^=widget-field-]").evaluate_all(
        "els => els.map(e => e.dataset.testid)"
    )
    assert sorted(t.removeprefix("widget-field-") for t in rendered) == sorted(config)

    preview = admin.frame_locator("[data-testid=widget-preview]")
    launcher = preview.get_by_test_id("preview-launcher")
    launcher.wait_for()
    admin.get_by_test_id("widget-field-color").fill("#dc2626")
    admin.get_by_test_id("widget-field-company_name").fill("Acme <i>Outdoor</i>")
    admin.get_by_test_id("widget-field-notice").fill("Free shipping over ¥199")
    admin.get_by_test_id("widget-field-welcome_message").fill("Welcome to Acme! How can we help?")
    admin.get_by_test_id("widget-field-launcher_text").fill("Chat with us")
    admin.get_by_test_id("widget-field-position").select_option("left")
    # The preview follows every keystroke, before anything is saved.
    preview.locator("[data-testid=preview-title]", has_text="Acme <i>Outdoor</i>").wait_for()
    assert preview.locator("i").count() == 0
    preview.locator("[data-testid=preview-notice]", has_text="Free shipping over ¥199").wait_for()
    preview.locator("[data-testid=preview-welcome]", has_text="Welcome to Acme!").wait_for()
    preview.locator("[data-testid=preview-launcher]", has_text="Chat with us").wait_for()
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(220, 38, 38)"
    assert preview.locator("body.left").count() == 1
    admin.get_by_test_id("widget-preview-mode").select_option("offline")
    preview.get_by_test_id("preview-offline").wait_for()
    admin.get_by_test_id("widget-preview-mode").select_option("online")
    preview.get_by_test_id("preview-offline").wait_for(state="detached")

    embed = admin.get_by_test_id("widget-embed").text_content()
    assert embed == f'<script src="{hub_url}/widget.js" data-tenant="default" async></script>'
    admin.get_by_test_id("widget-embed-copy").click()
    admin.get_by_test_id("widget-embed-copy").filter(has_text="Copied").wait_for()
    assert admin.evaluate("navigator.clipboard.readText()") == embed

    admin.get_by_test_id("widget-save").click()
    admin.locator("[data-testid=widget-status][data-kind=ok]").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.evaluate("scrollTo(0, 0)")
    admin.screenshot(path=str(SCREENSHOTS / "console-widget.png"), full_page=True)
    with urllib.request.urlopen(hub_url + "/api/v1/widget/config?tenant=default") as res:
        saved = json.loads(res.read())
    assert saved["color"] == "#dc2626" and saved["position"] == "left"
    assert saved["company_name"] == "Acme <i>Outdoor</i>"

    # A refused value is shown inline.
    # (The browser's own check is bypassed so that the server's answer is what is shown.)
    admin.get_by_test_id("widget-field-max_length").evaluate("e => e.removeAttribute('max')")
    admin.get_by_test_id("widget-field-max_length").fill("99999")
    admin.get_by_test_id("widget-save").click()
    admin.locator("[data-testid=widget-status][data-kind=error]").wait_for()

    # The demo host page's launcher takes the saved colour and side.
    demo = open_page(browser)
    demo.goto(hub_url + "/")
    demo_launcher = demo.get_by_test_id("hub-launcher")
    demo_launcher.filter(has_text="Chat with us").wait_for()
    demo.wait_for_function(
        "() => getComputedStyle(document.querySelector('[data-testid=hub-launcher]'))"
        ".backgroundColor === 'rgb(220, 38, 38)'"
    )
    box = demo_launcher.bounding_box()
    assert box["x"] < 100  # on the left
    for page in (admin, demo):
        assert page.js_errors == []
        page.context.close()
    # Back to the defaults so the other tests' widget looks as usual.
    call_status(
        hub_url,
        "PUT",
        "/api/v1/settings/widget",
        {"position": "right", "launcher_text": "", "color": "#2563eb"},
        admin_token(hub_url),
    )


def test_quick_replies_are_offered_in_the_inbox(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "quick-replies")
    for title, text in (
        ("shipping", "Orders ship within 24 hours."),
        ("refund", "Refunds take 3–5 working days."),
        ("hours", "We answer 9:00–18:00."),
    ):
        admin.get_by_test_id("qr-add").click()
        admin.get_by_test_id("qr-title").fill(title)
        admin.get_by_test_id("qr-text").fill(text)
        admin.get_by_test_id("qr-save").click()
        admin.locator("[data-testid=qr-item-title]", has_text=title).wait_for()
    titles = admin.get_by_test_id("qr-item-title")

    def reply(title: str):
        exact = admin.get_by_test_id("qr-item-title").filter(has_text=re.compile(f"^{title}$"))
        return admin.get_by_test_id("qr-item").filter(has=exact)

    # Reorder: "hours" moves up above "refund".
    reply("hours").get_by_test_id("qr-up").click()
    admin.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=qr-item-title]')]"
        ".map(e => e.textContent).join() === 'shipping,hours,refund'"
    )
    # Edit and delete.
    reply("refund").get_by_test_id("qr-edit").click()
    admin.get_by_test_id("qr-text").fill("Refunds take 3 working days.")
    admin.get_by_test_id("qr-save").click()
    admin.locator("[data-testid=qr-item-text]", has_text="Refunds take 3 working days.").wait_for()
    delete = reply("hours").get_by_test_id("qr-delete")
    delete.click()
    delete.click()  # asks once more instead of a browser dialog
    admin.locator("[data-testid=qr-item-title]", has_text="hours").wait_for(state="detached")
    # Search filters the list.
    admin.get_by_test_id("qr-search").fill("refund")
    admin.wait_for_function("() => document.querySelectorAll('[data-testid=qr-item]').length === 1")
    assert titles.all_text_contents() == ["refund"]
    _, stored = call_status(hub_url, "GET", "/api/v1/quick-replies", token=admin_token(hub_url))
    assert [q["title"] for q in stored["items"]] == ["shipping", "refund"]

    # The inbox offers them after "/".
    inbox = open_page(browser)
    sign_in(inbox, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    inbox.get_by_test_id("presence-toggle").click()
    inbox.locator("[data-testid=presence-toggle][data-status=ready]").wait_for()
    visitor = visitor_says(browser, hub_url, "When will my order ship?")
    waiting = newest_conversation(hub_url, "When will my order ship?")
    inbox.locator(
        f"[data-testid=conversation-item][data-conversation-id='{waiting['id']}']"
    ).click()
    inbox.get_by_test_id("composer-input").press_sequentially("/ship")
    inbox.locator("[data-testid=quick-reply-item]", has_text="Orders ship within 24 hours.").click()
    assert inbox.get_by_test_id("composer-input").input_value() == "Orders ship within 24 hours."
    inbox.get_by_test_id("conversation-close").click()
    for page in (admin, inbox, visitor):
        assert page.js_errors == []
        page.context.close()


def test_tag_catalogue_with_colours(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "tags")
    admin.get_by_test_id("tag-name").fill("VIP客户")
    admin.get_by_test_id("tag-color").fill("#dc2626")
    admin.get_by_test_id("tag-add").click()
    vip = admin.locator("[data-testid=tag-item][data-name='VIP客户']")
    vip.wait_for()
    assert vip.get_attribute("data-color") == "#dc2626"
    assert (
        vip.locator(".tag-pill").evaluate("e => getComputedStyle(e).backgroundColor")
        == "rgb(220, 38, 38)"
    )
    admin.get_by_test_id("tag-name").fill("重点关注")
    admin.get_by_test_id("tag-add").click()
    admin.locator("[data-testid=tag-item][data-name='重点关注']").wait_for()
    # A duplicate is refused inline.
    admin.get_by_test_id("tag-name").fill("VIP客户")
    admin.get_by_test_id("tag-add").click()
    admin.locator("[data-testid=tag-error][data-kind=error]").wait_for()
    # Recolour one.
    vip.get_by_test_id("tag-item-color").fill("#16a34a")
    admin.locator("[data-testid=tag-item][data-name='VIP客户'][data-color='#16a34a']").wait_for()
    _, tags = call_status(hub_url, "GET", "/api/v1/tags", token=admin_token(hub_url))
    assert tags["items"] == [
        {"name": "VIP客户", "color": "#16a34a"},
        {"name": "重点关注", "color": "#dc2626"},
    ]
    assert admin.js_errors == []
    admin.context.close()


def test_blacklist_shows_blocked_contacts_and_lifts_them(hub_url: str, browser) -> None:
    visitor = visitor_says(browser, hub_url, "buy cheap followers")
    contact_id = newest_conversation(hub_url, "buy cheap followers")["contact_id"]
    token = admin_token(hub_url)
    status, _ = call_status(
        hub_url,
        "POST",
        f"/api/v1/contacts/{contact_id}/block",
        {"minutes": 60, "reason": "spam <script>"},
        token,
    )
    assert status == 200

    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "blacklist")
    item = admin.locator(f"[data-testid=blacklist-item][data-contact-id='{contact_id}']")
    item.get_by_test_id("blacklist-reason").filter(has_text="spam <script>").wait_for()
    assert item.get_by_test_id("blacklist-until").text_content().startswith("Blocked until")

    # A block made elsewhere (the inbox) appears live.
    other = visitor_says(browser, hub_url, "second spammer")
    other_id = newest_conversation(hub_url, "second spammer")["contact_id"]
    call_status(hub_url, "POST", f"/api/v1/contacts/{other_id}/block", {"minutes": None}, token)
    forever = admin.locator(f"[data-testid=blacklist-item][data-contact-id='{other_id}']")
    forever.get_by_test_id("blacklist-until").filter(has_text="until lifted").wait_for()

    item.get_by_test_id("blacklist-lift").click()
    item.wait_for(state="detached")
    _, contact = call_status(hub_url, "GET", f"/api/v1/contacts/{contact_id}", token=token)
    assert contact["blocked_until"] is None
    forever.get_by_test_id("blacklist-lift").click()
    admin.get_by_test_id("blacklist-empty").wait_for()
    for page in (admin, visitor, other):
        assert page.js_errors == []
        page.context.close()


def test_plain_agents_cannot_use_the_console(hub_url: str, browser) -> None:
    anonymous = open_page(browser)
    anonymous.goto(hub_url + "/agent/console")
    anonymous.wait_for_url(hub_url + "/agent/")
    anonymous.get_by_test_id("login-email").wait_for()

    create_agent(hub_url, "Paul Plain", "paul@example.com", ["agent"])
    paul = open_page(browser)
    sign_in(paul, hub_url, "paul@example.com", "password-123")
    paul.goto(hub_url + "/agent/console#agents")
    denied = paul.get_by_test_id("console-denied")
    denied.wait_for()
    assert link_target(denied.get_by_test_id("console-inbox-link")) == f"{hub_url}/agent/"
    assert paul.locator("[data-testid^=console-nav-]").count() == 0
    assert paul.locator("#console").is_hidden()

    token = paul.evaluate("localStorage.getItem('hub:agent-token')")
    for method, path, body in (
        ("POST", "/api/v1/agents", {"name": "x", "email": "x@example.com", "password": "12345678"}),
        ("GET", "/api/v1/agents?include_disabled=true", None),
        ("PUT", "/api/v1/settings/routing", {"policy": "round_robin"}),
        ("PUT", "/api/v1/settings/widget", {"color": "#000000"}),
        ("PUT", "/api/v1/quick-replies", {"items": []}),
        ("PUT", "/api/v1/tags", {"items": []}),
    ):
        status, error = call_status(hub_url, method, path, body, token)
        assert status == 403 and error["error"]["code"] == "admin_only", (path, error)
    for path in ("/api/v1/monitor/queues", "/api/v1/monitor/queue"):
        status, error = call_status(hub_url, "GET", path, token=token)
        assert status == 403 and error["error"]["code"] == "supervisor_only"
    for page in (anonymous, paul):
        assert page.js_errors == []
        page.context.close()


def test_console_on_a_narrow_screen_in_chinese(hub_url: str, browser) -> None:
    page = open_page(browser, viewport={"width": 390, "height": 800}, is_mobile=True)
    sign_in(page, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.evaluate("localStorage.setItem('hub:lang', 'zh')")
    open_console(page, hub_url, "monitor")
    assert page.get_by_test_id("console-nav-quick-replies").text_content() == "快捷回复"
    page.get_by_test_id("console-nav-routing").click()
    page.locator("#section[data-section=routing]").wait_for()
    assert page.locator("#section h1").text_content() == "分配策略"
    assert page.title() == "管理控制台"
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.js_errors == []
    page.context.close()


def test_pre_chat_form_and_working_hours_are_edited_previewed_and_saved(
    hub_url: str, browser
) -> None:
    """The pre-chat form and working hours: edited, previewed, saved as changed keys only,
    and stored by the hub (read back over REST)."""
    sent: list[Any] = []
    admin = open_page(browser, viewport={"width": 1280, "height": 900})
    admin.on(
        "request",
        lambda request: (
            sent.append(request.post_data_json)
            if request.method == "PUT" and request.url.endswith("/api/v1/settings/widget")
            else None
        ),
    )
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "widget")
    preview = admin.frame_locator("[data-testid=widget-preview]")
    preview.get_by_test_id("preview-launcher").wait_for()

    admin.get_by_test_id("widget-field-prechat_enabled").check()
    admin.get_by_test_id("widget-prechat-phone").check()
    preview.get_by_test_id("preview-form").filter(has_text="Phone").wait_for()
    admin.get_by_test_id("widget-field-working_hours_enabled").check()
    admin.get_by_test_id("widget-hours-day-6").check()
    admin.get_by_test_id("widget-hours-end").fill("20:30")
    admin.get_by_test_id("widget-hours-holiday-input").fill("2026-10-01")
    admin.get_by_test_id("widget-hours-holiday-add").click()
    admin.get_by_test_id("widget-hours-holidays").filter(has_text="2026-10-01").wait_for()
    admin.get_by_test_id("widget-field-offline_message").fill("We are closed <b>now</b>")
    admin.get_by_test_id("widget-preview-mode").select_option("offline")
    preview.get_by_test_id("preview-offline").filter(has_text="We are closed <b>now</b>").wait_for()

    admin.get_by_test_id("widget-save").click()
    admin.locator("[data-testid=widget-status][data-kind=ok]").wait_for()
    assert sent == [
        {
            "prechat_enabled": True,
            "prechat_fields": ["name", "phone"],
            "working_hours_enabled": True,
            "working_hours": {
                "timezone": "Asia/Shanghai",
                "days": [1, 2, 3, 4, 5, 6],
                "start": "09:00",
                "end": "20:30",
                "holidays": ["2026-10-01"],
            },
            "offline_message": "We are closed <b>now</b>",
        }
    ]
    stored = call_status(hub_url, "GET", "/api/v1/widget/config?tenant=default")[1]
    assert {key: stored[key] for key in sent[0]} == sent[0]
    # Saving again without edits sends nothing.
    admin.get_by_test_id("widget-save").click()
    admin.get_by_test_id("widget-status").filter(has_text="Nothing changed").wait_for()
    assert len(sent) == 1
    assert admin.js_errors == []
    admin.context.close()
    # Other modules' visitors chat at any hour without a form.
    status, _ = call_status(
        hub_url,
        "PUT",
        "/api/v1/settings/widget",
        {"prechat_enabled": False, "working_hours_enabled": False},
        admin_token(hub_url),
    )
    assert status == 200


def test_reports_show_a_served_chat_chart_it_by_day_and_export_csv(hub_url: str, browser) -> None:
    from tests.e2e.test_day_one import visitor_says as socket_visitor_says

    token = admin_token(hub_url)
    status, rita = call_status(
        hub_url,
        "POST",
        "/api/v1/agents",
        {
            "name": "Rita 报表",
            "email": "rita@example.com",
            "password": "password-123",
            "skills": ["reports"],
        },
        token,
    )
    assert status == 201, rita
    agent = open_page(browser)
    sign_in(agent, hub_url, "rita@example.com", "password-123", ready=True)
    socket_visitor_says(hub_url, "How much is shipping?", skill="reports")
    agent.get_by_test_id("conversation-item").filter(has_text="How much is shipping?").click()
    agent.get_by_test_id("composer-input").fill("Shipping is free.")
    agent.get_by_test_id("composer-send").click()
    agent.locator(
        "[data-testid=message][data-sender-type=agent]", has_text="Shipping is free."
    ).wait_for()

    admin = open_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "reports")
    admin.get_by_test_id("report-group").select_option("agent")
    admin.get_by_test_id("report-show").click()
    row = admin.locator(f"[data-testid=report-row][data-key='{rita['id']}']")
    row.wait_for()
    cells = row.locator("th, td").all_text_contents()
    # Ready, Rita may also have been given visitors other tests left waiting: the page shows
    # what the hub counts, which includes her chat and her answer.
    _, report = call_status(hub_url, "GET", "/api/v1/reports/summary?group_by=agent", token=token)
    mine = next(r for r in report["items"] if r["key"] == rita["id"])
    assert mine["conversations"] >= 1 and mine["messages_in"] >= 1 and mine["messages_out"] == 1
    assert cells[:4] == [
        "Rita 报表",
        *(str(mine[k]) for k in ("conversations", "messages_in", "messages_out")),
    ]
    # By day (the default grouping): the chart is drawn, and today's row counts the chat.
    admin.get_by_test_id("report-group").select_option("day")
    admin.get_by_test_id("report-show").click()
    admin.locator("[data-testid=report-chart] canvas").wait_for()
    total = admin.get_by_test_id("report-total-conversations")
    assert int(total.text_content()) >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=str(SCREENSHOTS / "console-reports.png"), full_page=True)
    with admin.expect_download() as download:
        admin.get_by_test_id("report-csv").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("key,name,conversations,messages_in")
    assert text.splitlines()[-1].startswith("total,")
    for page in (agent, admin):
        assert page.js_errors == []
        page.context.close()


def test_departments_are_a_tree_that_agents_are_placed_in(hub_url: str, browser) -> None:
    create_agent(hub_url, "Dora Dept", "dora@example.com", ["agent"])
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "departments")
    admin.get_by_test_id("department-name").fill("Sales 销售")
    admin.get_by_test_id("department-add").click()
    sales = admin.locator("[data-testid=department-item][data-name='Sales 销售']")
    sales.wait_for()
    admin.get_by_test_id("department-name").fill("North")
    admin.get_by_test_id("department-parent").select_option(label="Sales 销售")
    admin.get_by_test_id("department-add").click()
    north = admin.locator("[data-testid=department-item][data-name='North']")
    north.wait_for()
    dora_id = next(
        a["id"]
        for a in rest(hub_url, "/api/v1/agents?limit=200", token=admin_token(hub_url))["items"]
        if a["email"] == "dora@example.com"
    )
    person = admin.locator(f"[data-testid=department-person][data-agent-id='{dora_id}']")
    person.get_by_test_id("department-of-agent").select_option(label="— North")
    north.get_by_test_id("department-count").filter(has_text="1 people").wait_for()
    # Sales has a department under it: it cannot go, and says why.
    sales.get_by_test_id("department-delete").click()
    sales.get_by_test_id("department-delete").click()
    admin.get_by_test_id("department-error").filter(has_text="Move its people").wait_for()
    directory = rest(hub_url, "/api/v1/im/directory", token=admin_token(hub_url))
    tree = {d["name"]: d for d in directory["departments"]}
    assert tree["North"]["parent_id"] == tree["Sales 销售"]["id"]
    (dora,) = [p for p in directory["people"] if p["agent_id"] == dora_id]
    assert dora["department_id"] == tree["North"]["id"]
    assert admin.js_errors == []
    admin.context.close()
