"""First start and restart: the default tenant and administrator, and the ACD state rebuilt
from the store (nothing routing needs lives only in memory across a restart)."""

from __future__ import annotations

import logging
import secrets

from hub.actions.agents import do_create_agent
from hub.actions.routing import (
    ASSIGNED,
    QUEUED,
    grace_timer,
    on_grace_expired,
    routing_settings,
    schedule_overflow,
    schedule_queue_timeout,
)
from hub.context import Hub
from hub.domain import Role, Tenant

log = logging.getLogger(__name__)

DEFAULT_TENANT = "default"
RESTORE_LIMIT = 1_000_000


async def ensure_default_tenant(hub: Hub) -> None:
    if await hub.store.get_tenant(DEFAULT_TENANT) is not None:
        return
    await hub.store.create_tenant(Tenant(id=DEFAULT_TENANT, name="Default"))
    password = hub.settings.admin_password
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(12)
    await do_create_agent(
        hub,
        DEFAULT_TENANT,
        name="admin",
        email=hub.settings.admin_email,
        password=password,
        roles=[Role.ADMIN.value, Role.SUPERVISOR.value, Role.AGENT.value],
        skills=[],
        max_concurrent=10,
    )
    if generated:
        # Printed once, on the very first start; it is not stored anywhere in clear.
        log.warning(
            "created administrator %s with password %s (change it after logging in)",
            hub.settings.admin_email,
            password,
        )


async def restore_routing_state(hub: Hub, tenant: str) -> None:
    settings = await routing_settings(hub, tenant)
    for agent in await hub.store.list_agents(tenant):
        if not agent.disabled:
            await hub.acd.upsert_agent(
                tenant, agent.id, skills=agent.skills, max_concurrent=agent.max_concurrent
            )
    open_conversations = await hub.store.list_conversations(
        tenant, status=[QUEUED, ASSIGNED], limit=RESTORE_LIMIT
    )
    held_by: set[str] = set()
    # Oldest first, so queues come back in their original order.
    for conversation in sorted(open_conversations, key=lambda c: c.created_at):
        if conversation.status == ASSIGNED and conversation.agent_id:
            try:
                await hub.acd.assign_to(tenant, conversation.id, conversation.agent_id, force=True)
            except LookupError:
                continue
            held_by.add(conversation.agent_id)
        else:
            await hub.acd.offer(
                tenant,
                conversation.id,
                skill=conversation.skill,
                since=conversation.created_at.timestamp(),
                ref=conversation.ref(),
            )
            schedule_queue_timeout(hub, conversation, settings.queue_timeout_seconds)
            schedule_overflow(hub, conversation, settings)
    # Nobody is connected after a restart: agents get the usual grace to come back.
    for agent_id in held_by:
        hub.timers.schedule(
            grace_timer(tenant, agent_id),
            settings.disconnect_grace_seconds,
            lambda aid=agent_id: on_grace_expired(hub, tenant, aid),  # type: ignore[misc]
        )
    log.info(
        "restored routing for tenant %s: %d open conversations", tenant, len(open_conversations)
    )
