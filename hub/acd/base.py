"""The ACD state seam: who can serve what, who holds what, who waits in which queue.

The ACD decides; hub.actions persists the decision and emits events. Every method is one
atomic step on the shared state (in-process: no await inside a decision; Redis later: one
Lua script), so two hubs sharing the state never assign a conversation twice or push an agent
past its maximum.

Rules (docs/protocol.md, "Routing"):
* Eligible agent: connected, ready, holding fewer than max_concurrent conversations, and
  having the conversation's skill when one is set (skill None: any agent).
* offer(): the preferred agent (history agent first) if eligible; else by policy:
  idle_first = fewest held, ties to the oldest last assignment; round_robin = least recently
  assigned. Nobody eligible: the conversation waits in its skill's queue.
* Queues are FIFO per skill, ordered by `since` (the conversation's original arrival, so a
  conversation routed again after its agent's disconnect grace goes ahead of newer waiters),
  ties by arrival order at the ACD.
* Overflow moves a waiting conversation to another skill's queue by the same order (its
  original arrival), or to a free agent of that skill at once.
* Whenever an agent may have become eligible (ready, connected, capacity freed, profile
  changed) the ACD drains: it gives that agent the oldest waiting conversation it can serve
  (oldest head among the queue of no skill and the queues of its skills), repeatedly while
  the agent stays eligible.
* Decisions cost O(log n) in agents and waiting conversations: no scans of all agents.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.domain import ConversationRef, RoutingSettings


@dataclass(frozen=True, slots=True)
class Assignment:
    conversation_id: str
    agent_id: str


@dataclass(slots=True)
class AcdChange:
    """What one step changed: new assignments (to persist and announce) and the skills whose
    queue order changed (their waiting visitors get new positions). Skill None is the queue
    of conversations without a skill."""

    assignments: list[Assignment] = field(default_factory=list)
    queues_changed: set[str | None] = field(default_factory=set)

    def merge(self, other: AcdChange) -> AcdChange:
        self.assignments.extend(other.assignments)
        self.queues_changed |= other.queues_changed
        return self


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent_id: str
    ready: bool
    connected: bool
    held: int
    max_concurrent: int
    skills: frozenset[str]


class AcdState(ABC):
    # configuration -------------------------------------------------------------------------

    @abstractmethod
    async def set_policy(self, tenant: str, policy: str) -> None:
        """ "idle_first" or "round_robin"; applies to every later decision."""

    @abstractmethod
    async def configure(self, tenant: str, settings: RoutingSettings) -> None:
        """The tenant's routing settings (its policy applies at once), kept beside the state
        they govern so that every node routing on this state uses the same ones."""

    @abstractmethod
    async def settings(self, tenant: str) -> RoutingSettings | None:
        """What `configure` last set; None before (the caller loads them from the store)."""

    # agents ----------------------------------------------------------------------------------

    @abstractmethod
    async def upsert_agent(
        self, tenant: str, agent_id: str, *, skills: Iterable[str], max_concurrent: int
    ) -> AcdChange:
        """Registers or updates an agent's profile (a new agent starts disconnected and not
        ready). A raised maximum or a new skill may let it take waiting conversations."""

    @abstractmethod
    async def remove_agent(self, tenant: str, agent_id: str) -> list[str]:
        """Forgets the agent; returns the conversations it held (the caller routes them)."""

    @abstractmethod
    async def set_presence(
        self, tenant: str, agent_id: str, *, ready: bool, connected: bool
    ) -> AcdChange:
        """Unknown agent ids raise KeyError. Becoming eligible drains the queues."""

    # conversations ---------------------------------------------------------------------------

    @abstractmethod
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
        """Route a conversation that no agent holds: the change has one assignment for it, or
        none and its skill's queue in queues_changed. Offering a conversation that is already
        held or queued is a no-op (empty change): never assigned twice. `ref` is kept with a
        waiting conversation, so its customer can be told their position without a read."""

    @abstractmethod
    async def assign_to(
        self, tenant: str, conversation_id: str, agent_id: str, *, force: bool = False
    ) -> AcdChange:
        """Give a conversation to one agent (transfer, supervisor take-over; force=True for
        restoring state from the store at start-up, which ignores readiness and maximum).
        Without force the agent must be connected and under its maximum (readiness is not
        required: a transfer to a busy-but-present colleague is allowed). If the conversation
        was held by another agent it moves (the old agent's freed capacity drains the queues);
        if it was queued it leaves the queue. Raises LookupError when the agent is unknown,
        ValueError when it cannot take it (the change is then empty and nothing moved)."""

    @abstractmethod
    async def move_queued(self, tenant: str, conversation_id: str, skill: str | None) -> AcdChange:
        """Queue overflow: a waiting conversation moves to another skill's queue, keeping its
        original arrival (so it goes ahead of later arrivals there), or straight to the best
        eligible agent of that skill. Both queues are in queues_changed. A conversation that
        is not waiting (held, released, unknown) does not move: empty change."""

    @abstractmethod
    async def release(self, tenant: str, conversation_id: str) -> AcdChange:
        """The conversation ends (closed) or leaves routing: drop it from its agent or its
        queue; the freed agent drains the queues. Unknown ids: empty change."""

    @abstractmethod
    async def take_holdings(self, tenant: str, agent_id: str) -> list[str]:
        """Strip a disconnected agent of every conversation it holds (disconnect grace
        expired) and return them, oldest assignment first, for the caller to offer() again.
        A connected agent (it came back before the grace expired) keeps them: empty list.
        Unknown agent ids: empty list."""

    # reading ---------------------------------------------------------------------------------

    @abstractmethod
    async def holder(self, tenant: str, conversation_id: str) -> str | None:
        """The agent holding a conversation. The ACD's tests observe its decisions through
        it (the memory and Redis states must agree); the hub itself reads the store."""

    @abstractmethod
    async def position(self, tenant: str, conversation_id: str) -> int | None:
        """1 = next to be served; None when not queued."""

    @abstractmethod
    async def queue(self, tenant: str, skill: str | None) -> list[str]:
        """Waiting conversation ids of one skill's queue, in order."""

    @abstractmethod
    async def queue_page(
        self, tenant: str, skill: str | None, *, after: list[Any] | None, limit: int
    ) -> list[tuple[int, str, list[Any]]]:
        """Up to `limit` waiting conversations of one skill's queue after the one whose mark
        is `after` (from the start without): (position, conversation id, mark) each. A mark
        is the entry's place in the queue's order (JSON-able), so a page after it is right
        even if that entry has left the queue meanwhile."""

    @abstractmethod
    async def take_position_changes(
        self, tenant: str, skill: str | None
    ) -> list[tuple[ConversationRef, int]]:
        """The waiting conversations of one skill's queue whose position differs from the
        one last taken here, with their new position; they count as told from now on (so a
        customer hears of a position once, whichever node asks)."""

    @abstractmethod
    async def queued_count(self, tenant: str) -> int: ...

    @abstractmethod
    async def loads(self, tenant: str) -> list[AgentLoad]: ...
