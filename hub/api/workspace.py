"""Inbox workspace settings that are not in the contract: quick replies (快捷回复)."""

from __future__ import annotations

from aiohttp import web

from hub.actions.workspace import put_quick_replies
from hub.api.common import current_admin, current_agent, hub_of

routes = web.RouteTableDef()


@routes.get("/api/v1/quick-replies")
async def get_quick_replies(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    doc = await hub_of(request).store.get_settings(agent.tenant, "quick_replies") or {}
    return web.json_response({"items": doc.get("items", [])})


@routes.put("/api/v1/quick-replies")
async def set_quick_replies(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await request.json()
    items = await put_quick_replies(
        hub_of(request), admin.tenant, body.get("items") if isinstance(body, dict) else None
    )
    return web.json_response({"items": items})
