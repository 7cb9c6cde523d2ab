"""Online visitors in this process's memory: a dict per tenant, listed by arrival."""

from __future__ import annotations

import time

from hub.domain import utcnow
from hub.online.base import (
    TRAIL,
    Arrival,
    Invitation,
    Listing,
    OnlineVisitor,
    OnlineVisitors,
    PageView,
    Status,
    Today,
)


class MemoryOnlineVisitors(OnlineVisitors):
    def __init__(self) -> None:
        super().__init__()
        self._visitors: dict[str, dict[str, OnlineVisitor]] = {}
        self._today: dict[str, Today] = {}
        # One pending invitation per visitor, by (tenant, contact_id).
        self._invitations: dict[tuple[str, str], Invitation] = {}

    def _count_view(self, tenant: str, visitor: OnlineVisitor, page: PageView) -> None:
        visitor.trail.append(page)
        del visitor.trail[:-TRAIL]
        visitor.page_views += 1
        visitor.last_seen_at = page.at
        day = page.at.date().isoformat()
        today = self._today.get(tenant)
        if today is None or today.day != day:
            today = self._today[tenant] = Today(day)
        today.page_views += 1
        today.addresses.add(visitor.ip)

    async def arrive(self, arrival: Arrival) -> tuple[OnlineVisitor, bool]:
        visitors = self._visitors.setdefault(arrival.tenant, {})
        visitor = visitors.get(arrival.contact_id)
        new = visitor is None
        if visitor is None:
            at = arrival.page.at if arrival.page else None
            visitor = OnlineVisitor(
                tenant=arrival.tenant,
                contact_id=arrival.contact_id,
                name=arrival.name,
                ip=arrival.ip,
                region=arrival.region,
                device=arrival.device,
                os=arrival.os,
                browser=arrival.browser,
                arrived_at=at or utcnow(),
                last_seen_at=at or utcnow(),
            )
            visitors[arrival.contact_id] = visitor
        else:
            # The newest socket tells where the visitor is now (another device, a new IP).
            visitor.ip, visitor.region = arrival.ip, arrival.region
            visitor.device, visitor.os, visitor.browser = (
                arrival.device,
                arrival.os,
                arrival.browser,
            )
            visitor.name = arrival.name or visitor.name
        visitor.sids.add(arrival.sid)
        visitor.left_at = None
        if arrival.conversation_id is not None:
            visitor.conversation_id = arrival.conversation_id
        if arrival.page is not None:
            self._count_view(arrival.tenant, visitor, arrival.page)
        return visitor, new

    async def view_page(self, tenant: str, contact_id: str, page: PageView) -> OnlineVisitor | None:
        visitor = self._visitors.get(tenant, {}).get(contact_id)
        if visitor is not None:
            self._count_view(tenant, visitor, page)
        return visitor

    async def leave(self, tenant: str, contact_id: str, sid: str) -> bool:
        visitor = self._visitors.get(tenant, {}).get(contact_id)
        if visitor is None or sid not in visitor.sids:
            return False
        visitor.sids.discard(sid)
        if visitor.sids:
            return False
        visitor.left_at = time.monotonic()
        return True

    async def expire(self, tenant: str, contact_id: str, left_before: float) -> bool:
        visitors = self._visitors.get(tenant, {})
        visitor = visitors.get(contact_id)
        if visitor is None or visitor.left_at is None or visitor.left_at > left_before:
            return False
        del visitors[contact_id]
        if not visitors:
            del self._visitors[tenant]
        self._invitations.pop((tenant, contact_id), None)
        return True

    async def get(self, tenant: str, contact_id: str) -> OnlineVisitor | None:
        return self._visitors.get(tenant, {}).get(contact_id)

    async def set_conversation(
        self, tenant: str, contact_id: str, conversation_id: str | None
    ) -> None:
        visitor = self._visitors.get(tenant, {}).get(contact_id)
        if visitor is not None:
            visitor.conversation_id = conversation_id

    async def rename(self, tenant: str, contact_id: str, name: str) -> None:
        visitor = self._visitors.get(tenant, {}).get(contact_id)
        if visitor is not None:
            visitor.name = name

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
        visitors = self._visitors.get(tenant, {})
        needle = query.casefold()
        matching = [
            visitor
            for visitor in visitors.values()
            if (status is None or visitor.status == status)
            and (device is None or visitor.device == device)
            and (not needle or _matches(visitor, needle))
        ]
        matching.sort(key=lambda v: (v.arrived_at, v.contact_id), reverse=True)
        return Listing(matching[offset : offset + limit], len(matching), len(visitors))

    async def count(self, tenant: str) -> int:
        return len(self._visitors.get(tenant, {}))

    async def today(self, tenant: str, day: str) -> Today:
        today = self._today.get(tenant)
        return today if today is not None and today.day == day else Today(day)

    async def add_invitation(self, invitation: Invitation) -> None:
        self._invitations[(invitation.tenant, invitation.contact_id)] = invitation
        visitor = self._visitors.get(invitation.tenant, {}).get(invitation.contact_id)
        if visitor is not None:
            visitor.invited += 1

    async def pending_invitation(self, tenant: str, contact_id: str) -> Invitation | None:
        return self._invitations.get((tenant, contact_id))

    async def take_invitation(
        self, tenant: str, contact_id: str, invitation_id: str, *, refused: bool
    ) -> Invitation | None:
        invitation = self._invitations.get((tenant, contact_id))
        if invitation is None or invitation.id != invitation_id:
            return None
        del self._invitations[(tenant, contact_id)]
        visitor = self._visitors.get(tenant, {}).get(contact_id)
        if visitor is not None and refused:
            visitor.refused += 1
        return invitation


def _matches(visitor: OnlineVisitor, needle: str) -> bool:
    page = visitor.page
    fields = [visitor.name, visitor.ip, visitor.region, visitor.contact_id]
    if page is not None:
        fields += [page.url, page.title]
    return any(needle in value.casefold() for value in fields)
