"""Agents coming, going and choosing ready / not ready."""

from __future__ import annotations

from hub.actions.routing import apply_change, grace_timer, on_grace_expired, routing_settings
from hub.context import Hub
from hub.domain import Agent, Presence
from hub.errors import Invalid
from hub.events import AgentPresenceChanged

SETTABLE = {Presence.READY.value, Presence.NOT_READY.value, Presence.AWAY.value}


async def agent_connected(hub: Hub, agent: Agent, sid: str, *, console: bool = False) -> str:
    """Counts the socket as the agent being there and returns the agent's presence. A first
    socket within the grace resumes what the agent had chosen (a reload or a short drop is
    not leaving); a console socket only continues a session the inbox started."""
    key = (agent.tenant, agent.id)
    first = hub.presence.continue_session(key, sid) if console else hub.presence.add(key, sid)
    status = hub.presence.presence(key)
    if not first:
        return status
    hub.timers.cancel(grace_timer(agent.tenant, agent.id))
    change = await hub.acd.set_presence(
        agent.tenant, agent.id, ready=status == Presence.READY.value, connected=True
    )
    await apply_change(hub, agent.tenant, change)
    await announce_presence(hub, agent)
    return status


async def agent_disconnected(hub: Hub, agent: Agent, sid: str) -> None:
    key = (agent.tenant, agent.id)
    if not hub.presence.remove(key, sid):
        return
    try:
        await hub.acd.set_presence(agent.tenant, agent.id, ready=False, connected=False)
    except KeyError:
        # A disabled agent is already out of routing and its conversations were routed
        # again: there is nothing to keep through a grace period.
        hub.presence.end_session(key)
        await announce_presence(hub, agent)
        return
    settings = await routing_settings(hub, agent.tenant)
    hub.timers.schedule(
        grace_timer(agent.tenant, agent.id),
        settings.disconnect_grace_seconds,
        lambda: on_grace_expired(hub, agent.tenant, agent.id),
    )
    await announce_presence(hub, agent)


async def do_set_presence(hub: Hub, agent: Agent, status: object) -> str:
    if not isinstance(status, str) or status not in SETTABLE:
        raise Invalid(
            f"status must be one of {', '.join(sorted(SETTABLE))}", code="invalid_presence"
        )
    key = (agent.tenant, agent.id)
    hub.presence.set_presence(key, status)
    change = await hub.acd.set_presence(
        agent.tenant, agent.id, ready=status == Presence.READY.value, connected=True
    )
    await announce_presence(hub, agent, chosen=True)
    await apply_change(hub, agent.tenant, change)
    return status


async def announce_presence(hub: Hub, agent: Agent, *, chosen: bool = False) -> None:
    await hub.bus.publish(
        AgentPresenceChanged(
            agent,
            hub.presence.presence((agent.tenant, agent.id)),
            hub.presence.online_count(agent.tenant),
            chosen=chosen,
        )
    )
