"""The Socket.IO server: python-socketio's AsyncServer as it comes, through its public options.
One node: the in-memory client manager; several nodes: the Redis pub/sub one."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec

import socketio

from config.settings import Settings
from hub.errors import HubError, Invalid
from hub.realtime import json_codec

log = logging.getLogger(__name__)

# Big enough that a 1 MB text arrives and is refused with a clear error instead of a
# dropped connection.
MAX_PACKET_BYTES = 2 * 1024 * 1024


def socketio_options(redis_url: str | None = None) -> dict[str, Any]:
    """The AsyncServer options that shape what a message costs: codec, client manager,
    handler ordering. bench/baseline.py builds its bare relay with these too, so the
    benchmark's ratio measures what the hub adds, not a different configuration."""
    manager: socketio.AsyncManager = (
        socketio.AsyncRedisManager(redis_url) if redis_url else socketio.AsyncManager()
    )
    return {
        "async_mode": "aiohttp",
        "client_manager": manager,
        # Any origin (the pages may be served through a proxy on another one), never with
        # credentials: the hub's tokens travel in auth, not cookies.
        "cors_allowed_origins": "*",
        "cors_credentials": False,
        # One client's events are handled in the order sent (its messages are stored in that
        # order); different clients still run concurrently.
        "async_handlers": False,
        "json": json_codec,
        "logger": False,
        "engineio_logger": False,
    }


def create_sio(settings: Settings) -> socketio.AsyncServer:
    return socketio.AsyncServer(
        max_http_buffer_size=MAX_PACKET_BYTES, **socketio_options(settings.redis_url)
    )


P = ParamSpec("P")


def error_ack(exc: HubError) -> dict[str, Any]:
    return {"ok": False, "error": exc.body()}


def acked(
    handler: Callable[P, Awaitable[dict[str, Any]]],
) -> Callable[P, Awaitable[dict[str, Any]]]:
    """Every answered event gets `{ok: true, ...}` or `{ok: false, error: {code, message}}`,
    never a dropped ack."""

    @wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        try:
            result = await handler(*args, **kwargs)
        except HubError as exc:
            return error_ack(exc)
        except Exception:
            log.exception("socket handler %s failed", handler.__name__)
            return {"ok": False, "error": {"code": "internal", "message": "internal error"}}
        return {"ok": True, **result}

    return wrapper


def payload(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid("the event payload must be an object", code="invalid_payload")
    return data
