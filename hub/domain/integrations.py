"""Records of the integrations: API tokens, webhook subscriptions and their deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.domain import iso, utcnow

# The events a webhook may subscribe to (docs/integrations.md).
WEBHOOK_EVENTS = (
    "conversation.created",
    "conversation.assigned",
    "conversation.closed",
    "message.created",
    "contact.updated",
)


@dataclass(slots=True)
class ApiToken:
    """A named token an integration sends as `Authorization: Bearer`. Only its SHA-256 is
    kept; it acts for the administrator who created it, with that agent's current rights."""

    id: str
    tenant: str
    name: str
    token_hash: str
    agent_id: str
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_by": self.agent_id,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
        }


@dataclass(slots=True)
class Webhook:
    id: str
    tenant: str
    url: str
    events: list[str]
    secret: str
    enabled: bool = True
    # Why the hub disabled it (deliveries kept failing); empty while enabled.
    disabled_reason: str = ""
    created_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "created_at": iso(self.created_at),
        }


class WebhookDeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(slots=True)
class WebhookDelivery:
    """One event for one webhook: the durable queue entry and its log line at once.
    `event_id` is the payload's `id` (receivers dedupe by it); `due_at` is set while the
    delivery is pending (the next attempt, or the lease of the one in progress)."""

    id: str
    tenant: str
    webhook_id: str
    event_id: str
    event: str
    data: dict[str, Any]
    created_at: datetime = field(default_factory=utcnow)
    status: str = WebhookDeliveryStatus.PENDING
    attempts: int = 0
    due_at: datetime | None = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    response_status: int | None = None
    last_error: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "next_attempt_at": iso(self.due_at)
            if self.status == WebhookDeliveryStatus.PENDING
            else None,
            "response_status": self.response_status,
            "last_error": self.last_error,
        }
