"""The online-visitors seam: which visitors have a page with the loader open, what they look
at, and the invitations they have been sent and not yet answered.

None of it is durable: a page view costs no write, and after a restart visitors reappear
with their next page view (the loader reconnects). The in-memory version (memory.py) serves
one node; a shared one (Redis) implements the same methods for several."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hub.domain import iso

# The page trail each visitor keeps (newest last); older views are only counted.
TRAIL = 20
Status = Literal["browsing", "chatting"]


@dataclass(slots=True)
class PageView:
    url: str
    title: str
    referrer: str
    at: datetime

    def public(self) -> dict[str, Any]:
        return {"url": self.url, "title": self.title, "referrer": self.referrer, "at": iso(self.at)}


@dataclass(slots=True)
class Arrival:
    """What one socket of a visitor tells about them when it connects."""

    tenant: str
    contact_id: str
    name: str
    sid: str
    ip: str
    region: str
    device: str
    os: str
    browser: str
    page: PageView | None  # None: a socket that is not a page view (the chat frame)
    conversation_id: str | None = None


@dataclass(slots=True)
class Invitation:
    id: str
    tenant: str
    contact_id: str
    agent_id: str | None  # None: sent by the auto-invite rules
    agent_name: str
    text: str
    created_at: datetime
    style: dict[str, Any] = field(default_factory=dict)  # the pop-up's title and colour


@dataclass(slots=True)
class OnlineVisitor:
    tenant: str
    contact_id: str
    name: str
    ip: str
    region: str
    device: str
    os: str
    browser: str
    arrived_at: datetime
    last_seen_at: datetime
    sids: set[str] = field(default_factory=set)
    trail: list[PageView] = field(default_factory=list)
    page_views: int = 0
    conversation_id: str | None = None
    invited: int = 0
    refused: int = 0
    # Monotonic time the last socket closed; None while one is open.
    left_at: float | None = None

    @property
    def page(self) -> PageView | None:
        return self.trail[-1] if self.trail else None

    @property
    def status(self) -> Status:
        return "chatting" if self.conversation_id else "browsing"

    def public(self) -> dict[str, Any]:
        page = self.page
        return {
            "contact_id": self.contact_id,
            "name": self.name,
            "page": {"url": page.url, "title": page.title, "referrer": page.referrer}
            if page
            else {"url": "", "title": "", "referrer": ""},
            "pages": [view.public() for view in self.trail],
            "page_views": self.page_views,
            "device": self.device,
            "os": self.os,
            "browser": self.browser,
            "region": self.region,
            "ip": self.ip,
            "arrived_at": iso(self.arrived_at),
            "last_seen_at": iso(self.last_seen_at),
            "status": self.status,
            "conversation_id": self.conversation_id,
            "invited": self.invited,
            "refused": self.refused,
        }


@dataclass(slots=True)
class Today:
    """A tenant's traffic since midnight (UTC): page views and distinct addresses."""

    day: str
    page_views: int = 0
    addresses: set[str] = field(default_factory=set)

    def public(self) -> dict[str, Any]:
        return {"day": self.day, "pv": self.page_views, "ip": len(self.addresses)}


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[OnlineVisitor]
    total: int  # matching the filter
    online: int  # every visitor of the tenant online


class OnlineVisitors(ABC):
    def __init__(self) -> None:
        # Tenants whose list changed since the last announcement (hub.actions.online); kept
        # per process in every version: each process announces what it saw.
        self.changed: set[str] = set()
        # Each tenant's invitation settings as last read, with the monotonic time of the
        # read (hub.actions.online.invitation_settings): a page view must not cost a read.
        self.settings_read: dict[str, tuple[float, dict[str, Any]]] = {}

    @abstractmethod
    async def arrive(self, arrival: Arrival) -> tuple[OnlineVisitor, bool]:
        """A socket of a visitor opened (a page view when `arrival.page` is set). Returns
        the visitor and whether they were not online before (a new visit)."""

    @abstractmethod
    async def view_page(self, tenant: str, contact_id: str, page: PageView) -> OnlineVisitor | None:
        """A page view on an open socket (a single-page site's navigation)."""

    @abstractmethod
    async def leave(self, tenant: str, contact_id: str, sid: str) -> bool:
        """A socket closed; True when it was the visitor's last (their timeout starts)."""

    @abstractmethod
    async def expire(self, tenant: str, contact_id: str, left_before: float) -> bool:
        """Forget a visitor whose last socket closed before `left_before` (monotonic) and who
        has not come back; their pending invitations go with them. True if removed."""

    @abstractmethod
    async def get(self, tenant: str, contact_id: str) -> OnlineVisitor | None: ...

    @abstractmethod
    async def set_conversation(
        self, tenant: str, contact_id: str, conversation_id: str | None
    ) -> None: ...

    @abstractmethod
    async def rename(self, tenant: str, contact_id: str, name: str) -> None: ...

    @abstractmethod
    async def list(
        self,
        tenant: str,
        *,
        query: str = "",
        status: Status | None = None,
        device: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Listing:
        """Newest arrival first; `query` matches name, IP, region or a page's URL or title."""

    @abstractmethod
    async def count(self, tenant: str) -> int: ...

    @abstractmethod
    async def today(self, tenant: str, day: str) -> Today: ...

    # invitations ----------------------------------------------------------------------

    @abstractmethod
    async def add_invitation(self, invitation: Invitation) -> None:
        """Pending until answered or the visitor leaves; counts as one more `invited`."""

    @abstractmethod
    async def pending_invitation(self, tenant: str, contact_id: str) -> Invitation | None: ...

    @abstractmethod
    async def take_invitation(
        self, tenant: str, contact_id: str, invitation_id: str, *, refused: bool
    ) -> Invitation | None:
        """Remove and return the visitor's pending invitation with that id (None: unknown,
        another visitor's, or answered already); a refusal is counted."""
