"""The bot end to end in headless Chromium against the real hub: the console's bot section
(CSV import, settings), the widget's suggested-question buttons and bot status, the hand-off
with the bot part in the inbox, and knowledge-base suggestions filling the composer."""

from __future__ import annotations

import pytest

from tests.bots.helpers import ARTICLES_CSV
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, call_status, sign_in
from tests.e2e.test_console import TIMEOUT, admin_token, open_console, open_page

pytestmark = pytest.mark.browser


def chinese_page(browser):
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def test_console_imports_the_knowledge_base_and_sets_the_bot(hub_url: str, browser) -> None:
    admin = open_page(browser)
    sign_in(admin, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_console(admin, hub_url, "bot")
    admin.get_by_test_id("kb-import-file").set_input_files(str(ARTICLES_CSV))
    admin.locator("[data-testid=kb-status][data-kind=ok]").wait_for()
    assert admin.get_by_test_id("kb-item").count() == 54
    admin.get_by_test_id("kb-filter").fill("发票")
    assert admin.get_by_test_id("kb-item").count() == 2
    admin.get_by_test_id("bot-mode").select_option("bot_first")
    admin.get_by_test_id("bot-keywords").fill("转人工, 人工, human, agent")
    admin.get_by_test_id("bot-settings-save").click()
    admin.locator("[data-testid=bot-settings-status][data-kind=ok]").wait_for()
    _, saved = call_status(hub_url, "GET", "/api/v1/settings/bot", token=admin_token(hub_url))
    assert saved["mode"] == "bot_first"
    assert saved["handoff_keywords"] == ["转人工", "人工", "human", "agent"]
    assert admin.js_errors == []
    admin.context.close()


def test_buttons_hand_off_and_suggestions(hub_url: str, browser) -> None:
    agent = chinese_page(browser)
    sign_in(agent, hub_url, ADMIN_EMAIL, ADMIN_PASSWORD, ready=True)
    visitor = chinese_page(browser)
    visitor.goto(hub_url + "/")
    visitor.get_by_test_id("hub-launcher").click()
    frame = visitor.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("寄过来要几天")
    frame.get_by_test_id("composer-send").click()
    # A near miss: the suggested questions are buttons; one click asks it.
    frame.get_by_test_id("bot-button").first.wait_for()
    assert frame.get_by_test_id("conversation-status").inner_text() == "智能助理正在为您服务"
    frame.get_by_test_id("bot-button").first.click()
    frame.locator("[data-testid=message][data-sender-type=bot]", has_text="2到4天").wait_for()
    # Asking for a human: the agent gets the conversation with the bot part marked.
    frame.get_by_test_id("composer-input").fill("转人工")
    frame.get_by_test_id("composer-send").click()
    agent.get_by_test_id("conversation-item").first.click()
    log_bot = agent.locator("#log [data-testid=message][data-sender-type=bot]")
    log_bot.filter(has_text="2到4天").wait_for()
    assert log_bot.count() >= 3
    assert "机器人" in (log_bot.first.get_attribute("data-meta") or "")
    # The customer asks again: the knowledge base's answer is suggested; a click fills the
    # composer.
    frame.get_by_test_id("composer-input").fill("我想退货")
    frame.get_by_test_id("composer-send").click()
    agent.locator(
        "#log [data-testid=message][data-sender-type=contact]", has_text="我想退货"
    ).wait_for()
    suggestion = agent.get_by_test_id("kb-suggestion").filter(has_text="申请退货")
    suggestion.wait_for()
    suggestion.click()
    assert "申请退货" in agent.get_by_test_id("composer-input").input_value()
    assert agent.js_errors == [] and visitor.js_errors == []
    agent.context.close()
    visitor.context.close()
