"""API tokens and webhooks (administrators): docs/integrations.md."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub.actions.api_tokens import do_create_api_token, do_revoke_api_token
from hub.actions.webhooks import (
    do_create_webhook,
    do_delete_webhook,
    do_enable_webhook,
    do_resend_delivery,
    get_webhook,
)
from hub.api.common import current_admin, hub_of, parse_body, query_int
from hub.integrations.webhooks import WebhookWorker

routes = web.RouteTableDef()
WEBHOOK_WORKER = web.AppKey("webhook_worker", WebhookWorker)


class NewApiToken(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100, description="what uses the token")


class ApiTokenOut(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: str
    last_used_at: str | None


class CreatedApiToken(ApiTokenOut):
    token: str = Field(description="the token itself, shown this once")


class ApiTokenList(BaseModel):
    items: list[ApiTokenOut]


class NewWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, max_length=2000, description="an http(s) URL")
    events: list[str] = Field(
        min_length=1,
        max_length=20,
        description="conversation.created, conversation.assigned, conversation.closed, "
        "message.created, contact.updated",
    )
    secret: str = Field(
        min_length=16, max_length=200, description="the key of the deliveries' HMAC-SHA256"
    )


class WebhookChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str
    created_at: str


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    created_at: str
    updated_at: str
    next_attempt_at: str | None
    response_status: int | None
    last_error: str


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


@routes.post("/api/v1/api-tokens")
async def create_api_token(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, NewApiToken)
    record, token = await do_create_api_token(hub_of(request), admin, body.name)
    return web.json_response(record.public() | {"token": token}, status=201)


@routes.get("/api/v1/api-tokens")
async def list_api_tokens(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    tokens = await hub_of(request).store.list_api_tokens(admin.tenant)
    return web.json_response({"items": [t.public() for t in tokens]})


@routes.delete("/api/v1/api-tokens/{token_id}")
async def revoke_api_token(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    await do_revoke_api_token(hub_of(request), admin, request.match_info["token_id"])
    return web.Response(status=204)


@routes.post("/api/v1/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, NewWebhook)
    webhook = await do_create_webhook(hub_of(request), admin, body.url, body.events, body.secret)
    return web.json_response(webhook.public(), status=201)


@routes.get("/api/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    webhooks = await hub_of(request).store.list_webhooks(admin.tenant)
    return web.json_response({"items": [w.public() for w in webhooks]})


@routes.get("/api/v1/webhooks/{webhook_id}")
async def read_webhook(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    webhook = await get_webhook(hub_of(request), admin.tenant, request.match_info["webhook_id"])
    return web.json_response(webhook.public())


@routes.patch("/api/v1/webhooks/{webhook_id}")
async def patch_webhook(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, WebhookChanges)
    webhook = await do_enable_webhook(
        hub_of(request), admin, request.match_info["webhook_id"], body.enabled
    )
    return web.json_response(webhook.public())


@routes.delete("/api/v1/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    await do_delete_webhook(hub_of(request), admin, request.match_info["webhook_id"])
    return web.Response(status=204)


@routes.get("/api/v1/webhooks/{webhook_id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    hub = hub_of(request)
    webhook = await get_webhook(hub, admin.tenant, request.match_info["webhook_id"])
    limit = query_int(request, "limit", 50, low=1, high=200)
    deliveries = await hub.store.list_webhook_deliveries(admin.tenant, webhook.id, limit=limit)
    return web.json_response({"items": [d.public() for d in deliveries]})


@routes.post("/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
async def resend_delivery(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    delivery = await do_resend_delivery(
        hub_of(request),
        admin,
        request.match_info["webhook_id"],
        request.match_info["delivery_id"],
    )
    worker = request.app.get(WEBHOOK_WORKER)
    if worker is not None:
        worker.wake()
    return web.json_response(delivery.public())
