"""The knowledge base over REST: articles, search, CSV import and export, and bad input
(clear errors, nothing half-imported, nothing changed), against a real hub."""

from __future__ import annotations

import time

import aiohttp
import pytest

from tests.bots.helpers import ask, bot_settings, import_kb
from tests.conftest import RunningHub


async def _articles(hub: RunningHub) -> list[dict[str, object]]:
    status, body = await hub.api.request("GET", "/api/v1/kb/articles", token=hub.admin_token)
    assert status == 200
    return body["items"]


async def test_articles_are_created_changed_searched_and_deleted(running_hub: RunningHub) -> None:
    hub = running_hub
    status, article = await hub.api.request(
        "POST",
        "/api/v1/kb/articles",
        token=hub.admin_token,
        json={
            "question": "怎么开发票",
            "similar": ["How do I get an invoice?"],
            "answer": "在订单页申请。",
        },
    )
    assert status == 201 and article["enabled"] is True and article["similar"]
    status, found = await hub.api.request(
        "GET", "/api/v1/kb/search", token=hub.admin_token, params={"q": "我要开发票"}
    )
    assert status == 200 and found["items"][0]["article"]["id"] == article["id"]
    assert 0 < found["items"][0]["score"] <= 1
    status, changed = await hub.api.request(
        "PATCH",
        f"/api/v1/kb/articles/{article['id']}",
        token=hub.admin_token,
        json={"enabled": False, "answers": {"en": "Ask on the order page."}},
    )
    assert status == 200 and changed["enabled"] is False and changed["question"] == "怎么开发票"
    # A disabled article is not found any more.
    status, found = await hub.api.request(
        "GET", "/api/v1/kb/search", token=hub.admin_token, params={"q": "怎么开发票"}
    )
    assert found["items"] == []
    # Agents read and search; only administrators change.
    agent_token, _ = await hub.create_agent()
    status, _ = await hub.api.request("GET", "/api/v1/kb/articles", token=agent_token)
    assert status == 200
    status, refused = await hub.api.request(
        "POST", "/api/v1/kb/articles", token=agent_token, json={"question": "q", "answer": "a"}
    )
    assert status == 403 and refused["error"]["code"] == "admin_only"
    status, _ = await hub.api.request(
        "DELETE", f"/api/v1/kb/articles/{article['id']}", token=hub.admin_token
    )
    assert status == 204
    status, gone = await hub.api.request(
        "DELETE", f"/api/v1/kb/articles/{article['id']}", token=hub.admin_token
    )
    assert status == 404 and gone["error"]["code"] == "article_not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"question": "", "answer": "a"}, "invalid_body"),
        ({"question": "q"}, "invalid_body"),
        ({"question": "q", "answer": "a", "enabled": "yes"}, "invalid_body"),
        ({"question": "q" * 501, "answer": "a"}, "invalid_body"),
        ({"question": "q", "answer": "a", "colour": "red"}, "invalid_body"),
    ],
)
async def test_bad_articles_are_refused(
    running_hub: RunningHub, body: dict[str, object], code: str
) -> None:
    status, refused = await running_hub.api.request(
        "POST", "/api/v1/kb/articles", token=running_hub.admin_token, json=body
    )
    assert status == 400 and refused["error"]["code"] == code
    assert await _articles(running_hub) == []


async def test_csv_round_trips(running_hub: RunningHub) -> None:
    status, body = await import_kb(running_hub)
    assert status == 200 and body["imported"] == 54
    async with running_hub.api.session.get(
        running_hub.base_url + "/api/v1/kb/export",
        headers={"Authorization": f"Bearer {running_hub.admin_token}"},
    ) as response:
        assert response.status == 200 and response.content_type == "text/csv"
        exported = await response.read()
    before = await _articles(running_hub)
    # Importing the export again replaces every article by id: nothing is duplicated.
    status, body = await import_kb(running_hub, exported)
    assert status == 200 and body["imported"] == 54
    after = await _articles(running_hub)
    assert [(a["id"], a["question"], a["answers"]) for a in after] == [
        (a["id"], a["question"], a["answers"]) for a in before
    ]


GOOD_ROW = "怎么退货,How do I return?,去订单页,true\r\n"
HEADER = "question,similar,answer,enabled\r\n"


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"", "csv_empty", "empty"),
        (b"question,answer_text\r\nq,a\r\n", "csv_columns", "missing column(s) answer"),
        (
            (HEADER + GOOD_ROW + ",,no question,true\r\n").encode(),
            "csv_invalid_rows",
            "line 3: question",
        ),
        ((HEADER + GOOD_ROW + "q,,a,maybe\r\n").encode(), "csv_invalid_rows", "line 3: enabled"),
        ((HEADER + GOOD_ROW + "q,a\r\n").encode(), "csv_invalid_rows", "line 3: 4 columns"),
        ((HEADER + GOOD_ROW + 'q,"open,a,true\r\n').encode(), "csv_invalid_rows", "line"),
        (
            ("id," + HEADER + "x," + GOOD_ROW + "x," + GOOD_ROW).encode(),
            "csv_invalid_rows",
            "twice",
        ),
        ((HEADER + GOOD_ROW).encode("utf-16"), "csv_not_utf8", "UTF-8"),
        (HEADER.encode(), "csv_empty", "no articles"),
    ],
)
async def test_malformed_csv_is_refused_whole(
    running_hub: RunningHub, data: bytes, code: str, says: str
) -> None:
    status, refused = await import_kb(running_hub, data)
    assert status == 400, refused
    assert refused["error"]["code"] == code and says in refused["error"]["message"], refused
    assert await _articles(running_hub) == []


async def test_empty_and_huge_questions(running_hub: RunningHub) -> None:
    hub = running_hub
    await import_kb(hub)
    for query in ("", "   "):
        status, refused = await hub.api.request(
            "GET", "/api/v1/kb/search", token=hub.admin_token, params={"q": query}
        )
        assert status == 400 and refused["error"]["code"] == "empty_query"
    huge = "怎么退货" + "啊" * 4996
    started = time.perf_counter()
    status, found = await hub.api.request(
        "POST", "/api/v1/kb/search", token=hub.admin_token, json={"q": huge}
    )
    assert status == 200 and found["items"][0]["article"]["id"] == "return_policy"
    assert time.perf_counter() - started < 5
    status, found = await hub.api.request(
        "GET", "/api/v1/kb/search", token=hub.admin_token, params={"q": "refund " * 714}
    )
    assert status == 200 and found["items"][0]["article"]["id"] == "refund_time"
    status, refused = await hub.api.request(
        "POST", "/api/v1/kb/search", token=hub.admin_token, json={"q": "x" * 5001}
    )
    assert status == 413 and refused["error"]["code"] == "query_too_long"
    # A visitor's 5,000 characters reach the bot, which answers (or misses) all the same.
    await bot_settings(hub, mode="bot_first")
    visitor = await hub.visitor()
    answer = await ask(visitor, "退款多久到账" + " please" * 699)
    assert answer["sender"]["type"] == "bot"


async def test_bad_bot_settings_are_refused_and_change_nothing(running_hub: RunningHub) -> None:
    hub = running_hub
    before = await bot_settings(hub)
    for change in (
        {"mode": "sometimes"},
        {"provider": "rasa", "rasa_url": None},
        {"max_misses": 0},
        {"max_misses": "2"},
        {"channels": {"fax": "off"}},
        {"working_hours": {"timezone": "UTC"}},
        {"handoff_keywords": [""]},
        {"threshold": 0.2, "suggest_threshold": 0.3},
    ):
        status, refused = await hub.api.request(
            "PUT", "/api/v1/settings/bot", token=hub.admin_token, json=before | change
        )
        assert status == 400 and refused["error"]["code"] == "invalid_body", change
    assert await bot_settings(hub) == before
    agent_token, _ = await hub.create_agent()
    status, _ = await hub.api.request("GET", "/api/v1/settings/bot", token=agent_token)
    assert status == 403


async def test_ten_thousand_articles_import_and_answer(running_hub: RunningHub) -> None:
    hub = running_hub
    rows = [HEADER]
    details = "保修期内免费维修，保修期外按成本收费。" * 6  # answers of a realistic length
    for n in range(10_000):
        rows.append(
            f"商品{n}号的保修期多久,How long is the warranty of model {n}?,"
            f"{n}号保修一年。{details},true\r\n"
        )
    rows.append("怎么注销账号,How do I delete my account?,在账户设置底部申请注销,true\r\n")
    data = "".join(rows).encode()
    assert len(data) > 3 * 1024 * 1024  # beyond the hub's usual 1 MiB request limit
    status, body = await import_kb(hub, data)
    assert status == 200 and body["imported"] == 10_001
    await bot_settings(hub, mode="bot_first")
    visitor = await hub.visitor()
    answer = await ask(visitor, "how do I delete my account")
    # The welcome comes first; the answer follows.
    if "注销" not in answer["text"]:
        answer = await visitor.wait_for(
            "message", lambda m: m["sender"]["type"] == "bot" and "注销" in m["text"]
        )
    assert "注销" in answer["text"]
    status, found = await hub.api.request(
        "GET", "/api/v1/kb/search", token=hub.admin_token, params={"q": "model 7321 warranty"}
    )
    assert found["items"][0]["article"]["answer"].startswith("7321号保修一年。")
    # The console uploads the file as a form: the same import.
    form = aiohttp.FormData()
    form.add_field("file", b"question,answer\r\nq1,a1\r\n", filename="kb.csv")
    status, body = await hub.api.request(
        "POST", "/api/v1/kb/import", token=hub.admin_token, data=form
    )
    assert status == 200 and body["imported"] == 1
    status, body = await import_kb(hub, b"question,answer\r\nq," + b"a" * 21 * 1024 * 1024)
    assert status == 413 and body["error"]["code"] == "csv_too_large"
