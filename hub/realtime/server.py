"""The Socket.IO server. One node: in-memory client manager; several nodes: Redis pub/sub
(the python-socketio client_manager seam)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec

import orjson
import socketio

from config.settings import Settings
from hub.errors import HubError, Invalid

log = logging.getLogger(__name__)

# Big enough that a 1 MB text arrives and is refused with a clear error instead of a
# dropped connection.
MAX_PACKET_BYTES = 2 * 1024 * 1024


class _FastJson:
    """orjson for the packets the server encodes; python-socketio needs dumps/loads."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)

    JSONDecodeError = json.JSONDecodeError


def create_sio(settings: Settings) -> socketio.AsyncServer:
    manager: socketio.AsyncManager | None = None
    if settings.redis_url:
        manager = socketio.AsyncRedisManager(settings.redis_url)
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins="*",
        max_http_buffer_size=MAX_PACKET_BYTES,
        # One client's events are handled in the order sent (its messages are stored in that
        # order); different clients still run concurrently.
        async_handlers=False,
        json=_FastJson,
        logger=False,
        engineio_logger=False,
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
