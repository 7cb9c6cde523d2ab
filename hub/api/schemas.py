"""Response models of the core records (their `public()` JSON, docs/protocol.md) for the
OpenAPI description: schemathesis checks every answer against them, and
tests/test_openapi.py checks real answers of every kind validate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    # Answers may carry more than is described (an extension is not a break).
    model_config = ConfigDict(extra="allow")


class AgentOut(Out):
    id: str
    name: str
    email: str
    roles: list[str]
    skills: list[str]
    max_concurrent: int


class AgentWithState(AgentOut):
    disabled: bool


class ListedAgent(AgentWithState):
    presence: str


class AgentPage(Out):
    items: list[ListedAgent]
    next: str | None


class Identity(Out):
    channel: str
    external_id: str


class ContactOut(Out):
    id: str
    tenant: str
    name: str
    email: str
    phone: str
    notes: str
    tags: list[str]
    identities: list[Identity]
    attributes: dict[str, Any]
    visit_count: int
    blocked_until: str | None
    created_at: str
    last_seen_at: str | None
    merged_into: str | None
    merged_from: list[str]


class ContactPage(Out):
    items: list[ContactOut]
    next: str | None


class RatingOut(Out):
    score: int
    comment: str


class ConversationOut(Out):
    id: str
    tenant: str
    channel: str
    channel_id: str | None
    thread_key: str
    meta: dict[str, Any]
    contact_id: str
    status: str
    agent_id: str | None
    skill: str | None
    created_at: str
    queued_at: str | None
    assigned_at: str | None
    first_response_at: str | None
    closed_at: str | None
    close_reason: str | None
    summary: str | None
    rating: RatingOut | None
    tags: list[str]
    last_seq: int
    last_message_at: str | None
    last_message_preview: str | None


class ConversationPage(Out):
    items: list[ConversationOut]
    next: str | None


class SenderOut(Out):
    type: str
    id: str | None
    name: str


class DeliveryStateOut(Out):
    status: str
    updated_at: str | None


class MessageOut(Out):
    id: str
    conversation_id: str
    seq: int
    sender: SenderOut
    type: str
    text: str | None
    attachments: list[dict[str, Any]]
    client_id: str | None
    created_at: str
    meta: dict[str, Any] | None
    delivery: DeliveryStateOut | None


class MessageList(Out):
    items: list[MessageOut]


class StartedConversation(Out):
    conversation: ConversationOut
    message: MessageOut
