"""Tenant settings: routing."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hub.actions.routing import do_update_routing_settings, routing_settings
from hub.api.common import current_admin, current_agent, hub_of, parse_body
from hub.domain import RoutingSettings

routes = web.RouteTableDef()


Skill = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_OVERFLOW_RULES = 50


class OverflowTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    skill: Skill | None


class OverflowBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    skill: Skill | None
    after_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    max_queue: int | None = Field(default=None, ge=0, le=100_000)
    to: OverflowTarget | Literal["leave_message"]

    @model_validator(mode="after")
    def sensible(self) -> Self:
        if self.after_seconds is None and self.max_queue is None:
            raise ValueError("an overflow rule needs after_seconds or max_queue")
        if isinstance(self.to, OverflowTarget) and self.to.skill == self.skill:
            raise ValueError(f"overflow of {self.skill!r} to itself")
        return self


class RoutingBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    policy: Literal["idle_first", "round_robin"]
    history_agent_first: bool
    default_max_concurrent: int = Field(ge=0, le=1000)
    # Fractions of a second are accepted so that tests and demos need not wait long.
    queue_timeout_seconds: float = Field(gt=0, le=7 * 24 * 3600)
    disconnect_grace_seconds: float = Field(ge=0, le=24 * 3600)
    overflow: list[OverflowBody] = Field(default_factory=list, max_length=MAX_OVERFLOW_RULES)

    @model_validator(mode="after")
    def chains_end(self) -> Self:
        """One rule per skill, and following the rules from any skill ends (no loop)."""
        ruled: set[str | None] = set()
        next_skill: dict[str | None, str | None] = {}
        for rule in self.overflow:
            if rule.skill in ruled:
                raise ValueError(f"more than one overflow rule for {rule.skill!r}")
            ruled.add(rule.skill)
            if isinstance(rule.to, OverflowTarget):
                next_skill[rule.skill] = rule.to.skill
        for start in next_skill:
            seen, skill = {start}, next_skill[start]
            while skill in next_skill:
                if skill in seen:
                    raise ValueError(f"overflow rules loop back to {skill!r}")
                seen.add(skill)
                skill = next_skill[skill]
        return self


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
        hub_of(request), admin.tenant, RoutingSettings.from_public(body.model_dump())
    )
    return web.json_response(settings.public())
