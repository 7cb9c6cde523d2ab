"""Web visitors: who they are across page loads and tabs, and what the agent learns of them."""

from __future__ import annotations

from typing import Any

from hub.context import Hub
from hub.domain import Channel, Contact, Conversation, Identity, new_id, utcnow
from hub.errors import NotFound

MAX_NAME = 100
MAX_DETAIL = 2000


def _clip(value: object, limit: int = MAX_DETAIL) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


async def start_visitor_session(
    hub: Hub,
    tenant: str,
    *,
    visitor_token: object,
    name: object = None,
    details: dict[str, Any] | None = None,
    first_tab: bool = True,
) -> tuple[Contact, Conversation | None, str]:
    """Resume the contact the token names, or make a new one. A token that is invalid or
    belongs to another tenant never reveals anything: the visitor simply starts afresh."""
    if await hub.store.get_tenant(tenant) is None:
        raise NotFound("no such tenant", code="tenant_not_found")
    contact: Contact | None = None
    if isinstance(visitor_token, str) and visitor_token:
        try:
            claims = hub.tokens.read_visitor_token(visitor_token)
        except Exception:
            claims = None
        if claims is not None and claims.tenant == tenant:
            contact = await hub.store.get_contact(tenant, claims.contact_id)
    now = utcnow()
    fields: list[str] = []
    if contact is None:
        contact_id = new_id()
        contact = Contact(
            id=contact_id,
            tenant=tenant,
            name=_clip(name, MAX_NAME) or f"Visitor {contact_id[:6]}",
            identities=[Identity(Channel.WEBIM.value, contact_id)],
            visit_count=1,
            created_at=now,
            last_seen_at=now,
        )
        if details:
            contact.attributes.update(details)
            contact.attributes.setdefault("first_source", details.get("referrer") or "")
        await hub.store.create_contact(contact)
    else:
        contact.last_seen_at = now
        fields.append("last_seen_at")
        if first_tab:
            contact.visit_count += 1
            fields.append("visit_count")
        if details:
            contact.attributes.update(details)
            fields.append("attributes")
        if _clip(name, MAX_NAME) and contact.name.startswith("Visitor "):
            contact.name = _clip(name, MAX_NAME) or contact.name
            fields.append("name")
        with hub.contacts.changing(tenant, contact.id):
            await hub.store.update_contact(contact, fields)
    conversation = await hub.store.find_open_conversation(tenant, contact.id, Channel.WEBIM.value)
    return contact, conversation, hub.tokens.visitor_token(tenant, contact.id)
