"""Login and the signed-in agent."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.actions.agents import do_change_own_password, login
from hub.actions.workspace import agent_limits
from hub.api.common import current_agent, hub_of, parse_body, request_address

routes = web.RouteTableDef()


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


@routes.post("/api/v1/auth/login")
async def login_view(request: web.Request) -> web.Response:
    body = await parse_body(request, LoginBody)
    token, agent = await login(
        hub_of(request), body.email, body.password, address=request_address(request)
    )
    return web.json_response({"token": token, "agent": agent.public() | {"tenant": agent.tenant}})


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


@routes.post("/api/v1/auth/password")
async def password_view(request: web.Request) -> web.Response:
    """The signed-in agent's own password; the answer carries the tab's new token."""
    agent = await current_agent(request)
    body = await parse_body(request, PasswordBody)
    token, updated = await do_change_own_password(
        hub_of(request),
        agent,
        body.current_password,
        body.new_password,
        address=request_address(request),
    )
    return web.json_response(
        {"token": token, "agent": updated.public() | {"tenant": updated.tenant}}
    )


@routes.get("/api/v1/auth/me")
async def me_view(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    return web.json_response(
        agent.public() | {"tenant": agent.tenant, "limits": agent_limits(hub_of(request))}
    )
