"""Who may do what to a conversation and a contact: the checks every action that touches one
starts with, for REST and sockets alike. docs/protocol.md ("Permissions") has the table.

The rules, for a conversation an agent holds (it is assigned to them, or was when it closed)
and one they do not:
* read it (the conversation, its messages and notes, sync): its holder; anyone while it waits
  in the queue (the queued tab shows it before someone takes it); an agent serving the same
  customer now (the contact's earlier conversations are the context of the current one);
  supervisors and admins always.
* reply (a message to the customer, typing, sending a failed reply again), transfer: its
  holder only. A supervisor takes the conversation over first, so the customer and the
  previous agent are told who answers.
* a private note: its holder, and supervisors (a note reaches no customer: coaching on a
  conversation they watch does not need a take-over).
* close: its holder, and supervisors (ending a conversation that must end, without
  pretending to serve it).
* take over, watch: supervisors.
* reopen a closed one: its holder (the agent who held it when it closed), and supervisors.
* a contact (edit, tag, blacklist, merge, start a conversation to it): an agent who may read
  one of the contact's conversations; supervisors any.
"""

from __future__ import annotations

from enum import StrEnum

from hub.context import Hub
from hub.domain import Agent, Contact, Conversation, ConversationStatus
from hub.errors import Forbidden, Invalid, NotFound

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
# How many of a contact's conversations are looked at to find one the agent may read.
CONTACT_SCAN = 200


class Act(StrEnum):
    READ = "read"
    REPLY = "reply"
    NOTE = "note"
    CLOSE = "close"
    TRANSFER = "transfer"
    TAKE_OVER = "take_over"
    WATCH = "watch"
    REOPEN = "reopen"


SUPERVISOR_ACTS = {Act.TAKE_OVER, Act.WATCH}
HOLDER_ACTS = {Act.REPLY, Act.TRANSFER}
HOLDER_OR_SUPERVISOR_ACTS = {Act.NOTE, Act.CLOSE, Act.REOPEN}


async def serves_contact(hub: Hub, agent: Agent, contact_id: str) -> bool:
    """Whether the agent holds an open conversation of the contact right now."""
    held = await hub.store.list_conversations(
        agent.tenant, contact_id=contact_id, agent_id=agent.id, status=[ASSIGNED], limit=1
    )
    return bool(held)


async def may_read(hub: Hub, agent: Agent, conversation: Conversation) -> bool:
    if agent.is_supervisor() or conversation.agent_id == agent.id:
        return True
    if conversation.status == QUEUED:
        return True
    return await serves_contact(hub, agent, conversation.contact_id)


async def check_conversation(
    hub: Hub, agent: Agent, conversation_id: object, act: Act
) -> Conversation:
    if not isinstance(conversation_id, str) or not conversation_id:
        raise Invalid("conversation_id must be a string", code="invalid_conversation_id")
    conversation = await hub.store.get_conversation(agent.tenant, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    holds = conversation.agent_id == agent.id
    supervisor = agent.is_supervisor()
    if act in SUPERVISOR_ACTS:
        if not supervisor:
            raise Forbidden("supervisors and admins only", code="supervisor_only")
    elif act in HOLDER_ACTS:
        if not holds:
            raise Forbidden(
                "this conversation is not assigned to you"
                + (" (take it over first)" if supervisor else ""),
                code="not_your_conversation",
            )
    elif act in HOLDER_OR_SUPERVISOR_ACTS:
        if not (holds or supervisor):
            raise Forbidden(
                "this conversation is not assigned to you", code="not_your_conversation"
            )
    elif not await may_read(hub, agent, conversation):
        raise Forbidden("this conversation is not assigned to you", code="not_your_conversation")
    return conversation


async def check_contact(hub: Hub, agent: Agent, contact_id: object) -> Contact:
    """The contact, if the agent may act on it (see the module's rules)."""
    if not isinstance(contact_id, str) or not contact_id:
        raise Invalid("contact_id must be a string", code="invalid_contact_id")
    contact = await hub.store.get_contact(agent.tenant, contact_id)
    if contact is None:
        raise NotFound("no such contact", code="contact_not_found")
    if agent.is_supervisor():
        return contact
    for conversation in await hub.store.list_conversations(
        agent.tenant, contact_id=contact_id, limit=CONTACT_SCAN
    ):
        if conversation.agent_id == agent.id or conversation.status == QUEUED:
            return contact
    if await serves_contact(hub, agent, contact_id):
        return contact
    raise Forbidden("you are not serving this contact", code="not_your_contact")


async def check_listing(
    hub: Hub,
    agent: Agent,
    *,
    statuses: list[str],
    agent_id: str | None,
    contact_id: str | None,
) -> None:
    """Which conversation lists an agent may ask for: their own, the queue, and a contact's
    when they may act on that contact. Supervisors list everything."""
    if agent.is_supervisor():
        return
    if agent_id == agent.id:
        return
    if agent_id is None and statuses and set(statuses) <= {QUEUED}:
        return
    if contact_id is not None and agent_id is None:
        await check_contact(hub, agent, contact_id)
        return
    raise Forbidden(
        "agents list their own conversations, the queue, or a contact they serve",
        code="supervisor_only",
    )
