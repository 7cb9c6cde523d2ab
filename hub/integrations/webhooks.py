"""Outbound webhooks: domain events become signed POSTs to the tenant's subscribers.

The bus hands each event to `WebhookWorker` after the write it announces is durable; the
worker turns it into one queued delivery per enabled webhook that subscribed to it, in one
store write. The queue is in the store (Store.create_webhook_deliveries), so a restart loses
none: deliveries are claimed with a lease like the channel outbox's messages (a worker that
died mid-attempt frees its claim when the lease ends, and the delivery goes again: at least
once, receivers dedupe by `id`). Each attempt is

    POST <url>   {"id", "event", "tenant", "created_at", "sent_at", "data"}
    X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the secret>

A 2xx answer delivers it; anything else (or no answer) is tried again after a back-off that
doubles from webhook_retry_min_seconds to webhook_retry_max_seconds. After
webhook_max_attempts the delivery is failed and its webhook disabled, with the reason, until
an administrator enables it again. The body's `sent_at` is the attempt's time, under the
signature, for receivers to refuse replays of old deliveries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import orjson

from hub.bus import EventBus
from hub.context import Hub
from hub.domain import iso, new_id, utcnow
from hub.domain.integrations import Webhook, WebhookDelivery, WebhookDeliveryStatus
from hub.due_work import DueWorkLoop
from hub.events import (
    ContactUpdated,
    ConversationAssigned,
    ConversationClosed,
    ConversationOpened,
    Event,
    MessageCreated,
)
from hub.integrations.targets import (
    ForbiddenTarget,
    GuardedResolver,
    forbidden_address,
    parse_target,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
BATCH = 50
PARALLEL_SENDS = 16
# What the log keeps of a failing receiver's answer.
ERROR_TEXT = 300


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_payload(event: Event) -> tuple[str, dict[str, Any]] | None:
    """The webhook event name and `data` for a domain event, or None if webhooks do not
    carry it."""
    match event:
        case ConversationOpened(conversation=conversation, contact=contact):
            return "conversation.created", {
                "conversation": conversation.public(),
                "contact": contact.public(),
            }
        case ConversationAssigned():
            return "conversation.assigned", {
                "conversation": event.conversation.public(),
                "agent_id": event.conversation.agent_id,
                "agent_name": event.agent_name,
                "previous_agent_id": event.previous_agent_id,
            }
        case ConversationClosed(conversation=conversation, reason=reason):
            return "conversation.closed", {"conversation": conversation.public(), "reason": reason}
        case MessageCreated():
            return "message.created", {
                "conversation_id": event.conversation.id,
                "message": event.public,
            }
        case ContactUpdated(contact=contact):
            return "contact.updated", {"contact": contact.public()}
    return None


class WebhookWorker:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._loop = DueWorkLoop("webhooks", self.run_once, hub.settings.webhook_poll_seconds)
        self._sending = asyncio.Semaphore(PARALLEL_SENDS)
        self._session: aiohttp.ClientSession | None = None

    def subscribe(self, bus: EventBus) -> None:
        for kind in (
            ConversationOpened,
            ConversationAssigned,
            ConversationClosed,
            MessageCreated,
            ContactUpdated,
        ):
            bus.subscribe(kind, self.queue)

    async def queue(self, event: Event) -> None:
        found = event_payload(event)
        if found is None:
            return
        name, data = found
        webhooks = [
            w
            for w in await self.hub.store.list_webhooks(event.tenant)
            if w.enabled and name in w.events
        ]
        if not webhooks:
            return
        event_id, now = new_id(), utcnow()
        await self.hub.store.create_webhook_deliveries(
            [
                WebhookDelivery(
                    id=new_id(),
                    tenant=event.tenant,
                    webhook_id=webhook.id,
                    event_id=event_id,
                    event=name,
                    data=data,
                    created_at=now,
                    due_at=now,
                    updated_at=now,
                )
                for webhook in webhooks
            ]
        )
        self._loop.wake()

    def wake(self) -> None:
        self._loop.wake()

    def start(self) -> None:
        settings = self.hub.settings
        connector = aiohttp.TCPConnector(
            resolver=None if settings.webhook_allow_private else GuardedResolver()
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds),
        )
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_once(self) -> bool:
        now = utcnow()
        lease = now + timedelta(seconds=self.hub.settings.webhook_lease_seconds)
        claimed = await self.hub.store.claim_due_webhook_deliveries(now, lease, BATCH)
        if claimed:
            await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        return bool(claimed)

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        hub = self.hub
        webhook = await hub.store.get_webhook(delivery.tenant, delivery.webhook_id)
        if webhook is None:
            return  # deleted meanwhile, with its deliveries
        if not webhook.enabled:
            # Kept in the log as not sent; a resend after enabling sends it.
            await self._record(delivery, WebhookDeliveryStatus.FAILED, None, "webhook disabled")
            return
        async with self._sending:
            status, error = await self._post(webhook, delivery)
        delivery.attempts += 1
        if status is not None and 200 <= status < 300:
            await self._record(delivery, WebhookDeliveryStatus.DELIVERED, status, "")
        elif delivery.attempts >= hub.settings.webhook_max_attempts:
            await self._record(delivery, WebhookDeliveryStatus.FAILED, status, error)
            await self._disable(webhook, delivery, error)
        else:
            await self._record(delivery, WebhookDeliveryStatus.PENDING, status, error)

    async def _post(self, webhook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str]:
        """The receiver's status (None: no answer) and what went wrong, if anything."""
        assert self._session is not None
        host, _ = parse_target(webhook.url)
        if not self.hub.settings.webhook_allow_private and _literal_forbidden(host):
            return None, f"{host} is a loopback, link-local or private address"
        body = orjson.dumps(
            {
                "id": delivery.event_id,
                "event": delivery.event,
                "tenant": delivery.tenant,
                "created_at": iso(delivery.created_at),
                "sent_at": iso(utcnow()),
                "data": delivery.data,
            }
        )
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(webhook.secret, body),
            "User-Agent": "omnihub-webhooks",
        }
        try:
            async with self._session.post(
                webhook.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return response.status, ""
                text = (await response.text(errors="replace"))[:ERROR_TEXT]
                return response.status, f"HTTP {response.status}: {text}".strip()
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenTarget):
                return None, exc.os_error.strerror
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT]
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT]
        except TimeoutError:
            return None, "no answer within webhook_timeout_seconds"

    async def _record(
        self, delivery: WebhookDelivery, status: str, response_status: int | None, error: str
    ) -> None:
        now = utcnow()
        delivery.status = status
        delivery.updated_at = now
        delivery.response_status = response_status
        delivery.last_error = error
        delivery.due_at = (
            now + timedelta(seconds=self._backoff(delivery.attempts))
            if status == WebhookDeliveryStatus.PENDING
            else None
        )
        await self.hub.store.update_webhook_delivery(
            delivery,
            ["status", "attempts", "due_at", "updated_at", "response_status", "last_error"],
        )

    def _backoff(self, attempts: int) -> float:
        settings = self.hub.settings
        return min(
            settings.webhook_retry_min_seconds * 2 ** max(attempts - 1, 0),
            settings.webhook_retry_max_seconds,
        )

    async def _disable(self, webhook: Webhook, delivery: WebhookDelivery, error: str) -> None:
        webhook.enabled = False
        webhook.disabled_reason = (
            f"gave up on delivery {delivery.id} ({delivery.event}) after "
            f"{delivery.attempts} attempts; the last: {error}"
        )
        await self.hub.store.update_webhook(webhook, ["enabled", "disabled_reason"])
        log.warning("webhook %s of %s disabled: %s", webhook.id, webhook.tenant, error)


def _literal_forbidden(host: str) -> bool:
    """aiohttp connects to an address written in the URL without resolving it."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return forbidden_address(host)
