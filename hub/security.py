"""Password hashing (argon2id) and signed, expiring tokens for agents and visitors."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import Invalid, Unauthorized

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("hub").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_password(password: str, *, email: str) -> None:
    """The policy for every account password (the first administrator's, new agents', changed
    ones): long enough, not a well-known one, not the account's own name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    lowered = password.lower()
    local_part = email.strip().lower().partition("@")[0]
    if (
        lowered in common_passwords()
        or len(set(password)) == 1
        or lowered
        in (
            local_part,
            email.strip().lower(),
        )
    ):
        raise Invalid(
            "the password is too easy to guess (a common password or the email itself)",
            code="weak_password",
        )


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
    version: int = 0  # the agent's token_version when it was signed


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

    def agent_token(self, tenant: str, agent_id: str, version: int = 0) -> str:
        return self._agents.dumps([tenant, agent_id, version])

    def read_agent_token(self, token: object) -> AgentClaims:
        if not isinstance(token, str) or not token:
            raise Unauthorized("a token is required", code="token_missing")
        try:
            # Tokens signed before versions existed carry two fields: version 0.
            tenant, agent_id, *version = self._agents.loads(token, max_age=self._agent_ttl)
            claims = AgentClaims(tenant, agent_id, *version)
        except SignatureExpired as exc:
            raise Unauthorized("the token has expired", code="token_expired") from exc
        except (BadSignature, ValueError, TypeError) as exc:
            raise Unauthorized("the token is not valid", code="token_invalid") from exc
        if not isinstance(claims.version, int):
            raise Unauthorized("the token is not valid", code="token_invalid")
        return claims

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
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # Created private: never readable by others, not even between creation and a chmod.
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secret)
    tmp.replace(path)
    return secret
