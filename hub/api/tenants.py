"""Tenants, for the platform administrator: `Authorization: Bearer <HUB_PLATFORM_TOKEN>`.
Without a platform token configured these calls do not exist (404)."""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.actions.tenants import (
    do_create_tenant,
    do_delete_tenant,
    do_suspend_tenant,
    get_tenant,
)
from hub.api.common import hub_of, parse_body
from hub.errors import NotFound, Unauthorized

routes = web.RouteTableDef()


class NewTenant(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(min_length=2, max_length=40, description="lower-case letters, digits, -")
    name: str = Field(min_length=1, max_length=200)
    admin_email: str = Field(min_length=3, max_length=320)
    admin_password: str = Field(min_length=1, max_length=1000)


class TenantChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    suspended: bool


class TenantOut(BaseModel):
    id: str
    name: str
    suspended: bool
    created_at: str


class AdminOut(BaseModel):
    id: str
    name: str
    email: str
    roles: list[str]


class CreatedTenant(TenantOut):
    admin: AdminOut


class TenantList(BaseModel):
    items: list[TenantOut]


def require_platform(request: web.Request) -> None:
    expected = hub_of(request).settings.platform_token
    if not expected:
        raise NotFound("there is no platform administrator on this hub", code="not_found")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized("the platform token is required", code="platform_token_required")


@routes.post("/api/v1/tenants")
async def create_tenant(request: web.Request) -> web.Response:
    require_platform(request)
    body = await parse_body(request, NewTenant)
    tenant, admin = await do_create_tenant(
        hub_of(request), body.id, body.name, body.admin_email, body.admin_password
    )
    answer = tenant.public() | {
        "admin": {k: v for k, v in admin.public().items() if k in AdminOut.model_fields}
    }
    return web.json_response(answer, status=201)


@routes.get("/api/v1/tenants")
async def list_tenants(request: web.Request) -> web.Response:
    require_platform(request)
    tenants = await hub_of(request).store.list_tenants()
    return web.json_response({"items": [t.public() for t in tenants]})


@routes.get("/api/v1/tenants/{tenant_id}")
async def read_tenant(request: web.Request) -> web.Response:
    require_platform(request)
    tenant = await get_tenant(hub_of(request), request.match_info["tenant_id"])
    return web.json_response(tenant.public())


@routes.patch("/api/v1/tenants/{tenant_id}")
async def patch_tenant(request: web.Request) -> web.Response:
    require_platform(request)
    body = await parse_body(request, TenantChanges)
    tenant = await do_suspend_tenant(
        hub_of(request), request.match_info["tenant_id"], body.suspended
    )
    return web.json_response(tenant.public())


@routes.delete("/api/v1/tenants/{tenant_id}")
async def delete_tenant(request: web.Request) -> web.Response:
    require_platform(request)
    await do_delete_tenant(hub_of(request), request.match_info["tenant_id"])
    return web.Response(status=204)
