"""Following up left messages (留言): take one, answer it by email. Listing, leaving and
marking them are in hub/api/workspace.py."""

from __future__ import annotations

from aiohttp import web

from hub.actions.left_messages import do_reply_left_message, do_take_left_message
from hub.api.common import current_agent, hub_of, read_json

routes = web.RouteTableDef()


@routes.post("/api/v1/left-messages/{left_id}/take")
async def take_left_message(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    left = await do_take_left_message(hub_of(request), agent, request.match_info["left_id"])
    return web.json_response(left.public())


@routes.post("/api/v1/left-messages/{left_id}/reply")
async def reply_left_message(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    left, conversation, message = await do_reply_left_message(
        hub_of(request), agent, request.match_info["left_id"], await read_json(request)
    )
    return web.json_response(
        {
            "left_message": left.public(),
            "conversation": conversation.public(),
            "message": message.public(),
        },
        status=201,
    )
