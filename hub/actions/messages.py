"""The message path: customers' messages in from any channel, agents' replies out.

check_* validates everything that can fail on user input and changes nothing; do_* writes
(durably) and only then publishes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from hub.actions.access import Act, check_conversation
from hub.actions.delivery import connector_for, deliver, initial_delivery
from hub.actions.routing import route_new
from hub.actions.uploads import check_attachment_owners
from hub.channels import InboundMessage
from hub.context import Hub
from hub.domain import (
    Agent,
    Contact,
    Conversation,
    ConversationRef,
    ConversationStatus,
    Message,
    MessageType,
    Sender,
    SenderType,
    UploaderType,
    new_id,
    utcnow,
)
from hub.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from hub.events import ConversationOpened, MessageCreated
from hub.uploads import display_name

MAX_CLIENT_ID = 100
MAX_SYNC_PAGE = 500
MAX_ATTACHMENTS = 10
# Where hub/uploads.py keeps files: /uploads/<tenant folder>/<random hex>.<extension>.
UPLOAD_URL = re.compile(r"/uploads/[A-Za-z0-9_-]{1,200}/[0-9a-f]{32}\.[a-z0-9]{2,5}")
ATTACHMENT_KINDS = {"image", "file"}
# The longest text any channel may store in one message. People do not type this much; a
# long email does arrive, and is kept whole in its attachment (the raw mail) beside this.
MAX_STORED_TEXT = 100_000
TRUNCATED = "\n[…] (cut: {} more characters)"


def check_text(
    hub: Hub, text: object, *, allow_empty: bool = False, limit: int | None = None
) -> str:
    """Text a person typed (a visitor in the widget, an agent in the inbox): within the
    hub's limit, and the channel's when it has a lower one."""
    if not isinstance(text, str):
        raise Invalid("text must be a string", code="invalid_text")
    if not text.strip() and not allow_empty:
        raise Invalid("text must not be empty", code="empty_text")
    longest = min(hub.settings.max_text_length, limit or hub.settings.max_text_length)
    if len(text) > longest:
        raise TooLarge(
            f"text is longer than {longest} characters", code="text_too_long", limit=longest
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
            {"url": url, "name": display_name(name, ""), "type": kind, "size": size, "mime": mime}
        )
    return checked


TEXT, IMAGE, FILE = MessageType.TEXT.value, MessageType.IMAGE.value, MessageType.FILE.value
CONTACT = SenderType.CONTACT.value


def type_for(attachments: list[dict[str, Any]] | None) -> str:
    if not attachments:
        return TEXT
    kinds = {str(a.get("type", "file")) for a in attachments}
    return IMAGE if kinds == {"image"} else FILE


def fit_text(text: str) -> str:
    """What a channel sent, stored as it came; past MAX_STORED_TEXT it is cut with a marker
    saying so, rather than refused: the platform would only send it again."""
    if len(text) <= MAX_STORED_TEXT:
        return text
    cut = MAX_STORED_TEXT - len(TRUNCATED.format(len(text)))
    return text[:cut] + TRUNCATED.format(len(text) - cut)


@dataclass(frozen=True, slots=True)
class OpenConversationHint:
    """A connector's idea of the contact's open conversation (the web visitor's socket
    remembers it). It may be out of date: the store checks it in the same step as the
    append, and a closed one sends the message the long way."""

    conversation_id: str
    contact_id: str


class Received(NamedTuple):
    message: Message  # as stored (the original one for a repeated client or platform id)
    conversation: ConversationRef
    public: dict[str, Any]  # message.public(), built once for the events and the ack


async def receive_inbound(
    hub: Hub,
    inbound: InboundMessage,
    *,
    hint: OpenConversationHint | None = None,
    origin: str | None = None,
    route_later: bool = False,
) -> Received:
    """Store a customer's message in the contact's open conversation with that channel
    account and thread (opening and routing one if needed; the contact too if the identity
    is new). A repeated client id or platform id returns the original.

    Text and attachments were checked at the edge by the connector, as its channel needs;
    here only what every channel shares is: the client id, and a size the store keeps.

    With a `hint` the message is appended to that conversation if it is still open, one
    store call in all; otherwise (and without one) the store finds or creates the contact
    and the conversation and appends, in one atomic step.

    `route_later`: a new conversation is routed after this returns (a webhook answers the
    platform once the message is stored, without waiting for routing); should the hub stop
    first, the start-up restore routes it."""
    check_client_id(inbound.client_id)
    now = utcnow()
    if hint is not None:
        sender = Sender(type=CONTACT, id=hint.contact_id, name=inbound.contact_name)
        message = _message(inbound, hint.conversation_id, sender, now)
        try:
            result = await hub.store.append_message(message, require_open=True)
        except NotFound:
            pass
        except Conflict as exc:
            if exc.code != "conversation_closed":
                raise
        else:
            stored = result.message
            ref = ConversationRef(
                inbound.tenant,
                stored.conversation_id,
                hint.contact_id,
                inbound.channel,
                inbound.channel_id,
            )
            public = stored.public()
            if result.created:
                assert result.status is not None
                await hub.bus.publish(
                    MessageCreated(ref, result.status, result.agent_id, stored, public, origin)
                )
            return Received(stored, ref, public)
    return await _ingest(hub, inbound, now, origin, route_later)


async def _ingest(
    hub: Hub, inbound: InboundMessage, now: datetime, origin: str | None, route_later: bool
) -> Received:
    contact = Contact(
        id=new_id(),
        tenant=inbound.tenant,
        name=inbound.contact_name,
        email=inbound.contact_email,
        phone=inbound.contact_phone,
        identities=[inbound.identity],
        created_at=now,
        last_seen_at=now,
    )
    conversation = Conversation(
        id=new_id(),
        tenant=inbound.tenant,
        channel=inbound.channel,
        contact_id="",  # the store fills in the contact it finds or creates
        channel_id=inbound.channel_id,
        thread_key=inbound.thread_key,
        status=ConversationStatus.QUEUED.value,
        skill=inbound.skill,
        created_at=now,
        queued_at=now,
        meta=dict(inbound.conversation_meta),
    )
    message = _message(inbound, "", Sender(type=CONTACT), now)
    ingested = await hub.store.ingest(contact, conversation, message, now=now)
    if ingested.outcome == "blocked":
        raise Forbidden("this contact is blocked", code="blocked")
    assert ingested.conversation is not None and ingested.message is not None
    stored, opened = ingested.message, ingested.conversation
    public = stored.public()
    if ingested.outcome == "new":
        await hub.bus.publish(
            MessageCreated(opened.ref(), opened.status, opened.agent_id, stored, public, origin)
        )
        if ingested.conversation_opened:
            await hub.bus.publish(ConversationOpened(opened, ingested.contact))
            if route_later:
                hub.background.spawn(route_new(hub, opened), name=f"route-{opened.id}")
            else:
                await route_new(hub, opened)
    return Received(stored, opened.ref(), public)


def _message(
    inbound: InboundMessage, conversation_id: str, sender: Sender, now: datetime
) -> Message:
    return Message(
        id=new_id(),
        tenant=inbound.tenant,
        conversation_id=conversation_id,
        sender=sender,
        type=inbound.type,
        text=fit_text(inbound.text),
        attachments=list(inbound.attachments),
        client_id=inbound.client_id,
        platform_message_id=inbound.platform_message_id,
        created_at=now,
        meta=inbound.meta,
    )


async def do_send_agent_message(
    hub: Hub,
    agent: Agent,
    conversation_id: object,
    *,
    client_id: object,
    text: object,
    private: bool = False,
    attachments: object = None,
    options: dict[str, Any] | None = None,
    origin_sid: str | None = None,
) -> Message:
    """An agent's reply (or private note). `options` are the channel's own fields (an
    email's subject and cc), checked by its connector."""
    checked_attachments = check_attachments(attachments)
    checked_client_id = check_client_id(client_id)
    conversation = await check_conversation(
        hub, agent, conversation_id, Act.NOTE if private else Act.REPLY
    )
    if not conversation.is_open and not private:
        raise Conflict("the conversation is closed", code="conversation_closed")
    checked_attachments = await check_attachment_owners(
        hub,
        agent.tenant,
        checked_attachments,
        sender_type=UploaderType.AGENT.value,
        sender_id=agent.id,
    )
    now = utcnow()
    message_id = new_id()
    platform_id = None
    if private:
        body = check_text(hub, text, allow_empty=bool(checked_attachments))
        delivery, meta = None, {}
    else:
        connector = connector_for(hub, conversation)
        body = check_text(
            hub,
            text,
            allow_empty=bool(checked_attachments),
            limit=connector.capabilities.max_text,
        )
        if checked_attachments and not connector.capabilities.attachments:
            raise Invalid(
                f"the {conversation.channel} channel cannot send files",
                code="attachments_unsupported",
            )
        meta = connector.outbound_meta(conversation, options or {})
        delivery = initial_delivery(connector, now)
        platform_id = connector.outbound_platform_id(conversation, message_id)
    message = Message(
        id=message_id,
        tenant=agent.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.AGENT.value, id=agent.id, name=agent.name),
        type=MessageType.NOTE.value if private else type_for(checked_attachments),
        text=body,
        attachments=checked_attachments,
        client_id=checked_client_id,
        platform_message_id=platform_id,
        created_at=now,
        meta=meta,
        delivery=delivery,
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
    await hub.bus.publish(
        MessageCreated(
            conversation.ref(),
            conversation.status,
            conversation.agent_id,
            stored,
            stored.public(),
            origin_sid,
        )
    )
    if not private:
        await deliver(hub, conversation, stored)
    return stored


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
