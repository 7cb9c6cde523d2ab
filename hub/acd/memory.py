"""The in-process ACD state: sorted indexes of eligible agents, FIFO queues per skill.

Every agent that is eligible right now sits in the index of "any skill" (None) and in the
index of each of its skills, keyed for the policy, so the best agent for a conversation is
the first entry of one index: O(log n) to keep, O(1) to read. Queues are sorted by the
conversation's original arrival. Nothing here awaits, so each call is atomic on the loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sortedcontainers import SortedList

from hub.acd.base import AcdChange, AcdState, AgentLoad, Assignment
from hub.domain import ConversationRef, RoutingPolicy, RoutingSettings

QueueKey = tuple[float, int, str]  # (since, arrival number, conversation id)
# idle_first: (held, last assignment tick, agent id); round_robin: (last assignment tick, agent
# id). The agent id is always last, so the first entry of an index names the best agent.
AgentKey = tuple[int, int, str] | tuple[int, str]


@dataclass(slots=True)
class _Agent:
    id: str
    skills: frozenset[str]
    max_concurrent: int
    ready: bool = False
    connected: bool = False
    held: dict[str, int] = field(default_factory=dict)  # conversation -> assignment tick
    last_assigned: int = 0
    indexed_key: AgentKey | None = None

    @property
    def eligible(self) -> bool:
        return self.ready and self.connected and len(self.held) < self.max_concurrent

    def serves(self, skill: str | None) -> bool:
        return skill is None or skill in self.skills


@dataclass(slots=True)
class _Queued:
    skill: str | None
    key: QueueKey
    ref: ConversationRef
    told: int = 0  # the position its customer was last told (0: none yet)


@dataclass
class _Tenant:
    policy: str = RoutingPolicy.IDLE_FIRST.value
    settings: RoutingSettings | None = None
    agents: dict[str, _Agent] = field(default_factory=dict)
    indexes: dict[str | None, SortedList] = field(default_factory=dict)
    queues: dict[str | None, SortedList] = field(default_factory=dict)
    queued: dict[str, _Queued] = field(default_factory=dict)
    holders: dict[str, str] = field(default_factory=dict)
    tick: int = 0
    arrivals: int = 0

    # indexes of eligible agents ----------------------------------------------------------

    def key_of(self, agent: _Agent) -> AgentKey:
        if self.policy == RoutingPolicy.ROUND_ROBIN.value:
            return (agent.last_assigned, agent.id)
        return (len(agent.held), agent.last_assigned, agent.id)

    def _index_names(self, agent: _Agent) -> list[str | None]:
        return [None, *agent.skills]

    def unindex(self, agent: _Agent) -> None:
        if agent.indexed_key is None:
            return
        for name in self._index_names(agent):
            self.indexes[name].remove(agent.indexed_key)
        agent.indexed_key = None

    def reindex(self, agent: _Agent) -> None:
        self.unindex(agent)
        if not agent.eligible:
            return
        key = self.key_of(agent)
        for name in self._index_names(agent):
            self.indexes.setdefault(name, SortedList()).add(key)
        agent.indexed_key = key

    def best_agent(self, skill: str | None) -> _Agent | None:
        index = self.indexes.get(skill)
        if not index:
            return None
        return self.agents[index[0][-1]]

    # holding and queueing ----------------------------------------------------------------

    def give(self, conversation_id: str, agent: _Agent) -> Assignment:
        self.tick += 1
        agent.held[conversation_id] = self.tick
        agent.last_assigned = self.tick
        self.holders[conversation_id] = agent.id
        self.reindex(agent)
        return Assignment(conversation_id, agent.id)

    def take_back(self, conversation_id: str) -> _Agent | None:
        agent_id = self.holders.pop(conversation_id, None)
        if agent_id is None:
            return None
        agent = self.agents[agent_id]
        del agent.held[conversation_id]
        self.reindex(agent)
        return agent

    def enqueue(self, ref: ConversationRef, skill: str | None, since: float) -> None:
        self.arrivals += 1
        key = (since, self.arrivals, ref.id)
        self.queues.setdefault(skill, SortedList()).add(key)
        self.queued[ref.id] = _Queued(skill, key, ref)

    def dequeue(self, conversation_id: str, change: AcdChange) -> None:
        """Removes a conversation from its queue, if it waits, and notes the queue changed."""
        waiting = self.queued.pop(conversation_id, None)
        if waiting is not None:
            self.queues[waiting.skill].remove(waiting.key)
            change.queues_changed.add(waiting.skill)

    def drain(self, agent: _Agent) -> AcdChange:
        """While the agent is eligible, give it the oldest waiting conversation it serves."""
        change = AcdChange()
        while agent.eligible:
            oldest: tuple[QueueKey, str | None] | None = None
            for skill in (None, *agent.skills):
                queue = self.queues.get(skill)
                if queue and (oldest is None or queue[0] < oldest[0]):
                    oldest = (queue[0], skill)
            if oldest is None:
                break
            key, skill = oldest
            self.queues[skill].remove(key)
            del self.queued[key[2]]
            change.assignments.append(self.give(key[2], agent))
            change.queues_changed.add(skill)
        return change


class MemoryAcd(AcdState):
    def __init__(self) -> None:
        self._tenants: dict[str, _Tenant] = {}

    def _tenant(self, tenant: str) -> _Tenant:
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = _Tenant()
        return state

    async def set_policy(self, tenant: str, policy: str) -> None:
        if policy not in {p.value for p in RoutingPolicy}:
            raise ValueError(f"unknown policy {policy}")
        state = self._tenant(tenant)
        if state.policy == policy:
            return
        for agent in state.agents.values():
            state.unindex(agent)
        state.policy = policy
        for agent in state.agents.values():
            state.reindex(agent)

    async def configure(self, tenant: str, settings: RoutingSettings) -> None:
        await self.set_policy(tenant, settings.policy)
        self._tenant(tenant).settings = settings

    async def settings(self, tenant: str) -> RoutingSettings | None:
        return self._tenant(tenant).settings

    async def upsert_agent(
        self, tenant: str, agent_id: str, *, skills: Iterable[str], max_concurrent: int
    ) -> AcdChange:
        state = self._tenant(tenant)
        agent = state.agents.get(agent_id)
        if agent is None:
            agent = state.agents[agent_id] = _Agent(agent_id, frozenset(skills), max_concurrent)
            return AcdChange()
        state.unindex(agent)  # index membership depends on the skills about to change
        agent.skills = frozenset(skills)
        agent.max_concurrent = max_concurrent
        state.reindex(agent)
        return state.drain(agent)

    async def remove_agent(self, tenant: str, agent_id: str) -> list[str]:
        state = self._tenant(tenant)
        agent = state.agents.pop(agent_id, None)
        if agent is None:
            return []
        state.unindex(agent)
        held = sorted(agent.held, key=agent.held.__getitem__)
        for conversation_id in held:
            state.holders.pop(conversation_id, None)
        return held

    async def set_presence(
        self, tenant: str, agent_id: str, *, ready: bool, connected: bool
    ) -> AcdChange:
        state = self._tenant(tenant)
        agent = state.agents[agent_id]
        agent.ready, agent.connected = ready, connected
        state.reindex(agent)
        return state.drain(agent)

    async def offer(
        self,
        tenant: str,
        conversation_id: str,
        *,
        skill: str | None,
        since: float,
        ref: ConversationRef,
        preferred_agent_id: str | None = None,
    ) -> AcdChange:
        state = self._tenant(tenant)
        if conversation_id in state.holders or conversation_id in state.queued:
            return AcdChange()
        preferred = state.agents.get(preferred_agent_id) if preferred_agent_id else None
        if preferred is not None and preferred.eligible and preferred.serves(skill):
            return AcdChange([state.give(conversation_id, preferred)])
        best = state.best_agent(skill)
        if best is not None:
            return AcdChange([state.give(conversation_id, best)])
        state.enqueue(ref, skill, since)
        return AcdChange(queues_changed={skill})

    async def assign_to(
        self, tenant: str, conversation_id: str, agent_id: str, *, force: bool = False
    ) -> AcdChange:
        state = self._tenant(tenant)
        agent = state.agents.get(agent_id)
        if agent is None:
            raise LookupError(f"unknown agent {agent_id}")
        if state.holders.get(conversation_id) == agent_id:
            return AcdChange()
        if not force and (not agent.connected or len(agent.held) >= agent.max_concurrent):
            raise ValueError(f"agent {agent_id} cannot take another conversation")
        change = AcdChange()
        state.dequeue(conversation_id, change)
        previous = state.take_back(conversation_id)
        state.give(conversation_id, agent)
        if previous is not None:
            change.merge(state.drain(previous))
        return change

    async def move_queued(self, tenant: str, conversation_id: str, skill: str | None) -> AcdChange:
        state = self._tenant(tenant)
        waiting = state.queued.get(conversation_id)
        if waiting is None:
            return AcdChange()
        change = AcdChange()
        state.dequeue(conversation_id, change)
        best = state.best_agent(skill)
        if best is not None:
            change.assignments.append(state.give(conversation_id, best))
            return change
        state.queues.setdefault(skill, SortedList()).add(waiting.key)
        state.queued[conversation_id] = _Queued(skill, waiting.key, waiting.ref)
        change.queues_changed.add(skill)
        return change

    async def release(self, tenant: str, conversation_id: str) -> AcdChange:
        state = self._tenant(tenant)
        change = AcdChange()
        state.dequeue(conversation_id, change)
        previous = state.take_back(conversation_id)
        if previous is not None:
            change.merge(state.drain(previous))
        return change

    async def take_holdings(self, tenant: str, agent_id: str) -> list[str]:
        state = self._tenant(tenant)
        agent = state.agents.get(agent_id)
        # A connected agent came back before its grace expired: it keeps its conversations.
        # Checked here, in the same atomic step, because another hub may have seen it return.
        if agent is None or agent.connected:
            return []
        held = sorted(agent.held, key=agent.held.__getitem__)
        for conversation_id in held:
            del state.holders[conversation_id]
        agent.held.clear()
        state.reindex(agent)
        return held

    async def holder(self, tenant: str, conversation_id: str) -> str | None:
        return self._tenant(tenant).holders.get(conversation_id)

    async def position(self, tenant: str, conversation_id: str) -> int | None:
        state = self._tenant(tenant)
        waiting = state.queued.get(conversation_id)
        if waiting is None:
            return None
        return state.queues[waiting.skill].index(waiting.key) + 1

    async def queue(self, tenant: str, skill: str | None) -> list[str]:
        return [key[2] for key in self._tenant(tenant).queues.get(skill, ())]

    async def queue_page(
        self, tenant: str, skill: str | None, *, after: list[Any] | None, limit: int
    ) -> list[tuple[int, str, list[Any]]]:
        queue = self._tenant(tenant).queues.get(skill)
        if not queue:
            return []
        start: QueueKey | None = None
        if after is not None:
            start = (float(after[0]), int(after[1]), str(after[2]))
        first = 0 if start is None else queue.bisect_right(start)
        keys = islice(queue.irange(minimum=start, inclusive=(False, False)), limit)
        return [(first + offset + 1, key[2], list(key)) for offset, key in enumerate(keys)]

    async def take_position_changes(
        self, tenant: str, skill: str | None
    ) -> list[tuple[ConversationRef, int]]:
        state = self._tenant(tenant)
        changed = []
        for position, key in enumerate(state.queues.get(skill, ()), start=1):
            waiting = state.queued[key[2]]
            if waiting.told != position:
                waiting.told = position
                changed.append((waiting.ref, position))
        return changed

    async def queued_count(self, tenant: str) -> int:
        return len(self._tenant(tenant).queued)

    async def loads(self, tenant: str) -> list[AgentLoad]:
        return [
            AgentLoad(
                agent_id=agent.id,
                ready=agent.ready,
                connected=agent.connected,
                held=len(agent.held),
                max_concurrent=agent.max_concurrent,
                skills=agent.skills,
            )
            for agent in self._tenant(tenant).agents.values()
        ]
