"""The storage contract: the rules of hub/storage/base.py, checked on every backend.

Each test runs on SQLite, on MongoStore over mongomock-motor (a fake: it executes the motor
code, it is not MongoDB) and on a real MongoDB when HUB_TEST_MONGO_URL is set (see
conftest.py). Tenant "a" owns the records; tenant "b" must never see them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub.domain import (
    Agent,
    ChannelAccount,
    Contact,
    Conversation,
    Delivery,
    Identity,
    LeftMessage,
    Message,
    Rating,
    Sender,
    Tenant,
    Upload,
    new_id,
)
from hub.errors import Conflict, NotFound
from hub.storage.base import Store, UploadQuota
from tests.storage.conftest import Backend

# Stores keep datetimes to the millisecond (ISO 8601 strings), so test moments have no more.
T0 = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def a_conversation(
    conversation_id: str | None = None, tenant: str = "a", **values: Any
) -> Conversation:
    values.setdefault("created_at", T0)
    conversation_id = conversation_id or new_id()
    return Conversation(
        id=conversation_id,
        tenant=tenant,
        channel=values.pop("channel", "webim"),
        # A contact of its own unless told: a contact has one open conversation per channel.
        contact_id=values.pop("contact_id", f"k-{conversation_id}"),
        **values,
    )


def a_message(conversation_id: str, tenant: str = "a", **values: Any) -> Message:
    values.setdefault("created_at", T0)
    return Message(
        id=new_id(),
        tenant=tenant,
        conversation_id=conversation_id,
        sender=values.pop("sender", Sender("contact", "k1", "Kim")),
        **values,
    )


def an_agent(email: str, tenant: str = "a", **values: Any) -> Agent:
    values.setdefault("created_at", T0)
    return Agent(id=new_id(), tenant=tenant, name="Ann", email=email, password_hash="x", **values)


# tenants and settings ---------------------------------------------------------------------


async def test_tenants_are_created_once_read_back_and_listed_in_order(store: Store) -> None:
    for tenant_id in ("b", "c", "a"):
        await store.create_tenant(Tenant(id=tenant_id, name=f"Tenant {tenant_id}", created_at=T0))
    with pytest.raises(Conflict) as refused:
        await store.create_tenant(Tenant(id="a", name="again"))
    assert refused.value.code == "tenant_exists"
    assert await store.get_tenant("a") == Tenant(id="a", name="Tenant a", created_at=T0)
    assert await store.get_tenant("missing") is None
    assert await store.list_tenant_ids() == ["a", "b", "c"]


async def test_settings_are_put_overwritten_and_kept_per_tenant(store: Store) -> None:
    assert await store.get_settings("a", "routing") is None
    await store.put_settings("a", "routing", {"policy": "idle_first", "nested": {"n": [1, 2]}})
    await store.put_settings("a", "widget", {"colour": "#123456"})
    await store.put_settings("a", "routing", {"policy": "round_robin"})
    assert await store.get_settings("a", "routing") == {"policy": "round_robin"}
    assert await store.get_settings("a", "widget") == {"colour": "#123456"}
    assert await store.get_settings("b", "routing") is None
    await store.put_settings("b", "routing", {"policy": "idle_first"})
    assert await store.get_settings("a", "routing") == {"policy": "round_robin"}


# agents -----------------------------------------------------------------------------------


async def test_agents_round_trip_and_are_listed_oldest_first_per_tenant(store: Store) -> None:
    newer = an_agent("new@example.com", created_at=at(2), roles=["admin"], skills=["vip"])
    older = an_agent("old@example.com", created_at=at(1), max_concurrent=2, disabled=True)
    foreign = an_agent("other@example.com", tenant="b", created_at=at(0))
    for agent in (newer, older, foreign):
        await store.create_agent(agent)
    assert await store.get_agent("a", newer.id) == newer
    assert await store.list_agents("a") == [older, newer]
    assert await store.list_agents("b") == [foreign]
    assert await store.get_agent("b", newer.id) is None
    assert await store.get_agent("a", foreign.id) is None


async def test_agent_email_is_unique_case_insensitively_across_tenants(store: Store) -> None:
    agent = an_agent("Ann.Lee@Example.com")
    await store.create_agent(agent)
    for tenant in ("a", "b"):
        with pytest.raises(Conflict) as refused:
            await store.create_agent(an_agent("ann.lee@EXAMPLE.COM", tenant=tenant))
        assert refused.value.code == "email_taken"
    assert await store.get_agent_by_email("ANN.LEE@example.com") == agent
    assert await store.get_agent_by_email("nobody@example.com") is None
    assert await store.list_agents("b") == []


async def test_update_agent_writes_only_the_named_fields(store: Store) -> None:
    agent = an_agent("ann@example.com", max_concurrent=3)
    await store.create_agent(agent)
    renamed = an_agent("ann@example.com", max_concurrent=9)
    renamed.id, renamed.name, renamed.created_at = agent.id, "Annie", agent.created_at
    await store.update_agent(renamed, ["name"])
    stored = await store.get_agent("a", agent.id)
    assert stored is not None
    assert (stored.name, stored.max_concurrent) == ("Annie", 3)


async def test_update_agent_email_moves_the_login_and_stays_unique(store: Store) -> None:
    ann, bob = an_agent("ann@example.com"), an_agent("bob@example.com", tenant="b")
    await store.create_agent(ann)
    await store.create_agent(bob)
    ann.email = "BOB@example.com"
    with pytest.raises(Conflict) as refused:
        await store.update_agent(ann, ["email"])
    assert refused.value.code == "email_taken"
    assert await store.get_agent_by_email("ann@example.com") is not None
    ann.email = "Anna@example.com"
    await store.update_agent(ann, ["email"])
    assert await store.get_agent_by_email("ann@example.com") is None
    moved = await store.get_agent_by_email("anna@EXAMPLE.com")
    assert moved is not None and moved.id == ann.id and moved.email == "Anna@example.com"
    with pytest.raises(Conflict):
        await store.create_agent(an_agent("anna@example.com"))
    await store.create_agent(an_agent("ann@example.com"))  # the old address is free again


async def test_update_agent_of_a_missing_or_foreign_agent_is_not_found(store: Store) -> None:
    agent = an_agent("ann@example.com")
    await store.create_agent(agent)
    foreign = an_agent("ann@example.com", tenant="b")
    foreign.id, foreign.name = agent.id, "Hijacked"
    for ghost in (an_agent("ghost@example.com"), foreign):
        with pytest.raises(NotFound) as missing:
            await store.update_agent(ghost, ["name"])
        assert missing.value.code == "agent_not_found"
    stored = await store.get_agent("a", agent.id)
    assert stored is not None and stored.name == "Ann"


# contacts ---------------------------------------------------------------------------------


def a_contact(contact_id: str, *identities: Identity, tenant: str = "a", **values: Any) -> Contact:
    values.setdefault("created_at", T0)
    values.setdefault("last_seen_at", T0)
    return Contact(id=contact_id, tenant=tenant, identities=list(identities), **values)


WECHAT = Identity("wechat", "openid-1")
EMAIL = Identity("email", "kim@example.com")
WEBIM = Identity("webim", "visitor-1")


async def test_contacts_round_trip_and_are_found_by_identity_in_their_tenant(
    store: Store,
) -> None:
    contact = a_contact(
        "k1",
        WECHAT,
        EMAIL,
        name="Kim",
        tags=["vip"],
        attributes={"browser": "Firefox", "pages": ["/", "/shop"], "depth": {"n": 1}},
        visit_count=3,
        blocked_until=at(60),
        created_at=at(0),
        last_seen_at=at(30),
    )
    await store.create_contact(contact)
    assert await store.get_contact("a", "k1") == contact
    assert await store.find_contact("a", EMAIL) == contact
    assert await store.find_contact("a", Identity("wechat", "openid-2")) is None
    assert await store.get_contact("b", "k1") is None
    assert await store.find_contact("b", WECHAT) is None


async def test_an_identity_belongs_to_one_contact_per_tenant(store: Store) -> None:
    await store.create_contact(a_contact("k1", WECHAT))
    with pytest.raises(Conflict) as refused:
        await store.create_contact(a_contact("k2", EMAIL, WECHAT))
    assert refused.value.code == "identity_taken"
    # The refused contact left nothing behind: neither itself nor its other identity.
    assert await store.get_contact("a", "k2") is None
    assert await store.find_contact("a", EMAIL) is None
    await store.create_contact(a_contact("k3", EMAIL))
    # Another tenant may know the same person under the same identity.
    await store.create_contact(a_contact("k4", WECHAT, tenant="b"))
    found = await store.find_contact("b", WECHAT)
    assert found is not None and found.id == "k4"
    found = await store.find_contact("a", WECHAT)
    assert found is not None and found.id == "k1"


async def test_one_identity_listed_twice_is_refused(store: Store) -> None:
    with pytest.raises(Conflict) as refused:
        await store.create_contact(a_contact("k1", WECHAT, WECHAT))
    assert refused.value.code == "identity_taken"
    assert await store.get_contact("a", "k1") is None


async def test_update_contact_writes_only_the_named_fields(store: Store) -> None:
    await store.create_contact(a_contact("k1", WEBIM, name="Visitor 1", visit_count=1))
    # Two actions holding stale copies change different fields.
    renamer = a_contact("k1", WEBIM, name="Kim", visit_count=1)
    counter = a_contact("k1", WEBIM, name="Visitor 1", visit_count=2, last_seen_at=at(5))
    await store.update_contact(renamer, ["name"])
    await store.update_contact(counter, ["visit_count", "last_seen_at"])
    stored = await store.get_contact("a", "k1")
    assert stored is not None
    assert (stored.name, stored.visit_count, stored.last_seen_at) == ("Kim", 2, at(5))


async def test_update_contact_identities_claims_new_and_releases_dropped(store: Store) -> None:
    kim = a_contact("k1", WEBIM, WECHAT)
    await store.create_contact(kim)
    kim.identities = [WECHAT, EMAIL]
    await store.update_contact(kim, ["identities"])
    stored = await store.get_contact("a", "k1")
    assert stored is not None and stored.identities == [WECHAT, EMAIL]
    for identity in (WECHAT, EMAIL):
        found = await store.find_contact("a", identity)
        assert found is not None and found.id == "k1"
    assert await store.find_contact("a", WEBIM) is None
    await store.create_contact(a_contact("k2", WEBIM))  # the dropped identity is free


async def test_update_contact_to_a_taken_identity_is_refused_and_changes_nothing(
    store: Store,
) -> None:
    await store.create_contact(a_contact("k1", WEBIM))
    await store.create_contact(a_contact("k2", WECHAT))
    moved = a_contact("k2", EMAIL, WEBIM, name="Taken")
    with pytest.raises(Conflict) as refused:
        await store.update_contact(moved, ["identities", "name"])
    assert refused.value.code == "identity_taken"
    stored = await store.get_contact("a", "k2")
    assert stored is not None and stored.identities == [WECHAT] and stored.name == ""
    found = await store.find_contact("a", WEBIM)
    assert found is not None and found.id == "k1"
    found = await store.find_contact("a", WECHAT)
    assert found is not None and found.id == "k2"
    assert await store.find_contact("a", EMAIL) is None


async def test_update_contact_of_a_missing_or_foreign_contact_is_not_found(store: Store) -> None:
    await store.create_contact(a_contact("k1", WEBIM, name="Kim"))
    for ghost in (a_contact("k9", name="Ghost"), a_contact("k1", EMAIL, tenant="b", name="B")):
        for fields in (["name"], ["identities", "name"]):
            with pytest.raises(NotFound) as missing:
                await store.update_contact(ghost, fields)
            assert missing.value.code == "contact_not_found"
    stored = await store.get_contact("a", "k1")
    assert stored is not None and stored.name == "Kim"
    assert await store.find_contact("b", EMAIL) is None


async def test_list_contacts_most_recently_seen_first_with_limit(store: Store) -> None:
    for number, seen in ((1, 10), (2, 30), (3, 20)):
        await store.create_contact(a_contact(f"k{number}", last_seen_at=at(seen)))
    await store.create_contact(a_contact("k4", tenant="b", last_seen_at=at(99)))
    assert [c.id for c in await store.list_contacts("a")] == ["k2", "k3", "k1"]
    assert [c.id for c in await store.list_contacts("a", limit=2)] == ["k2", "k3"]
    assert [c.id for c in await store.list_contacts("b")] == ["k4"]
    assert await store.list_contacts("c") == []


async def test_list_contacts_blocked_at_keeps_those_blocked_at_that_moment(store: Store) -> None:
    await store.create_contact(a_contact("never", last_seen_at=at(4)))
    await store.create_contact(a_contact("expired", blocked_until=at(50), last_seen_at=at(3)))
    await store.create_contact(a_contact("ends-now", blocked_until=at(100), last_seen_at=at(2)))
    await store.create_contact(a_contact("later", blocked_until=at(101), last_seen_at=at(1)))
    await store.create_contact(a_contact("long", blocked_until=at(900), last_seen_at=at(5)))
    await store.create_contact(a_contact("foreign", tenant="b", blocked_until=at(900)))
    blocked = await store.list_contacts("a", blocked_at=at(100))
    assert [c.id for c in blocked] == ["long", "later"]
    assert [c.id for c in await store.list_contacts("a", blocked_at=at(100), limit=1)] == ["long"]
    assert len(await store.list_contacts("a", blocked_at=at(0))) == 4


# conversations ----------------------------------------------------------------------------


async def test_conversations_round_trip_in_their_tenant_only(store: Store) -> None:
    conversation = a_conversation(
        "c1",
        status="closed",
        agent_id="ag1",
        skill="sales",
        created_at=at(0),
        queued_at=at(1),
        assigned_at=at(2),
        first_response_at=at(3),
        closed_at=at(4).astimezone(timezone(timedelta(hours=8))),  # the same moment
        close_reason="agent",
        summary="asked about shoes",
        rating=Rating(4, "quick"),
        tags=["shoes"],
    )
    await store.create_conversation(conversation)
    assert await store.get_conversation("a", "c1") == conversation
    assert await store.get_conversation("b", "c1") is None
    assert await store.get_conversation("a", "missing") is None
    with pytest.raises(Conflict) as refused:
        await store.create_conversation(a_conversation("c1"))
    assert refused.value.code == "conversation_exists"


async def test_update_conversation_writes_only_the_named_fields(store: Store) -> None:
    await store.create_conversation(a_conversation("c1", status="queued"))
    await store.append_message(a_message("c1", text="hello"))
    # Stale copies (last_seq 0, no summary) of two actions touching different fields.
    assigner = a_conversation("c1", status="assigned", agent_id="ag1", assigned_at=at(1))
    rater = a_conversation("c1", rating=Rating(5), summary="ignored")
    assert await store.update_conversation(assigner, ["status", "agent_id", "assigned_at"])
    assert await store.update_conversation(rater, ["rating"])
    stored = await store.get_conversation("a", "c1")
    assert stored is not None
    assert (stored.status, stored.agent_id, stored.assigned_at) == ("assigned", "ag1", at(1))
    assert (stored.rating, stored.summary) == (Rating(5), "")
    assert (stored.last_seq, stored.last_message_preview) == (1, "hello")


async def test_update_conversation_compare_and_set(store: Store) -> None:
    await store.create_conversation(a_conversation("c1", status="queued"))
    first = a_conversation("c1", status="assigned", agent_id="ag1")
    second = a_conversation("c1", status="assigned", agent_id="ag2")
    expect = {"status": "queued", "agent_id": None}
    assert await store.update_conversation(first, ["status", "agent_id"], expect=expect)
    assert not await store.update_conversation(second, ["status", "agent_id"], expect=expect)
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and stored.agent_id == "ag1"
    closing = a_conversation("c1", status="closed", closed_at=at(9))
    assert await store.update_conversation(
        closing, ["status", "closed_at"], expect={"status": "assigned", "agent_id": "ag1"}
    )
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and (stored.status, stored.closed_at) == ("closed", at(9))


async def test_update_conversation_of_a_missing_or_foreign_one_writes_nothing(
    store: Store,
) -> None:
    await store.create_conversation(a_conversation("c1", status="queued"))
    foreign = a_conversation("c1", tenant="b", status="closed")
    assert not await store.update_conversation(foreign, ["status"])
    assert not await store.update_conversation(foreign, ["status"], expect={"status": "queued"})
    assert not await store.update_conversation(a_conversation("c9"), ["status"])
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and stored.status == "queued"
    assert await store.get_conversation("b", "c1") is None


@pytest.mark.parametrize("field", ["last_seq", "last_message_at", "last_message_preview"])
async def test_update_conversation_refuses_fields_owned_by_append(store: Store, field: str) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.append_message(a_message("c1", text="hi"))
    stale = a_conversation("c1", summary="s")
    with pytest.raises(ValueError):
        await store.update_conversation(stale, ["summary", field])
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and (stored.last_seq, stored.summary) == (1, "")


async def test_list_conversations_newest_first_with_filters_and_limit(store: Store) -> None:
    rows = [
        ("c1", 1, "queued", None, "webim", "k1"),
        ("c2", 2, "assigned", "ag1", "wechat", "k1"),
        ("c3", 3, "closed", "ag1", "webim", "k2"),
        ("c4", 4, "bot", None, "email", "k2"),
        ("c5", 5, "assigned", "ag2", "webim", "k3"),
    ]
    for cid, second, status, agent, channel, contact in rows:
        await store.create_conversation(
            a_conversation(
                cid,
                status=status,
                agent_id=agent,
                channel=channel,
                contact_id=contact,
                created_at=at(second),
            )
        )
    await store.create_conversation(a_conversation("c6", tenant="b", created_at=at(9)))

    async def ids(**filters: Any) -> list[str]:
        return [c.id for c in await store.list_conversations("a", **filters)]

    assert await ids() == ["c5", "c4", "c3", "c2", "c1"]
    assert await ids(status=["assigned", "queued"]) == ["c5", "c2", "c1"]
    assert await ids(status=["closed"]) == ["c3"]
    assert await ids(agent_id="ag1") == ["c3", "c2"]
    assert await ids(channel="webim") == ["c5", "c3", "c1"]
    assert await ids(contact_id="k2") == ["c4", "c3"]
    assert await ids(status=["assigned"], agent_id="ag1", channel="wechat") == ["c2"]
    assert await ids(limit=2) == ["c5", "c4"]
    assert await ids(contact_id="k9") == []
    assert [c.id for c in await store.list_conversations("b")] == ["c6"]


async def test_list_conversations_filters_see_updated_fields(store: Store) -> None:
    await store.create_conversation(a_conversation("c1", status="queued", contact_id="k1"))
    moved = a_conversation(
        "c1", status="assigned", agent_id="ag1", channel="email", contact_id="k2"
    )
    assert await store.update_conversation(moved, ["status", "agent_id", "channel", "contact_id"])
    for filters in (
        {"status": ["assigned"]},
        {"agent_id": "ag1"},
        {"channel": "email"},
        {"contact_id": "k2"},
    ):
        listed = await store.list_conversations("a", **filters)
        assert [c.id for c in listed] == ["c1"], filters
    assert await store.list_conversations("a", status=["queued"]) == []
    assert await store.list_conversations("a", contact_id="k1") == []
    found = await store.find_open_conversation("a", "k2", "email")
    assert found is not None and found.id == "c1"
    assert await store.find_open_conversation("a", "k1", "webim") is None


async def test_a_contact_has_one_open_conversation_per_channel_account_and_thread(
    store: Store,
) -> None:
    assert await store.find_open_conversation("a", "k1", "webim") is None
    await store.create_conversation(a_conversation("old", contact_id="k1", status="queued"))
    with pytest.raises(Conflict) as second:
        await store.create_conversation(a_conversation("twin", contact_id="k1", status="bot"))
    assert second.value.code == "conversation_open"
    for conversation in (
        a_conversation("done", contact_id="k1", status="closed"),
        a_conversation("mail", contact_id="k1", channel="email", channel_id="box1"),
        a_conversation("mail2", contact_id="k1", channel="email", channel_id="box2"),
        a_conversation("call", contact_id="k1", channel="voice", channel_id="pbx", thread_key="u1"),
        a_conversation(
            "call2", contact_id="k1", channel="voice", channel_id="pbx", thread_key="u2"
        ),
        a_conversation("other", contact_id="k2"),
        a_conversation("theirs", contact_id="k1", tenant="b"),
    ):
        await store.create_conversation(conversation)

    async def open_id(tenant: str = "a", *key: Any) -> str | None:
        found = await store.find_open_conversation(tenant, "k1", *(key or ("webim",)))
        return found.id if found else None

    assert await open_id() == "old"
    assert await open_id("a", "email", "box2") == "mail2"
    assert await open_id("a", "voice", "pbx", "u1") == "call"
    assert await open_id("a", "email") is None
    assert await open_id("b") == "theirs"
    # Closing frees the key; reopening a closed one while another is open is refused.
    old = await store.get_conversation("a", "old")
    assert old is not None
    old.status = "closed"
    assert await store.update_conversation(old, ["status"], expect={"status": "queued"})
    assert await open_id() is None
    await store.create_conversation(a_conversation("new", contact_id="k1"))
    assert await open_id() == "new"
    old.status = "queued"
    with pytest.raises(Conflict) as reopened:
        await store.update_conversation(old, ["status"])
    assert reopened.value.code == "conversation_open"
    assert await open_id() == "new"


async def test_open_conversation_returns_the_open_one_instead_of_a_second(store: Store) -> None:
    first, created = await store.open_conversation(a_conversation("c1", contact_id="k1"))
    assert created and first.id == "c1"
    again, created = await store.open_conversation(a_conversation("c2", contact_id="k1"))
    assert not created and again == first
    assert await store.get_conversation("a", "c2") is None
    racing = await asyncio.gather(
        *[store.open_conversation(a_conversation(f"r{i}", contact_id="k9")) for i in range(10)]
    )
    assert sum(created for _, created in racing) == 1
    assert len({conversation.id for conversation, _ in racing}) == 1


# messages ---------------------------------------------------------------------------------


async def test_append_assigns_seq_and_updates_the_conversation(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    texts = ["one", "two", "x" * 150]
    results = [
        await store.append_message(a_message("c1", text=text, created_at=at(i)))
        for i, text in enumerate(texts)
    ]
    assert [(r.message.seq, r.created) for r in results] == [(1, True), (2, True), (3, True)]
    image = await store.append_message(a_message("c1", type="image", created_at=at(7)))
    assert image.message.seq == 4
    stored = await store.get_conversation("a", "c1")
    assert stored is not None
    assert (stored.last_seq, stored.last_message_at, stored.last_message_preview) == (
        4,
        at(7),
        "[image]",
    )
    listed = await store.list_messages("a", "c1")
    assert [m.seq for m in listed] == [1, 2, 3, 4]
    assert listed[:3] == [r.message for r in results]
    await store.append_message(a_message("c1", text="y" * 150))
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and stored.last_message_preview == "y" * 100


async def test_list_messages_after_seq_with_limit_in_its_tenant(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.create_conversation(a_conversation("c2"))
    for i in range(6):
        await store.append_message(a_message("c1", text=f"m{i}"))
    await store.append_message(a_message("c2", text="elsewhere"))
    assert [m.seq for m in await store.list_messages("a", "c1", after_seq=2, limit=3)] == [3, 4, 5]
    assert [m.text for m in await store.list_messages("a", "c1", after_seq=5)] == ["m5"]
    assert await store.list_messages("a", "c1", after_seq=6) == []
    assert await store.list_messages("b", "c1") == []
    assert [m.text for m in await store.list_messages("a", "c2")] == ["elsewhere"]


async def test_list_messages_before_seq_gives_the_page_just_before_in_seq_order(
    store: Store,
) -> None:
    await store.create_conversation(a_conversation("c1"))
    for i in range(6):
        await store.append_message(a_message("c1", text=f"m{i}"))
    assert [m.seq for m in await store.list_messages("a", "c1", before_seq=6, limit=2)] == [4, 5]
    assert [m.seq for m in await store.list_messages("a", "c1", before_seq=3, limit=5)] == [1, 2]
    assert [
        m.seq for m in await store.list_messages("a", "c1", after_seq=2, before_seq=6, limit=9)
    ] == [3, 4, 5]
    assert await store.list_messages("a", "c1", before_seq=1) == []
    assert await store.list_messages("b", "c1", before_seq=6) == []


async def test_messages_round_trip_exactly(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    message = a_message(
        "c1",
        sender=Sender("agent", "ag1", "Ann"),
        type="file",
        text="see attached",
        attachments=[{"url": "/uploads/x.pdf", "name": "x.pdf", "size": 1234}],
        client_id="cl-1",
        platform_message_id="wx-1",
        created_at=at(0),
    )
    result = await store.append_message(message)
    message.seq = 1
    assert result.message == message
    assert await store.list_messages("a", "c1") == [message]


async def test_append_to_a_missing_or_foreign_conversation_is_not_found(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    for tenant, conversation_id in (("a", "missing"), ("b", "c1")):
        with pytest.raises(NotFound) as missing:
            await store.append_message(a_message(conversation_id, tenant=tenant, client_id="x"))
        assert missing.value.code == "conversation_not_found"
    assert await store.list_messages("a", "c1") == []
    assert await store.list_messages("b", "c1") == []
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and stored.last_seq == 0
    # The refused appends did not reserve their client id either.
    assert (await store.append_message(a_message("c1", client_id="x"))).created


async def test_a_repeated_client_id_returns_the_original_and_writes_nothing(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.create_conversation(a_conversation("c2"))
    original = await store.append_message(a_message("c1", text="first", client_id="cl-1"))
    await store.append_message(a_message("c1", text="second", client_id="cl-2"))
    before = await store.get_conversation("a", "c1")
    repeat = await store.append_message(a_message("c1", text="retry", client_id="cl-1"))
    assert not repeat.created
    assert repeat.message == original.message
    assert [m.text for m in await store.list_messages("a", "c1")] == ["first", "second"]
    assert await store.get_conversation("a", "c1") == before
    # Client ids are per conversation.
    elsewhere = await store.append_message(a_message("c2", text="other", client_id="cl-1"))
    assert elsewhere.created and elsewhere.message.seq == 1
    assert (await store.append_message(a_message("c1", text="third"))).message.seq == 3


async def test_a_repeated_platform_message_id_returns_the_original_in_its_tenant(
    store: Store,
) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.create_conversation(a_conversation("c2"))
    await store.create_conversation(a_conversation("c3", tenant="b"))
    original = await store.append_message(a_message("c1", text="first", platform_message_id="p"))
    before = await store.get_conversation("a", "c2")
    # The platform id is unique in the tenant, whichever conversation it arrives for.
    repeat = await store.append_message(a_message("c2", text="again", platform_message_id="p"))
    assert not repeat.created and repeat.message == original.message
    assert await store.list_messages("a", "c2") == []
    assert await store.get_conversation("a", "c2") == before
    theirs = await store.append_message(
        a_message("c3", tenant="b", text="theirs", platform_message_id="p")
    )
    assert theirs.created and theirs.message.seq == 1
    assert [m.text for m in await store.list_messages("a", "c1")] == ["first"]


async def test_concurrent_appends_are_gap_free_and_deduplicated(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    results = await asyncio.gather(
        *[
            store.append_message(a_message("c1", text=str(i), client_id=str(i % 150)))
            for i in range(200)
        ]
    )
    created = [r for r in results if r.created]
    assert sorted(r.message.seq for r in created) == list(range(1, 151))
    listed = await store.list_messages("a", "c1", limit=1000)
    assert [m.seq for m in listed] == list(range(1, 151))
    by_client_id = {m.client_id: m for m in listed}
    assert all(by_client_id[r.message.client_id] == r.message for r in results)
    stored = await store.get_conversation("a", "c1")
    assert stored is not None and stored.last_seq == 150


async def test_two_hub_processes_appending_to_one_conversation_leave_no_gap(
    backend: Backend,
) -> None:
    first, second = await backend.open_store(), await backend.open_store()
    await first.create_conversation(a_conversation("c1"))
    results = await asyncio.gather(
        *[
            (first if i % 2 else second).append_message(
                a_message("c1", text=str(i), client_id=str(i % 60))
            )
            for i in range(100)
        ]
    )
    assert sorted(r.message.seq for r in results if r.created) == list(range(1, 61))
    for store in (first, second):
        listed = await store.list_messages("a", "c1", limit=1000)
        assert [m.seq for m in listed] == list(range(1, 61))
        stored = await store.get_conversation("a", "c1")
        assert stored is not None and stored.last_seq == 60


# messages left when nobody could answer ---------------------------------------------------


def a_left_message(left_id: str, tenant: str = "a", **values: Any) -> LeftMessage:
    values.setdefault("created_at", T0)
    values.setdefault("text", "call me")
    return LeftMessage(id=left_id, tenant=tenant, contact_id="k1", **values)


async def test_left_messages_are_listed_newest_first_filtered_and_updated(store: Store) -> None:
    first = a_left_message("l1", created_at=at(1), name="Kim", phone="123", email="k@x.org")
    second = a_left_message("l2", created_at=at(2), conversation_id="c1")
    third = a_left_message("l3", created_at=at(3), handled=True)
    for left in (first, second, third, a_left_message("l4", tenant="b", created_at=at(4))):
        await store.create_left_message(left)
    assert await store.list_left_messages("a") == [third, second, first]
    assert await store.list_left_messages("a", limit=2) == [third, second]
    assert await store.list_left_messages("a", handled=True) == [third]
    assert await store.list_left_messages("a", handled=False) == [second, first]
    assert [left.id for left in await store.list_left_messages("b")] == ["l4"]
    handled = a_left_message("l1", handled=True, text="stale text")
    await store.update_left_message(handled, ["handled"])
    assert [left.id for left in await store.list_left_messages("a", handled=False)] == ["l2"]
    stored = (await store.list_left_messages("a", handled=True))[-1]
    assert stored.id == "l1" and stored.text == "call me" and stored.name == "Kim"


async def test_update_left_message_of_a_missing_or_foreign_one_is_not_found(
    store: Store,
) -> None:
    await store.create_left_message(a_left_message("l1"))
    for ghost in (a_left_message("l9"), a_left_message("l1", tenant="b")):
        with pytest.raises(NotFound) as missing:
            await store.update_left_message(ghost, ["handled"])
        assert missing.value.code == "left_message_not_found"
    assert [left.handled for left in await store.list_left_messages("a")] == [False]


# life cycle -------------------------------------------------------------------------------


async def test_records_survive_close_and_open_and_close_twice_is_harmless(
    backend: Backend,
) -> None:
    store = await backend.open_store()
    await store.create_tenant(Tenant(id="a", name="A"))
    await store.create_conversation(a_conversation("c1"))
    await store.append_message(a_message("c1", client_id="cl-1"))
    await store.close()
    await store.close()
    await store.open()
    assert await store.list_tenant_ids() == ["a"]
    assert (await store.append_message(a_message("c1", client_id="cl-2"))).message.seq == 2
    # A second store on the same data opens it again (tables and indexes exist already).
    again = await backend.open_store()
    assert [m.client_id for m in await again.list_messages("a", "c1")] == ["cl-1", "cl-2"]
    assert not (await again.append_message(a_message("c1", client_id="cl-1"))).created


async def test_opening_an_open_store_again_changes_nothing(backend: Backend) -> None:
    store = await backend.open_store()
    await store.create_conversation(a_conversation("c1"))
    await store.open()
    assert (await store.append_message(a_message("c1"))).message.seq == 1
    await store.close()
    # Nothing the second open could have started is left running after close.
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await store.open()
    assert [m.seq for m in await store.list_messages("a", "c1")] == [1]


async def test_close_finishes_the_writes_in_flight(backend: Backend) -> None:
    store = await backend.open_store()
    await store.create_conversation(a_conversation("c1"))
    # gather starts the appends before close in this order, so they are in flight when
    # close begins; each must still be written and acknowledged.
    *results, _ = await asyncio.gather(
        *[store.append_message(a_message("c1", client_id=str(i))) for i in range(50)],
        store.close(),
    )
    assert all(r.created for r in results)
    reopened = await backend.open_store()
    assert [m.seq for m in await reopened.list_messages("a", "c1")] == list(range(1, 51))


# a customer's message from a channel ---------------------------------------------------


def an_inbound(
    identity: Identity = EMAIL, *, channel_id: str = "box1", text: str = "hello", **message: Any
) -> tuple[Contact, Conversation, Message]:
    """What receive_inbound hands the store: templates for a new contact and a new
    conversation, and the message (no conversation or sender id yet)."""
    contact = a_contact(new_id(), identity, name="Kim")
    conversation = a_conversation(
        channel=identity.channel, channel_id=channel_id, contact_id="", status="queued"
    )
    return contact, conversation, a_message("", text=text, sender=Sender("contact"), **message)


async def test_ingest_creates_contact_and_conversation_then_continues_them(store: Store) -> None:
    contact, conversation, message = an_inbound()
    first = await store.ingest(contact, conversation, message, now=T0)
    assert first.outcome == "new" and first.contact_created and first.conversation_opened
    assert first.contact.id == contact.id and first.conversation is not None
    assert first.conversation.contact_id == contact.id
    assert first.conversation.last_seq == 1
    assert first.message is not None and first.message.seq == 1
    assert first.message.sender == Sender("contact", contact.id, "Kim")
    assert first.message.conversation_id == first.conversation.id
    assert await store.find_contact("a", EMAIL) == first.contact
    listed = await store.list_messages("a", first.conversation.id)
    assert listed == [first.message]

    again = await store.ingest(*an_inbound(text="more"), now=T0)
    assert again.outcome == "new"
    assert not again.contact_created and not again.conversation_opened
    assert again.contact.id == contact.id
    assert again.conversation is not None and again.conversation.id == first.conversation.id
    assert again.message is not None and again.message.seq == 2
    # Another account of the channel is another conversation of the same contact.
    other = await store.ingest(*an_inbound(channel_id="box2"), now=T0)
    assert other.contact.id == contact.id and other.conversation_opened
    assert other.conversation is not None and other.conversation.id != first.conversation.id


async def test_ingest_opens_a_new_conversation_once_the_open_one_is_closed(store: Store) -> None:
    first = await store.ingest(*an_inbound(), now=T0)
    assert first.conversation is not None
    first.conversation.status = "closed"
    assert await store.update_conversation(first.conversation, ["status"])
    later = await store.ingest(*an_inbound(text="back again"), now=T0)
    assert later.conversation_opened and later.conversation is not None
    assert later.conversation.id != first.conversation.id
    assert later.message is not None and later.message.seq == 1


async def test_ingest_of_a_seen_platform_id_returns_the_original_and_opens_nothing(
    store: Store,
) -> None:
    first = await store.ingest(*an_inbound(platform_message_id="<m1@x>"), now=T0)
    assert first.conversation is not None
    first.conversation.status = "closed"
    assert await store.update_conversation(first.conversation, ["status"])
    # Redelivered after the close: not a new conversation holding a copy.
    repeat = await store.ingest(*an_inbound(text="copy", platform_message_id="<m1@x>"), now=T0)
    assert repeat.outcome == "seen" and repeat.message == first.message
    assert repeat.conversation is not None and repeat.conversation.id == first.conversation.id
    assert await store.find_open_conversation("a", first.contact.id, "email", "box1") is None
    assert len(await store.list_conversations("a")) == 1
    # The same id on another account is another message.
    elsewhere = await store.ingest(
        *an_inbound(channel_id="box2", platform_message_id="<m1@x>"), now=T0
    )
    assert elsewhere.outcome == "new"


async def test_ingest_refuses_a_blacklisted_contact_and_writes_nothing(store: Store) -> None:
    first = await store.ingest(*an_inbound(), now=T0)
    first.contact.blocked_until = at(60)
    await store.update_contact(first.contact, ["blocked_until"])
    assert first.conversation is not None
    first.conversation.status = "closed"
    assert await store.update_conversation(first.conversation, ["status"])
    refused = await store.ingest(*an_inbound(text="spam"), now=at(30))
    assert refused.outcome == "blocked" and refused.message is None
    assert len(await store.list_conversations("a")) == 1
    assert (await store.ingest(*an_inbound(text="later"), now=at(61))).outcome == "new"


async def test_concurrent_first_messages_make_one_contact_and_one_conversation(
    store: Store,
) -> None:
    results = await asyncio.gather(
        *[store.ingest(*an_inbound(text=f"m{i}"), now=T0) for i in range(8)]
    )
    assert sum(r.contact_created for r in results) == 1
    assert sum(r.conversation_opened for r in results) == 1
    assert len({r.contact.id for r in results}) == 1
    conversation_ids = {r.conversation.id for r in results if r.conversation}
    assert len(conversation_ids) == 1
    (conversation_id,) = conversation_ids
    stored = await store.list_messages("a", conversation_id)
    assert sorted(m.seq for m in stored) == list(range(1, 9))
    assert {m.text for m in stored} == {f"m{i}" for i in range(8)}


async def test_messages_are_found_by_platform_ids_of_their_account(store: Store) -> None:
    one = await store.ingest(*an_inbound(platform_message_id="<a@x>"), now=T0)
    await store.ingest(*an_inbound(platform_message_id="<b@x>"), now=T0)
    await store.ingest(*an_inbound(channel_id="box2", platform_message_id="<c@x>"), now=T0)
    found = await store.find_messages_by_platform_ids("a", "box1", ["<a@x>", "<c@x>", "<z@x>"])
    assert found == [one.message]
    assert await store.find_messages_by_platform_ids("b", "box1", ["<a@x>"]) == []
    assert await store.find_messages_by_platform_ids("a", "box1", []) == []


async def test_append_requiring_an_open_conversation_refuses_a_closed_one(store: Store) -> None:
    conversation = a_conversation("c1")
    await store.create_conversation(conversation)
    kept = await store.append_message(a_message("c1", client_id="k"), require_open=True)
    assert kept.created and kept.status == "queued"
    conversation.status = "closed"
    assert await store.update_conversation(conversation, ["status"])
    with pytest.raises(Conflict) as closed:
        await store.append_message(a_message("c1", text="late"), require_open=True)
    assert closed.value.code == "conversation_closed"
    # A retry of a message stored before the close still answers the original.
    retry = await store.append_message(a_message("c1", client_id="k"), require_open=True)
    assert not retry.created and retry.message == kept.message
    assert [m.seq for m in await store.list_messages("a", "c1")] == [1]


async def test_update_message_changes_delivery_and_meta_only(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    stored = (await store.append_message(a_message("c1", text="reply"))).message
    stored.delivery = Delivery("failed", updated_at=at(5), error={"code": "x", "message": "no"})
    stored.meta = {"subject": "Re: hi"}
    await store.update_message(stored, ["delivery", "meta"])
    assert await store.list_messages("a", "c1") == [stored]
    with pytest.raises(ValueError):
        await store.update_message(stored, ["text"])
    stored.seq = 9
    with pytest.raises(NotFound):
        await store.update_message(stored, ["meta"])


# the outbox ---------------------------------------------------------------------------


def an_outbound(conversation_id: str, due: datetime | None, **values: Any) -> Message:
    return a_message(
        conversation_id,
        sender=Sender("agent", "ag1", "Ann"),
        delivery=Delivery("pending", updated_at=T0, due_at=due) if due else None,
        **values,
    )


async def test_due_deliveries_are_claimed_once_oldest_first_and_held(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.create_conversation(a_conversation("c2", tenant="b"))
    await store.append_message(an_outbound("c1", at(3), text="third"))
    await store.append_message(an_outbound("c1", at(1), text="first"))
    await store.append_message(an_outbound("c2", at(2), tenant="b", text="second"))
    await store.append_message(an_outbound("c1", at(50), text="later"))
    await store.append_message(an_outbound("c1", None, text="web chat, sent at once"))
    claimed = [c.message for c in await store.claim_due_deliveries(at(10), at(40), limit=2)]
    assert [m.text for m in claimed] == ["first", "second"]
    assert all(m.delivery and m.delivery.due_at == at(40) for m in claimed)
    assert all(m.delivery and m.delivery.attempt_started_at == at(10) for m in claimed)
    # Held: not claimed again before the lease ends, while the next one is.
    third = await store.claim_due_deliveries(at(11), at(41), 10)
    assert [(c.message.text, c.interrupted) for c in third] == [("third", False)]
    assert await store.claim_due_deliveries(at(12), at(42), 10) == []
    # A lease that ran out (the worker died mid-send) makes them due again, interrupted.
    again = await store.claim_due_deliveries(at(45), at(75), 10)
    assert [(c.message.text, c.interrupted) for c in again] == [
        ("first", True),
        ("second", True),
        ("third", True),
    ]


async def test_concurrent_claims_never_take_a_message_twice(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    for i in range(20):
        await store.append_message(an_outbound("c1", at(i), text=str(i)))
    batches = await asyncio.gather(
        *[store.claim_due_deliveries(at(30), at(60), limit=3) for _ in range(10)]
    )
    texts = [claimed.message.text for batch in batches for claimed in batch]
    assert sorted(texts, key=int) == [str(i) for i in range(20)]


async def test_a_recorded_outcome_leaves_the_outbox_and_checks_the_attempt(store: Store) -> None:
    await store.create_conversation(a_conversation("c1"))
    await store.append_message(an_outbound("c1", at(1), text="reply"))
    (claim,) = await store.claim_due_deliveries(at(2), at(32), 10)
    claimed = claim.message
    attempt = claimed.delivery
    assert attempt is not None
    claimed.delivery = Delivery("sent", updated_at=at(3), attempts=1)
    assert await store.update_message(claimed, ["delivery"], expect_delivery=attempt)
    # A second worker that took it over after the lease cannot record over it.
    stale = Delivery("failed", updated_at=at(4), error={"code": "x", "message": "y"})
    claimed.delivery = stale
    assert not await store.update_message(claimed, ["delivery"], expect_delivery=attempt)
    (stored,) = await store.list_messages("a", "c1")
    assert stored.delivery is not None and stored.delivery.status == "sent"
    assert await store.claim_due_deliveries(at(100), at(130), 10) == []
    assert await store.get_message("a", "c1", stored.id) == stored
    assert await store.get_message("b", "c1", stored.id) is None


# channel accounts ------------------------------------------------------------------------


def an_account(account_id: str, tenant: str = "a", **values: Any) -> ChannelAccount:
    values.setdefault("created_at", T0)
    values.setdefault("updated_at", T0)
    return ChannelAccount(
        id=account_id,
        tenant=tenant,
        type=values.pop("type", "email"),
        name=values.pop("name", account_id),
        config=values.pop("config", {"imap_host": "imap.example.com", "imap_password": "s"}),
        **values,
    )


async def test_channel_accounts_round_trip_per_tenant(store: Store) -> None:
    first = an_account("ch1")
    await store.create_channel_account(first)
    await store.create_channel_account(an_account("ch2", created_at=at(1), enabled=False))
    await store.create_channel_account(an_account("ch3", tenant="b", type="sms"))
    with pytest.raises(Conflict):
        await store.create_channel_account(an_account("ch1"))
    assert await store.get_channel_account("a", "ch1") == first
    assert await store.get_channel_account("b", "ch1") is None
    assert [c.id for c in await store.list_channel_accounts("a")] == ["ch1", "ch2"]
    assert [c.id for c in await store.list_channel_accounts(None)] == ["ch1", "ch3"]
    first.status, first.last_error, first.state = "error", "login refused", {"uid": 7}
    await store.update_channel_account(first, ["status", "last_error", "state"])
    assert await store.get_channel_account("a", "ch1") == first
    first.enabled = False
    await store.update_channel_account(first, ["enabled"])
    assert [c.id for c in await store.list_channel_accounts(None)] == ["ch3"]
    with pytest.raises(NotFound):
        await store.update_channel_account(an_account("ch3"), ["name"])  # tenant b's
    await store.delete_channel_account("a", "ch1")
    assert await store.get_channel_account("a", "ch1") is None
    with pytest.raises(NotFound):
        await store.delete_channel_account("a", "ch1")


async def test_merging_moves_identities_and_conversations_or_nothing(store: Store) -> None:
    target, source = a_contact("k1", WEBIM), a_contact("k2", EMAIL, WECHAT)
    await store.create_contact(target)
    await store.create_contact(source)
    await store.create_conversation(a_conversation("c1", contact_id="k2", channel="email"))
    await store.create_conversation(a_conversation("c2", contact_id="k2", status="closed"))
    target.identities = [WEBIM, EMAIL, WECHAT]
    source.identities, source.merged_into = [], "k1"
    moved = await store.merge_contacts(target, source)
    assert sorted(moved) == ["c1", "c2"]
    assert await store.find_contact("a", EMAIL) == target
    assert await store.get_contact("a", "k2") == source
    assert {c.id for c in await store.list_conversations("a", contact_id="k1")} == {"c1", "c2"}
    found = await store.find_open_conversation("a", "k1", "email")
    assert found is not None and found.id == "c1"
    # Both with an open conversation on one channel: refused, nothing moves.
    await store.create_contact(a_contact("k3", Identity("webim", "v3")))
    await store.create_conversation(a_conversation("c3", contact_id="k3", channel="email"))
    other = a_contact("k3")
    with pytest.raises(Conflict) as clash:
        await store.merge_contacts(target, replace(other, merged_into="k1"))
    assert clash.value.code == "conversation_open"
    assert await store.find_contact("a", Identity("webim", "v3")) is not None
    stored = await store.get_contact("a", "k3")
    assert stored is not None and stored.merged_into is None
    assert {c.id for c in await store.list_conversations("a", contact_id="k3")} == {"c3"}


# left messages, search and ratings ----------------------------------------------------------


async def test_a_left_message_is_read_back_and_taken_once(store: Store) -> None:
    left = LeftMessage(
        id="l1", tenant="a", contact_id="k1", text="请回电", phone="138", conversation_id="c1"
    )
    await store.create_left_message(left)
    assert await store.get_left_message("b", "l1") is None
    found = await store.get_left_message("a", "l1")
    assert found is not None and found.conversation_id == "c1" and found.agent_id is None
    found.agent_id, found.agent_name, found.taken_at = "ag1", "Ann", T0
    assert await store.update_left_message_if(
        found, ["agent_id", "agent_name", "taken_at"], {"agent_id": None}
    )
    found.agent_id = "ag2"
    assert not await store.update_left_message_if(found, ["agent_id"], {"agent_id": None})
    stored = await store.get_left_message("a", "l1")
    assert stored is not None and stored.agent_id == "ag1" and stored.taken_at == T0
    with pytest.raises(NotFound):
        await store.update_left_message_if(replace(found, id="nope"), ["note"], {})


async def test_contacts_are_found_by_any_part_of_their_details(store: Store) -> None:
    contacts = [
        Contact(id="k1", tenant="a", name="王小明", last_seen_at=at(1)),
        Contact(id="k2", tenant="a", email="Kim@Example.com", notes="想要退款", last_seen_at=at(2)),
        Contact(id="k3", tenant="a", phone="+8613800000000", tags=["VIP客户"], last_seen_at=at(3)),
        Contact(
            id="k4",
            tenant="a",
            identities=[Identity("wechat", "openid-xyz")],
            last_seen_at=at(4),
        ),
        Contact(id="k5", tenant="b", name="王小明", last_seen_at=at(5)),
    ]
    for contact in contacts:
        await store.create_contact(contact)

    async def ids(text: str, **paging: Any) -> list[str]:
        return [c.id for c in await store.search_contacts("a", text, **paging)]

    assert await ids("小明") == ["k1"]  # inside a Chinese name, two characters
    assert await ids("退款") == ["k2"]
    assert await ids("kim@example") == ["k2"]  # case does not matter
    assert await ids("VIP") == ["k3"] and await ids("138000") == ["k3"]
    assert await ids("openid-x") == ["k4"]
    assert await ids("100%") == [] and await ids("_") == []  # wildcards are text
    # An edit is searchable at once; merged-away contacts are not listed.
    contacts[0].notes = "老客户"
    await store.update_contact(contacts[0], ["notes"])
    assert await ids("老客户") == ["k1"]
    contacts[1].name = "老客户 Kim"
    contacts[1].merged_into = "k1"
    await store.update_contact(contacts[1], ["name", "merged_into"])
    assert await ids("老客户") == ["k1"]
    # Pages: most recently seen first.
    for contact in contacts[2:4]:
        contact.notes = "same words"
        await store.update_contact(contact, ["notes"])
    first = await store.search_contacts("a", "same", limit=1)
    assert [c.id for c in first] == ["k4"]
    assert await ids("same", limit=1, after=(first[0].last_seen_at, "k4")) == ["k3"]


async def test_conversations_are_found_by_message_text_and_subject(store: Store) -> None:
    mine = a_conversation("c1", agent_id="ag1", status="assigned", created_at=at(1))
    queued = a_conversation("c2", status="queued", created_at=at(2))
    other = a_conversation("c3", agent_id="ag2", status="closed", created_at=at(3))
    foreign = a_conversation("c4", tenant="b", created_at=at(4))
    for conversation in (mine, queued, other, foreign):
        await store.create_conversation(conversation)
    await store.append_message(a_message("c1", text="我的订单还没有发货"))
    await store.append_message(a_message("c1", text="订单号 12345"))
    await store.append_message(a_message("c2", text="Where is my ORDER?"))
    await store.append_message(a_message("c3", text="hello", meta={"subject": "退款申请 order"}))
    await store.append_message(a_message("c4", tenant="b", text="订单"))

    async def found(text: str, **options: Any) -> list[tuple[str, int]]:
        hits = await store.search_conversations("a", text, **options)
        return [(h.conversation.id, h.message.seq) for h in hits]

    assert await found("订单") == [("c1", 2)]  # the newest matching message
    assert await found("发货") == [("c1", 1)]
    assert await found("order") == [("c3", 1), ("c2", 1)]  # newest conversation first
    assert await found("退款") == [("c3", 1)]  # by its subject
    assert await found("order", visible_to="ag1") == [("c2", 1)]  # own and queued only
    assert await found("订单", visible_to="ag1") == [("c1", 2)]
    assert await found("order", limit=1, after=(at(3), "c3")) == [("c2", 1)]
    assert await found("nothing") == []


async def test_rated_conversations_are_listed_most_recently_closed_first(store: Store) -> None:
    for number, score in ((1, 5), (2, None), (3, 2)):
        await store.create_conversation(
            a_conversation(
                f"c{number}",
                status="closed",
                closed_at=at(number),
                rating=Rating(score, "好") if score else None,
            )
        )
    await store.create_conversation(
        a_conversation("cb", tenant="b", status="closed", closed_at=at(9), rating=Rating(1))
    )
    rated = await store.list_rated_conversations("a")
    assert [(c.id, c.rating.score if c.rating else 0) for c in rated] == [("c3", 2), ("c1", 5)]
    page = await store.list_rated_conversations("a", limit=1, after=(at(3), "c3"))
    assert [c.id for c in page] == ["c1"]


# paging: every list by position ------------------------------------------------------------

PageFetch = Any  # (after, limit) -> the page


async def _walk(fetch: PageFetch, position: Any, limit: int, between: Any = None) -> list[str]:
    """Every page of a list until an empty one, calling `between` after the first page (a
    record added meanwhile); the ids met, in order."""
    met: list[str] = []
    after = None
    first = True
    while True:
        page = await fetch(after, limit)
        if not page:
            return met
        met.extend(record.id for record in page)
        after = position(page[-1])
        if first and between is not None:
            await between()
        first = False


async def test_conversation_pages_cover_the_list_once_in_order_with_inserts(store: Store) -> None:
    # Ties on created_at are broken by id: c0 .. c8 share three moments.
    for number in range(9):
        await store.create_conversation(
            a_conversation(f"c{number}", created_at=at(number // 3), status="queued")
        )
    await store.create_conversation(a_conversation("other", tenant="b", created_at=at(1)))
    expected = [c.id for c in await store.list_conversations("a", limit=100)]
    assert expected == ["c8", "c7", "c6", "c5", "c4", "c3", "c2", "c1", "c0"]

    async def newer() -> None:  # newer than every page: it belongs before the first
        await store.create_conversation(a_conversation("new", created_at=at(50)))

    def fetch(after: Any, limit: int) -> Any:
        return store.list_conversations("a", status=["queued"], after=after, limit=limit)

    met = await _walk(fetch, lambda c: (c.created_at, c.id), 2, newer)
    assert met == expected


async def test_contact_pages_cover_the_list_once_in_order_with_inserts(store: Store) -> None:
    for number in range(7):
        await store.create_contact(a_contact(f"k{number}", last_seen_at=at(number // 2)))

    async def newer() -> None:
        await store.create_contact(a_contact("fresh", last_seen_at=at(60)))

    expected = [c.id for c in await store.list_contacts("a")]
    assert expected == ["k6", "k4", "k5", "k2", "k3", "k0", "k1"]

    def fetch(after: Any, limit: int) -> Any:
        return store.list_contacts("a", after=after, limit=limit)

    met = await _walk(fetch, lambda c: (c.last_seen_at, c.id), 3, newer)
    assert met == expected


async def test_left_message_pages_cover_the_list_once_in_order_with_inserts(
    store: Store,
) -> None:
    for number in range(6):
        await store.create_left_message(a_left_message(f"l{number}", created_at=at(number // 2)))

    async def newer() -> None:
        await store.create_left_message(a_left_message("spam", created_at=at(70)))

    def fetch(after: Any, limit: int) -> Any:
        return store.list_left_messages("a", after=after, limit=limit)

    met = await _walk(fetch, lambda m: (m.created_at, m.id), 4, newer)
    assert met == ["l5", "l4", "l3", "l2", "l1", "l0"]
    handled = await _walk(
        lambda after, limit: store.list_left_messages("a", handled=False, after=after, limit=limit),
        lambda m: (m.created_at, m.id),
        5,
    )
    assert handled == ["spam", "l5", "l4", "l3", "l2", "l1", "l0"]


async def test_agent_pages_cover_the_list_once_oldest_first_with_inserts(store: Store) -> None:
    made = []
    for number in range(5):
        agent = an_agent(f"a{number}@x.org", created_at=at(number // 2))
        await store.create_agent(agent)
        made.append(agent)
    expected = [a.id for a in sorted(made, key=lambda a: (a.created_at, a.id))]
    late = an_agent("late@x.org", created_at=at(90))

    async def newer() -> None:  # oldest first: a new agent comes on the last page
        await store.create_agent(late)

    def fetch(after: Any, limit: int) -> Any:
        return store.list_agents("a", after=after, limit=limit)

    met = await _walk(fetch, lambda a: (a.created_at, a.id), 2, newer)
    assert met == [*expected, late.id]
    assert [a.id for a in await store.list_agents("a")] == met


# uploads ---------------------------------------------------------------------------------


def an_upload(upload_id: str, tenant: str = "a", **values: Any) -> Upload:
    values.setdefault("created_at", T0)
    values.setdefault("uploader_type", "contact")
    values.setdefault("uploader_id", "k1")
    values.setdefault("size", 100)
    values.setdefault("mime", "text/plain")
    return Upload(id=upload_id, tenant=tenant, **values)


def upload_name(number: int) -> str:
    return f"{number:032x}.txt"


async def test_uploads_are_recorded_per_tenant_and_totalled(store: Store) -> None:
    first = an_upload(upload_name(1), name="a.txt")
    assert await store.create_upload(first, UploadQuota()) is None
    assert await store.create_upload(an_upload(upload_name(2), size=50), UploadQuota()) is None
    assert await store.create_upload(an_upload(upload_name(3), tenant="b"), UploadQuota()) is None
    assert await store.get_uploads("a", [upload_name(1), upload_name(9)]) == [first]
    assert await store.get_uploads("b", [upload_name(1)]) == []
    assert await store.upload_totals("a") == (2, 150)
    assert await store.upload_totals("b") == (1, 100)
    assert await store.upload_totals("c") == (0, 0)


async def test_upload_quotas_refuse_and_record_nothing(store: Store) -> None:
    quota = UploadQuota(tenant_bytes=1000, since=at(0), uploader_files=3, uploader_bytes=500)
    assert await store.create_upload(an_upload(upload_name(1), size=300), quota) is None
    # The uploader's bytes in the window: 300 + 300 > 500.
    refused = an_upload(upload_name(2), size=300)
    assert await store.create_upload(refused, quota) == "uploader_bytes"
    assert await store.get_uploads("a", [upload_name(2)]) == []
    assert await store.upload_totals("a") == (1, 300)
    # An upload before the window does not count.
    old = an_upload(upload_name(3), size=100, created_at=at(-10))
    assert await store.create_upload(old, UploadQuota()) is None
    for number in (4, 5):
        assert await store.create_upload(an_upload(upload_name(number), size=10), quota) is None
    assert await store.create_upload(an_upload(upload_name(6), size=1), quota) == "uploader_files"
    # The tenant's total counts every uploader: 420 stored, 600 more would pass 1000.
    other = an_upload(upload_name(7), size=600, uploader_id="k2")
    assert await store.create_upload(other, UploadQuota(tenant_bytes=1000)) == "tenant_bytes"
    assert await store.upload_totals("a") == (4, 420)
    fits = an_upload(upload_name(8), size=580, uploader_id="k2")
    assert await store.create_upload(fits, UploadQuota(tenant_bytes=1000)) is None
    assert await store.upload_totals("a") == (5, 1000)


async def test_a_stored_message_marks_its_uploads_and_orphans_can_be_removed(
    store: Store,
) -> None:
    for number in (1, 2, 3):
        upload = an_upload(upload_name(number), created_at=at(number))
        assert await store.create_upload(upload, UploadQuota()) is None
    foreign = an_upload(upload_name(1), tenant="b", created_at=at(0))
    assert await store.create_upload(foreign, UploadQuota()) is None
    await store.create_conversation(a_conversation("c1"))
    attachment = {
        "url": f"/uploads/a/{upload_name(1)}",
        "name": "a.txt",
        "type": "file",
        "size": 100,
        "mime": "text/plain",
    }
    message = a_message("c1", attachments=[attachment])
    assert (await store.append_message(message)).created
    (used,) = await store.get_uploads("a", [upload_name(1)])
    assert used.message_id == message.id
    # The same name in tenant b is another file: still unused.
    assert (await store.get_uploads("b", [upload_name(1)]))[0].message_id is None
    orphans = await store.list_orphan_uploads(at(2.5), 10)
    assert [(u.tenant, u.id) for u in orphans] == [("b", upload_name(1)), ("a", upload_name(2))]
    assert [u.id for u in await store.list_orphan_uploads(at(100), 1)] == [upload_name(1)]
    assert not await store.delete_orphan_upload("a", upload_name(1))  # used: kept
    assert await store.delete_orphan_upload("a", upload_name(2))
    assert not await store.delete_orphan_upload("a", upload_name(2))
    assert await store.get_uploads("a", [upload_name(2)]) == []
    assert await store.upload_totals("a") == (2, 200)
    # Ingest marks them too (an inbound channel's attachments).
    contact = a_contact("k9", Identity("email", "k9@x.org"))
    template = a_conversation("c9", channel="email", contact_id="")
    inbound = a_message("", attachments=[attachment | {"url": f"/uploads/a/{upload_name(3)}"}])
    ingested = await store.ingest(contact, template, inbound, now=at(0))
    assert ingested.outcome == "new" and ingested.message is not None
    (taken,) = await store.get_uploads("a", [upload_name(3)])
    assert taken.message_id == ingested.message.id
    assert await store.list_orphan_uploads(at(100), 10) == [foreign]


# invitations to chat: counts per agent per day -------------------------------------------


async def test_invitation_counts_add_up_per_agent_day_and_tenant(store: Store) -> None:
    await asyncio.gather(
        *(store.count_invitation("a", "2026-12-03", "ann", "invited") for _ in range(5))
    )
    await store.count_invitation("a", "2026-12-03", "ann", "refused")
    await store.count_invitation("a", "2026-12-03", "ann", "accepted")
    await store.count_invitation("a", "2026-12-03", "", "invited")
    await store.count_invitation("a", "2026-12-02", "ann", "invited")
    await store.count_invitation("b", "2026-12-03", "ann", "invited")
    assert await store.invitation_counts("a", "2026-12-03") == {
        "ann": {"invited": 5, "accepted": 1, "refused": 1},
        "": {"invited": 1, "accepted": 0, "refused": 0},
    }
    assert await store.invitation_counts("a", "2026-12-02") == {
        "ann": {"invited": 1, "accepted": 0, "refused": 0}
    }
    assert await store.invitation_counts("c", "2026-12-03") == {}
    with pytest.raises(ValueError):
        await store.count_invitation("a", "2026-12-03", "ann", "invited = 0; --")


# message counts ----------------------------------------------------------------------------


async def test_ingest_and_append_count_the_messages_in_and_out(store: Store) -> None:
    first = await store.ingest(*an_inbound(), now=T0)
    assert first.conversation is not None
    assert (first.conversation.messages_in, first.conversation.messages_out) == (1, 0)
    conversation_id = first.conversation.id
    agent = Sender("agent", "a1", "Ann")
    await store.append_message(a_message(conversation_id, sender=agent))
    note = a_message(conversation_id, sender=agent)
    note.type = "note"  # private: neither in nor out
    await store.append_message(note)
    again = await store.ingest(*an_inbound(text="more"), now=T0)
    assert again.conversation is not None and again.conversation.id == conversation_id
    assert (again.conversation.messages_in, again.conversation.messages_out) == (2, 1)
    stored = await store.get_conversation("a", conversation_id)
    assert stored is not None and (stored.messages_in, stored.messages_out) == (2, 1)


# the bots' knowledge base and metrics -----------------------------------------------------


def _article(article_id: str, seconds: float, question: str = "怎么退货") -> dict[str, Any]:
    return {
        "id": article_id,
        "question": question,
        "similar": ["how do I return"],
        "answer": "…",
        "enabled": True,
        "created_at": at(seconds).isoformat(),
    }


async def test_kb_articles_are_put_in_one_step_replaced_deleted_per_tenant(store: Store) -> None:
    await store.put_kb_articles("a", [_article("k2", 2), _article("k1", 1)])
    assert [a["id"] for a in await store.list_kb_articles("a")] == ["k1", "k2"]
    assert await store.list_kb_articles("b") == []
    await store.put_kb_articles("a", [_article("k1", 1, question="退款多久到账")])
    listed = await store.list_kb_articles("a")
    assert [(a["id"], a["question"]) for a in listed] == [
        ("k1", "退款多久到账"),
        ("k2", "怎么退货"),
    ]
    assert not await store.delete_kb_article("b", "k1")
    assert await store.delete_kb_article("a", "k1")
    assert not await store.delete_kb_article("a", "k1")
    assert [a["id"] for a in await store.list_kb_articles("a")] == ["k2"]


async def test_bot_stats_add_up_per_day_and_unanswered_questions_by_count(store: Store) -> None:
    await store.add_bot_stats("a", "2026-03-04", {"answered": 2, "miss": 1}, unanswered="发票")
    await store.add_bot_stats("a", "2026-03-04", {"answered": 1}, unanswered="invoice?")
    await store.add_bot_stats("a", "2026-03-05", {"handoff_keyword": 1}, unanswered="发票")
    await store.add_bot_stats("b", "2026-03-05", {"answered": 9})
    assert await store.list_bot_stats("a", "2026-03-01") == [
        {"day": "2026-03-04", "counts": {"answered": 3, "miss": 1}},
        {"day": "2026-03-05", "counts": {"handoff_keyword": 1}},
    ]
    assert [d["day"] for d in await store.list_bot_stats("a", "2026-03-05")] == ["2026-03-05"]
    unanswered = await store.list_unanswered("a", 10)
    assert [(u["text"], u["count"]) for u in unanswered] == [("发票", 2), ("invoice?", 1)]
    assert await store.list_unanswered("b", 10) == []
