"""Whether a tenant may be used now: it exists and is not suspended (hub/actions/tenants.py)."""

from __future__ import annotations

from hub.context import Hub
from hub.domain import Tenant
from hub.errors import Forbidden, NotFound


async def active_tenant(hub: Hub, tenant_id: str) -> Tenant:
    """The tenant, unless it does not exist (404 tenant_not_found) or is suspended (403
    tenant_suspended)."""
    tenant = await hub.store.get_tenant(tenant_id)
    if tenant is None:
        raise NotFound("no such tenant", code="tenant_not_found")
    if tenant.suspended:
        raise Forbidden("this account is suspended", code="tenant_suspended")
    return tenant
