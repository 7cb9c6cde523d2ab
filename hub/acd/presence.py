"""The presence seam: which sockets each agent has open, and the presence the agent chose.

An agent counts as connected while at least one of its sockets is open; several tabs share
one presence. This in-process state serves one node; several nodes need a shared one (the
way hub/acd/base.py's AcdState has one), behind the same methods."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.domain import Presence

AgentKey = tuple[str, str]  # (tenant, agent_id)


@dataclass(slots=True)
class AgentSession:
    sids: set[str] = field(default_factory=set)
    presence: str = Presence.NOT_READY.value


class AgentPresence:
    def __init__(self) -> None:
        self._sessions: dict[AgentKey, AgentSession] = {}

    def add(self, key: AgentKey, sid: str) -> bool:
        """Returns True when this is the agent's first open socket."""
        session = self._sessions.setdefault(key, AgentSession())
        first = not session.sids
        if first:
            # A fresh connection starts not ready (docs/protocol.md).
            session.presence = Presence.NOT_READY.value
        session.sids.add(sid)
        return first

    def remove(self, key: AgentKey, sid: str) -> bool:
        """Returns True when that was the agent's last open socket."""
        session = self._sessions.get(key)
        if session is None:
            return False
        session.sids.discard(sid)
        if session.sids:
            return False
        session.presence = Presence.OFFLINE.value
        return True

    def sids(self, key: AgentKey) -> list[str]:
        """The agent's sockets open on this node."""
        session = self._sessions.get(key)
        return sorted(session.sids) if session else []

    def connected(self, key: AgentKey) -> bool:
        session = self._sessions.get(key)
        return bool(session and session.sids)

    def presence(self, key: AgentKey) -> str:
        session = self._sessions.get(key)
        return session.presence if session else Presence.OFFLINE.value

    def set_presence(self, key: AgentKey, presence: str) -> None:
        self._sessions.setdefault(key, AgentSession()).presence = presence

    def online_count(self, tenant: str) -> int:
        return sum(1 for (t, _), s in self._sessions.items() if t == tenant and s.sids)
