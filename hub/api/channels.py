"""Channel accounts (admins): the contract's /api/v1/channels; the types a form offers; and
the enabled accounts by name, which every agent may read to write from them."""

from __future__ import annotations

from aiohttp import web

from hub.actions.channels import (
    channel_type_view,
    channel_view,
    do_create_channel,
    do_delete_channel,
    do_update_channel,
    get_channel,
)
from hub.api.common import current_admin, current_agent, hub_of, read_json
from hub.errors import Invalid

routes = web.RouteTableDef()


async def _object(request: web.Request) -> dict[str, object]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", code="invalid_body")
    return body


@routes.post("/api/v1/channels")
async def create_channel(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    hub = hub_of(request)
    account = await do_create_channel(hub, admin.tenant, await _object(request))
    return web.json_response(channel_view(hub, account), status=201)


@routes.get("/api/v1/channels")
async def list_channels(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    hub = hub_of(request)
    accounts = await hub.store.list_channel_accounts(admin.tenant)
    return web.json_response({"items": [channel_view(hub, a) for a in accounts]})


@routes.get("/api/v1/channels/{channel_id}")
async def show_channel(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    hub = hub_of(request)
    account = await get_channel(hub, admin.tenant, request.match_info["channel_id"])
    return web.json_response(channel_view(hub, account))


@routes.patch("/api/v1/channels/{channel_id}")
async def update_channel(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    hub = hub_of(request)
    account = await do_update_channel(
        hub, admin.tenant, request.match_info["channel_id"], await _object(request)
    )
    return web.json_response(channel_view(hub, account))


@routes.delete("/api/v1/channels/{channel_id}")
async def delete_channel(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    await do_delete_channel(hub_of(request), admin.tenant, request.match_info["channel_id"])
    return web.Response(status=204)


@routes.get("/api/v1/channel-types")
async def list_channel_types(request: web.Request) -> web.Response:
    await current_admin(request)
    kinds = hub_of(request).channel_types
    return web.json_response({"items": [channel_type_view(kinds[name]) for name in sorted(kinds)]})


@routes.get("/api/v1/channel-accounts")
async def list_channel_accounts(request: web.Request) -> web.Response:
    """What an agent needs to pick the account to write from: no config, no status."""
    agent = await current_agent(request)
    accounts = await hub_of(request).store.list_channel_accounts(agent.tenant)
    return web.json_response(
        {"items": [{"id": a.id, "type": a.type, "name": a.name} for a in accounts if a.enabled]}
    )
