"""Tenants, for the platform administrator (settings.platform_token): create one with its
first administrator, list, suspend and resume, delete with everything it owns.

A suspended tenant's agents are signed out (their tokens revoked, their sockets closed) and
cannot sign in, its API tokens are refused, and its visitors cannot start a chat, until it is
resumed. Deleting removes its records from the store and its uploaded files."""

from __future__ import annotations

import asyncio
import re
import shutil

from hub.actions.agents import do_create_agent
from hub.actions.bootstrap import DEFAULT_TENANT
from hub.actions.channels import channel_view
from hub.context import Hub
from hub.domain import Agent, Role, Tenant
from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound
from hub.events import AgentSignedOut, ChannelAccountChanged, TenantSuspended
from hub.security import check_password
from hub.uploads import folder_for

# Lower-case letters, digits and dashes: an id that is safe in a URL and as a folder name
# (uploads are kept per tenant folder, so two ids must never map to one folder).
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


async def get_tenant(hub: Hub, tenant_id: str) -> Tenant:
    tenant = await hub.store.get_tenant(tenant_id)
    if tenant is None:
        raise NotFound("no such tenant", code="tenant_not_found")
    return tenant


async def do_create_tenant(
    hub: Hub, tenant_id: str, name: str, admin_email: str, admin_password: str
) -> tuple[Tenant, Agent]:
    if not TENANT_ID.match(tenant_id):
        raise Invalid(
            "the id is 2 to 40 lower-case letters, digits and dashes, starting with a letter "
            "or digit",
            code="invalid_tenant_id",
        )
    if not name.strip():
        raise Invalid("name the tenant", code="invalid_name")
    email = admin_email.strip().lower()
    if "@" not in email:
        raise Invalid("admin_email is not an email address", code="invalid_email")
    check_password(admin_password, email=email)
    if await hub.store.get_agent_by_email(email) is not None:
        raise Conflict("an agent with this email exists", code="email_taken")
    tenant = Tenant(id=tenant_id, name=name.strip())
    await hub.store.create_tenant(tenant)  # Conflict tenant_exists
    try:
        admin = await do_create_agent(
            hub,
            tenant.id,
            name="admin",
            email=email,
            password=admin_password,
            roles=[Role.ADMIN.value, Role.SUPERVISOR.value, Role.AGENT.value],
            skills=[],
            max_concurrent=10,
        )
    except HubError:
        # The email was taken between the check and the write: no tenant without its admin.
        await hub.store.delete_tenant(tenant.id)
        raise
    return tenant, admin


async def _sign_out_everyone(hub: Hub, tenant_id: str) -> list[Agent]:
    """Revokes every token of the tenant's agents and closes their sockets."""
    agents = await hub.store.list_agents(tenant_id)
    for agent in agents:
        agent.token_version += 1
        await hub.store.update_agent(agent, ["token_version"])
        await hub.bus.publish(AgentSignedOut(agent, "disabled"))
    return agents


async def do_suspend_tenant(hub: Hub, tenant_id: str, suspended: bool) -> Tenant:
    tenant = await get_tenant(hub, tenant_id)
    if tenant.suspended == suspended:
        return tenant
    tenant.suspended = suspended
    if not await hub.store.update_tenant(tenant, ["suspended"]):
        raise NotFound("no such tenant", code="tenant_not_found")
    if suspended:
        await _sign_out_everyone(hub, tenant.id)
    await hub.bus.publish(TenantSuspended(tenant.id, suspended))
    return tenant


async def do_delete_tenant(hub: Hub, tenant_id: str) -> None:
    if tenant_id == DEFAULT_TENANT:
        raise Forbidden("the default tenant cannot be deleted", code="tenant_protected")
    tenant = await get_tenant(hub, tenant_id)
    # Suspended first, so nothing new arrives while its records go.
    await do_suspend_tenant(hub, tenant.id, True)
    for account in await hub.store.list_channel_accounts(tenant.id):
        await hub.bus.publish(ChannelAccountChanged(account, channel_view(hub, account), True))
    for agent in await hub.store.list_agents(tenant.id):
        await hub.acd.remove_agent(tenant.id, agent.id)
    await hub.store.delete_tenant(tenant.id)
    await asyncio.to_thread(shutil.rmtree, folder_for(hub, tenant.id), ignore_errors=True)
