"""The channel accounts' connectors, running: built and started for every enabled account at
start-up, rebuilt when an account changes and stopped when it is disabled or removed, all
without a restart of the hub.

Connectors that hold a connection (IMAP, an event socket) run in one supervised task per
account: when the connection fails or drops, the account shows `error` with the reason and
the connector is started again after a back-off that doubles up to a ceiling, with jitter so
that many accounts failing together (a network outage) do not all retry at the same instant.
A configuration or authentication failure (ChannelError permanent) starts at the ceiling's
quarter: retrying a wrong password every second helps nobody and may get the account locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from hub.actions.channels import do_set_channel_status
from hub.channels import ChannelError, Connector
from hub.context import Hub
from hub.domain import ChannelAccount, ChannelStatus
from hub.events import ChannelAccountChanged, TenantSuspended

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Running:
    account: ChannelAccount
    connector: Connector
    task: asyncio.Task[None] | None = None


def backoff(attempt: int, *, low: float, high: float, permanent: bool) -> float:
    """Seconds to wait before reconnect number `attempt` (0 = the first retry)."""
    base = high / 4 if permanent else low
    return min(high, base * 2**attempt) * random.uniform(0.5, 1.5)


class ChannelRuntime:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._running: dict[str, _Running] = {}
        # Account changes apply one at a time, in order (a quick edit then disable).
        self._changes = asyncio.Lock()
        hub.bus.subscribe(ChannelAccountChanged, self._account_changed)
        hub.bus.subscribe(TenantSuspended, self._tenant_suspended)

    async def start(self) -> None:
        suspended = {t.id for t in await self.hub.store.list_tenants() if t.suspended}
        for account in await self.hub.store.list_channel_accounts(None):
            if account.tenant not in suspended:
                await self._start(account)

    async def _tenant_suspended(self, event: TenantSuspended) -> None:
        """A suspended tenant's accounts stop; they start again when it is resumed."""
        async with self._changes:
            for account in await self.hub.store.list_channel_accounts(event.tenant_id):
                await self._stop(account.id)
                if not event.suspended and account.enabled:
                    await self._start(account)

    async def stop(self) -> None:
        for account_id in list(self._running):
            await self._stop(account_id)

    async def _account_changed(self, event: ChannelAccountChanged) -> None:
        async with self._changes:
            await self._stop(event.account.id)
            if not event.removed and event.account.enabled:
                await self._start(event.account)

    async def _start(self, account: ChannelAccount) -> None:
        kind = self.hub.channel_types.get(account.type)
        if kind is None:
            log.error(
                "channel %s has type %s, which this hub does not know", account.id, account.type
            )
            return
        try:
            connector = kind.connector(self.hub, account)
            await connector.start()
        except Exception as exc:
            log.exception("channel %s (%s) could not start", account.id, account.type)
            await do_set_channel_status(self.hub, account, ChannelStatus.ERROR.value, str(exc))
            return
        running = _Running(account, connector)
        self._running[account.id] = running
        self.hub.connectors.add(connector, account.id)
        if connector.holds_connection:
            running.task = asyncio.get_running_loop().create_task(
                self._supervise(running), name=f"channel-{account.id}"
            )
        else:
            await do_set_channel_status(self.hub, account, ChannelStatus.OK.value)

    async def _stop(self, account_id: str) -> None:
        running = self._running.pop(account_id, None)
        if running is None:
            return
        self.hub.connectors.remove(running.account.type, account_id)
        if running.task is not None:
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running.task
        try:
            await running.connector.stop()
        except Exception:
            log.exception("channel %s did not stop cleanly", account_id)

    async def _supervise(self, running: _Running) -> None:
        account, connector = running.account, running.connector
        settings = self.hub.settings
        attempt = 0

        async def connected() -> None:
            nonlocal attempt
            attempt = 0
            await do_set_channel_status(self.hub, account, ChannelStatus.OK.value)

        while True:
            await do_set_channel_status(
                self.hub, account, ChannelStatus.CONNECTING.value, account.last_error
            )
            permanent = False
            try:
                await connector.run(connected)
                # A clean end (the server closed the session): connect again soon.
                await asyncio.sleep(settings.channel_retry_min_seconds)
                continue
            except asyncio.CancelledError:
                raise
            except ChannelError as exc:
                permanent, reason = exc.permanent, exc.message
            except Exception as exc:
                log.exception("channel %s failed", account.id)
                reason = f"{type(exc).__name__}: {exc}"
            await do_set_channel_status(self.hub, account, ChannelStatus.ERROR.value, reason)
            await asyncio.sleep(
                backoff(
                    attempt,
                    low=settings.channel_retry_min_seconds,
                    high=settings.channel_retry_max_seconds,
                    permanent=permanent,
                )
            )
            attempt += 1
