"""Contacts: agents' edits, tags (with the tenant's tag catalogue) and the blacklist (拉黑)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.actions.access import check_contact
from hub.actions.conversations import do_close
from hub.context import Hub
from hub.domain import Agent, Contact, iso, utcnow
from hub.errors import Conflict, Invalid, NotFound
from hub.events import ContactUpdated, ConversationUpdated, TagsChanged
from hub.storage.base import Position

CONTACT_FIELDS = {"name": 100, "phone": 40, "email": 200, "notes": 2000}
MAX_TAG = 32
MAX_CONTACT_TAGS = 20
MAX_CATALOGUE = 200
MAX_BLOCK_MINUTES = 10 * 365 * 24 * 60
# A block without an end is stored as the last representable moment, so "is blocked" stays
# one comparison and listing the blacklist stays one range query.
FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# As people write numbers: "+86 138-0013-8000", "(021) 6888 8888"; 5 to 20 digits in all.
_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()\-]+$")
PHONE_DIGITS = (5, 20)


def check_phone(raw: str, *, required: bool = False) -> str:
    """A phone number as typed, trimmed; "" (none) unless `required`. Obviously wrong ones
    (letters, punctuation, too few or too many digits) are refused with invalid_phone."""
    phone = raw.strip()
    if not phone and not required:
        return ""
    digits = sum(ch.isdigit() for ch in phone)
    low, high = PHONE_DIGITS
    if not _PHONE_CHARACTERS.match(phone) or not low <= digits <= high:
        raise Invalid(
            f"a phone number has {low} to {high} digits, written with spaces, +, - or ()",
            code="invalid_phone",
        )
    return phone


def check_tag(raw: object) -> str:
    if not isinstance(raw, str) or not 0 < len(raw.strip()) <= MAX_TAG:
        raise Invalid(f"a tag is text of 1 to {MAX_TAG} characters", code="invalid_tag")
    return raw.strip()


def check_tags(raw: object) -> list[str]:
    if not isinstance(raw, list) or len(raw) > MAX_CONTACT_TAGS:
        raise Invalid(f"tags is a list of at most {MAX_CONTACT_TAGS}", code="invalid_tag")
    return list(dict.fromkeys(check_tag(tag) for tag in raw))


async def get_contact(hub: Hub, tenant: str, contact_id: str) -> Contact:
    contact = await hub.store.get_contact(tenant, contact_id)
    if contact is None:
        raise NotFound("no such contact", code="contact_not_found")
    return contact


async def announce_contact(hub: Hub, contact: Contact) -> None:
    await hub.bus.publish(ContactUpdated(contact))


async def edit_contact(hub: Hub, actor: Agent, contact_id: str, raw: object) -> Contact:
    """Agents correct a contact's name, phone, email and notes, and set its tags."""
    if not isinstance(raw, dict) or not raw:
        raise Invalid("send the fields to change", code="invalid_contact")
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "tags":
            changes[key] = check_tags(value)
            continue
        limit = CONTACT_FIELDS.get(key)
        if limit is None or not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{key} cannot be set this way", code="invalid_contact")
        changes[key] = check_phone(value) if key == "phone" else value.strip()
    contact = await check_contact(hub, actor, contact_id)
    for key, value in changes.items():
        setattr(contact, key, value)
    await hub.store.update_contact(contact, list(changes))
    await announce_contact(hub, contact)
    return contact


async def do_block_contact(
    hub: Hub, actor: Agent, contact_id: str, *, minutes: object, reason: object = ""
) -> Contact:
    """Blacklist a contact for `minutes` (None: until lifted). Its open conversations close;
    it cannot start new ones until the block ends."""
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 < minutes <= MAX_BLOCK_MINUTES
    ):
        raise Invalid(
            f"minutes is a whole number from 1 to {MAX_BLOCK_MINUTES}, or null for no end",
            code="invalid_block",
        )
    if not isinstance(reason, str) or len(reason) > 500:
        raise Invalid("reason is text of at most 500 characters", code="invalid_block")
    contact = await check_contact(hub, actor, contact_id)
    contact.blocked_until = FOREVER if minutes is None else utcnow() + timedelta(minutes=minutes)
    contact.attributes = {**contact.attributes, "blocked_reason": reason.strip()}
    await hub.store.update_contact(contact, ["blocked_until", "attributes"])
    for conversation in await hub.store.list_conversations(
        actor.tenant, contact_id=contact.id, status=["bot", "queued", "assigned"], limit=50
    ):
        await do_close(hub, actor, conversation.id, reason="blocked", checked=False)
    await announce_contact(hub, contact)
    return contact


async def do_unblock_contact(hub: Hub, actor: Agent, contact_id: str) -> Contact:
    contact = await check_contact(hub, actor, contact_id)
    if contact.blocked_until is None:
        return contact
    contact.blocked_until = None
    await hub.store.update_contact(contact, ["blocked_until"])
    await announce_contact(hub, contact)
    return contact


async def list_blocked(
    hub: Hub, tenant: str, limit: int, *, after: Position | None = None
) -> list[Contact]:
    return await hub.store.list_contacts(tenant, blocked_at=utcnow(), after=after, limit=limit)


def tag_catalogue(doc: dict[str, Any] | None) -> list[dict[str, str]]:
    return list((doc or {}).get("items", []))


async def put_tag_catalogue(hub: Hub, tenant: str, raw: object) -> list[dict[str, str]]:
    """The tenant's tags with their colours (e.g. VIP客户 red), offered when tagging contacts."""
    if not isinstance(raw, list) or len(raw) > MAX_CATALOGUE:
        raise Invalid(f"items is a list of at most {MAX_CATALOGUE} tags", code="invalid_tag")
    items: dict[str, dict[str, str]] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise Invalid("each tag is an object {name, color}", code="invalid_tag")
        name = check_tag(entry.get("name"))
        color = entry.get("color", "#64748b")
        if not isinstance(color, str) or not _COLOR.match(color):
            raise Invalid("color must look like #64748b", code="invalid_tag")
        if name in items:
            raise Invalid(f"tag {name} is listed twice", code="duplicate_tag")
        items[name] = {"name": name, "color": color.lower()}
    catalogue = list(items.values())
    await hub.store.put_settings(tenant, "tags", {"items": catalogue})
    await hub.bus.publish(TagsChanged(tenant, catalogue))
    return catalogue


GENERIC_NAME = "Visitor "


async def fill_missing_details(hub: Hub, contact: Contact, details: dict[str, str]) -> Contact:
    """What a customer told us about themselves (a left message's name, phone, email) fills
    the contact's empty fields (a generic visitor name counts as empty); nothing an agent or
    the customer set before is overwritten. Staff hear of it as of any contact edit."""
    changed = []
    for key in ("name", "phone", "email"):
        value = details.get(key, "")[: CONTACT_FIELDS.get(key, 100)]
        current = getattr(contact, key)
        if value and (not current or (key == "name" and current.startswith(GENERIC_NAME))):
            setattr(contact, key, value)
            changed.append(key)
    if changed:
        await hub.store.update_contact(contact, changed)
        await announce_contact(hub, contact)
    return contact


async def do_merge_contacts(hub: Hub, actor: Agent, target_id: str, raw: object) -> Contact:
    """One person known twice (by web chat and by email, say) becomes one contact: the other
    contact's identities and conversations move here, its details fill what this one lacks,
    and it is kept, marked merged into this one, so whoever still names it is led here. The
    merge is logged on this contact (who, when, which identities)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("contact_id"), str):
        raise Invalid(
            "send {contact_id} of the contact to merge into this one", code="invalid_merge"
        )
    source_id = raw["contact_id"]
    if source_id == target_id:
        raise Invalid("a contact cannot be merged into itself", code="invalid_merge")
    for contact in [
        await get_contact(hub, actor.tenant, target_id),
        await get_contact(hub, actor.tenant, source_id),
    ]:
        if contact.merged_into is not None:
            raise Conflict(
                f"contact {contact.id} was merged into {contact.merged_into} already",
                code="already_merged",
                merged_into=contact.merged_into,
            )
    target = await check_contact(hub, actor, target_id)
    source = await check_contact(hub, actor, source_id)
    now = utcnow()
    if not target.name or (target.name.startswith(GENERIC_NAME) and source.name):
        target.name = source.name or target.name
    for key in ("email", "phone"):
        if not getattr(target, key):
            setattr(target, key, getattr(source, key))
    if source.notes and source.notes not in target.notes:
        target.notes = "\n".join(part for part in (target.notes, source.notes) if part)[
            : CONTACT_FIELDS["notes"]
        ]
    target.tags = list(dict.fromkeys([*target.tags, *source.tags]))[:MAX_CONTACT_TAGS]
    target.attributes = {**source.attributes, **target.attributes}
    target.visit_count += source.visit_count
    target.identities = [*target.identities, *source.identities]
    target.merged_from = [
        *target.merged_from,
        {
            "contact_id": source.id,
            "name": source.name,
            "at": iso(now),
            "by": actor.id,
            "identities": [
                {"channel": i.channel, "external_id": i.external_id} for i in source.identities
            ],
        },
    ]
    source.identities = []
    source.merged_into = target.id
    moved = await hub.store.merge_contacts(target, source)
    await announce_contact(hub, source)
    await announce_contact(hub, target)
    # The inbox lists conversations by their contact: the moved ones show who they are now.
    for conversation_id in moved:
        conversation = await hub.store.get_conversation(target.tenant, conversation_id)
        if conversation is not None:
            await hub.bus.publish(ConversationUpdated(conversation))
    return target
