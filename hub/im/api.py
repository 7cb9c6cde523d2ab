"""The enterprise IM's REST views (any staff; departments: administrators). Thin: parse,
authenticate, call hub/im/actions.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.common import current_agent, hub_of, query_int, read_json
from hub.errors import Invalid
from hub.im import actions
from hub.im.actions import Online, thread_view
from hub.im.model import ImThread

routes = web.RouteTableDef()
ONLINE = web.AppKey("im_online", Online)  # set by the app factory: the /im namespace's


async def _body(request: web.Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object", code="invalid_body")
    return data


async def _thread(request: web.Request, thread: ImThread, status: int = 200) -> web.Response:
    agent = await current_agent(request)
    return web.json_response(await thread_view(hub_of(request), agent.id, thread), status=status)


@routes.get("/api/v1/im/directory")
async def directory(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    found = await actions.directory(hub_of(request), agent, request.app[ONLINE])
    return web.json_response(found)


@routes.get("/api/v1/im/threads")
async def list_threads(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    items = await actions.list_threads(hub_of(request), agent)
    return web.json_response({"items": items, "unread": sum(t["unread"] for t in items)})


@routes.post("/api/v1/im/direct")
async def open_direct(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    body = await _body(request)
    thread = await actions.do_open_direct(hub_of(request), agent, body.get("agent_id"))
    return await _thread(request, thread)


@routes.post("/api/v1/im/groups")
async def create_group(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    body = await _body(request)
    thread = await actions.do_create_group(
        hub_of(request),
        agent,
        name=body.get("name"),
        members=body.get("members", []),
        description=body.get("description", ""),
    )
    return await _thread(request, thread, status=201)


@routes.patch("/api/v1/im/groups/{thread_id}")
async def change_group(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    thread = await actions.do_change_group(
        hub_of(request), agent, request.match_info["thread_id"], await _body(request)
    )
    return await _thread(request, thread)


@routes.post("/api/v1/im/groups/{thread_id}/leave")
async def leave_group(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    await actions.do_leave_group(hub_of(request), agent, request.match_info["thread_id"])
    return web.json_response({"ok": True})


@routes.delete("/api/v1/im/groups/{thread_id}")
async def dissolve_group(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    await actions.do_dissolve_group(hub_of(request), agent, request.match_info["thread_id"])
    return web.Response(status=204)


@routes.put("/api/v1/im/threads/{thread_id}/mute")
async def mute(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    body = await _body(request)
    thread = await actions.do_mute(
        hub_of(request), agent, request.match_info["thread_id"], body.get("muted")
    )
    return await _thread(request, thread)


@routes.get("/api/v1/im/threads/{thread_id}")
async def get_thread(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    thread = await actions.check_thread(hub_of(request), agent, request.match_info["thread_id"])
    return await _thread(request, thread)


@routes.get("/api/v1/im/threads/{thread_id}/messages")
async def messages(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    before = request.query.get("before_seq")
    found = await actions.read_history(
        hub_of(request),
        agent,
        request.match_info["thread_id"],
        after_seq=query_int(request, "after_seq", 0, low=0, high=2**62),
        before_seq=(query_int(request, "before_seq", 1, low=1, high=2**62) if before else None),
        limit=query_int(request, "limit", 100, low=1, high=500),
    )
    return web.json_response({"items": [m.public() for m in found]})


@routes.get("/api/v1/im/threads/{thread_id}/consult/{conversation_id}")
async def consulted(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    conversation, found = await actions.read_consulted(
        hub_of(request),
        agent,
        request.match_info["thread_id"],
        request.match_info["conversation_id"],
    )
    return web.json_response(
        {
            "conversation": conversation.public(),
            "messages": [m.public() for m in found],
            "can_take_over": agent.is_supervisor(),
        }
    )


@routes.get("/api/v1/im/search")
async def search(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    found = await actions.search(
        hub_of(request),
        agent,
        request.query.get("q", ""),
        limit=query_int(request, "limit", 50, low=1, high=200),
    )
    return web.json_response({"items": [m.public() for m in found]})


# departments --------------------------------------------------------------------------


@routes.get("/api/v1/im/departments")
async def list_departments(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    found = await hub_of(request).store.list_departments(agent.tenant)
    return web.json_response({"items": [d.public() for d in found]})


@routes.post("/api/v1/im/departments")
async def create_department(request: web.Request) -> web.Response:
    admin = await current_agent(request)
    body = await _body(request)
    department = await actions.do_create_department(
        hub_of(request), admin, name=body.get("name"), parent_id=body.get("parent_id")
    )
    return web.json_response(department.public(), status=201)


@routes.patch("/api/v1/im/departments/{department_id}")
async def change_department(request: web.Request) -> web.Response:
    admin = await current_agent(request)
    department = await actions.do_update_department(
        hub_of(request), admin, request.match_info["department_id"], await _body(request)
    )
    return web.json_response(department.public())


@routes.delete("/api/v1/im/departments/{department_id}")
async def delete_department(request: web.Request) -> web.Response:
    admin = await current_agent(request)
    await actions.do_delete_department(hub_of(request), admin, request.match_info["department_id"])
    return web.Response(status=204)


@routes.put("/api/v1/im/people/{agent_id}/department")
async def place_agent(request: web.Request) -> web.Response:
    admin = await current_agent(request)
    body = await _body(request)
    if "department_id" not in body:
        raise Invalid("department_id is required (null: none)", code="invalid_department_id")
    agent = await actions.do_place_agent(
        hub_of(request), admin, request.match_info["agent_id"], body["department_id"]
    )
    return web.json_response(agent.public())
