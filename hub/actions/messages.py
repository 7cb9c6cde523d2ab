"""The message path: customers' messages in from any channel, agents' replies out.

check_* validates everything that can fail on user input and changes nothing; do_* writes
(durably) and only then emits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from connectors.base import InboundMessage
from hub.actions import events
from hub.actions.routing import do_route
from hub.boundary import clean_file_name
from hub.context import Hub
from hub.domain import (
    Agent,
    AppendResult,
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    MessageType,
    Sender,
    SenderType,
    new_id,
    utcnow,
)
from hub.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge

MAX_CLIENT_ID = 100
MAX_SYNC_PAGE = 500
MAX_ATTACHMENTS = 10
# What hub/api/uploads.py answers with: /uploads/<tenant folder>/<random hex>.<extension>.
UPLOAD_URL = re.compile(r"/uploads/[A-Za-z0-9_-]{1,200}/[0-9a-f]{32}\.[a-z]{3,4}")
ATTACHMENT_KINDS = {"image", "file"}


def check_text(hub: Hub, text: object, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise Invalid("text must be a string", code="invalid_text")
    if not text.strip() and not allow_empty:
        raise Invalid("text must not be empty", code="empty_text")
    if len(text) > hub.settings.max_text_length:
        raise TooLarge(
            f"text is longer than {hub.settings.max_text_length} characters", code="text_too_long"
        )
    return text


def check_client_id(client_id: object) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise Invalid(
            f"client_id must be a string of 1 to {MAX_CLIENT_ID} characters",
            code="invalid_client_id",
        )
    return client_id


def check_attachments(raw: object) -> list[dict[str, Any]]:
    """Attachments a customer or agent sends must point at files uploaded to this hub, so
    nobody can make a bubble load a remote URL. Only the exact form hub/api/uploads.py hands
    out is accepted: a looser "same-origin path" check let `/\\host/x` through, which
    browsers read as `//host/x`. Names lose the characters that would reorder them on screen
    (extension spoofing)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ATTACHMENTS:
        raise Invalid(
            f"attachments must be a list of at most {MAX_ATTACHMENTS}", code="invalid_attachments"
        )
    checked = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("each attachment must be an object", code="invalid_attachments")
        url, name, kind = item.get("url"), item.get("name", ""), item.get("type", "file")
        size, mime = item.get("size", 0), item.get("mime", "")
        if (
            not isinstance(url, str)
            or not UPLOAD_URL.fullmatch(url)
            or not isinstance(name, str)
            or len(name) > 255
            or kind not in ATTACHMENT_KINDS
            or isinstance(size, bool)
            or not isinstance(size, int)
            or size < 0
            or not isinstance(mime, str)
            or len(mime) > 100
        ):
            raise Invalid(
                "an attachment needs url (a path on this hub), name, type image|file, size, mime",
                code="invalid_attachments",
            )
        checked.append(
            {"url": url, "name": clean_file_name(name), "type": kind, "size": size, "mime": mime}
        )
    return checked


TEXT, IMAGE, FILE = MessageType.TEXT.value, MessageType.IMAGE.value, MessageType.FILE.value
CONTACT = SenderType.CONTACT.value


def type_for(attachments: list[dict[str, Any]] | None) -> str:
    if not attachments:
        return TEXT
    kinds = {str(a.get("type", "file")) for a in attachments}
    return IMAGE if kinds == {"image"} else FILE


async def _open_conversation(hub: Hub, contact: Contact, inbound: InboundMessage) -> Conversation:
    now = utcnow()
    conversation = Conversation(
        id=new_id(),
        tenant=contact.tenant,
        channel=inbound.channel,
        contact_id=contact.id,
        status=ConversationStatus.QUEUED.value,
        skill=inbound.skill,
        created_at=now,
        queued_at=now,
    )
    await hub.store.create_conversation(conversation)
    return conversation


async def _contact_for(hub: Hub, inbound: InboundMessage) -> Contact:
    contact = await hub.store.find_contact(inbound.tenant, inbound.identity)
    if contact is None:
        contact = Contact(
            id=new_id(),
            tenant=inbound.tenant,
            name=inbound.contact_name,
            identities=[inbound.identity],
        )
        await hub.store.create_contact(contact)
    return contact


class Received(NamedTuple):
    message: Message  # as stored (the original one for a repeated client or platform id)
    conversation: Conversation
    public: dict[str, Any]  # message.public(), built once for the events and the ack


async def receive_inbound(
    hub: Hub,
    inbound: InboundMessage,
    *,
    contact_id: str | None = None,
    origin_sid: str | None = None,
) -> Received:
    """Store a customer's message in the contact's open conversation on that channel (opening
    and routing one if needed). A repeated client id or platform id returns the original.

    With `contact_id` (a connected web visitor) the contact and its open conversation come
    from hub.contacts when cached there, so the append is the only store call."""
    if not inbound.attachments:
        check_text(hub, inbound.text)
    else:
        check_text(hub, inbound.text, allow_empty=True)
    check_client_id(inbound.client_id)
    if contact_id is not None:
        cached = hub.contacts.lookup(inbound.tenant, contact_id, inbound.channel)
        if cached is not None:
            contact, conversation = cached
            now = utcnow()
            if contact.is_blocked(now):
                raise Forbidden("this visitor is blocked", code="blocked")
            try:
                result = await hub.store.append_message(
                    _message(contact, conversation, inbound, now)
                )
            except NotFound:
                # Cannot happen while the store brackets every write with the cache's
                # `changing`; if it does, the store is right and the cache is not.
                hub.contacts.forget(inbound.tenant, contact_id)
            else:
                return await _announce(hub, contact, conversation, result, False, origin_sid)
    ticket = hub.contacts.ticket(inbound.tenant, contact_id) if contact_id is not None else None
    if contact_id is not None:
        found = await hub.store.get_contact(inbound.tenant, contact_id)
        if found is None:
            raise NotFound("the visitor no longer exists", code="contact_not_found")
        contact = found
    else:
        contact = await _contact_for(hub, inbound)
    if contact.is_blocked(utcnow()):
        raise Forbidden("this visitor is blocked", code="blocked")
    async with hub.locks.hold(("contact", contact.tenant, contact.id, inbound.channel)):
        conversation = await hub.store.find_open_conversation(
            contact.tenant, contact.id, inbound.channel
        )
        opened = conversation is None
        if conversation is None:
            conversation = await _open_conversation(hub, contact, inbound)
        else:
            hub.contacts.fill(ticket, contact, conversation)
        result = await hub.store.append_message(_message(contact, conversation, inbound, utcnow()))
    return await _announce(hub, contact, conversation, result, opened, origin_sid)


def _message(
    contact: Contact, conversation: Conversation, inbound: InboundMessage, now: datetime
) -> Message:
    return Message(
        id=new_id(),
        tenant=contact.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=CONTACT, id=contact.id, name=contact.name),
        type=inbound.type,
        text=inbound.text,
        attachments=list(inbound.attachments),
        client_id=inbound.client_id,
        platform_message_id=inbound.platform_message_id,
        created_at=now,
    )


async def _announce(
    hub: Hub,
    contact: Contact,
    conversation: Conversation,
    result: AppendResult,
    opened: bool,
    origin_sid: str | None,
) -> Received:
    stored = result.message
    public = stored.public()
    if not result.created:
        return Received(stored, conversation, public)
    # The sender's other tabs see their own message too.
    await events.to_visitor(hub, contact.tenant, contact.id, "message", public, skip_sid=origin_sid)
    if opened:
        await do_route(hub, conversation)
    else:
        await events.to_conversation_staff(hub, conversation, "message", public)
    return Received(stored, conversation, public)


async def check_staff_conversation(
    hub: Hub, agent: Agent, conversation_id: object, *, must_hold: bool
) -> Conversation:
    if not isinstance(conversation_id, str) or not conversation_id:
        raise Invalid("conversation_id must be a string", code="invalid_conversation_id")
    conversation = await hub.store.get_conversation(agent.tenant, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    if must_hold and conversation.agent_id != agent.id and not agent.is_supervisor():
        raise Forbidden("this conversation is not assigned to you", code="not_your_conversation")
    return conversation


async def do_send_agent_message(
    hub: Hub,
    agent: Agent,
    conversation_id: object,
    *,
    client_id: object,
    text: object,
    private: bool = False,
    attachments: object = None,
    origin_sid: str | None = None,
) -> Message:
    checked_attachments = check_attachments(attachments)
    body = check_text(hub, text, allow_empty=bool(checked_attachments))
    checked_client_id = check_client_id(client_id)
    conversation = await check_staff_conversation(hub, agent, conversation_id, must_hold=True)
    if not conversation.is_open and not private:
        raise Conflict("the conversation is closed", code="conversation_closed")
    message = Message(
        id=new_id(),
        tenant=agent.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.AGENT.value, id=agent.id, name=agent.name),
        type=MessageType.NOTE.value if private else type_for(checked_attachments),
        text=body,
        attachments=checked_attachments,
        client_id=checked_client_id,
    )
    result = await hub.store.append_message(message)
    stored = result.message
    if not result.created:
        return stored
    if not private and conversation.first_response_at is None:
        conversation.first_response_at = stored.created_at
        await hub.store.update_conversation(
            conversation, ["first_response_at"], expect={"first_response_at": None}
        )
    await events.to_conversation_staff(
        hub, conversation, "message", stored.public(), skip_sid=origin_sid
    )
    if not private:
        await deliver(hub, conversation, stored)
    return stored


async def deliver(hub: Hub, conversation: Conversation, message: Message) -> None:
    """Hand a stored outbound message to the conversation's channel. Private notes never
    leave the hub."""
    if message.type == MessageType.NOTE.value:
        return
    connector = hub.connectors.get(conversation.channel)
    if connector is None:
        raise Conflict(f"no connector for channel {conversation.channel}", code="no_connector")
    await connector.send(conversation, message)


def check_after_seq(after_seq: object) -> int:
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise Invalid("after_seq must be a whole number ≥ 0", code="invalid_after_seq")
    return after_seq


def check_before_seq(before_seq: object) -> int | None:
    if before_seq is None:
        return None
    if isinstance(before_seq, bool) or not isinstance(before_seq, int) or before_seq < 1:
        raise Invalid("before_seq must be a whole number ≥ 1", code="invalid_before_seq")
    return before_seq


def check_limit(limit: object, default: int = 100) -> int:
    if limit is None:
        return default
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_SYNC_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_SYNC_PAGE}", code="invalid_limit")
    return limit


async def read_messages(
    hub: Hub,
    conversation: Conversation,
    *,
    after_seq: int,
    limit: int,
    include_notes: bool,
    before_seq: int | None = None,
) -> list[Message]:
    messages = await hub.store.list_messages(
        conversation.tenant,
        conversation.id,
        after_seq=after_seq,
        before_seq=before_seq,
        limit=limit,
    )
    if include_notes:
        return messages
    return [m for m in messages if m.type != MessageType.NOTE.value]
