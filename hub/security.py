"""Password hashing (argon2id) and signed, expiring tokens for agents and visitors."""

from __future__ import annotations

import asyncio
import functools
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import Unauthorized

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


@functools.cache
def dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@dataclass(frozen=True, slots=True)
class AgentClaims:
    tenant: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class VisitorClaims:
    tenant: str
    contact_id: str


class Tokens:
    """Agent tokens expire; visitor tokens live as long as the browser keeps them, and are
    bound to one tenant and one contact, so one visitor can never read another's chat."""

    def __init__(self, secret: str, *, agent_ttl_seconds: int) -> None:
        self._agents = URLSafeTimedSerializer(secret, salt="agent")
        self._visitors = URLSafeTimedSerializer(secret, salt="visitor")
        self._agent_ttl = agent_ttl_seconds

    def agent_token(self, tenant: str, agent_id: str) -> str:
        return self._agents.dumps([tenant, agent_id])

    def read_agent_token(self, token: object) -> AgentClaims:
        if not isinstance(token, str) or not token:
            raise Unauthorized("a token is required", code="token_missing")
        try:
            tenant, agent_id = self._agents.loads(token, max_age=self._agent_ttl)
        except SignatureExpired as exc:
            raise Unauthorized("the token has expired", code="token_expired") from exc
        except (BadSignature, ValueError, TypeError) as exc:
            raise Unauthorized("the token is not valid", code="token_invalid") from exc
        return AgentClaims(tenant=tenant, agent_id=agent_id)

    def visitor_token(self, tenant: str, contact_id: str) -> str:
        return self._visitors.dumps([tenant, contact_id])

    def read_visitor_token(self, token: object) -> VisitorClaims:
        try:
            tenant, contact_id = self._visitors.loads(token)
        except (BadSignature, ValueError, TypeError) as exc:
            raise Unauthorized("the visitor token is not valid", code="token_invalid") from exc
        return VisitorClaims(tenant=tenant, contact_id=contact_id)


def load_or_create_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret
