"""Agents coming, going and choosing ready / not ready."""

from __future__ import annotations

from hub.actions import events
from hub.actions.routing import apply_change, grace_timer, on_grace_expired, routing_settings
from hub.context import Hub
from hub.domain import Agent, Presence
from hub.errors import Invalid

SETTABLE = {Presence.READY.value, Presence.NOT_READY.value, Presence.AWAY.value}


async def agent_connected(hub: Hub, agent: Agent, sid: str) -> None:
    key = (agent.tenant, agent.id)
    if not hub.agent_sessions.add(key, sid):
        return
    hub.timers.cancel(grace_timer(agent.tenant, agent.id))
    change = await hub.acd.set_presence(agent.tenant, agent.id, ready=False, connected=True)
    await apply_change(hub, agent.tenant, change)
    await _announce(hub, agent)


async def agent_disconnected(hub: Hub, agent: Agent, sid: str) -> None:
    key = (agent.tenant, agent.id)
    if not hub.agent_sessions.remove(key, sid):
        return
    try:
        await hub.acd.set_presence(agent.tenant, agent.id, ready=False, connected=False)
    except KeyError:
        # A disabled agent is already out of routing and its conversations were routed
        # again: there is nothing to keep through a grace period.
        await _announce(hub, agent)
        return
    settings = await routing_settings(hub, agent.tenant)
    hub.timers.schedule(
        grace_timer(agent.tenant, agent.id),
        settings.disconnect_grace_seconds,
        lambda: on_grace_expired(hub, agent.tenant, agent.id),
    )
    await _announce(hub, agent)


async def do_set_presence(hub: Hub, agent: Agent, status: object) -> str:
    if not isinstance(status, str) or status not in SETTABLE:
        raise Invalid(
            f"status must be one of {', '.join(sorted(SETTABLE))}", code="invalid_presence"
        )
    key = (agent.tenant, agent.id)
    hub.agent_sessions.set_presence(key, status)
    change = await hub.acd.set_presence(
        agent.tenant, agent.id, ready=status == Presence.READY.value, connected=True
    )
    await events.to_agent(hub, agent.tenant, agent.id, "presence", {"status": status})
    await _announce(hub, agent)
    await apply_change(hub, agent.tenant, change)
    return status


async def _announce(hub: Hub, agent: Agent) -> None:
    await events.to_staff(
        hub,
        agent.tenant,
        "agent.presence",
        {
            "agent_id": agent.id,
            "status": hub.agent_sessions.presence((agent.tenant, agent.id)),
            "agents_online": hub.agent_sessions.online_count(agent.tenant),
        },
    )
