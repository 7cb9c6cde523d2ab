"""What every REST view shares: JSON errors, body parsing and validation, authentication."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub.actions.agents import signed_in_agent
from hub.actions.api_tokens import agent_for_api_token, is_api_token
from hub.addresses import client_address
from hub.boundary import check_query, decode_json
from hub.context import HUB, Hub
from hub.domain import Agent
from hub.errors import Forbidden, HubError, Invalid, RateLimited, TooLarge, Unauthorized

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

AGENT_KEY = web.RequestKey("agent", Agent)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def hub_error_response(exc: HubError) -> web.Response:
    response = web.json_response({"error": exc.body()}, status=exc.status)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        check_query(request.query)
        return await handler(request)
    except HubError as exc:
        return hub_error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error")


@web.middleware
async def drain_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """At shutdown the hub answers what it is handling and takes nothing new (a keep-alive
    connection may still send a request after the listener closed)."""
    drain = request.app[HUB].drain
    if request.path.startswith("/socket.io"):
        return await handler(request)  # a socket's whole life: its events are counted
    drain.refuse_if_stopping()
    with drain.in_flight():
        return await handler(request)


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def request_address(request: web.Request) -> str:
    """The client's address: the peer, or what a trusted proxy says it forwarded."""
    return client_address(
        request.remote or "",
        request.headers.get("X-Forwarded-For", ""),
        hub_of(request).settings.trusted_proxies,
    )


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def read_json(request: web.Request) -> Any:
    limit = hub_of(request).settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes", code="body_too_large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise TooLarge(f"the body is larger than {limit} bytes", code="body_too_large") from exc
    if not raw.strip():
        return None
    return decode_json(raw)


async def parse_body(request: web.Request, model: type[Model]) -> Model:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_message(exc), code="invalid_body") from exc


async def current_agent(request: web.Request) -> Agent:
    cached = request.get(AGENT_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("sign in first: Authorization: Bearer <token>", code="token_missing")
    hub = hub_of(request)
    token = token.strip()
    if is_api_token(token):
        agent = await agent_for_api_token(hub, token)
    else:
        agent = await signed_in_agent(hub, hub.tokens.read_agent_token(token))
    request[AGENT_KEY] = agent
    return agent


async def current_admin(request: web.Request) -> Agent:
    agent = await current_agent(request)
    if not agent.is_admin():
        raise Forbidden("administrators only", code="admin_only")
    return agent


async def current_supervisor(request: web.Request) -> Agent:
    agent = await current_agent(request)
    if not agent.is_supervisor():
        raise Forbidden("supervisors only", code="supervisor_only")
    return agent


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise Invalid(f"{name} must be a whole number", code=f"invalid_{name}") from exc
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}", code=f"invalid_{name}")
    return value
