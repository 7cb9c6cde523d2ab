"""Webhook subscriptions: created, listed, re-enabled and deleted by a tenant's
administrators; a delivery in the log can be sent again by hand."""

from __future__ import annotations

from collections.abc import Sequence

from hub.context import Hub
from hub.domain import Agent, new_id, utcnow
from hub.domain.integrations import (
    WEBHOOK_EVENTS,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from hub.errors import Invalid, NotFound
from hub.integrations.targets import check_target

MAX_WEBHOOKS_PER_TENANT = 20


def check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise Invalid("name at least one event", code="invalid_events")
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise Invalid(
            f"unknown event {', '.join(unknown)}: the events are {', '.join(WEBHOOK_EVENTS)}",
            code="unknown_event",
        )
    return sorted(set(events), key=WEBHOOK_EVENTS.index)


async def do_create_webhook(
    hub: Hub, admin: Agent, url: str, events: Sequence[str], secret: str
) -> Webhook:
    chosen = check_events(events)
    await check_target(url, allow_private=hub.settings.webhook_allow_private)
    if len(await hub.store.list_webhooks(admin.tenant)) >= MAX_WEBHOOKS_PER_TENANT:
        raise Invalid(
            f"a tenant has at most {MAX_WEBHOOKS_PER_TENANT} webhooks", code="too_many_webhooks"
        )
    webhook = Webhook(id=new_id(), tenant=admin.tenant, url=url, events=chosen, secret=secret)
    await hub.store.create_webhook(webhook)
    return webhook


async def get_webhook(hub: Hub, tenant: str, webhook_id: str) -> Webhook:
    webhook = await hub.store.get_webhook(tenant, webhook_id)
    if webhook is None:
        raise NotFound("no such webhook", code="webhook_not_found")
    return webhook


async def do_enable_webhook(hub: Hub, admin: Agent, webhook_id: str, enabled: bool) -> Webhook:
    """An administrator turns a webhook off, or back on after the hub disabled it."""
    webhook = await get_webhook(hub, admin.tenant, webhook_id)
    webhook.enabled = enabled
    webhook.disabled_reason = "" if enabled else "disabled by an administrator"
    if not await hub.store.update_webhook(webhook, ["enabled", "disabled_reason"]):
        raise NotFound("no such webhook", code="webhook_not_found")
    return webhook


async def do_delete_webhook(hub: Hub, admin: Agent, webhook_id: str) -> None:
    if not await hub.store.delete_webhook(admin.tenant, webhook_id):
        raise NotFound("no such webhook", code="webhook_not_found")


async def do_resend_delivery(
    hub: Hub, admin: Agent, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    """Queues a logged delivery again, due now (same payload id: receivers that kept it
    recognise it). The webhook must be enabled for it to go out."""
    await get_webhook(hub, admin.tenant, webhook_id)
    delivery = await hub.store.get_webhook_delivery(admin.tenant, delivery_id)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound("no such delivery", code="delivery_not_found")
    now = utcnow()
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.due_at = now
    delivery.updated_at = now
    if not await hub.store.update_webhook_delivery(delivery, ["status", "due_at", "updated_at"]):
        raise NotFound("no such delivery", code="delivery_not_found")
    return delivery
