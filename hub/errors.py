"""The errors the hub answers with: one code, one human message, one HTTP status.

Over HTTP they become `{"error": {"code", "message"}}`; over sockets an ack
`{"ok": false, "error": {"code", "message"}}`.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        **details: Any,
    ):
        """`details` are extra fields of the error object a client can act on (the config
        key at fault, the conflicting conversation)."""
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class Invalid(HubError):
    status = 400
    code = "invalid"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class TooLarge(HubError):
    status = 413
    code = "too_large"


class RateLimited(HubError):
    """Too many requests: `retry_after` says in how many seconds the next one is accepted
    (in the error body, and as the Retry-After header over HTTP)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return super().body() | {"retry_after": self.retry_after}
