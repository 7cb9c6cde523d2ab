"""`GET /api/v1/reports/summary` on a real hub: a chat served end to end shows up with its
exact counts; seeded conversations with known times give exact averages by agent and by day
in the asker's time zone (days follow the zone), also as CSV; agents are refused; bad
ranges, zones and groups are refused with a clear error."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain import Conversation, Rating
from tests.conftest import RunningHub

# 05:06 UTC on 4 March 2026: 13:06 in Shanghai, 21:06 of 3 March in Los Angeles.
T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _summary(running: RunningHub, query: str, token: str | None = None) -> tuple[int, Any]:
    return await running.api.request(
        "GET", f"/api/v1/reports/summary?{query}", token=token or running.admin_token
    )


async def _seed(running: RunningHub, agent_id: str) -> None:
    store = running.hub.store
    for n, (created, wait, first, handle, score) in enumerate(
        [(0, 30, 40, 300, 5), (3600, 60, 120, 600, 3), (20 * 3600, 10, 20, 100, None)]
    ):
        start = at(created)
        await store.create_conversation(
            Conversation(
                id=f"seeded-{n}",
                tenant="default",
                channel="webim",
                contact_id=f"k-seeded-{n}",
                status="closed",
                agent_id=agent_id,
                skill="reports",
                created_at=start,
                queued_at=start,
                assigned_at=start + timedelta(seconds=wait),
                first_response_at=start + timedelta(seconds=first),
                closed_at=start + timedelta(seconds=wait + handle),
                rating=Rating(score, "") if score else None,
            )
        )


async def test_a_served_chat_is_counted_exactly(running_hub: RunningHub) -> None:
    agent = await running_hub.agent(skills=["counted"])
    visitor = await running_hub.visitor(skill="counted")
    assert (await visitor.say("first question"))["ok"]
    assigned = await agent.wait_for("conversation.assigned")
    conversation_id = assigned["conversation"]["id"]
    assert (await visitor.say("second question"))["ok"]
    assert (await agent.say(conversation_id, "an answer"))["ok"]
    note = {"conversation_id": conversation_id, "client_id": "n1", "text": "private"}
    assert (await agent.call("message", note | {"private": True}))["ok"]
    assert (await agent.call("conversation.close", {"conversation_id": conversation_id}))["ok"]
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "closed")
    assert (await visitor.call("rate", {"conversation_id": conversation_id, "score": 4}))["ok"]

    status, report = await _summary(running_hub, "group_by=agent")
    assert status == 200, report
    (row,) = [r for r in report["items"] if r["key"] == agent.id]
    assert row["name"] == agent.agent["name"]
    assert (row["conversations"], row["messages_in"], row["messages_out"]) == (1, 2, 1)
    assert (row["csat_avg"], row["csat_count"]) == (4, 1)
    assert row["avg_wait_seconds"] >= 0 and row["avg_handle_seconds"] >= 0
    assert report["total"]["conversations"] >= 1


async def test_seeded_times_give_exact_averages_by_agent_and_day(running_hub: RunningHub) -> None:
    _, agent = await running_hub.create_agent(skills=["reports"])
    await _seed(running_hub, agent["id"])
    status, by_agent = await _summary(
        running_hub, "group_by=agent&from=2026-03-01&to=2026-03-07&tz=Asia/Shanghai"
    )
    assert status == 200, by_agent
    (row,) = by_agent["items"]
    assert row == {
        "key": agent["id"],
        "name": agent["name"],
        "conversations": 3,
        "messages_in": 0,
        "messages_out": 0,
        "avg_wait_seconds": 33.3,
        "avg_first_response_seconds": 60.0,
        "avg_handle_seconds": 333.3,
        "csat_avg": 4.0,
        "csat_count": 2,
        "left_messages": 0,
    }
    # The same three by day: in Shanghai two on 4 March, one on 5 March; in Los Angeles two
    # on 3 March and one on 4 March. Every day of the range is listed, empty ones too.
    for zone, expected in (
        ("Asia/Shanghai", {"2026-03-04": 2, "2026-03-05": 1}),
        ("America/Los_Angeles", {"2026-03-03": 2, "2026-03-04": 1}),
    ):
        status, by_day = await _summary(
            running_hub, f"group_by=day&from=2026-03-02&to=2026-03-06&tz={zone}"
        )
        assert status == 200, by_day
        assert [r["key"] for r in by_day["items"]] == [f"2026-03-0{d}" for d in range(2, 7)]
        assert {r["key"]: r["conversations"] for r in by_day["items"] if r["conversations"]} == (
            expected
        )
    # A range in Shanghai that ends on 4 March leaves out the one of the 5th.
    status, short = await _summary(running_hub, "from=2026-03-04&to=2026-03-04&tz=Asia/Shanghai")
    assert status == 200 and short["total"]["conversations"] == 2


async def test_the_report_as_csv(running_hub: RunningHub) -> None:
    _, agent = await running_hub.create_agent(skills=["reports"])
    await _seed(running_hub, agent["id"])
    async with running_hub.api.session.get(
        running_hub.base_url
        + "/api/v1/reports/summary?group_by=agent&from=2026-03-01&to=2026-03-07&format=csv",
        headers={"Authorization": f"Bearer {running_hub.admin_token}"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        text = (await response.read()).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [r["key"] for r in rows] == [agent["id"], "total"]
    assert rows[0]["conversations"] == "3" and rows[0]["avg_handle_seconds"] == "333.3"
    assert rows[1]["csat_avg"] == "4.0"


async def test_agents_are_refused_and_bad_requests_explained(running_hub: RunningHub) -> None:
    token, _ = await running_hub.create_agent()
    status, body = await _summary(running_hub, "group_by=agent", token=token)
    assert status == 403 and body["error"]["code"] == "supervisor_only"
    for query, code in (
        ("from=2026-03-05&to=2026-03-01", "invalid_report_range"),
        ("from=2020-01-01&to=2026-03-01", "invalid_report_range"),
        ("from=yesterday", "invalid_report_range"),
        ("tz=Mars/Olympus", "invalid_time_zone"),
        ("tz=../../etc/passwd", "invalid_time_zone"),
        ("group_by=contact", "invalid_report_group"),
    ):
        status, body = await _summary(running_hub, query)
        assert status == 400 and body["error"]["code"] == code, (query, body)
