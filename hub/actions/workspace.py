"""Workspace settings documents owned by the inbox: quick replies."""

from __future__ import annotations

import re
from typing import Any

from hub.context import Hub
from hub.domain import Contact, LeftMessage, new_id
from hub.errors import Invalid, NotFound

MAX_QUICK_REPLIES = 500


async def put_quick_replies(hub: Hub, tenant: str, raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > MAX_QUICK_REPLIES:
        raise Invalid(
            f"items must be a list of at most {MAX_QUICK_REPLIES}", code="invalid_quick_replies"
        )
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise Invalid("each quick reply is an object", code="invalid_quick_replies")
        title, text = entry.get("title", ""), entry.get("text")
        if (
            not isinstance(title, str)
            or not isinstance(text, str)
            or not text.strip()
            or len(text) > 2000
        ):
            raise Invalid(
                "a quick reply needs text (at most 2000 characters)", code="invalid_quick_replies"
            )
        items.append({"title": title[:100], "text": text})
    await hub.store.put_settings(tenant, "quick_replies", {"items": items})
    return items


async def leave_message(
    hub: Hub, tenant: str, contact_id: str, body: dict[str, Any]
) -> LeftMessage:
    """A visitor leaves a message (留言) when nobody can answer."""
    fields = {}
    for key, limit in (("name", 100), ("phone", 40), ("email", 200), ("text", 2000)):
        value = body.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(
                f"{key} must be text of at most {limit} characters", code="invalid_left_message"
            )
        fields[key] = value.strip()
    if not fields["text"]:
        raise Invalid("the message text is required", code="invalid_left_message")
    if not (fields["phone"] or fields["email"]):
        raise Invalid("leave a phone number or an email", code="invalid_left_message")
    left = LeftMessage(id=new_id(), tenant=tenant, contact_id=contact_id, **fields)
    await hub.store.create_left_message(left)
    return left


WIDGET_DEFAULTS: dict[str, Any] = {
    "color": "#2563eb",
    "position": "right",
    "launcher_text": "",
    "company_name": "",
    "address": "",
    "phone": "",
    "email": "",
    "notice": "",
    "welcome_message": "",
    "max_length": 2000,
    "send_key": "enter",
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def widget_config(doc: dict[str, Any] | None) -> dict[str, Any]:
    return {**WIDGET_DEFAULTS, **{k: v for k, v in (doc or {}).items() if k in WIDGET_DEFAULTS}}


async def put_widget_config(hub: Hub, tenant: str, raw: object) -> dict[str, Any]:
    """Widget appearance: launcher colour and side, texts, contact details, limits."""
    if not isinstance(raw, dict):
        raise Invalid("send a JSON object", code="invalid_widget_settings")
    config = widget_config(await hub.store.get_settings(tenant, "widget"))
    for key, value in raw.items():
        if key not in WIDGET_DEFAULTS:
            raise Invalid(f"unknown widget setting {key}", code="invalid_widget_settings")
        if key == "color" and not (isinstance(value, str) and _COLOR.match(value)):
            raise Invalid("color must look like #2563eb", code="invalid_widget_settings")
        elif key == "position" and value not in ("left", "right"):
            raise Invalid("position is left or right", code="invalid_widget_settings")
        elif key == "send_key" and value not in ("enter", "ctrl_enter"):
            raise Invalid("send_key is enter or ctrl_enter", code="invalid_widget_settings")
        elif key == "max_length" and not (isinstance(value, int) and 1 <= value <= 5000):
            raise Invalid("max_length is between 1 and 5000", code="invalid_widget_settings")
        elif isinstance(WIDGET_DEFAULTS[key], str) and not (
            isinstance(value, str) and len(value) <= 500
        ):
            raise Invalid(
                f"{key} is text of at most 500 characters", code="invalid_widget_settings"
            )
        config[key] = value
    await hub.store.put_settings(tenant, "widget", config)
    return config


CONTACT_FIELDS = {"name": 100, "phone": 40, "email": 200, "notes": 2000}


async def edit_contact(hub: Hub, tenant: str, contact_id: str, raw: object) -> Contact:
    """Agents correct a contact's name, phone, email and notes."""
    if not isinstance(raw, dict) or not raw:
        raise Invalid("send the fields to change", code="invalid_contact")
    contact = await hub.store.get_contact(tenant, contact_id)
    if contact is None:
        raise NotFound("no such contact", code="contact_not_found")
    changed = []
    for key, value in raw.items():
        limit = CONTACT_FIELDS.get(key)
        if limit is None or not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{key} cannot be set this way", code="invalid_contact")
        setattr(contact, key, value.strip())
        changed.append(key)
    with hub.contacts.changing(tenant, contact.id):
        await hub.store.update_contact(contact, changed)
    return contact
