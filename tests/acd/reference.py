"""A slow, obviously correct model of the routing rules, for comparison with MemoryAcd.

It keeps no indexes: every decision scans all agents and every waiting conversation, so its
answers follow the text of the rules (hub/acd/base.py) rather than any data structure. One
tenant only; synchronous methods with the same names and answers as AcdState.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.acd.base import AcdChange, AgentLoad, Assignment


@dataclass
class RefAgent:
    agent_id: str
    skills: frozenset[str]
    max_concurrent: int
    ready: bool = False
    connected: bool = False
    held: dict[str, int] = field(default_factory=dict)  # conversation -> assignment tick
    last_assigned: int = 0

    @property
    def eligible(self) -> bool:
        return self.ready and self.connected and len(self.held) < self.max_concurrent

    def serves(self, skill: str | None) -> bool:
        return skill is None or skill in self.skills


@dataclass
class Waiting:
    since: float
    arrival: int
    conversation_id: str
    skill: str | None


class ReferenceAcd:
    def __init__(self) -> None:
        self.policy = "idle_first"
        self.agents: dict[str, RefAgent] = {}
        self.waiting: list[Waiting] = []
        self.tick = 0
        self.arrivals = 0

    # helpers -------------------------------------------------------------------------------

    def _rank(self, agent: RefAgent) -> tuple[int | str, ...]:
        if self.policy == "round_robin":
            return (agent.last_assigned, agent.agent_id)
        return (len(agent.held), agent.last_assigned, agent.agent_id)

    def _best(self, skill: str | None) -> RefAgent | None:
        candidates = [a for a in self.agents.values() if a.eligible and a.serves(skill)]
        return min(candidates, key=self._rank) if candidates else None

    def _give(self, conversation_id: str, agent: RefAgent) -> Assignment:
        self.tick += 1
        agent.held[conversation_id] = self.tick
        agent.last_assigned = self.tick
        return Assignment(conversation_id, agent.agent_id)

    def _holder_agent(self, conversation_id: str) -> RefAgent | None:
        for agent in self.agents.values():
            if conversation_id in agent.held:
                return agent
        return None

    def _find_waiting(self, conversation_id: str) -> Waiting | None:
        for entry in self.waiting:
            if entry.conversation_id == conversation_id:
                return entry
        return None

    def _drain(self, agent: RefAgent) -> AcdChange:
        change = AcdChange()
        while agent.eligible:
            servable = [w for w in self.waiting if agent.serves(w.skill)]
            if not servable:
                break
            oldest = min(servable, key=lambda w: (w.since, w.arrival))
            self.waiting.remove(oldest)
            change.assignments.append(self._give(oldest.conversation_id, agent))
            change.queues_changed.add(oldest.skill)
        return change

    def _dequeue(self, conversation_id: str, change: AcdChange) -> None:
        entry = self._find_waiting(conversation_id)
        if entry is not None:
            self.waiting.remove(entry)
            change.queues_changed.add(entry.skill)

    # the AcdState operations ---------------------------------------------------------------

    def set_policy(self, policy: str) -> None:
        self.policy = policy

    def upsert_agent(
        self, agent_id: str, *, skills: Iterable[str], max_concurrent: int
    ) -> AcdChange:
        agent = self.agents.get(agent_id)
        if agent is None:
            self.agents[agent_id] = RefAgent(agent_id, frozenset(skills), max_concurrent)
            return AcdChange()
        agent.skills = frozenset(skills)
        agent.max_concurrent = max_concurrent
        return self._drain(agent)

    def remove_agent(self, agent_id: str) -> list[str]:
        agent = self.agents.pop(agent_id, None)
        if agent is None:
            return []
        return sorted(agent.held, key=agent.held.__getitem__)

    def set_presence(self, agent_id: str, *, ready: bool, connected: bool) -> AcdChange:
        agent = self.agents[agent_id]
        agent.ready, agent.connected = ready, connected
        return self._drain(agent)

    def offer(
        self,
        conversation_id: str,
        *,
        skill: str | None,
        since: float,
        preferred_agent_id: str | None = None,
    ) -> AcdChange:
        if self._holder_agent(conversation_id) or self._find_waiting(conversation_id):
            return AcdChange()
        preferred = self.agents.get(preferred_agent_id) if preferred_agent_id else None
        if preferred is not None and preferred.eligible and preferred.serves(skill):
            return AcdChange([self._give(conversation_id, preferred)])
        best = self._best(skill)
        if best is not None:
            return AcdChange([self._give(conversation_id, best)])
        self.arrivals += 1
        self.waiting.append(Waiting(since, self.arrivals, conversation_id, skill))
        return AcdChange(queues_changed={skill})

    def assign_to(self, conversation_id: str, agent_id: str, *, force: bool = False) -> AcdChange:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise LookupError(agent_id)
        previous = self._holder_agent(conversation_id)
        if previous is agent:
            return AcdChange()
        if not force and (not agent.connected or len(agent.held) >= agent.max_concurrent):
            raise ValueError(agent_id)
        change = AcdChange()
        self._dequeue(conversation_id, change)
        if previous is not None:
            del previous.held[conversation_id]
        self._give(conversation_id, agent)
        if previous is not None:
            change.merge(self._drain(previous))
        return change

    def move_queued(self, conversation_id: str, skill: str | None) -> AcdChange:
        entry = self._find_waiting(conversation_id)
        if entry is None:
            return AcdChange()
        change = AcdChange()
        self._dequeue(conversation_id, change)
        best = self._best(skill)
        if best is not None:
            change.assignments.append(self._give(conversation_id, best))
            return change
        self.waiting.append(Waiting(entry.since, entry.arrival, conversation_id, skill))
        change.queues_changed.add(skill)
        return change

    def release(self, conversation_id: str) -> AcdChange:
        change = AcdChange()
        self._dequeue(conversation_id, change)
        previous = self._holder_agent(conversation_id)
        if previous is not None:
            del previous.held[conversation_id]
            change.merge(self._drain(previous))
        return change

    def take_holdings(self, agent_id: str) -> list[str]:
        agent = self.agents.get(agent_id)
        if agent is None or agent.connected:
            return []
        held = sorted(agent.held, key=agent.held.__getitem__)
        agent.held.clear()
        return held

    # reading -------------------------------------------------------------------------------

    def holder(self, conversation_id: str) -> str | None:
        agent = self._holder_agent(conversation_id)
        return agent.agent_id if agent else None

    def queue(self, skill: str | None) -> list[str]:
        entries = sorted(
            (w for w in self.waiting if w.skill == skill), key=lambda w: (w.since, w.arrival)
        )
        return [w.conversation_id for w in entries]

    def position(self, conversation_id: str) -> int | None:
        entry = self._find_waiting(conversation_id)
        if entry is None:
            return None
        return self.queue(entry.skill).index(conversation_id) + 1

    def queued_count(self) -> int:
        return len(self.waiting)

    def loads(self) -> list[AgentLoad]:
        return [
            AgentLoad(a.agent_id, a.ready, a.connected, len(a.held), a.max_concurrent, a.skills)
            for a in self.agents.values()
        ]
