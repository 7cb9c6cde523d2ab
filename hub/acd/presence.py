"""The presence seam: which sockets each agent has open, and the presence the agent chose.

An agent counts as connected while at least one of its sockets is open; several tabs share
one presence. The chosen presence outlives the agent's last socket until the disconnect
grace runs out, so a reload, a short drop or a visit to the console (whose socket continues
the session) comes back as it was instead of "not ready". This in-process state serves one
node; several nodes need a shared one (the way hub/acd/base.py's AcdState has one), behind
the same methods."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.domain import Presence

AgentKey = tuple[str, str]  # (tenant, agent_id)


@dataclass(slots=True)
class AgentSession:
    sids: set[str] = field(default_factory=set)
    # What the agent chose; kept through the grace after the last socket closes.
    chosen: str = Presence.NOT_READY.value

    @property
    def presence(self) -> str:
        return self.chosen if self.sids else Presence.OFFLINE.value


class AgentPresence:
    def __init__(self) -> None:
        self._sessions: dict[AgentKey, AgentSession] = {}

    def add(self, key: AgentKey, sid: str) -> bool:
        """Returns True when this is the agent's first open socket."""
        session = self._sessions.setdefault(key, AgentSession())
        first = not session.sids
        session.sids.add(sid)
        return first

    def continue_session(self, key: AgentKey, sid: str) -> bool | None:
        """Adds a socket that only continues a session the agent already has (open, or in its
        grace), such as the console's: None when there is none to continue, otherwise
        whether it is the agent's first open socket."""
        if key not in self._sessions:
            return None
        return self.add(key, sid)

    def remove(self, key: AgentKey, sid: str) -> bool:
        """Returns True when that was the agent's last open socket."""
        session = self._sessions.get(key)
        if session is None or sid not in session.sids:
            return False
        session.sids.discard(sid)
        return not session.sids

    def end_session(self, key: AgentKey) -> None:
        """The grace ran out (or the agent was signed out): the next connection starts afresh,
        not ready (docs/protocol.md)."""
        session = self._sessions.get(key)
        if session is not None and not session.sids:
            del self._sessions[key]

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
        self._sessions.setdefault(key, AgentSession()).chosen = presence

    def online_count(self, tenant: str) -> int:
        return sum(1 for (t, _), s in self._sessions.items() if t == tenant and s.sids)
