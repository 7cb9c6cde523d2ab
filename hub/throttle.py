"""Rate limits: sliding-window counters, the sign-in guard and the visitor limits.

Every counter lives in this process (one node counts what reaches it); stale keys are swept
once per window, so a stream of one-off keys (addresses, emails) cannot grow them for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Hashable, Iterator

from config.settings import Settings
from hub.errors import HubError, RateLimited


class Throttle:
    """At most `limit` events per key within `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[Hashable, deque[float]] = {}
        self._next_sweep = time.monotonic() + window

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def exceeded(self, key: Hashable) -> bool:
        return len(self._recent(key, time.monotonic())) >= self.limit

    def retry_after(self, key: Hashable) -> float:
        """Seconds until `key` may count another event (0 if it may now)."""
        now = time.monotonic()
        events = self._recent(key, now)
        if len(events) < self.limit:
            return 0.0
        return max(events[len(events) - self.limit] + self.window - now, 0.0)

    def record(self, key: Hashable) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        events = self._recent(key, now)
        events.append(now)
        self._events[key] = events

    def clear(self, key: Hashable) -> None:
        self._events.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.window
        for key in [k for k, events in self._events.items() if events[-1] <= now - self.window]:
            del self._events[key]

    def __len__(self) -> int:
        return len(self._events)


def rate_limited(message: str, wait: float) -> RateLimited:
    return RateLimited(message, retry_after=max(1, math.ceil(wait)))


class LoginGuard:
    """Failed sign-ins are counted three ways, so that guessing is slowed without letting a
    stranger lock anybody out:

    * per (address, account): a few failures, then that address gets 429 for that account;
    * per address: many failures across accounts (spraying), then 429 for that address;
    * per account, from everywhere: past the limit, sign-ins to it are slowed (one at a time,
      `slow_seconds` each) unless they come from an address that signed in to it before, so
      the right password from a known address always gets in at once.
    """

    def __init__(
        self,
        *,
        pair_limit: int = 5,
        address_limit: int = 30,
        account_limit: int = 20,
        window: float = 300.0,
        slow_seconds: float = 1.0,
        known_addresses: int = 10_000,
    ) -> None:
        self.pairs = Throttle(pair_limit, window)
        self.addresses = Throttle(address_limit, window)
        self.accounts = Throttle(account_limit, window)
        self.slow_seconds = slow_seconds
        self._known: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._known_limit = known_addresses

    def refuse(self, address: str, email: str) -> None:
        """Raise RateLimited if this address may not try this account now."""
        wait = max(self.pairs.retry_after((address, email)), self.addresses.retry_after(address))
        if wait:
            raise rate_limited("too many failed sign-ins; try again later", wait)

    def slowed(self, address: str, email: str) -> bool:
        return self.accounts.exceeded(email) and (email, address) not in self._known

    def failed(self, address: str, email: str) -> None:
        self.pairs.record((address, email))
        self.addresses.record(address)
        self.accounts.record(email)

    def succeeded(self, address: str, email: str) -> None:
        self.pairs.clear((address, email))
        self._known[(email, address)] = None
        self._known.move_to_end((email, address))
        while len(self._known) > self._known_limit:
            self._known.popitem(last=False)


class OnlineLimits:
    """Floods around online visitors: one agent sends at most invitations_per_agent_minute
    invitations, one visitor socket reports at most page_views_per_minute pages without
    reconnecting (a single-page site's navigation; a new page's socket is counted by the
    address limits)."""

    def __init__(self, settings: Settings) -> None:
        self.invitations = Throttle(settings.invitations_per_agent_minute, 60.0)
        self.page_views = Throttle(settings.page_views_per_minute, 60.0)

    @staticmethod
    def _count(throttle: Throttle, key: Hashable, what: str) -> None:
        if wait := throttle.retry_after(key):
            raise rate_limited(f"too many {what}: wait a little", wait)
        throttle.record(key)

    def invitation(self, agent: tuple[str, str]) -> None:
        self._count(self.invitations, agent, "invitations")

    def page_view(self, sid: str) -> None:
        self._count(self.page_views, sid, "page views")


class VisitorLimits:
    """What one visitor and one address may do (settings `visitor_*` and `address_*`)."""

    def __init__(self, settings: Settings) -> None:
        self.visitor_messages = Throttle(settings.visitor_messages_per_minute, 60.0)
        self.address_messages = Throttle(settings.address_messages_per_minute, 60.0)
        self.new_contacts = Throttle(settings.address_new_contacts_per_hour, 3600.0)
        self.uploads = Throttle(settings.uploads_per_minute, 60.0)  # per uploader
        # Refused messages per socket: a socket that goes on sending as many again as the
        # visitor limit allows, after being told to wait, is a script, and is disconnected.
        self.refusals = Throttle(settings.visitor_messages_per_minute, 60.0)
        self.max_connections = settings.address_connections
        self.connections: Counter[str] = Counter()
        self.addresses: dict[str, str] = {}  # visitor socket -> its address

    def check_connect(self, address: str, *, new_contact: bool) -> None:
        if self.connections[address] >= self.max_connections:
            raise RateLimited(
                f"at most {self.max_connections} connections from one address",
                retry_after=60,
            )
        if new_contact and (wait := self.new_contacts.retry_after(address)):
            raise rate_limited("too many new visitors from this address", wait)

    def connected(self, sid: str, address: str, *, new_contact: bool) -> None:
        self.connections[address] += 1
        self.addresses[sid] = address
        if new_contact:
            self.new_contacts.record(address)

    def disconnected(self, sid: str) -> None:
        self.refusals.clear(sid)
        address = self.addresses.pop(sid, None)
        if address is None:
            return
        self.connections[address] -= 1
        if self.connections[address] <= 0:
            del self.connections[address]

    def refused(self, sid: str) -> bool:
        """Count a refused message; whether the socket has ignored the limit long enough to
        be disconnected."""
        self.refusals.record(sid)
        return self.refusals.exceeded(sid)

    def address_of(self, sid: str) -> str:
        return self.addresses.get(sid, "")

    def message(self, visitor: Hashable, address: str) -> None:
        """Count one message, or raise RateLimited (nothing counted) past either limit."""
        wait = max(
            self.visitor_messages.retry_after(visitor), self.address_messages.retry_after(address)
        )
        if wait:
            raise rate_limited("too many messages; wait a moment", wait)
        self.visitor_messages.record(visitor)
        self.address_messages.record(address)


class Drain:
    """The requests and events being handled, so a stop can answer them first, and whether
    the hub is stopping (new ones are then refused)."""

    def __init__(self) -> None:
        self.stopping = False
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        self._in_flight += 1
        self._drained.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._drained.set()

    async def stop(self, timeout: float) -> None:
        """Refuse new work, then wait (up to `timeout`) for the work in hand."""
        self.stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout)

    def refuse_if_stopping(self) -> None:
        if self.stopping:
            raise HubError("the hub is restarting; try again", code="shutting_down", status=503)


class Turns:
    """Per-key asyncio locks that disappear when nobody holds or waits for them: things
    done one at a time per account or per conversation."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
