"""Workspace settings that are not in the contract: quick replies (快捷回复), the widget's
settings and availability, left messages (留言)."""

from __future__ import annotations

from aiohttp import web

from hub.actions.left_messages import do_update_left_message, leave_message
from hub.actions.tenant_state import active_tenant
from hub.actions.workspace import (
    public_widget_config,
    put_quick_replies,
    put_widget_config,
    widget_availability,
)
from hub.api.common import current_admin, current_agent, hub_of, read_json, request_address
from hub.api.paging import page, page_limit, page_position
from hub.errors import Invalid

routes = web.RouteTableDef()


@routes.get("/api/v1/quick-replies")
async def get_quick_replies(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    doc = await hub_of(request).store.get_settings(agent.tenant, "quick_replies") or {}
    return web.json_response({"items": doc.get("items", [])})


@routes.put("/api/v1/quick-replies")
async def set_quick_replies(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await read_json(request)
    items = await put_quick_replies(
        hub_of(request), admin.tenant, body.get("items") if isinstance(body, dict) else None
    )
    return web.json_response({"items": items})


@routes.get("/api/v1/widget/availability")
async def availability(request: web.Request) -> web.Response:
    """Public: whether anyone can answer now and whether we are within working hours, so the
    widget can offer the leave-a-message form (留言) instead of a chat."""
    tenant = request.query.get("tenant", "default")
    return web.json_response(
        await widget_availability(hub_of(request), tenant),
        headers={"Access-Control-Allow-Origin": "*"},
    )


@routes.post("/api/v1/left-messages")
async def create_left_message(request: web.Request) -> web.Response:
    hub = hub_of(request)
    claims = hub.tokens.read_visitor_token(request.headers.get("X-Visitor-Token"))
    await active_tenant(hub, claims.tenant)
    body = await read_json(request)
    # A left message counts as a message against the visitor's and the address's limits.
    hub.visitor_limits.message((claims.tenant, claims.contact_id), request_address(request))
    if not isinstance(body, dict):
        raise Invalid("send a JSON object", code="invalid_left_message")
    left = await leave_message(hub, claims.tenant, claims.contact_id, body)
    return web.json_response(left.public(), status=201)


@routes.get("/api/v1/left-messages")
async def list_left_messages(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    handled = request.query.get("handled", "")
    if handled not in ("", "true", "false"):
        raise Invalid("handled is true or false", code="invalid_handled")
    limit = page_limit(request)
    records = await hub_of(request).store.list_left_messages(
        agent.tenant,
        handled=None if not handled else handled == "true",
        after=page_position(request, "left-messages"),
        limit=limit + 1,
    )
    items, after = page("left-messages", records, limit, lambda m: (m.created_at, m.id))
    return web.json_response({"items": [left.public() for left in items], "next": after})


@routes.patch("/api/v1/left-messages/{left_id}")
async def patch_left_message(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    left = await do_update_left_message(
        hub_of(request), agent, request.match_info["left_id"], await read_json(request)
    )
    return web.json_response(left.public())


@routes.get("/api/v1/widget/config")
async def get_widget_config(request: web.Request) -> web.Response:
    """Public: the widget's appearance for a tenant, and the limits of what it may send."""
    tenant = request.query.get("tenant", "default")
    hub = hub_of(request)
    doc = await hub.store.get_settings(tenant, "widget")
    return web.json_response(
        public_widget_config(hub, doc), headers={"Access-Control-Allow-Origin": "*"}
    )


@routes.put("/api/v1/settings/widget")
async def put_widget_settings(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    config = await put_widget_config(hub_of(request), admin.tenant, await read_json(request))
    return web.json_response(config)
