"""Tenant settings: routing."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.actions.routing import do_update_routing_settings, routing_settings
from hub.api.common import current_admin, current_agent, hub_of, parse_body
from hub.domain import RoutingSettings

routes = web.RouteTableDef()


class RoutingBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    policy: Literal["idle_first", "round_robin"]
    history_agent_first: bool
    default_max_concurrent: int = Field(ge=0, le=1000)
    # Fractions of a second are accepted so that tests and demos need not wait long.
    queue_timeout_seconds: float = Field(gt=0, le=7 * 24 * 3600)
    disconnect_grace_seconds: float = Field(ge=0, le=24 * 3600)


@routes.get("/api/v1/settings/routing")
async def get_routing(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    settings = await routing_settings(hub_of(request), agent.tenant)
    return web.json_response(settings.public())


@routes.put("/api/v1/settings/routing")
async def put_routing(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, RoutingBody)
    settings = await do_update_routing_settings(
        hub_of(request), admin.tenant, RoutingSettings(**body.model_dump())
    )
    return web.json_response(settings.public())
