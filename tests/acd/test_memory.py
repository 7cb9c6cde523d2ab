"""MemoryAcd, rule by rule (docs/protocol.md "Routing", hub/acd/base.py)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from hub.acd import AcdChange, Assignment, MemoryAcd
from hub.domain import ConversationRef
from tests.acd.drive import run_now

T = "t1"


def waiting(conversation_id: str, tenant: str = T) -> ConversationRef:
    """The address the ACD keeps with a waiting conversation (its customer's)."""
    return ConversationRef(tenant, conversation_id, f"contact-{conversation_id}", "webim")


async def agent(
    acd: MemoryAcd,
    agent_id: str,
    *,
    skills: Iterable[str] = (),
    max_concurrent: int = 3,
    ready: bool = True,
    connected: bool = True,
    tenant: str = T,
) -> AcdChange:
    await acd.upsert_agent(tenant, agent_id, skills=skills, max_concurrent=max_concurrent)
    return await acd.set_presence(tenant, agent_id, ready=ready, connected=connected)


async def offer(
    acd: MemoryAcd,
    conversation_id: str,
    since: float,
    skill: str | None = None,
    preferred: str | None = None,
    tenant: str = T,
) -> AcdChange:
    return await acd.offer(
        tenant,
        conversation_id,
        skill=skill,
        since=since,
        ref=waiting(conversation_id, tenant),
        preferred_agent_id=preferred,
    )


def assigned(change: AcdChange) -> list[tuple[str, str]]:
    return [(a.conversation_id, a.agent_id) for a in change.assignments]


def held_by(loads: list, agent_id: str) -> int:
    return next(load.held for load in loads if load.agent_id == agent_id)


@pytest.fixture
def acd() -> MemoryAcd:
    return MemoryAcd()


# eligibility -------------------------------------------------------------------------------


@pytest.mark.parametrize(("ready", "connected"), [(False, True), (True, False), (False, False)])
async def test_agent_must_be_ready_and_connected(acd: MemoryAcd, ready, connected) -> None:
    await agent(acd, "a", ready=ready, connected=connected)
    change = await offer(acd, "c1", 1)
    assert change.assignments == []
    assert change.queues_changed == {None}
    assert await acd.queue(T, None) == ["c1"]
    assert await acd.holder(T, "c1") is None


async def test_ready_connected_agent_gets_the_conversation(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    change = await offer(acd, "c1", 1)
    assert change.assignments == [Assignment("c1", "a")]
    assert change.queues_changed == set()
    assert await acd.holder(T, "c1") == "a"


async def test_a_new_agent_starts_disconnected_and_not_ready(acd: MemoryAcd) -> None:
    await acd.upsert_agent(T, "a", skills=(), max_concurrent=3)
    [load] = await acd.loads(T)
    assert (load.ready, load.connected, load.held) == (False, False, 0)
    assert assigned(await offer(acd, "c1", 1)) == []


async def test_agent_at_its_maximum_is_not_eligible(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=2)
    assert assigned(await offer(acd, "c1", 1)) == [("c1", "a")]
    assert assigned(await offer(acd, "c2", 2)) == [("c2", "a")]
    assert assigned(await offer(acd, "c3", 3)) == []
    assert await acd.queue(T, None) == ["c3"]


async def test_max_zero_never_gets_conversations(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=0)
    assert assigned(await offer(acd, "c1", 1)) == []


async def test_skill_required_when_set(acd: MemoryAcd) -> None:
    await agent(acd, "plain")
    change = await offer(acd, "c1", 1, skill="billing")
    assert change.assignments == []
    assert change.queues_changed == {"billing"}
    assert await acd.queue(T, "billing") == ["c1"]
    await agent(acd, "biller", skills=["billing"])
    assert await acd.holder(T, "c1") == "biller"


async def test_conversation_without_skill_goes_to_any_agent(acd: MemoryAcd) -> None:
    await agent(acd, "specialist", skills=["billing", "sales"])
    assert assigned(await offer(acd, "c1", 1, skill=None)) == [("c1", "specialist")]


async def test_skill_conversation_skips_agents_without_it(acd: MemoryAcd) -> None:
    await agent(acd, "plain")  # would win idle_first on the name tie-break alone
    await agent(acd, "sales", skills=["sales"])
    assert assigned(await offer(acd, "c1", 1, skill="sales")) == [("c1", "sales")]


# policies ---------------------------------------------------------------------------------


async def test_idle_first_takes_the_agent_with_fewest_held(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await agent(acd, "c")
    order = [assigned(await offer(acd, f"c{i}", i))[0][1] for i in range(6)]
    # Held counts level out; equal counts go to the oldest last assignment.
    assert order == ["a", "b", "c", "a", "b", "c"]


async def test_idle_first_ties_go_to_the_oldest_last_assignment(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # b
    await acd.release(T, "c1")
    await acd.release(T, "c2")
    # Both hold nothing; a's last assignment is older than b's.
    assert assigned(await offer(acd, "c3", 3)) == [("c3", "a")]


async def test_idle_first_prefers_fewer_held_over_older_assignment(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # b
    await offer(acd, "c3", 3)  # a (tie, older)
    await acd.release(T, "c2")  # b: 0 held, but assigned more recently than a's c1
    assert assigned(await offer(acd, "c4", 4)) == [("c4", "b")]


async def test_round_robin_rotates_in_turn(acd: MemoryAcd) -> None:
    await acd.set_policy(T, "round_robin")
    for name in "abc":
        await agent(acd, name, max_concurrent=10)
    order = [assigned(await offer(acd, f"c{i}", i))[0][1] for i in range(7)]
    assert order == ["a", "b", "c", "a", "b", "c", "a"]


async def test_round_robin_ignores_how_many_are_held(acd: MemoryAcd) -> None:
    await acd.set_policy(T, "round_robin")
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # b
    await offer(acd, "c3", 3)  # a
    await offer(acd, "c4", 4)  # b
    await acd.release(T, "c2")
    await acd.release(T, "c4")  # b holds 0, a holds 2; a was assigned less recently
    assert assigned(await offer(acd, "c5", 5)) == [("c5", "a")]


async def test_round_robin_skips_ineligible_agents(acd: MemoryAcd) -> None:
    await acd.set_policy(T, "round_robin")
    await agent(acd, "a")
    await agent(acd, "b", max_concurrent=1)
    await agent(acd, "c")
    order = [assigned(await offer(acd, f"c{i}", i))[0][1] for i in range(5)]
    assert order == ["a", "b", "c", "a", "c"]


async def test_set_policy_applies_to_later_decisions(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # b
    await offer(acd, "c3", 3)  # a
    await offer(acd, "c4", 4)  # b
    await acd.release(T, "c4")  # b: fewer held, a: older last assignment
    await acd.set_policy(T, "round_robin")
    assert assigned(await offer(acd, "c5", 5)) == [("c5", "a")]
    await acd.release(T, "c5")
    await acd.set_policy(T, "idle_first")
    assert assigned(await offer(acd, "c6", 6)) == [("c6", "b")]


async def test_unknown_policy_is_refused(acd: MemoryAcd) -> None:
    with pytest.raises(ValueError):
        await acd.set_policy(T, "random")


# history agent first ------------------------------------------------------------------------


async def test_preferred_agent_first_when_eligible(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c1", 1)  # a
    # idle_first would choose b; the history agent wins while eligible.
    assert assigned(await offer(acd, "c2", 2, preferred="a")) == [("c2", "a")]


@pytest.mark.parametrize("reason", ["not_ready", "disconnected", "full", "no_skill", "unknown"])
async def test_preferred_agent_ignored_when_not_eligible(acd: MemoryAcd, reason: str) -> None:
    await agent(
        acd,
        "pref",
        ready=reason != "not_ready",
        connected=reason != "disconnected",
        max_concurrent=0 if reason == "full" else 3,
        skills=[] if reason == "no_skill" else ["sales"],
    )
    await agent(acd, "other", skills=["sales"])
    preferred = "ghost" if reason == "unknown" else "pref"
    change = await offer(acd, "c1", 1, skill="sales", preferred=preferred)
    assert assigned(change) == [("c1", "other")]


async def test_preferred_agent_not_eligible_and_nobody_else_queues(acd: MemoryAcd) -> None:
    await agent(acd, "pref", ready=False)
    change = await offer(acd, "c1", 1, preferred="pref")
    assert change.assignments == [] and change.queues_changed == {None}


# queues -----------------------------------------------------------------------------------


async def test_queue_is_ordered_by_since_then_arrival(acd: MemoryAcd) -> None:
    await offer(acd, "late", 5)
    await offer(acd, "early", 1)
    await offer(acd, "tie_first", 3)
    await offer(acd, "tie_second", 3)
    assert await acd.queue(T, None) == ["early", "tie_first", "tie_second", "late"]
    assert [await acd.position(T, c) for c in ("early", "tie_first", "tie_second", "late")] == [
        1,
        2,
        3,
        4,
    ]
    assert await acd.queued_count(T) == 4


async def test_queues_are_separate_per_skill(acd: MemoryAcd) -> None:
    await offer(acd, "s1", 1, skill="sales")
    await offer(acd, "b1", 2, skill="billing")
    await offer(acd, "n1", 3)
    await offer(acd, "s2", 4, skill="sales")
    assert await acd.queue(T, "sales") == ["s1", "s2"]
    assert await acd.queue(T, "billing") == ["b1"]
    assert await acd.queue(T, None) == ["n1"]
    assert await acd.queue(T, "unknown") == []
    assert await acd.position(T, "s2") == 2
    assert await acd.position(T, "n1") == 1


async def test_fifo_within_a_skill_when_draining(acd: MemoryAcd) -> None:
    for i in range(4):
        await offer(acd, f"c{i}", i, skill="sales")
    change = await agent(acd, "a", skills=["sales"], max_concurrent=2)
    assert assigned(change) == [("c0", "a"), ("c1", "a")]
    assert change.queues_changed == {"sales"}
    assert await acd.queue(T, "sales") == ["c2", "c3"]
    assert await acd.position(T, "c2") == 1


async def test_position_is_none_unless_queued(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    assert await acd.position(T, "c1") is None
    assert await acd.position(T, "never") is None


async def test_offering_again_is_a_no_op(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await offer(acd, "held", 1)
    await offer(acd, "waiting", 2)
    for conversation_id in ("held", "waiting"):
        change = await offer(acd, conversation_id, 0)
        assert change.assignments == [] and change.queues_changed == set()
    assert await acd.holder(T, "held") == "a"
    assert await acd.queue(T, None) == ["waiting"]
    assert held_by(await acd.loads(T), "a") == 1


async def test_reoffered_conversation_goes_ahead_of_newer_waiters(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await offer(acd, "old", 1)  # a holds it
    await offer(acd, "newer", 5)
    await acd.set_presence(T, "a", ready=False, connected=False)
    assert await acd.take_holdings(T, "a") == ["old"]
    await offer(acd, "old", 1)  # routed again with its original arrival
    assert await acd.queue(T, None) == ["old", "newer"]
    assert await acd.position(T, "old") == 1


# draining ----------------------------------------------------------------------------------


async def test_drain_on_ready(acd: MemoryAcd) -> None:
    await agent(acd, "a", ready=False)
    await offer(acd, "c1", 1)
    change = await acd.set_presence(T, "a", ready=True, connected=True)
    assert assigned(change) == [("c1", "a")]
    assert change.queues_changed == {None}
    assert await acd.queued_count(T) == 0


async def test_drain_on_connect(acd: MemoryAcd) -> None:
    await agent(acd, "a", connected=False)
    await offer(acd, "c1", 1)
    change = await acd.set_presence(T, "a", ready=True, connected=True)
    assert assigned(change) == [("c1", "a")]


async def test_no_drain_while_not_eligible(acd: MemoryAcd) -> None:
    await agent(acd, "a", ready=False)
    await offer(acd, "c1", 1)
    change = await acd.set_presence(T, "a", ready=False, connected=True)
    assert change == AcdChange()
    assert await acd.queue(T, None) == ["c1"]


async def test_drain_on_release(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await offer(acd, "c1", 1)
    await offer(acd, "c2", 2)
    await offer(acd, "c3", 3)
    change = await acd.release(T, "c1")
    assert assigned(change) == [("c2", "a")]
    assert change.queues_changed == {None}
    assert await acd.queue(T, None) == ["c3"]
    assert await acd.position(T, "c3") == 1


async def test_drain_on_max_raised(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    for i in range(4):
        await offer(acd, f"c{i}", i)
    change = await acd.upsert_agent(T, "a", skills=(), max_concurrent=3)
    assert assigned(change) == [("c1", "a"), ("c2", "a")]
    assert await acd.queue(T, None) == ["c3"]


async def test_drain_on_skill_added(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "s1", 1, skill="sales")
    change = await acd.upsert_agent(T, "a", skills=["sales"], max_concurrent=3)
    assert assigned(change) == [("s1", "a")]
    assert change.queues_changed == {"sales"}


async def test_drain_takes_oldest_head_across_the_agents_queues(acd: MemoryAcd) -> None:
    await offer(acd, "none3", 3)
    await offer(acd, "sales1", 1, skill="sales")
    await offer(acd, "billing2", 2, skill="billing")
    await offer(acd, "sales4", 4, skill="sales")
    await offer(acd, "other0", 0, skill="other")  # oldest, but the agent lacks the skill
    change = await agent(acd, "a", skills=["sales", "billing"], max_concurrent=3)
    assert assigned(change) == [("sales1", "a"), ("billing2", "a"), ("none3", "a")]
    assert change.queues_changed == {"sales", "billing", None}
    assert await acd.queue(T, "sales") == ["sales4"]
    assert await acd.queue(T, "other") == ["other0"]


async def test_drain_stops_at_the_maximum(acd: MemoryAcd) -> None:
    await offer(acd, "c1", 1)
    await offer(acd, "c2", 2)
    change = await agent(acd, "a", max_concurrent=1)
    assert assigned(change) == [("c1", "a")]


# agent profile --------------------------------------------------------------------------------


async def test_upsert_keeps_presence_and_holdings(acd: MemoryAcd) -> None:
    await agent(acd, "a", skills=["sales"])
    await offer(acd, "c1", 1)
    await acd.upsert_agent(T, "a", skills=["billing"], max_concurrent=5)
    [load] = await acd.loads(T)
    assert (load.ready, load.connected, load.held) == (True, True, 1)
    assert load.skills == frozenset({"billing"}) and load.max_concurrent == 5
    assert await acd.holder(T, "c1") == "a"
    # The old skill no longer routes to it, the new one does.
    assert assigned(await offer(acd, "s1", 2, skill="sales")) == []
    assert assigned(await offer(acd, "b1", 3, skill="billing")) == [("b1", "a")]


async def test_lowered_maximum_keeps_held_but_stops_new(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=3)
    for i in range(3):
        await offer(acd, f"c{i}", i)
    change = await acd.upsert_agent(T, "a", skills=(), max_concurrent=1)
    assert change == AcdChange()
    assert held_by(await acd.loads(T), "a") == 3
    assert assigned(await offer(acd, "c3", 3)) == []
    # Two releases bring it to 1 held = its maximum: still nothing new.
    assert assigned(await acd.release(T, "c0")) == []
    assert assigned(await acd.release(T, "c1")) == []
    assert assigned(await acd.release(T, "c2")) == [("c3", "a")]


async def test_remove_agent_returns_its_conversations(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    await offer(acd, "c2", 2)
    assert await acd.remove_agent(T, "a") == ["c1", "c2"]
    assert await acd.holder(T, "c1") is None
    assert await acd.loads(T) == []
    assert await acd.remove_agent(T, "a") == []
    assert assigned(await offer(acd, "c1", 1)) == []  # nobody left: it waits
    with pytest.raises(KeyError):
        await acd.set_presence(T, "a", ready=True, connected=True)


async def test_set_presence_of_unknown_agent_raises_key_error(acd: MemoryAcd) -> None:
    with pytest.raises(KeyError):
        await acd.set_presence(T, "ghost", ready=True, connected=True)


async def test_loads_report_each_agent(acd: MemoryAcd) -> None:
    await agent(acd, "a", skills=["x"], max_concurrent=2)
    await agent(acd, "b", ready=False)
    await offer(acd, "c1", 1)
    loads = {load.agent_id: load for load in await acd.loads(T)}
    assert loads["a"].held == 1 and loads["a"].skills == frozenset({"x"})
    assert loads["b"].held == 0 and not loads["b"].ready and loads["b"].connected


# release ---------------------------------------------------------------------------------


async def test_release_of_a_queued_conversation(acd: MemoryAcd) -> None:
    await offer(acd, "c1", 1, skill="sales")
    await offer(acd, "c2", 2, skill="sales")
    change = await acd.release(T, "c1")
    assert change.assignments == [] and change.queues_changed == {"sales"}
    assert await acd.queue(T, "sales") == ["c2"]
    assert await acd.position(T, "c2") == 1


async def test_release_of_unknown_or_released_is_empty(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    assert (await acd.release(T, "c1")).assignments == []
    assert await acd.release(T, "c1") == AcdChange()
    assert await acd.release(T, "never") == AcdChange()
    assert held_by(await acd.loads(T), "a") == 0


async def test_release_of_held_without_waiters_reports_nothing(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    assert await acd.release(T, "c1") == AcdChange()


# assign_to -------------------------------------------------------------------------------


async def test_assign_to_unknown_agent_raises_lookup_error(acd: MemoryAcd) -> None:
    await offer(acd, "c1", 1)
    with pytest.raises(LookupError):
        await acd.assign_to(T, "c1", "ghost")
    assert await acd.queue(T, None) == ["c1"]


async def test_assign_to_disconnected_agent_raises_value_error(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await agent(acd, "b", connected=False, ready=False)
    await offer(acd, "c1", 1)
    await offer(acd, "c2", 2)
    with pytest.raises(ValueError):
        await acd.assign_to(T, "c1", "b")
    with pytest.raises(ValueError):
        await acd.assign_to(T, "c2", "b")
    # Nothing moved.
    assert await acd.holder(T, "c1") == "a"
    assert await acd.queue(T, None) == ["c2"]
    assert held_by(await acd.loads(T), "b") == 0


async def test_assign_to_full_agent_raises_value_error(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await agent(acd, "b", max_concurrent=1)
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # b
    with pytest.raises(ValueError):
        await acd.assign_to(T, "c1", "b")
    assert await acd.holder(T, "c1") == "a"
    assert await acd.holder(T, "c2") == "b"


async def test_assign_to_a_present_but_not_ready_agent(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b", ready=False)
    await offer(acd, "c1", 1)
    change = await acd.assign_to(T, "c1", "b")
    assert change == AcdChange()  # the caller already knows about this assignment
    assert await acd.holder(T, "c1") == "b"


async def test_assign_to_moves_and_drains_the_old_agent(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await offer(acd, "c1", 1)  # a
    await offer(acd, "c2", 2)  # waits
    await agent(acd, "b", ready=False)
    change = await acd.assign_to(T, "c1", "b")
    assert assigned(change) == [("c2", "a")]
    assert change.queues_changed == {None}
    assert await acd.holder(T, "c1") == "b"
    assert await acd.holder(T, "c2") == "a"


async def test_assign_to_takes_a_conversation_out_of_its_queue(acd: MemoryAcd) -> None:
    await agent(acd, "a", ready=False)
    await offer(acd, "s1", 1, skill="sales")
    await offer(acd, "s2", 2, skill="sales")
    change = await acd.assign_to(T, "s2", "a")  # no skill needed for a direct transfer
    assert change.assignments == [] and change.queues_changed == {"sales"}
    assert await acd.queue(T, "sales") == ["s1"]
    assert await acd.holder(T, "s2") == "a"
    assert await acd.queued_count(T) == 1


async def test_assign_to_the_current_holder_is_a_no_op(acd: MemoryAcd) -> None:
    await agent(acd, "a", max_concurrent=1)
    await offer(acd, "c1", 1)
    assert await acd.assign_to(T, "c1", "a") == AcdChange()  # even though a is full
    assert held_by(await acd.loads(T), "a") == 1


async def test_assign_to_with_force_ignores_presence_and_maximum(acd: MemoryAcd) -> None:
    await acd.upsert_agent(T, "a", skills=(), max_concurrent=1)
    for conversation_id in ("c1", "c2"):
        await acd.assign_to(T, conversation_id, "a", force=True)
    assert held_by(await acd.loads(T), "a") == 2
    # Back from the restore: connected and ready, but above its maximum, so not eligible.
    change = await acd.set_presence(T, "a", ready=True, connected=True)
    assert change == AcdChange()
    assert assigned(await offer(acd, "c3", 3)) == []
    await acd.release(T, "c1")
    assert assigned(await acd.release(T, "c2")) == [("c3", "a")]


async def test_assigned_agent_is_less_idle_for_later_decisions(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await agent(acd, "b")
    await offer(acd, "c0", 0)  # a
    await acd.assign_to(T, "c0", "b")
    await offer(acd, "c1", 1)
    assert await acd.holder(T, "c1") == "a"


# take_holdings -----------------------------------------------------------------------------


async def test_take_holdings_oldest_assignment_first(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c2", 2)
    await offer(acd, "c1", 1)
    await offer(acd, "c3", 3)
    await acd.set_presence(T, "a", ready=False, connected=False)
    assert await acd.take_holdings(T, "a") == ["c2", "c1", "c3"]
    assert held_by(await acd.loads(T), "a") == 0
    assert await acd.holder(T, "c2") is None
    assert await acd.take_holdings(T, "a") == []


async def test_take_holdings_leaves_a_returned_agent_alone(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    await acd.set_presence(T, "a", ready=False, connected=False)
    await acd.set_presence(T, "a", ready=False, connected=True)  # back within the grace
    assert await acd.take_holdings(T, "a") == []
    assert await acd.holder(T, "c1") == "a"


async def test_take_holdings_of_unknown_agent(acd: MemoryAcd) -> None:
    assert await acd.take_holdings(T, "ghost") == []


async def test_taken_conversations_route_to_someone_else(acd: MemoryAcd) -> None:
    await agent(acd, "a")
    await offer(acd, "c1", 1)
    await acd.set_presence(T, "a", ready=False, connected=False)
    await agent(acd, "b")
    [conversation_id] = await acd.take_holdings(T, "a")
    assert assigned(await offer(acd, conversation_id, 1, preferred="a")) == [("c1", "b")]


# tenants -----------------------------------------------------------------------------------


async def test_tenants_are_isolated(acd: MemoryAcd) -> None:
    await agent(acd, "a", tenant="t1")
    change = await offer(acd, "c1", 1, tenant="t2")
    assert change.assignments == []
    assert await acd.queue("t2", None) == ["c1"]
    assert await acd.queue("t1", None) == []
    assert await acd.queued_count("t1") == 0
    assert await acd.loads("t2") == []
    with pytest.raises(KeyError):
        await acd.set_presence("t2", "a", ready=True, connected=True)
    assert await acd.release("t1", "c1") == AcdChange()
    assert await acd.queue("t2", None) == ["c1"]


async def test_same_ids_in_two_tenants_do_not_collide(acd: MemoryAcd) -> None:
    await agent(acd, "a", tenant="t1", max_concurrent=1)
    await agent(acd, "a", tenant="t2", max_concurrent=1)
    assert assigned(await offer(acd, "c1", 1, tenant="t1")) == [("c1", "a")]
    assert assigned(await offer(acd, "c1", 1, tenant="t2")) == [("c1", "a")]
    await acd.release("t1", "c1")
    assert await acd.holder("t2", "c1") == "a"


async def test_policy_is_per_tenant(acd: MemoryAcd) -> None:
    await acd.set_policy("t2", "round_robin")
    for tenant in ("t1", "t2"):
        await agent(acd, "a", tenant=tenant)
        await agent(acd, "b", tenant=tenant)
        await offer(acd, "c1", 1, tenant=tenant)  # a
        await offer(acd, "c2", 2, tenant=tenant)  # b
        await offer(acd, "c3", 3, tenant=tenant)  # a
        await offer(acd, "c4", 4, tenant=tenant)  # b
        await acd.release(tenant, "c4")  # b: fewer held, a: older last assignment
    assert assigned(await offer(acd, "c5", 5, tenant="t1")) == [("c5", "b")]
    assert assigned(await offer(acd, "c5", 5, tenant="t2")) == [("c5", "a")]


# atomicity ----------------------------------------------------------------------------------


def test_no_method_suspends() -> None:
    acd = MemoryAcd()
    run = run_now
    run(acd.set_policy(T, "round_robin"))
    run(acd.upsert_agent(T, "a", skills=["x"], max_concurrent=1))
    run(acd.set_presence(T, "a", ready=True, connected=True))
    run(acd.offer(T, "c1", skill="x", since=1, ref=waiting("c1")))
    run(acd.offer(T, "c2", skill=None, since=2, ref=waiting("c2")))
    assert run(acd.position(T, "c2")) == 1
    assert run(acd.queue(T, None)) == ["c2"]
    assert run(acd.queued_count(T)) == 1
    assert run(acd.holder(T, "c1")) == "a"
    assert len(run(acd.loads(T))) == 1
    run(acd.release(T, "c1"))
    run(acd.upsert_agent(T, "b", skills=(), max_concurrent=1))
    run(acd.set_presence(T, "b", ready=False, connected=True))
    run(acd.assign_to(T, "c2", "b"))
    run(acd.set_presence(T, "b", ready=False, connected=False))
    assert run(acd.take_holdings(T, "b")) == ["c2"]
    assert run(acd.remove_agent(T, "a")) == []
