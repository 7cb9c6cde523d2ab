"""Messages left (留言): a visitor leaves one when nobody can answer; an agent takes it (the
others see it taken), notes the call-back, answers it by email, marks it handled."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.actions.contacts import check_phone, fill_missing_details
from hub.actions.conversations import do_start_conversation
from hub.context import Hub
from hub.domain import Agent, Conversation, LeftMessage, Message, new_id, utcnow
from hub.errors import Forbidden, Invalid, NotFound
from hub.events import LeftMessageChanged

MAX_NOTE = 2000


async def _get(hub: Hub, actor: Agent, left_id: str) -> LeftMessage:
    left = await hub.store.get_left_message(actor.tenant, left_id)
    if left is None:
        raise NotFound("no such left message", code="left_message_not_found")
    return left


def _check_may_follow_up(actor: Agent, left: LeftMessage) -> None:
    """Whoever took it follows it up; supervisors may step in."""
    if left.agent_id not in (None, actor.id) and not actor.is_supervisor():
        raise Forbidden(
            f"{left.agent_name or 'another agent'} has taken this left message",
            code="left_message_taken",
            agent_id=left.agent_id,
        )


async def _announce(hub: Hub, left: LeftMessage) -> None:
    await hub.bus.publish(LeftMessageChanged(left.tenant, left.id, left.handled, left.public()))


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
    fields["phone"] = check_phone(fields["phone"])
    conversation_id = body.get("conversation_id")
    if conversation_id is not None:
        # The conversation the form was offered in (a queue that timed out, say): the
        # visitor's own, or it is refused like a missing one.
        conversation = (
            await hub.store.get_conversation(tenant, conversation_id)
            if isinstance(conversation_id, str)
            else None
        )
        if conversation is None or conversation.contact_id != contact_id:
            raise NotFound("no such conversation", code="conversation_not_found")
    contact = await hub.store.get_contact(tenant, contact_id)
    if contact is not None and contact.is_blocked(utcnow()):
        raise Forbidden("this visitor is blocked", code="blocked")  # no spam by the back door
    left = LeftMessage(
        id=new_id(), tenant=tenant, contact_id=contact_id, conversation_id=conversation_id, **fields
    )
    await hub.store.create_left_message(left)
    if contact is not None:
        await fill_missing_details(hub, contact, fields)
    await _announce(hub, left)
    return left


async def _take(hub: Hub, actor: Agent, left: LeftMessage) -> LeftMessage:
    """Assign it to the actor, unless someone else took it meanwhile (compare-and-set)."""
    if left.agent_id == actor.id:
        return left
    before = left.agent_id
    taken = replace(left, agent_id=actor.id, agent_name=actor.name, taken_at=utcnow())
    if not await hub.store.update_left_message_if(
        taken, ["agent_id", "agent_name", "taken_at"], {"agent_id": before}
    ):
        current = await _get(hub, actor, left.id)
        _check_may_follow_up(actor, current)  # someone took it first: say who
        return await _take(hub, actor, current)
    return taken


async def do_take_left_message(hub: Hub, actor: Agent, left_id: str) -> LeftMessage:
    left = await _get(hub, actor, left_id)
    _check_may_follow_up(actor, left)
    taken = await _take(hub, actor, left)
    if taken is not left:
        await _announce(hub, taken)
    return taken


async def do_update_left_message(hub: Hub, actor: Agent, left_id: str, raw: object) -> LeftMessage:
    """`{handled?, note?}`: mark it handled (or not), write the call-back note. The visitor's
    own words never change."""
    if not isinstance(raw, dict) or not raw or set(raw) - {"handled", "note"}:
        raise Invalid("send {handled?: bool, note?: text}", code="invalid_left_message")
    if "handled" in raw and not isinstance(raw["handled"], bool):
        raise Invalid("handled is true or false", code="invalid_left_message")
    if "note" in raw and not (isinstance(raw["note"], str) and len(raw["note"]) <= MAX_NOTE):
        raise Invalid(f"note is text of at most {MAX_NOTE} characters", code="invalid_left_message")
    left = await _get(hub, actor, left_id)
    _check_may_follow_up(actor, left)
    fields = sorted(raw)
    if "handled" in raw:
        left.handled = raw["handled"]
    if "note" in raw:
        left.note = raw["note"].strip()
    await hub.store.update_left_message(left, fields)
    await _announce(hub, left)
    return left


async def do_reply_left_message(
    hub: Hub, actor: Agent, left_id: str, raw: object
) -> tuple[LeftMessage, Conversation, Message]:
    """Answer a left message by email: `{channel_id, text, subject?, cc?, client_id?}`, sent
    as `POST /api/v1/conversations` would, to the address left, on the visitor's own contact.
    The actor takes the left message (if nobody had) and it lists the new conversation."""
    if not isinstance(raw, dict):
        raise Invalid("send {channel_id, text, subject?}", code="invalid_body")
    left = await _get(hub, actor, left_id)
    _check_may_follow_up(actor, left)
    if not left.email:
        raise Invalid("this left message gives no email address", code="invalid_recipient")
    body: dict[str, Any] = {
        key: raw[key] for key in ("channel_id", "text", "subject", "cc", "client_id") if key in raw
    }
    body |= {"to": left.email, "name": left.name}
    # The visitor's contact, whoever served them: the left message is addressed to the team.
    contact = await hub.store.get_contact(actor.tenant, left.contact_id)
    conversation, message = await do_start_conversation(hub, actor, body, contact=contact)
    left = await _take(hub, actor, await _get(hub, actor, left_id))
    left.reply_conversation_ids = [*left.reply_conversation_ids, conversation.id]
    await hub.store.update_left_message(left, ["reply_conversation_ids"])
    await _announce(hub, left)
    return left, conversation, message
