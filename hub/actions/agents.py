"""Agents: creation, profile changes, login."""

from __future__ import annotations

from collections.abc import Sequence

from hub.actions.routing import apply_change, requeue
from hub.context import Hub
from hub.domain import Agent, Role, new_id
from hub.errors import Invalid, Unauthorized
from hub.security import hash_password, verify_password

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
    agent = Agent(
        id=new_id(),
        tenant=tenant,
        name=name,
        email=email.strip().lower(),
        password_hash=await hash_password(password),
        roles=check_roles(roles),
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
    fields = list(changes)
    for name, value in changes.items():
        if name == "roles":
            value = check_roles(value)  # type: ignore[arg-type]
        if name == "skills":
            value = sorted(set(value))  # type: ignore[call-overload]
        if name == "email":
            value = str(value).strip().lower()
        setattr(agent, name, value)
    if password is not None:
        agent.password_hash = await hash_password(password)
        fields.append("password_hash")
    if fields:
        await hub.store.update_agent(agent, fields)
    if agent.disabled:
        for conversation_id in await hub.acd.remove_agent(agent.tenant, agent.id):
            conversation = await hub.store.get_conversation(agent.tenant, conversation_id)
            if conversation is not None and conversation.is_open:
                await requeue(hub, conversation)
        return agent
    change = await hub.acd.upsert_agent(
        agent.tenant, agent.id, skills=agent.skills, max_concurrent=agent.max_concurrent
    )
    await apply_change(hub, agent.tenant, change)
    return agent


async def login(hub: Hub, email: object, password: object) -> tuple[str, Agent]:
    if not isinstance(email, str) or not isinstance(password, str):
        raise Invalid("email and password are required", code="invalid_credentials_format")
    agent = await hub.store.get_agent_by_email(email.strip().lower())
    # Verify even for unknown emails would be ideal against timing probes; argon2 on a dummy
    # hash keeps the answer time the same either way.
    if agent is None or agent.disabled:
        await verify_password(_DUMMY_HASH, password)
        raise Unauthorized("wrong email or password", code="bad_credentials")
    if not await verify_password(agent.password_hash, password):
        raise Unauthorized("wrong email or password", code="bad_credentials")
    return hub.tokens.agent_token(agent.tenant, agent.id), agent


_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "Yk1bFpgc7Qn5kV9PQAbbqHbrVtDdwIwS6Jq8l5PZrXo"
)
