"""Agents: creation, profile changes, login."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hub.actions.routing import apply_change, requeue
from hub.actions.tenant_state import active_tenant
from hub.context import Hub
from hub.domain import Agent, Role, new_id, utcnow
from hub.errors import Forbidden, Invalid, Unauthorized
from hub.events import AgentSignedOut, AgentUpdated
from hub.security import AgentClaims, check_password, dummy_hash, hash_password, verify_password

ROLES = {r.value for r in Role}


def check_roles(roles: Sequence[str]) -> list[str]:
    unknown = set(roles) - ROLES
    if unknown:
        raise Invalid(f"unknown roles: {', '.join(sorted(unknown))}", code="invalid_roles")
    return sorted(set(roles)) or [Role.AGENT.value]


async def do_create_agent(
    hub: Hub,
    tenant: str,
    *,
    name: str,
    email: str,
    password: str,
    roles: Sequence[str],
    skills: Sequence[str],
    max_concurrent: int,
) -> Agent:
    checked_roles = check_roles(roles)
    check_password(password, email=email)
    agent = Agent(
        id=new_id(),
        tenant=tenant,
        name=name,
        email=email.strip().lower(),
        password_hash=await hash_password(password),
        roles=checked_roles,
        skills=sorted(set(skills)),
        max_concurrent=max_concurrent,
    )
    await hub.store.create_agent(agent)  # Conflict on a taken email
    await hub.acd.upsert_agent(
        tenant, agent.id, skills=agent.skills, max_concurrent=agent.max_concurrent
    )
    return agent


async def do_update_agent(
    hub: Hub, agent: Agent, changes: dict[str, object], *, password: str | None = None
) -> Agent:
    if password is not None:
        check_password(password, email=str(changes.get("email", agent.email)))
    fields = list(changes)
    for name, value in changes.items():
        if name == "roles":
            value = check_roles(value)  # type: ignore[arg-type]
        if name == "skills":
            value = sorted(set(value))  # type: ignore[call-overload]
        if name == "email":
            value = str(value).strip().lower()
        setattr(agent, name, value)
    was_disabled = agent.disabled
    if password is not None:
        agent.password_hash = await hash_password(password)
        fields.append("password_hash")
    revoke = password is not None or (agent.disabled and "disabled" in changes)
    if revoke:
        # Every token signed before stops working, on every node (they carry the version).
        agent.token_version += 1
        fields.append("token_version")
    if fields:
        await hub.store.update_agent(agent, fields)
    await hub.bus.publish(AgentUpdated(agent))
    if revoke and not agent.disabled:
        await hub.bus.publish(AgentSignedOut(agent, "password_changed"))
    if agent.disabled:
        for conversation_id in await hub.acd.remove_agent(agent.tenant, agent.id):
            conversation = await hub.store.get_conversation(agent.tenant, conversation_id)
            if conversation is not None and conversation.is_open:
                await requeue(hub, conversation)
        # A disabled agent stops working now, not at its next sign-in: its open inbox tabs are
        # closed (a reconnect is refused, its token no longer being valid).
        if not was_disabled or revoke:
            await hub.bus.publish(AgentSignedOut(agent, "disabled"))
        return agent
    change = await hub.acd.upsert_agent(
        agent.tenant, agent.id, skills=agent.skills, max_concurrent=agent.max_concurrent
    )
    await apply_change(hub, agent.tenant, change)
    return agent


async def do_change_own_password(
    hub: Hub, agent: Agent, current_password: str, new_password: str, *, address: str
) -> tuple[str, Agent]:
    """An agent changes their own password: the current one proves it is them (a borrowed
    open tab is not enough), guessed at no faster than at sign-in. Every token signed before
    stops working, so other sessions are signed out; the caller gets a fresh token for the
    tab it asked from."""
    hub.login_guard.refuse(address, agent.email)
    if not await verify_password(agent.password_hash, current_password):
        hub.login_guard.failed(address, agent.email)
        raise Forbidden("the current password is not right", code="wrong_password")
    updated = await do_update_agent(hub, agent, {}, password=new_password)
    return hub.tokens.agent_token(updated.tenant, updated.id, updated.token_version), updated


async def signed_in_agent(hub: Hub, claims: AgentClaims) -> Agent:
    """The agent a valid token names, as stored now (its roles as they are now), unless the
    token was revoked since it was signed (disabled, password changed)."""
    agent = await hub.store.get_agent(claims.tenant, claims.agent_id)
    if agent is None or agent.disabled:
        raise Unauthorized("the token's agent no longer exists", code="token_invalid")
    if agent.token_version != claims.version:
        raise Unauthorized("you were signed out: sign in again", code="token_revoked")
    return agent


async def login(hub: Hub, email: object, password: object, *, address: str) -> tuple[str, Agent]:
    if not isinstance(email, str) or not isinstance(password, str):
        raise Invalid("email and password are required", code="invalid_credentials_format")
    email = email.strip().lower()
    guard = hub.login_guard
    guard.refuse(address, email)
    if guard.slowed(address, email):
        # Guessed at from many places: one try at a time, each slowed, for addresses this
        # account never signed in from (its owner's known ones are not held up).
        async with hub.turns.hold(("login", email)):
            await asyncio.sleep(guard.slow_seconds)
            return await _check_credentials(hub, email, password, address)
    return await _check_credentials(hub, email, password, address)


async def _check_credentials(
    hub: Hub, email: str, password: str, address: str
) -> tuple[str, Agent]:
    agent = await hub.store.get_agent_by_email(email)
    usable = agent if agent is not None and not agent.disabled else None
    # Unknown emails are checked against a dummy hash so the answer takes as long either way.
    matches = await verify_password(usable.password_hash if usable else dummy_hash(), password)
    if usable is None or not matches:
        hub.login_guard.failed(address, email)
        raise Unauthorized("wrong email or password", code="bad_credentials")
    hub.login_guard.succeeded(address, email)
    await active_tenant(hub, usable.tenant)  # a suspended tenant's agents stay out
    usable.last_login_at = utcnow()  # the IM directory shows it
    await hub.store.update_agent(usable, ["last_login_at"])
    return hub.tokens.agent_token(usable.tenant, usable.id, usable.token_version), usable
