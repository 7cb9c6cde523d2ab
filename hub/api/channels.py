"""Channel accounts (admins): the contract's /api/v1/channels."""

from __future__ import annotations

from aiohttp import web

from hub.actions.channels import (
    channel_view,
    do_create_channel,
    do_delete_channel,
    do_update_channel,
    get_channel,
)
from hub.api.common import current_admin, hub_of, read_json
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
