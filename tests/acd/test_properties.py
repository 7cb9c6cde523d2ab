"""Random sequences of ACD operations: MemoryAcd keeps the routing invariants and agrees,
answer for answer, with the brute-force ReferenceAcd."""

from __future__ import annotations

import math

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hub.acd import AcdChange, MemoryAcd
from hub.domain import ConversationRef
from tests.acd.drive import run_now
from tests.acd.reference import ReferenceAcd

T = "tenant"


def waiting(conversation_id: str) -> ConversationRef:
    return ConversationRef(T, conversation_id, f"contact-{conversation_id}", "webim")


AGENTS = ("a0", "a1", "a2", "a3")
SKILLS = ("x", "y", "z")
QUEUE_NAMES: tuple[str | None, ...] = (None, *SKILLS)

agent_ids = st.sampled_from(AGENTS)
skill_sets = st.frozensets(st.sampled_from(SKILLS), max_size=len(SKILLS))
maximums = st.integers(min_value=0, max_value=3)
conversation_skills = st.sampled_from(QUEUE_NAMES)


def same(change: AcdChange, expected: AcdChange) -> None:
    assert change.assignments == expected.assignments
    assert change.queues_changed == expected.queues_changed


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.acd = MemoryAcd()
        self.ref = ReferenceAcd()
        self.clock = 0
        self.count = 0
        self.since: dict[str, float] = {}
        self.skill: dict[str, str | None] = {}
        self.live: set[str] = set()  # offered and neither released nor taken
        # The order conversations entered a queue, as the test saw it (ties on `since`).
        self.entered: dict[str, int] = {}
        self.entries = 0
        # An agent whose maximum was lowered below its holdings keeps them (never evicted).
        self.kept_above_max: dict[str, int] = {}

    # helpers -------------------------------------------------------------------------------

    def _queued_now(self) -> dict[str, str | None]:
        return {
            conversation_id: name
            for name in QUEUE_NAMES
            for conversation_id in run_now(self.acd.queue(T, name))
        }

    def _note_entries(self, conversation_ids: list[str]) -> None:
        queued = self._queued_now()
        for conversation_id in conversation_ids:
            if conversation_id in queued:
                self.entries += 1
                self.entered[conversation_id] = self.entries

    def _check_decisions(self, change: AcdChange, also_received: str | None = None) -> None:
        """FIFO and capacity for the assignments the ACD chose in this step: nothing older
        that the same agent could serve still waits, and nobody went past its maximum."""
        loads = {load.agent_id: load for load in run_now(self.acd.loads(T))}
        queued = self._queued_now()
        receivers = {a.agent_id for a in change.assignments}
        if also_received is not None:
            receivers.add(also_received)
        for agent_id in receivers:
            assert loads[agent_id].held <= loads[agent_id].max_concurrent
        for assignment in change.assignments:
            load = loads[assignment.agent_id]
            chosen = (
                self.since[assignment.conversation_id],
                self.entered.get(assignment.conversation_id, math.inf),
            )
            for waiting, name in queued.items():
                if name is None or name in load.skills:
                    assert (self.since[waiting], self.entered[waiting]) > chosen, (
                        f"{assignment} while older {waiting} waits"
                    )

    def _offer(self, conversation_id: str, preferred: str | None) -> AcdChange:
        skill, since = self.skill[conversation_id], self.since[conversation_id]
        expected = self.ref.offer(
            conversation_id, skill=skill, since=since, preferred_agent_id=preferred
        )
        change = run_now(
            self.acd.offer(
                T,
                conversation_id,
                skill=skill,
                since=since,
                ref=waiting(conversation_id),
                preferred_agent_id=preferred,
            )
        )
        same(change, expected)
        self.live.add(conversation_id)
        self._note_entries([conversation_id])
        self._check_decisions(change)
        return change

    def _forget(self, conversation_ids: list[str]) -> None:
        for conversation_id in conversation_ids:
            self.live.discard(conversation_id)
            self.entered.pop(conversation_id, None)

    def _after_drain(self, change: AcdChange) -> None:
        self._check_decisions(change)

    # rules ---------------------------------------------------------------------------------

    @rule(policy=st.sampled_from(("idle_first", "round_robin")))
    def set_policy(self, policy: str) -> None:
        self.ref.set_policy(policy)
        run_now(self.acd.set_policy(T, policy))

    @rule(agent_id=agent_ids, skills=skill_sets, max_concurrent=maximums)
    def upsert_agent(self, agent_id: str, skills: frozenset[str], max_concurrent: int) -> None:
        expected = self.ref.upsert_agent(agent_id, skills=skills, max_concurrent=max_concurrent)
        change = run_now(
            self.acd.upsert_agent(T, agent_id, skills=skills, max_concurrent=max_concurrent)
        )
        same(change, expected)
        held = len(self.ref.agents[agent_id].held)
        if held > max_concurrent:
            self.kept_above_max[agent_id] = held
        else:
            self.kept_above_max.pop(agent_id, None)
        self._after_drain(change)

    @rule(agent_id=agent_ids, ready=st.booleans(), connected=st.booleans())
    def set_presence(self, agent_id: str, ready: bool, connected: bool) -> None:
        if agent_id not in self.ref.agents:
            with pytest.raises(KeyError):
                run_now(self.acd.set_presence(T, agent_id, ready=ready, connected=connected))
            return
        expected = self.ref.set_presence(agent_id, ready=ready, connected=connected)
        change = run_now(self.acd.set_presence(T, agent_id, ready=ready, connected=connected))
        same(change, expected)
        self._after_drain(change)

    @rule(
        skill=conversation_skills,
        # A conversation may reach the ACD a little after a younger one (bot hand-over).
        lateness=st.integers(min_value=0, max_value=3),
        preferred=st.one_of(st.none(), agent_ids),
    )
    def offer_new(self, skill: str | None, lateness: int, preferred: str | None) -> None:
        self.count += 1
        self.clock += 1
        conversation_id = f"c{self.count}"
        self.skill[conversation_id] = skill
        self.since[conversation_id] = float(self.clock - lateness)
        self._offer(conversation_id, preferred)

    @rule(data=st.data())
    def offer_again(self, data: st.DataObject) -> None:
        if not self.live:
            return
        conversation_id = data.draw(st.sampled_from(sorted(self.live)))
        change = run_now(
            self.acd.offer(
                T,
                conversation_id,
                skill="x",
                since=-1.0,
                ref=waiting(conversation_id),
                preferred_agent_id="a0",
            )
        )
        assert change == AcdChange()

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        conversation_id = data.draw(st.sampled_from(sorted(self.live) or ["never-offered"]))
        expected = self.ref.release(conversation_id)
        change = run_now(self.acd.release(T, conversation_id))
        same(change, expected)
        self._forget([conversation_id])
        self._after_drain(change)

    @rule(data=st.data(), skill=conversation_skills)
    def overflow(self, data: st.DataObject, skill: str | None) -> None:
        """A waiting conversation overflows to another queue, keeping its arrival; one that is
        held (or gone) stays where it is."""
        conversation_id = data.draw(st.sampled_from(sorted(self.skill) or ["never-offered"]))
        expected = self.ref.move_queued(conversation_id, skill)
        change = run_now(self.acd.move_queued(T, conversation_id, skill))
        same(change, expected)
        if change.queues_changed:
            self.skill[conversation_id] = skill
        self._check_decisions(change)
        if change.assignments:
            self.entered.pop(conversation_id, None)

    @rule(agent_id=agent_ids, disconnect_first=st.booleans(), history=st.booleans())
    def grace_expires(self, agent_id: str, disconnect_first: bool, history: bool) -> None:
        """The agent's disconnect grace runs out: its conversations are routed again with
        their original arrival. Without a disconnect first, a connected agent keeps them."""
        if disconnect_first and agent_id in self.ref.agents:
            self.set_presence(agent_id, ready=False, connected=False)
        expected = self.ref.take_holdings(agent_id)
        taken = run_now(self.acd.take_holdings(T, agent_id))
        assert taken == expected
        self._forget(taken)
        for conversation_id in taken:
            self._offer(conversation_id, agent_id if history else None)

    @rule(agent_id=agent_ids)
    def remove_agent(self, agent_id: str) -> None:
        expected = self.ref.remove_agent(agent_id)
        removed = run_now(self.acd.remove_agent(T, agent_id))
        assert removed == expected
        self.kept_above_max.pop(agent_id, None)
        self._forget(removed)
        for conversation_id in removed:
            self._offer(conversation_id, None)

    @rule(data=st.data(), agent_id=agent_ids)
    def transfer(self, data: st.DataObject, agent_id: str) -> None:
        # A conversation the ACD has never seen may be assigned directly too (as on restore).
        self.count += 1
        unseen = f"d{self.count}"
        conversation_id = data.draw(st.sampled_from([*sorted(self.live), unseen]))
        moved = self.ref.holder(conversation_id) != agent_id
        try:
            expected = self.ref.assign_to(conversation_id, agent_id)
        except (LookupError, ValueError) as refused:
            # Refused: MemoryAcd refuses the same way; the invariants check nothing moved.
            with pytest.raises(type(refused)):
                run_now(self.acd.assign_to(T, conversation_id, agent_id))
            return
        change = run_now(self.acd.assign_to(T, conversation_id, agent_id))
        same(change, expected)
        if conversation_id == unseen:
            self.skill[unseen], self.since[unseen] = None, float(self.clock)
        self.live.add(conversation_id)
        self.entered.pop(conversation_id, None)
        # To its current holder it is a no-op, which may be above a lowered maximum.
        self._check_decisions(change, also_received=agent_id if moved else None)

    # invariants ----------------------------------------------------------------------------

    @invariant()
    def agrees_with_the_reference(self) -> None:
        assert sorted(run_now(self.acd.loads(T)), key=lambda load: load.agent_id) == sorted(
            self.ref.loads(), key=lambda load: load.agent_id
        )
        for name in QUEUE_NAMES:
            assert run_now(self.acd.queue(T, name)) == self.ref.queue(name)
        assert run_now(self.acd.queued_count(T)) == self.ref.queued_count()
        for conversation_id in self.skill:
            assert run_now(self.acd.holder(T, conversation_id)) == self.ref.holder(conversation_id)
            assert run_now(self.acd.position(T, conversation_id)) == self.ref.position(
                conversation_id
            )

    @invariant()
    def every_conversation_in_exactly_one_place(self) -> None:
        loads = {load.agent_id: load for load in run_now(self.acd.loads(T))}
        queued = [c for name in QUEUE_NAMES for c in run_now(self.acd.queue(T, name))]
        assert len(queued) == len(set(queued)) == run_now(self.acd.queued_count(T))
        held = 0
        for conversation_id in self.skill:
            holder = run_now(self.acd.holder(T, conversation_id))
            position = run_now(self.acd.position(T, conversation_id))
            if conversation_id in self.live:
                assert (holder is None) != (position is None)
                assert holder is None or holder in loads
                held += holder is not None
            else:
                assert holder is None and position is None
        assert held == sum(load.held for load in loads.values())
        assert held + len(queued) == len(self.live)

    @invariant()
    def nobody_above_the_maximum(self) -> None:
        for load in run_now(self.acd.loads(T)):
            limit = max(load.max_concurrent, self.kept_above_max.get(load.agent_id, 0))
            assert load.held <= limit

    @invariant()
    def no_eligible_agent_idles_while_work_waits(self) -> None:
        for load in run_now(self.acd.loads(T)):
            if load.ready and load.connected and load.held < load.max_concurrent:
                for name in (None, *load.skills):
                    assert run_now(self.acd.queue(T, name)) == [], (
                        f"{load.agent_id} idles while queue {name} waits"
                    )

    @invariant()
    def queues_in_arrival_order(self) -> None:
        for name in QUEUE_NAMES:
            keys = [(self.since[c], self.entered[c]) for c in run_now(self.acd.queue(T, name))]
            assert keys == sorted(keys)
            assert all(self.skill[c] == name for c in run_now(self.acd.queue(T, name)))


AcdMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
TestAcdMachine = AcdMachine.TestCase
