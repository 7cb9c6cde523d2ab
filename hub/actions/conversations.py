"""Starting, closing, transferring and rating conversations; typing indicators."""

from __future__ import annotations

from typing import Any

from hub.acd.base import Assignment
from hub.actions.access import Act, check_contact, check_conversation
from hub.actions.channels import channel_type, get_channel
from hub.actions.messages import check_client_id, check_text, do_send_agent_message
from hub.actions.routing import apply_change, persist_assignment, requeue, stop_queue_timers
from hub.context import Hub
from hub.domain import (
    Agent,
    Channel,
    Contact,
    Conversation,
    ConversationRef,
    ConversationStatus,
    Identity,
    Message,
    MessageType,
    Rating,
    Sender,
    SenderType,
    new_id,
    utcnow,
)
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.events import (
    ContactUpdated,
    ConversationClosed,
    ConversationReopened,
    ConversationUpdated,
    MessageCreated,
    Typing,
)

CLOSED = ConversationStatus.CLOSED.value
WEBIM = Channel.WEBIM.value
MAX_SUMMARY = 2000
MAX_SKILL = 64


async def do_close(
    hub: Hub,
    actor: Agent,
    conversation_id: object,
    *,
    summary: object = "",
    reason: str = "agent",
    checked: bool = True,
) -> Conversation:
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        raise Invalid(f"summary must be text of at most {MAX_SUMMARY} characters")
    if checked:
        conversation = await check_conversation(hub, actor, conversation_id, Act.CLOSE)
    else:
        # Part of an action that made its own check (blacklisting the contact).
        assert isinstance(conversation_id, str)
        found = await hub.store.get_conversation(actor.tenant, conversation_id)
        if found is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        conversation = found
    if not conversation.is_open:
        return conversation  # closing twice is not an error: the outcome is the same
    before = conversation.status
    conversation.status = CLOSED
    conversation.closed_at = utcnow()
    conversation.close_reason = reason
    conversation.summary = summary
    written = await hub.store.update_conversation(
        conversation,
        ["status", "closed_at", "close_reason", "summary"],
        expect={"status": before},
    )
    if not written:
        raise Conflict("the conversation changed meanwhile; try again", code="conflict")
    stop_queue_timers(hub, conversation.id)
    change = await hub.acd.release(conversation.tenant, conversation.id)
    await hub.bus.publish(ConversationClosed(conversation, reason=reason))
    await apply_change(hub, conversation.tenant, change)
    return conversation


async def do_transfer(
    hub: Hub,
    actor: Agent,
    conversation_id: object,
    *,
    agent_id: object = None,
    skill: object = None,
    note: object = None,
) -> Conversation:
    if (agent_id is None) == (skill is None):
        raise Invalid("give exactly one of agent_id or skill", code="invalid_transfer")
    if agent_id is not None and (not isinstance(agent_id, str) or not agent_id):
        raise Invalid("agent_id must be a string", code="invalid_agent_id")
    if skill is not None and (not isinstance(skill, str) or not 0 < len(skill) <= MAX_SKILL):
        raise Invalid(
            f"skill must be a string of 1 to {MAX_SKILL} characters", code="invalid_skill"
        )
    note_text = check_text(hub, note, allow_empty=True) if note is not None else ""
    conversation = await check_conversation(hub, actor, conversation_id, Act.TRANSFER)
    if not conversation.is_open:
        raise Conflict("the conversation is closed", code="conversation_closed")
    tenant = conversation.tenant
    if agent_id is not None:
        target = await hub.store.get_agent(tenant, agent_id)
        if target is None or target.disabled:
            raise NotFound("no such agent", code="agent_not_found")
        if target.id == conversation.agent_id:
            raise Conflict("the conversation is already with that agent", code="same_agent")
    note_message = await _transfer_note(hub, actor, conversation, note_text) if note_text else None
    if agent_id is not None:
        await _assign_now(hub, tenant, conversation.id, agent_id, note=note_message)
    else:
        assert isinstance(skill, str)
        change = await hub.acd.release(tenant, conversation.id)
        await apply_change(hub, tenant, change)
        if not await requeue(hub, conversation, skill=skill):
            raise Conflict("the conversation changed meanwhile; try again", code="conflict")
    updated = await hub.store.get_conversation(tenant, conversation.id)
    assert updated is not None
    return updated


async def do_take_over(hub: Hub, actor: Agent, conversation_id: object) -> Conversation:
    """A supervisor (班长) takes a conversation over from whoever holds it (or from the
    queue). It moves at once, whatever the supervisor's presence and maximum: intervening is
    the point, so the ACD is told to force it. The previous agent gets
    `conversation.transferred`, the visitor the usual status with the supervisor's name."""
    if not actor.is_supervisor():
        raise Forbidden(
            "only supervisors and admins take conversations over", code="supervisor_only"
        )
    conversation = await check_conversation(hub, actor, conversation_id, Act.TAKE_OVER)
    if not conversation.is_open:
        raise Conflict("the conversation is closed", code="conversation_closed")
    if conversation.agent_id == actor.id:
        return conversation  # already theirs: taking over twice is not an error
    tenant = conversation.tenant
    await _assign_now(hub, tenant, conversation.id, actor.id, force=True)
    updated = await hub.store.get_conversation(tenant, conversation.id)
    assert updated is not None
    if updated.agent_id != actor.id:
        # Closed while we were deciding: persist_assignment gave the capacity back.
        raise Conflict("the conversation is closed", code="conversation_closed")
    return updated


async def _assign_now(
    hub: Hub,
    tenant: str,
    conversation_id: str,
    agent_id: str,
    *,
    force: bool = False,
    note: Message | None = None,
) -> None:
    """Move a conversation to one agent at once (transfer, take-over). `force` ignores the
    agent's presence and maximum."""
    try:
        change = await hub.acd.assign_to(tenant, conversation_id, agent_id, force=force)
    except LookupError as exc:
        raise NotFound("no such agent", code="agent_not_found") from exc
    except ValueError as exc:
        raise Conflict("that agent is offline or at its maximum", code="agent_unavailable") from exc
    # Persisted (and announced) here rather than by apply_change so this one assignment is
    # written exactly once; the rest of the change (the old agent's freed capacity) follows.
    change.assignments = [a for a in change.assignments if a.conversation_id != conversation_id]
    await persist_assignment(hub, tenant, Assignment(conversation_id, agent_id), note=note)
    await apply_change(hub, tenant, change)


async def _transfer_note(hub: Hub, actor: Agent, conversation: Conversation, text: str) -> Message:
    message = Message(
        id=new_id(),
        tenant=conversation.tenant,
        conversation_id=conversation.id,
        sender=Sender(type=SenderType.AGENT.value, id=actor.id, name=actor.name),
        type=MessageType.NOTE.value,
        text=text,
    )
    stored = (await hub.store.append_message(message)).message
    await hub.bus.publish(
        MessageCreated(
            conversation.ref(), conversation.status, conversation.agent_id, stored, stored.public()
        )
    )
    return stored


async def do_rate(
    hub: Hub,
    tenant: str,
    contact_id: str,
    conversation_id: object,
    *,
    score: object,
    comment: object = "",
) -> Conversation:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid("score must be a whole number from 1 to 5", code="invalid_score")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_SUMMARY:
        raise Invalid(f"comment must be text of at most {MAX_SUMMARY} characters")
    if not isinstance(conversation_id, str):
        raise Invalid("conversation_id must be a string", code="invalid_conversation_id")
    # Two tabs rating at once must not both pass the check below.
    async with hub.turns.hold(("rating", tenant, conversation_id)):
        conversation = await hub.store.get_conversation(tenant, conversation_id)
        if conversation is None or conversation.contact_id != contact_id:
            raise NotFound("no such conversation", code="conversation_not_found")
        if conversation.is_open:
            raise Conflict("a conversation can be rated once it is closed", code="not_closed")
        if conversation.rating is not None:
            # Each rating notifies every staff member: once per conversation.
            raise Conflict("this conversation is rated already", code="already_rated")
        conversation.rating = Rating(score=score, comment=comment)
        await hub.store.update_conversation(conversation, ["rating"])
    await hub.bus.publish(ConversationUpdated(conversation))
    return conversation


async def relay_customer_typing(
    hub: Hub,
    tenant: str,
    contact_id: str,
    on: object,
    *,
    channel: str,
    channel_id: str | None = None,
) -> None:
    """The customer types (on channels that say so): the agent holding their open
    conversation on that channel account sees it."""
    if not isinstance(on, bool):
        raise Invalid("on must be true or false")
    conversation = await hub.store.find_open_conversation(tenant, contact_id, channel, channel_id)
    if conversation is None or conversation.agent_id is None:
        return
    await hub.bus.publish(
        Typing(conversation.ref(), conversation.agent_id, SenderType.CONTACT.value, on)
    )


async def relay_agent_typing(hub: Hub, agent: Agent, conversation_id: object, on: object) -> None:
    if not isinstance(on, bool):
        raise Invalid("on must be true or false")
    conversation = await check_conversation(hub, agent, conversation_id, Act.REPLY)
    ref: ConversationRef = conversation.ref()
    await hub.bus.publish(Typing(ref, agent.id, SenderType.AGENT.value, on))


MAX_RECIPIENT = 320


async def _contact_for(hub: Hub, tenant: str, identity: Identity, name: str) -> Contact:
    """The contact an identity belongs to, created if nobody is known by it (another request
    creating it at the same moment wins, and its contact is the one)."""
    for _attempt in range(3):
        found = await hub.store.find_contact(tenant, identity)
        if found is not None:
            return found
        contact = Contact(id=new_id(), tenant=tenant, name=name, identities=[identity])
        try:
            await hub.store.create_contact(contact)
        except Conflict:
            continue
        return contact
    raise Conflict("that identity belongs to another contact", code="identity_taken")


async def _add_identity(hub: Hub, contact: Contact, identity: Identity) -> Contact:
    """Writing to a new address of a known contact (an email from a web visitor's panel):
    the address becomes one of the contact's identities, not a contact of its own. An address
    that is another contact's is refused: merging them is a decision of its own."""
    owner = await hub.store.find_contact(contact.tenant, identity)
    if owner is not None:
        if owner.id == contact.id:
            return contact
        raise Conflict(
            "that address belongs to another contact: merge the two first",
            code="identity_taken",
            contact_id=owner.id,
        )
    contact.identities = [*contact.identities, identity]
    fields = ["identities"]
    if identity.channel == Channel.EMAIL.value and not contact.email:
        contact.email = identity.external_id
        fields.append("email")
    await hub.store.update_contact(contact, fields)
    await hub.bus.publish(ContactUpdated(contact))
    return contact


async def _start_contact(hub: Hub, actor: Agent, body: dict[str, Any]) -> Contact | None:
    """The contact named by `contact_id`, if the agent may act on it (or None)."""
    contact_id = body.get("contact_id")
    if contact_id is None:
        return None
    contact = await check_contact(hub, actor, contact_id)
    if contact.merged_into is not None:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into}",
            code="already_merged",
            merged_into=contact.merged_into,
        )
    return contact


async def do_start_conversation(
    hub: Hub,
    actor: Agent,
    body: dict[str, Any],
    *,
    contact: Contact | None = None,
    origin_sid: str | None = None,
) -> tuple[Conversation, Message]:
    """An agent writes first to a customer: on a channel account (an email, an SMS) to an
    address, or in web chat to a known visitor (`contact_id` without `channel_id`). The
    contact is found by the address (or created; with `contact_id`, the address is added to
    that contact), a conversation opened and assigned to the agent, and the message sent (on
    accounts, through the outbox). `contact`: already found by the caller, who checked it."""
    account_id, to = body.get("channel_id"), body.get("to")
    if contact is None:
        contact = await _start_contact(hub, actor, body)
    if account_id is None and contact is not None:
        return await _start_web_chat(hub, actor, contact, body, origin_sid=origin_sid)
    if not isinstance(account_id, str) or not account_id:
        raise Invalid("channel_id names a channel account", code="invalid_channel_id")
    if not isinstance(to, str) or not 0 < len(to.strip()) <= MAX_RECIPIENT:
        raise Invalid("to is the customer's address on that channel", code="invalid_recipient")
    account = await get_channel(hub, actor.tenant, account_id)
    if not account.enabled:
        raise Conflict("that channel is disabled", code="channel_disabled")
    kind = channel_type(hub, account.type)
    try:
        identity = kind.recipient(to.strip())
    except ValueError as exc:
        raise Invalid(str(exc), code="invalid_recipient") from exc
    options = {key: body[key] for key in ("subject", "cc") if key in body}
    connector = hub.connectors.get(account.type, account.id)
    if connector is None:
        raise Conflict("that channel is not running", code="channel_unavailable")
    # Checked before anything is written, so a refused start leaves nothing behind.
    probe = Conversation(id="", tenant=actor.tenant, channel=account.type, contact_id="")
    connector.outbound_meta(probe, options)
    check_text(hub, body.get("text"), limit=connector.capabilities.max_text)
    check_client_id(body.get("client_id"))
    if contact is not None:
        contact = await _add_identity(hub, contact, identity)
    else:
        contact = await _contact_for(hub, actor.tenant, identity, str(body.get("name") or ""))
    agent_threads = connector.capabilities.agent_threads
    return await _open_and_send(
        hub,
        actor,
        contact,
        body,
        channel=account.type,
        channel_id=account.id,
        thread_key=new_id() if agent_threads else "",
        options=options,
        origin_sid=origin_sid,
    )


async def _start_web_chat(
    hub: Hub, actor: Agent, contact: Contact, body: dict[str, Any], *, origin_sid: str | None
) -> tuple[Conversation, Message]:
    """The agent writes first to a web visitor (one on the site now sees it at once; one who
    left finds it open when they come back)."""
    if not any(identity.channel == WEBIM for identity in contact.identities):
        raise Invalid("this contact has never used the web chat", code="invalid_recipient")
    if contact.is_blocked(utcnow()):
        raise Forbidden("this visitor is blocked", code="blocked")
    connector = hub.connectors.get(WEBIM)
    assert connector is not None
    check_text(hub, body.get("text"), limit=connector.capabilities.max_text)
    check_client_id(body.get("client_id"))
    return await _open_and_send(
        hub,
        actor,
        contact,
        body,
        channel=WEBIM,
        channel_id=None,
        thread_key="",
        options={},
        origin_sid=origin_sid,
    )


async def _open_and_send(
    hub: Hub,
    actor: Agent,
    contact: Contact,
    body: dict[str, Any],
    *,
    channel: str,
    channel_id: str | None,
    thread_key: str,
    options: dict[str, Any],
    origin_sid: str | None,
) -> tuple[Conversation, Message]:
    now = utcnow()
    conversation, created = await hub.store.open_conversation(
        Conversation(
            id=new_id(),
            tenant=actor.tenant,
            channel=channel,
            channel_id=channel_id,
            contact_id=contact.id,
            thread_key=thread_key,
            status=ConversationStatus.QUEUED.value,
            created_at=now,
            queued_at=now,
            meta={"subject": options["subject"]} if options.get("subject") else {},
        )
    )
    if not created:
        raise Conflict(
            "the customer has an open conversation on this channel: write there",
            code="conversation_open",
            conversation_id=conversation.id,
        )
    await _assign_now(hub, actor.tenant, conversation.id, actor.id, force=True)
    message = await do_send_agent_message(
        hub,
        actor,
        conversation.id,
        client_id=body.get("client_id"),
        text=body.get("text"),
        options=options,
        origin_sid=origin_sid,
    )
    assigned = await hub.store.get_conversation(actor.tenant, conversation.id)
    assert assigned is not None
    return assigned, message


async def do_reopen(hub: Hub, actor: Agent, conversation_id: object) -> Conversation:
    """A closed conversation opens again, assigned to the agent who reopens it (its holder,
    or a supervisor), past their presence and maximum as a take-over is. Refused while the
    contact has another open conversation with the same key: that one is where to write."""
    conversation = await check_conversation(hub, actor, conversation_id, Act.REOPEN)
    if conversation.is_open:
        raise Conflict("the conversation is open", code="not_closed")
    contact = await hub.store.get_contact(actor.tenant, conversation.contact_id)
    if contact is not None and contact.is_blocked(utcnow()):
        raise Forbidden("this customer is blocked", code="blocked")
    now = utcnow()
    conversation.status = ConversationStatus.QUEUED.value
    conversation.closed_at = None
    conversation.close_reason = None
    conversation.queued_at = now
    try:
        written = await hub.store.update_conversation(
            conversation,
            ["status", "closed_at", "close_reason", "queued_at"],
            expect={"status": CLOSED},
        )
    except Conflict as exc:
        if exc.code != "conversation_open":
            raise
        open_one = await hub.store.find_open_conversation(
            actor.tenant,
            conversation.contact_id,
            conversation.channel,
            conversation.channel_id,
            conversation.thread_key,
        )
        raise Conflict(
            "the customer has another open conversation on this channel: write there",
            code="conversation_open",
            conversation_id=open_one.id if open_one else None,
        ) from exc
    if not written:
        raise Conflict("the conversation changed meanwhile; try again", code="conflict")
    await hub.bus.publish(ConversationReopened(conversation, agent_id=actor.id))
    await _assign_now(hub, actor.tenant, conversation.id, actor.id, force=True)
    reopened = await hub.store.get_conversation(actor.tenant, conversation.id)
    assert reopened is not None
    return reopened
