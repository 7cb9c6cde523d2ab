"""Online visitors (在线访客), the workbench's counters, and the invitation settings."""

from __future__ import annotations

from aiohttp import web

from hub.actions.online import (
    invitation_settings,
    list_online,
    online_stats,
    put_invitation_settings,
)
from hub.api.common import current_admin, current_agent, hub_of, read_json

routes = web.RouteTableDef()


@routes.get("/api/v1/visitors/online")
async def get_online(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    return web.json_response(await list_online(hub_of(request), agent, dict(request.query)))


@routes.get("/api/v1/visitors/stats")
async def get_stats(request: web.Request) -> web.Response:
    """Visitors online, today's PV and IP, and today's invitations and conversations per
    agent: every agent's for supervisors, the caller's own otherwise."""
    agent = await current_agent(request)
    stats = await online_stats(hub_of(request), agent.tenant)
    if not agent.is_supervisor():
        stats["agents"] = [entry for entry in stats["agents"] if entry["agent_id"] == agent.id]
    return web.json_response(stats)


@routes.get("/api/v1/settings/invitation")
async def get_invitation_settings(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    return web.json_response(await invitation_settings(hub_of(request), agent.tenant))


@routes.put("/api/v1/settings/invitation")
async def set_invitation_settings(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    config = await put_invitation_settings(hub_of(request), admin.tenant, await read_json(request))
    return web.json_response(config)
