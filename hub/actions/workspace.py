"""Workspace settings documents owned by the inbox: quick replies."""

from __future__ import annotations

from typing import Any

from hub.context import Hub
from hub.domain import LeftMessage, new_id
from hub.errors import Invalid

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
