"""Agents: list (any agent), create and edit (administrators)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.actions.agents import do_create_agent, do_update_agent
from hub.actions.routing import routing_settings
from hub.api.common import current_admin, current_agent, hub_of, parse_body
from hub.api.paging import page, page_limit, page_position
from hub.errors import Forbidden, Invalid, NotFound

routes = web.RouteTableDef()

Skill = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class NewAgent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)
    email: Email
    password: str = Field(min_length=8, max_length=1000)
    roles: list[str] = Field(default_factory=lambda: ["agent"], max_length=3)
    skills: list[Skill] = Field(default_factory=list, max_length=50)
    max_concurrent: int | None = Field(default=None, ge=0, le=1000)


class AgentChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: Email | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    roles: list[str] | None = Field(default=None, max_length=3)
    skills: list[Skill] | None = Field(default=None, max_length=50)
    max_concurrent: int | None = Field(default=None, ge=0, le=1000)
    disabled: bool | None = None


@routes.get("/api/v1/agents")
async def list_agents(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    hub = hub_of(request)
    include_disabled = request.query.get("include_disabled", "")
    if include_disabled not in ("", "true", "false"):
        raise Invalid("include_disabled is true or false", code="invalid_include_disabled")
    # Disabled accounts are listed only for administrators, who can enable them again.
    if include_disabled == "true" and not agent.is_admin():
        raise Forbidden("administrators only", code="admin_only")
    limit = page_limit(request)
    records = await hub.store.list_agents(
        agent.tenant, after=page_position(request, "agents"), limit=limit + 1
    )
    # Disabled agents are left out after the read: a page may hold fewer than `limit`.
    agents, after = page("agents", records, limit, lambda a: (a.created_at, a.id))
    items = []
    for other in agents:
        if other.disabled and include_disabled != "true":
            continue
        presence = hub.presence.presence((other.tenant, other.id))
        items.append(other.public() | {"presence": presence, "disabled": other.disabled})
    return web.json_response({"items": items, "next": after})


@routes.post("/api/v1/agents")
async def create_agent(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, NewAgent)
    hub = hub_of(request)
    max_concurrent = body.max_concurrent
    if max_concurrent is None:
        max_concurrent = (await routing_settings(hub, admin.tenant)).default_max_concurrent
    agent = await do_create_agent(
        hub,
        admin.tenant,
        name=body.name,
        email=str(body.email),
        password=body.password,
        roles=body.roles,
        skills=body.skills,
        max_concurrent=max_concurrent,
    )
    return web.json_response(agent.public(), status=201)


@routes.get("/api/v1/agents/{agent_id}")
async def get_agent(request: web.Request) -> web.Response:
    viewer = await current_agent(request)
    agent = await hub_of(request).store.get_agent(viewer.tenant, request.match_info["agent_id"])
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    return web.json_response(agent.public())


@routes.patch("/api/v1/agents/{agent_id}")
async def update_agent(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, AgentChanges)
    hub = hub_of(request)
    agent = await hub.store.get_agent(admin.tenant, request.match_info["agent_id"])
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    changes = body.model_dump(exclude_unset=True, exclude={"password"})
    if "email" in changes:
        changes["email"] = str(changes["email"])
    agent = await do_update_agent(hub, agent, changes, password=body.password)
    return web.json_response(agent.public() | {"disabled": agent.disabled})
