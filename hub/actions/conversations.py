"""Starting, closing, transferring and rating conversations; typing indicators."""

from __future__ import annotations

from typing import Any

from hub.acd.base import Assignment
from hub.actions.access import Act, check_conversation
from hub.actions.channels import channel_type, get_channel
from hub.actions.messages import check_client_id, check_text, do_send_agent_message
from hub.actions.routing import apply_change, persist_assignment, queue_timer, requeue
from hub.context import Hub
from hub.domain import (
    Agent,
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
from hub.events import ConversationClosed, ConversationUpdated, MessageCreated, Typing

CLOSED = ConversationStatus.CLOSED.value
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
    hub.timers.cancel(queue_timer(conversation.id))
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


async def do_start_conversation(
    hub: Hub, actor: Agent, body: dict[str, Any], *, origin_sid: str | None = None
) -> tuple[Conversation, Message]:
    """An agent writes first (an email, an SMS) to a customer on a channel account: the
    contact is found by the address (or created), a conversation opened and assigned to the
    agent, and the message sent through the outbox."""
    account_id, to = body.get("channel_id"), body.get("to")
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
    contact = await _contact_for(hub, actor.tenant, identity, str(body.get("name") or ""))
    now = utcnow()
    agent_threads = connector.capabilities.agent_threads
    conversation, created = await hub.store.open_conversation(
        Conversation(
            id=new_id(),
            tenant=actor.tenant,
            channel=account.type,
            channel_id=account.id,
            contact_id=contact.id,
            thread_key=new_id() if agent_threads else "",
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
