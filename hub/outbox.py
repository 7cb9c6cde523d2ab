"""The outbox worker: sends the outbound messages whose delivery is pending, through their
conversation's connector, and records what happened.

The outbox is the messages themselves (a pending delivery with a due time, hub/storage):
a reply is in it from the write that stores it, so a reply the agent saw acknowledged is
sent even if the hub stops right after, and after a restart. Each attempt claims the message
in the store with a lease (no other worker, here or on another node, takes it meanwhile),
calls the connector, then records the outcome with a compare-and-set on that claim:
* sent: `sent`, with the platform's id for the message in its meta;
* a transient failure (platform down, timeout): pending again after a doubling back-off,
  the reason kept on the message, until outbox_max_attempts, then `failed`;
* a permanent failure (refused, outside the reply window): `failed` with the reason;
* a claim whose earlier attempt never recorded an outcome (the hub died mid-send) is sent
  again only where the channel says a copy is recognisable (email: the same Message-ID);
  elsewhere it is `failed` (delivery_unknown) for the agent to check and retry by hand:
  sending twice is worse than asking.

It wakes for new pending messages (a bus event) and otherwise looks every
outbox_poll_seconds, which also picks up retries that came due and leases that ran out.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from hub.actions.delivery import FAILED, SENT, next_attempt, record_delivery
from hub.bus import EventBus
from hub.channels import Connector, DeliveryError
from hub.context import Hub
from hub.domain import Conversation, Delivery, Message, utcnow
from hub.due_work import DueWorkLoop
from hub.events import MessageCreated, MessageDeliveryChanged
from hub.storage.base import ClaimedDelivery

log = logging.getLogger(__name__)

BATCH = 50
# Sends of one batch run side by side (a slow mail server must not hold up an SMS), at most
# this many at once.
PARALLEL_SENDS = 16


class Outbox:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._loop = DueWorkLoop("outbox", self.run_once, hub.settings.outbox_poll_seconds)
        self._sending = asyncio.Semaphore(PARALLEL_SENDS)

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(MessageCreated, self._message_created)
        bus.subscribe(MessageDeliveryChanged, self._delivery_changed)

    async def _message_created(self, event: MessageCreated) -> None:
        if event.message.delivery is not None and event.message.delivery.waiting:
            self._loop.wake()

    async def _delivery_changed(self, event: MessageDeliveryChanged) -> None:
        if event.delivery.waiting:
            self._loop.wake()  # a retry asked for by hand

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def run_once(self) -> bool:
        """Claim what is due and attempt it; True if anything was due."""
        now = utcnow()
        lease = now + timedelta(seconds=self.hub.settings.outbox_lease_seconds)
        claimed = await self.hub.store.claim_due_deliveries(now, lease, BATCH)
        if claimed:
            await asyncio.gather(*(self._attempt(claim) for claim in claimed))
        return bool(claimed)

    async def _attempt(self, claim: ClaimedDelivery) -> None:
        message = claim.message
        attempt = message.delivery
        assert attempt is not None
        hub = self.hub
        conversation = await hub.store.get_conversation(message.tenant, message.conversation_id)
        if conversation is None:
            return  # cannot happen: conversations are never deleted
        connector = hub.connectors.for_conversation(conversation)
        now = utcnow()
        if connector is None:
            account = (
                await hub.store.get_channel_account(conversation.tenant, conversation.channel_id)
                if conversation.channel_id
                else None
            )
            if account is None:
                outcome = Delivery(
                    FAILED,
                    updated_at=now,
                    attempts=attempt.attempts,
                    error={"code": "channel_not_found", "message": "the channel was removed"},
                )
            else:
                # Disabled, or not started yet: wait for it like for a platform outage.
                error = {"code": "channel_unavailable", "message": "the channel is not running"}
                outcome = next_attempt(hub, attempt, error, now)
        elif claim.interrupted and not connector.capabilities.resend_safe:
            outcome = Delivery(
                FAILED,
                updated_at=now,
                attempts=attempt.attempts + 1,
                error={
                    "code": "delivery_unknown",
                    "message": "the hub stopped while sending: check whether the customer got "
                    "it before sending it again",
                },
            )
        else:
            async with self._sending:
                outcome = await self._send(connector, conversation, message, attempt)
        if not await record_delivery(hub, conversation, message, outcome, expect=attempt):
            log.warning("message %s changed while it was being sent", message.id)

    async def _send(
        self, connector: Connector, conversation: Conversation, message: Message, attempt: Delivery
    ) -> Delivery:
        try:
            platform_id = await connector.send(conversation, message)
        except DeliveryError as exc:
            error = {"code": exc.code, "message": exc.message}
            if exc.permanent:
                return Delivery(
                    FAILED, updated_at=utcnow(), error=error, attempts=attempt.attempts + 1
                )
            return next_attempt(self.hub, attempt, error, utcnow())
        except Exception as exc:
            log.exception("sending message %s on %s failed", message.id, connector.channel)
            error = {"code": "delivery_failed", "message": f"{type(exc).__name__}: {exc}"}
            return next_attempt(self.hub, attempt, error, utcnow())
        if platform_id:
            message.meta = {**message.meta, "platform_id": platform_id}
            await self.hub.store.update_message(message, ["meta"])
        return Delivery(SENT, updated_at=utcnow(), attempts=attempt.attempts + 1)
