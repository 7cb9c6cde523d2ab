"""Web visitors: who they are across page loads and tabs, and what the agent learns of them."""

from __future__ import annotations

import re
from typing import Any

from hub.actions.contacts import CONTACT_FIELDS, announce_contact, check_phone
from hub.actions.messages import MAX_SYNC_PAGE, read_messages
from hub.actions.tenant_state import active_tenant
from hub.context import Hub
from hub.domain import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Identity,
    iso,
    new_id,
    utcnow,
)
from hub.errors import Forbidden, Invalid, NotFound

MAX_NAME = 100
MAX_MERGE_HOPS = 10
MAX_DETAIL = 2000
PROFILE_FIELDS = ("name", "phone", "email")
# Earlier conversations a `history` page holds, and how many of a contact's conversations
# are looked through at all (a visitor with more than this many sees the newest ones).
HISTORY_PAGE = 3
HISTORY_SCAN = 1000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    await active_tenant(hub, tenant)
    contact: Contact | None = None
    unmade_contact_id: str | None = None
    if isinstance(visitor_token, str) and visitor_token:
        try:
            claims = hub.tokens.read_visitor_token(visitor_token)
        except Exception:
            claims = None
        if claims is not None and claims.tenant == tenant:
            contact = await hub.store.get_contact(tenant, claims.contact_id)
            if contact is None:
                unmade_contact_id = claims.contact_id
            # Merged into another contact by an agent: the visitor is that contact now.
            for _hop in range(MAX_MERGE_HOPS):
                if contact is None or contact.merged_into is None:
                    break
                contact = await hub.store.get_contact(tenant, contact.merged_into)
    now = utcnow()
    fields: list[str] = []
    if contact is None:
        # A token of a visitor who only browsed (the loader's page views write nothing)
        # names a contact that was never made: it is made now, with that id.
        contact_id = unmade_contact_id or new_id()
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
        await hub.store.update_contact(contact, fields)
    conversation = await hub.store.find_open_conversation(tenant, contact.id, Channel.WEBIM.value)
    return contact, conversation, hub.tokens.visitor_token(tenant, contact.id)


async def ensure_web_contact(hub: Hub, tenant: str, contact_id: str, name: str) -> Contact:
    """The web visitor's contact, made now if they had only browsed (an accepted invitation
    is their first durable trace); a merged one is followed to where it went."""
    contact = await hub.store.get_contact(tenant, contact_id)
    for _hop in range(MAX_MERGE_HOPS):
        if contact is None or contact.merged_into is None:
            break
        contact = await hub.store.get_contact(tenant, contact.merged_into)
    if contact is None:
        now = utcnow()
        contact = Contact(
            id=contact_id,
            tenant=tenant,
            name=_clip(name, MAX_NAME) or f"Visitor {contact_id[:6]}",
            identities=[Identity(Channel.WEBIM.value, contact_id)],
            visit_count=1,
            created_at=now,
            last_seen_at=now,
        )
        await hub.store.create_contact(contact)
    if contact.is_blocked(utcnow()):
        raise Forbidden("this visitor is blocked", code="blocked")
    return contact


def check_profile(raw: object) -> dict[str, str]:
    """What a visitor says about themselves (the pre-chat form): any of name, phone, email;
    each one sent must be filled in and plausible."""
    if not isinstance(raw, dict) or not raw:
        raise Invalid("send some of name, phone, email", code="invalid_profile")
    profile: dict[str, str] = {}
    for key, value in raw.items():
        if key not in PROFILE_FIELDS:
            raise Invalid(f"{key} cannot be set by a visitor", code="invalid_profile")
        limit = CONTACT_FIELDS[key]
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise Invalid(f"{key} must be text of 1 to {limit} characters", code=f"invalid_{key}")
        profile[key] = value.strip()
    if "phone" in profile:
        check_phone(profile["phone"], required=True)
    if "email" in profile and not _EMAIL.match(profile["email"]):
        raise Invalid("that does not look like an email address", code="invalid_email")
    return profile


def visitor_view(contact: Contact) -> dict[str, Any]:
    """The part of a contact its visitor may see: never the agents' notes, tags or details."""
    return {"id": contact.id, "name": contact.name, "phone": contact.phone, "email": contact.email}


async def update_visitor_profile(hub: Hub, tenant: str, contact_id: str, raw: object) -> Contact:
    """Store the visitor's own answers on their contact and tell the staff."""
    profile = check_profile(raw)
    contact = await hub.store.get_contact(tenant, contact_id)
    if contact is None:
        raise NotFound("the visitor no longer exists", code="contact_not_found")
    if contact.is_blocked(utcnow()):
        raise Forbidden("this visitor is blocked", code="blocked")
    changed = [key for key, value in profile.items() if getattr(contact, key) != value]
    if not changed:
        return contact
    for key in changed:
        setattr(contact, key, profile[key])
    await hub.store.update_contact(contact, changed)
    await announce_contact(hub, contact)
    return contact


def visitor_conversation(conversation: Conversation) -> dict[str, Any]:
    """What a visitor may see of an earlier conversation: when and how it ended, never the
    agents' summary, tags or rating notes."""
    return {
        "id": conversation.id,
        "status": conversation.status,
        "created_at": iso(conversation.created_at),
        "closed_at": iso(conversation.closed_at),
        "close_reason": conversation.close_reason,
    }


async def visitor_history(
    hub: Hub, tenant: str, contact_id: str, before_conversation: object = None
) -> dict[str, Any]:
    """The visitor's own earlier (closed) web-chat conversations, newest first, each with its
    newest messages (private notes never), HISTORY_PAGE at a time: the next page is the one
    before the oldest conversation of this one. Another contact's conversation as
    `before_conversation` is answered like a missing one."""
    if before_conversation is not None and not isinstance(before_conversation, str):
        raise Invalid(
            "before_conversation must be a conversation id", code="invalid_conversation_id"
        )
    closed = await hub.store.list_conversations(
        tenant,
        contact_id=contact_id,
        channel=Channel.WEBIM.value,
        status=[ConversationStatus.CLOSED.value],
        limit=HISTORY_SCAN,
    )
    if before_conversation is not None:
        before = await hub.store.get_conversation(tenant, before_conversation)
        if before is None or before.contact_id != contact_id:
            raise NotFound("no such conversation", code="conversation_not_found")
        key = (before.created_at, before.id)
        closed = [c for c in closed if (c.created_at, c.id) < key]
    page = closed[:HISTORY_PAGE]
    conversations = []
    for conversation in page:
        messages = await read_messages(
            hub,
            conversation,
            after_seq=0,
            before_seq=conversation.last_seq + 1,
            limit=MAX_SYNC_PAGE,
            include_notes=False,
        )
        conversations.append(
            {
                "conversation": visitor_conversation(conversation),
                "messages": [m.public() for m in messages],
            }
        )
    return {"conversations": conversations, "more": len(closed) > len(page)}
