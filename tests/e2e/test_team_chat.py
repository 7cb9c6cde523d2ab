"""Team chat (企业IM) end to end in headless Chromium against the real hub: two staff chat
directly (found in the directory by department), unread badges count and clear, a group is
created, its announcement set by the owner and seen by a member, a file is shared; the page
in Chinese."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOTS, call, sign_in

pytestmark = pytest.mark.browser

WAIT = 30_000
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def admin_token(hub_url: str) -> str:
    return call(
        hub_url, "POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )["token"]


def _agent(url: str, token: str, name: str) -> tuple[str, dict]:
    email = f"team-{name.lower()}{next(_numbers)}@example.com"
    body = {"name": name, "email": email, "password": "agent-password"}
    return email, call(url, "POST", "/api/v1/agents", body, token)


def test_two_staff_chat_a_group_an_announcement_and_a_file(
    hub_url: str, browser, admin_token: str, tmp_path
) -> None:
    support = call(
        hub_url, "POST", "/api/v1/im/departments", {"name": "Support 客服部"}, admin_token
    )
    ann_email, _ = _agent(hub_url, admin_token, "Ann")
    bob_email, bob = _agent(hub_url, admin_token, "Bob")
    call(
        hub_url,
        "PUT",
        f"/api/v1/im/people/{bob['id']}/department",
        {"department_id": support["id"]},
        admin_token,
    )
    ann_page = browser.new_context(locale="en-US").new_page()
    bob_page = browser.new_context(locale="en-US").new_page()
    sign_in(ann_page, hub_url, ann_email, "agent-password")
    sign_in(bob_page, hub_url, bob_email, "agent-password")

    # Ann finds Bob under his department and writes to him.
    ann_page.get_by_test_id("nav-team").click()
    ann_page.get_by_test_id("team-view-people").click()
    expect(
        ann_page.get_by_test_id("team-department").filter(has_text="Support 客服部")
    ).to_be_visible()
    ann_page.locator(f"[data-testid=team-person][data-agent-id='{bob['id']}']").click()
    expect(ann_page.get_by_test_id("team-chat-title")).to_have_text("Bob", timeout=WAIT)
    for text in ("Hi Bob", "Can you look at ticket 42?"):
        ann_page.get_by_test_id("team-input").fill(text)
        ann_page.get_by_test_id("team-send").click()
        expect(ann_page.get_by_test_id("team-message").filter(has_text=text)).to_be_visible()

    # Bob, still in the inbox, sees the count on the header; opening the chat clears it.
    expect(bob_page.get_by_test_id("team-unread")).to_have_text("2", timeout=WAIT)
    bob_page.get_by_test_id("nav-team").click()
    thread = bob_page.get_by_test_id("team-thread").first
    expect(thread.get_by_test_id("team-thread-unread")).to_have_text("2", timeout=WAIT)
    thread.click()
    expect(bob_page.get_by_test_id("team-message")).to_have_count(2, timeout=WAIT)
    expect(bob_page.get_by_test_id("team-unread")).to_be_hidden(timeout=WAIT)
    expect(bob_page.get_by_test_id("team-thread-unread")).to_have_count(0)
    bob_page.get_by_test_id("team-message").filter(has_text="ticket 42").get_by_test_id(
        "team-quote"
    ).click()
    expect(bob_page.get_by_test_id("team-quoting")).to_contain_text("ticket 42")
    bob_page.get_by_test_id("team-input").fill("On it")
    bob_page.get_by_test_id("team-input").press("Enter")
    answer = ann_page.get_by_test_id("team-message").filter(has_text="On it")
    expect(answer).to_contain_text("Can you look at ticket 42?", timeout=WAIT)  # the quote
    # A draft survives messages arriving meanwhile.
    bob_page.get_by_test_id("team-input").fill("half typed")
    ann_page.get_by_test_id("team-input").fill("ping")
    ann_page.get_by_test_id("team-send").click()
    expect(bob_page.get_by_test_id("team-message").filter(has_text="ping")).to_be_visible(
        timeout=WAIT
    )
    expect(bob_page.get_by_test_id("team-input")).to_have_value("half typed")

    # Ann starts a group with Bob and sets its announcement.
    ann_page.get_by_test_id("team-new-group").click()
    ann_page.get_by_test_id("team-group-name").fill("Release 发布")
    dialog = ann_page.get_by_test_id("team-group-dialog")
    dialog.locator(f"[data-testid=team-group-member][value='{bob['id']}']").check()
    ann_page.get_by_test_id("team-group-create").click()
    expect(ann_page.get_by_test_id("team-chat-title")).to_have_text("Release 发布", timeout=WAIT)
    ann_page.get_by_test_id("team-settings").click()
    ann_page.get_by_test_id("team-settings-announcement").fill("Freeze at 18:00 封版")
    ann_page.get_by_test_id("team-save").click()
    expect(ann_page.get_by_test_id("team-announcement")).to_contain_text("Freeze at 18:00 封版")

    # Ann shares a file in the group.
    report = tmp_path / "notes.txt"
    report.write_text("release notes")
    ann_page.get_by_test_id("team-file").set_input_files(str(report))
    expect(
        ann_page.get_by_test_id("team-message").filter(has=ann_page.get_by_test_id("message-file"))
    ).to_be_visible(timeout=WAIT)

    # Bob sees the group, its announcement and the file.
    group = bob_page.get_by_test_id("team-thread").filter(has_text="Release 发布")
    expect(group.get_by_test_id("team-thread-unread")).to_have_text("1", timeout=WAIT)
    group.click()
    expect(bob_page.get_by_test_id("team-announcement")).to_contain_text("Freeze at 18:00 封版")
    expect(bob_page.get_by_test_id("message-file")).to_contain_text("notes.txt", timeout=WAIT)
    expect(bob_page.get_by_test_id("team-unread")).to_be_hidden(timeout=WAIT)
    bob_page.set_viewport_size({"width": 1280, "height": 760})
    bob_page.screenshot(path=str(SCREENSHOTS / "team-chat.png"))

    # The same page in Chinese.
    zh_page = browser.new_context(locale="zh-CN").new_page()
    sign_in(zh_page, hub_url, bob_email, "agent-password")
    expect(zh_page.get_by_test_id("nav-team")).to_contain_text("企业IM")


def test_ask_a_colleague_about_a_customer_conversation(
    hub_url: str, browser, admin_token: str
) -> None:
    ann_email, _ = _agent(hub_url, admin_token, "Asker")
    bob_email, bob = _agent(hub_url, admin_token, "Expert")
    ann_page = browser.new_context(locale="en-US").new_page()
    bob_page = browser.new_context(locale="en-US").new_page()
    sign_in(ann_page, hub_url, ann_email, "agent-password", ready=True)
    sign_in(bob_page, hub_url, bob_email, "agent-password")
    # A customer writes; the conversation is Ann's, who first has a chat with Bob.
    host = browser.new_context(locale="en-US").new_page()
    host.goto(hub_url + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Which plan includes SSO?")
    frame.get_by_test_id("composer-send").click()
    ann_page.get_by_test_id("conversation-item").first.click(timeout=WAIT)
    expect(
        ann_page.get_by_test_id("message").filter(has_text="Which plan includes SSO?")
    ).to_be_visible(timeout=WAIT)
    ann_page.get_by_test_id("nav-team").click()
    ann_page.get_by_test_id("team-view-people").click()
    ann_page.locator(f"[data-testid=team-person][data-agent-id='{bob['id']}']").click()
    expect(ann_page.get_by_test_id("team-chat-title")).to_have_text("Expert", timeout=WAIT)
    ann_page.get_by_test_id("team-back").click()
    # From the conversation: Ask a colleague, into the chat with Bob.
    ann_page.get_by_test_id("conversation-consult").click()
    ann_page.get_by_test_id("consult-note").fill("Do you know this one?")
    ann_page.get_by_test_id("consult-send").click()
    expect(ann_page.get_by_test_id("consult-dialog")).to_have_count(0, timeout=WAIT)
    # Bob opens the link: the customer's conversation, read-only.
    expect(bob_page.get_by_test_id("team-unread")).to_have_text("1", timeout=WAIT)
    bob_page.get_by_test_id("nav-team").click()
    bob_page.get_by_test_id("team-thread").first.click()
    expect(
        bob_page.get_by_test_id("team-message").filter(has_text="Do you know this one?")
    ).to_be_visible(timeout=WAIT)
    bob_page.get_by_test_id("team-consult").click()
    expect(bob_page.get_by_test_id("team-consult-view")).to_contain_text(
        "Which plan includes SSO?", timeout=WAIT
    )


def test_search_finds_colleagues_by_name_and_messages_in_ones_chats(
    hub_url: str, browser, admin_token: str
) -> None:
    cai_email, _ = _agent(hub_url, admin_token, "Cai")
    _, dan = _agent(hub_url, admin_token, "Dan")
    _, eve = _agent(hub_url, admin_token, "Eve")
    page = browser.new_context(locale="en-US").new_page()
    sign_in(page, hub_url, cai_email, "agent-password")
    page.get_by_test_id("nav-team").click()
    page.get_by_test_id("team-view-people").click()
    # The name filter leaves Dan and hides Eve.
    page.get_by_test_id("team-search").fill("dan")
    expect(page.locator(f"[data-testid=team-person][data-agent-id='{dan['id']}']")).to_be_visible()
    expect(page.locator(f"[data-testid=team-person][data-agent-id='{eve['id']}']")).to_have_count(0)
    page.locator(f"[data-testid=team-person][data-agent-id='{dan['id']}']").click()
    page.get_by_test_id("team-input").fill("退货流程在第三页")
    page.get_by_test_id("team-send").click()
    expect(page.get_by_test_id("team-message").filter(has_text="退货流程")).to_be_visible()
    # A word inside the Chinese sentence finds the message; the result opens its chat.
    page.get_by_test_id("team-view-chats").click()
    page.get_by_test_id("team-search").fill("流程")
    page.get_by_test_id("team-search").press("Enter")
    result = page.get_by_test_id("team-search-result")
    expect(result).to_have_count(1, timeout=WAIT)
    expect(result).to_contain_text("退货流程在第三页")
    result.click()
    expect(page.get_by_test_id("team-chat-title")).to_have_text("Dan", timeout=WAIT)
    page.get_by_test_id("team-search").fill("nothing like this")
    page.get_by_test_id("team-search").press("Enter")
    expect(page.get_by_test_id("team-search-none")).to_be_visible(timeout=WAIT)
    page.context.close()
