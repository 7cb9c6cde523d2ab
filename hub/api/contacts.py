"""Contacts: read, edit, tag, blacklist (拉黑); the tenant's tag catalogue."""

from __future__ import annotations

from aiohttp import web

from hub.actions.contacts import (
    do_block_contact,
    do_merge_contacts,
    do_unblock_contact,
    edit_contact,
    get_contact,
    list_blocked,
    put_tag_catalogue,
    tag_catalogue,
)
from hub.api.common import current_admin, current_agent, hub_of, read_json
from hub.api.paging import page, page_limit, page_position
from hub.errors import Invalid

routes = web.RouteTableDef()


@routes.get("/api/v1/contacts")
async def list_contacts(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    hub = hub_of(request)
    limit = page_limit(request)
    blocked = request.query.get("blocked", "")
    if blocked not in ("", "true", "false"):
        raise Invalid("blocked is true or false", code="invalid_blocked")
    after = page_position(request, "contacts")
    if blocked == "true":
        records = await list_blocked(hub, agent.tenant, limit + 1, after=after)
    else:
        records = await hub.store.list_contacts(agent.tenant, after=after, limit=limit + 1)
    items, following = page("contacts", records, limit, lambda c: (c.last_seen_at, c.id))
    return web.json_response({"items": [c.public() for c in items], "next": following})


@routes.get("/api/v1/contacts/{contact_id}")
async def read_contact(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    contact = await get_contact(hub_of(request), agent.tenant, request.match_info["contact_id"])
    return web.json_response(contact.public())


@routes.patch("/api/v1/contacts/{contact_id}")
async def patch_contact(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    contact = await edit_contact(
        hub_of(request), agent, request.match_info["contact_id"], await read_json(request)
    )
    return web.json_response(contact.public())


@routes.post("/api/v1/contacts/{contact_id}/block")
async def block_contact(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    body = await read_json(request)
    if not isinstance(body, dict) or "minutes" not in body:
        raise Invalid(
            "send {minutes, reason?}; minutes null blocks until lifted", code="invalid_block"
        )
    contact = await do_block_contact(
        hub_of(request),
        agent,
        request.match_info["contact_id"],
        minutes=body["minutes"],
        reason=body.get("reason", ""),
    )
    return web.json_response(contact.public())


@routes.post("/api/v1/contacts/{contact_id}/merge")
async def merge_contact(request: web.Request) -> web.Response:
    """`{contact_id}`: that contact is merged into this one."""
    agent = await current_agent(request)
    contact = await do_merge_contacts(
        hub_of(request), agent, request.match_info["contact_id"], await read_json(request)
    )
    return web.json_response(contact.public())


@routes.delete("/api/v1/contacts/{contact_id}/block")
async def unblock_contact(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    contact = await do_unblock_contact(hub_of(request), agent, request.match_info["contact_id"])
    return web.json_response(contact.public())


@routes.get("/api/v1/tags")
async def get_tags(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    doc = await hub_of(request).store.get_settings(agent.tenant, "tags")
    return web.json_response({"items": tag_catalogue(doc)})


@routes.put("/api/v1/tags")
async def put_tags(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await read_json(request)
    items = await put_tag_catalogue(
        hub_of(request), admin.tenant, body.get("items") if isinstance(body, dict) else None
    )
    return web.json_response({"items": items})
