"""Socket.IO namespaces and room names: the addresses actions emit to."""

from __future__ import annotations

VISITOR_NS = "/visitor"
AGENT_NS = "/agent"


def visitor_room(tenant: str, contact_id: str) -> str:
    """Every tab of one visitor."""
    return f"v:{tenant}:{contact_id}"


def agent_room(tenant: str, agent_id: str) -> str:
    """Every tab of one agent."""
    return f"a:{tenant}:{agent_id}"


def staff_room(tenant: str) -> str:
    """Every connected agent of a tenant (queue counters, colleagues' presence)."""
    return f"s:{tenant}"


def admins_room(tenant: str) -> str:
    """A tenant's administrators (channel accounts' status in the console)."""
    return f"adm:{tenant}"


def watch_room(tenant: str, conversation_id: str) -> str:
    """Supervisors watching one conversation read-only."""
    return f"w:{tenant}:{conversation_id}"
