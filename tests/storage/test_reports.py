"""The store's report sums, on every backend: a scripted day with known times, counts and
ratings gives exact figures by agent, skill, channel and quarter hour; another tenant's
records and records outside the range count nowhere."""

from __future__ import annotations

from datetime import timedelta

from hub.domain import Rating, Sender
from hub.storage.base import ReportCell, Store
from tests.storage.test_contract import T0, a_conversation, a_left_message, a_message, at

AGENT = Sender("agent", "a1", "Ann")


async def _conversation(store: Store, conversation_id: str, tenant: str = "a", **values) -> None:
    """Created with its times, then its messages appended as (sender, type) pairs."""
    messages = values.pop("messages", [])
    await store.create_conversation(a_conversation(conversation_id, tenant, **values))
    for sender, kind in messages:
        message = a_message(conversation_id, tenant, sender=sender, created_at=values["created_at"])
        message.type = kind
        assert (await store.append_message(message)).created


async def _scenario(store: Store) -> None:
    contact = Sender("contact", "k1", "Kim")
    await _conversation(
        store,
        "c1",
        agent_id="a1",
        skill="sales",
        status="closed",
        created_at=T0,
        queued_at=T0,
        assigned_at=at(30),
        first_response_at=at(40),
        closed_at=at(330),
        rating=Rating(5, ""),
        messages=[(contact, "text"), (AGENT, "text"), (AGENT, "note"), (contact, "image")],
    )
    await _conversation(
        store,
        "c2",
        agent_id="a1",
        skill="sales",
        channel="email",
        status="closed",
        created_at=at(3600),
        queued_at=at(3600),
        assigned_at=at(3660),
        first_response_at=at(3720),
        closed_at=at(4260),
        rating=Rating(3, "ok"),
        messages=[(contact, "text"), (AGENT, "text"), (Sender("bot", "kb"), "text")],
    )
    await _conversation(
        store,
        "c3",
        skill="support",
        created_at=at(20 * 3600),
        queued_at=at(20 * 3600),
        messages=[(contact, "text"), (Sender("system", ""), "text")],
    )
    # Outside the range, and another tenant's: in no figure.
    await _conversation(store, "c-old", created_at=T0 - timedelta(days=10), agent_id="a1")
    await _conversation(store, "c-b", tenant="b", created_at=at(60), agent_id="a1")
    await store.create_left_message(
        a_left_message("l1", conversation_id="c3", created_at=at(20 * 3600 + 60))
    )
    await store.create_left_message(a_left_message("l2", created_at=at(100)))
    await store.create_left_message(a_left_message("l-b", tenant="b", created_at=at(100)))


def _by_key(cells: list[ReportCell]) -> dict[str, ReportCell]:
    found = {cell.key: cell for cell in cells}
    assert len(found) == len(cells), "one cell per key"
    return found


async def _report(store: Store, group) -> dict[str, ReportCell]:
    return _by_key(await store.report("a", T0 - timedelta(days=1), T0 + timedelta(days=2), group))


async def test_a_report_by_agent_sums_times_counts_and_ratings(store: Store) -> None:
    await _scenario(store)
    cells = await _report(store, "agent")
    assert set(cells) == {"a1", ""}
    ann = cells["a1"]
    assert (ann.conversations, ann.messages_in, ann.messages_out) == (2, 3, 3)
    assert (ann.wait_seconds, ann.waits) == (90, 2)
    assert (ann.first_response_seconds, ann.first_responses) == (160, 2)
    assert (ann.handle_seconds, ann.handled) == (900, 2)
    assert (ann.csat_total, ann.csat_count, ann.left_messages) == (8, 2, 0)
    nobody = cells[""]
    assert (nobody.conversations, nobody.messages_in, nobody.messages_out) == (1, 1, 0)
    assert (nobody.waits, nobody.first_responses, nobody.handled, nobody.csat_count) == (0, 0, 0, 0)
    assert nobody.left_messages == 2  # l1 (its conversation has no agent) and l2 (none)


async def test_a_report_by_skill_and_by_channel(store: Store) -> None:
    await _scenario(store)
    skills = await _report(store, "skill")
    assert {k: (c.conversations, c.left_messages) for k, c in skills.items()} == {
        "sales": (2, 0),
        "support": (1, 1),
        "": (0, 1),
    }
    channels = await _report(store, "channel")
    assert {k: (c.conversations, c.messages_out, c.left_messages) for k, c in channels.items()} == {
        "webim": (2, 1, 1),
        "email": (1, 2, 0),
        "": (0, 0, 1),
    }


async def test_a_report_by_quarter_hour_keys_utc_quarters(store: Store) -> None:
    await _scenario(store)
    cells = await _report(store, "quarter_hour")
    # T0 is 05:06:07 UTC; c2 an hour later; c3 and l1 twenty hours later; l2 at 05:07:47.
    assert {k: (c.conversations, c.left_messages) for k, c in cells.items()} == {
        "2026-03-04T05:00": (1, 1),
        "2026-03-04T06:00": (1, 0),
        "2026-03-05T01:00": (1, 1),
    }


async def test_a_report_range_is_half_open(store: Store) -> None:
    await _scenario(store)
    cells = _by_key(await store.report("a", T0, at(3600), "agent"))
    assert cells["a1"].conversations == 1  # c1 at the start is in, c2 at the end is not
    assert cells[""].left_messages == 1 and cells[""].conversations == 0
