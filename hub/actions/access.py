"""Who may do what to a conversation: the checks every action that touches one starts with."""

from __future__ import annotations

from hub.context import Hub
from hub.domain import Agent, Conversation
from hub.errors import Forbidden, Invalid, NotFound


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
