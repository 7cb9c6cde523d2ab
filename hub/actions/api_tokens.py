"""API tokens for integrations: named, revocable, scoped to the tenant, stored hashed.

A token is `hubk_` and 32 random bytes; only its SHA-256 is stored (a token this random needs
no slow hash). It acts for the administrator who created it, with that agent's rights as
they are now: an agent disabled, or no longer an administrator, takes its tokens' power with
it. Revoking deletes the record, so the next request with it is refused."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from hub.actions.tenant_state import active_tenant
from hub.context import Hub
from hub.domain import Agent, new_id, utcnow
from hub.domain.integrations import ApiToken
from hub.errors import Invalid, NotFound, Unauthorized

API_TOKEN_PREFIX = "hubk_"
MAX_TOKENS_PER_TENANT = 100
# last_used_at is written at most this often per token: not one write per request.
LAST_USED_EVERY = timedelta(minutes=1)


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def do_create_api_token(hub: Hub, admin: Agent, name: str) -> tuple[ApiToken, str]:
    """The stored record and the token itself, which is shown this once."""
    name = name.strip()
    if not name:
        raise Invalid("name the token (what uses it)", code="invalid_name")
    if len(await hub.store.list_api_tokens(admin.tenant)) >= MAX_TOKENS_PER_TENANT:
        raise Invalid(
            f"a tenant has at most {MAX_TOKENS_PER_TENANT} API tokens: revoke unused ones",
            code="too_many_tokens",
        )
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        id=new_id(),
        tenant=admin.tenant,
        name=name,
        token_hash=token_hash(token),
        agent_id=admin.id,
    )
    await hub.store.create_api_token(record)
    return record, token


async def do_revoke_api_token(hub: Hub, admin: Agent, token_id: str) -> None:
    if not await hub.store.delete_api_token(admin.tenant, token_id):
        raise NotFound("no such API token", code="api_token_not_found")


async def agent_for_api_token(hub: Hub, token: str) -> Agent:
    record = await hub.store.find_api_token(token_hash(token))
    if record is None:
        raise Unauthorized("the API token is not valid or was revoked", code="token_invalid")
    await active_tenant(hub, record.tenant)
    agent = await hub.store.get_agent(record.tenant, record.agent_id)
    if agent is None or agent.disabled:
        raise Unauthorized("the API token's agent no longer exists", code="token_invalid")
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_EVERY:
        await hub.store.touch_api_token(record.tenant, record.id, now)
    return agent
