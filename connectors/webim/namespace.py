"""The /visitor namespace: the widget's side of the socket protocol (docs/protocol.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import socketio

from connectors.webim.details import visitor_details
from hub.actions.conversations import do_rate, relay_customer_typing
from hub.actions.messages import (
    OpenConversationHint,
    check_after_seq,
    check_attachments,
    check_before_seq,
    check_limit,
    check_text,
    read_messages,
    receive_inbound,
    type_for,
)
from hub.actions.online import (
    check_page,
    conversation_seen,
    do_answer_invitation,
    page_viewed,
    pending_invitation,
    visitor_arrived,
    visitor_socket_closed,
)
from hub.actions.uploads import check_attachment_owners
from hub.actions.visitors import (
    start_visitor_session,
    update_visitor_profile,
    visitor_history,
    visitor_view,
)
from hub.channels import InboundMessage
from hub.context import Hub
from hub.domain import (
    Channel,
    Conversation,
    ConversationStatus,
    Identity,
    UploaderType,
    new_id,
)
from hub.errors import HubError, Invalid, NotFound, Unauthorized
from hub.events import (
    ContactUpdated,
    ConversationClosed,
    ConversationOpened,
    InvitationSent,
    TenantSuspended,
)
from hub.online.base import Arrival, PageView
from hub.realtime.guard import dispatch
from hub.realtime.rooms import VISITOR_NS, visitor_room
from hub.realtime.server import acked, error_ack, payload

MAX_SKILL = 64
WEBIM = Channel.WEBIM.value
# What the loader's socket (`auth.browse: true`, one per page view) may do: report where
# the visitor is and answer invitations; chatting is the chat frame's.
BROWSE_EVENTS = frozenset(
    {"connect", "disconnect", "page", "invitation.accept", "invitation.refuse"}
)


@dataclass(slots=True)
class VisitorSocket:
    tenant: str
    contact_id: str
    contact_name: str
    skill: str | None
    # The open conversation as this tab last saw it: a hint for the next message, which the
    # store checks (hub.actions.messages.OpenConversationHint).
    conversation_id: str | None = None
    browse: bool = False  # the loader's page-view socket, not a chat frame


class VisitorNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub) -> None:
        super().__init__(VISITOR_NS)
        self.hub = hub
        self.visitors: dict[str, VisitorSocket] = {}
        self.tabs: Counter[tuple[str, str]] = Counter()  # open sockets per (tenant, contact)
        # Tenants known to exist: a page view must not cost a read to learn it again.
        self.known_tenants: set[str] = set()
        hub.bus.subscribe(ContactUpdated, self._contact_updated)
        hub.bus.subscribe(TenantSuspended, self._tenant_suspended)
        hub.bus.subscribe(ConversationOpened, self._conversation_opened)
        hub.bus.subscribe(ConversationClosed, self._conversation_closed)
        hub.bus.subscribe(InvitationSent, self._invitation_sent)

    async def _tenant_suspended(self, event: TenantSuspended) -> None:
        """A suspended tenant's visitors are let go (a reconnect is refused meanwhile)."""
        if event.suspended:
            for sid, visitor in list(self.visitors.items()):
                if visitor.tenant == event.tenant_id:
                    await self.disconnect(sid)

    async def _conversation_opened(self, event: ConversationOpened) -> None:
        conversation = event.conversation
        if conversation.channel == WEBIM:
            await conversation_seen(
                self.hub, conversation.tenant, conversation.contact_id, conversation.id
            )

    async def _conversation_closed(self, event: ConversationClosed) -> None:
        conversation = event.conversation
        if conversation.channel == WEBIM:
            await conversation_seen(self.hub, conversation.tenant, conversation.contact_id, None)

    async def _invitation_sent(self, event: InvitationSent) -> None:
        """To the visitor's sockets as the online list knows them: the loaders' sockets join
        no room of their own, since python-socketio's disconnect looks through every room
        of the namespace (docs/benchmarks.md, "Online visitors")."""
        visitor = await self.hub.online.get(event.tenant_id, event.contact_id)
        if visitor is None or not visitor.sids:
            return
        await self.emit(
            "invitation",
            _invitation_view(
                event.invitation_id, event.agent_id, event.agent_name, event.text, event.style
            ),
            to=sorted(visitor.sids),
        )

    async def _contact_updated(self, event: ContactUpdated) -> None:
        """A renamed contact's next messages carry the new name. A contact merged into
        another: its open tabs hear the other's events too (their conversations moved
        there), and its messages go there."""
        contact = event.contact
        for sid, visitor in list(self.visitors.items()):
            if visitor.contact_id != contact.id or visitor.tenant != contact.tenant:
                continue
            if visitor.browse:
                continue  # a page view's socket is in no visitor room; the next page follows
            if contact.merged_into is not None:
                await self.enter_room(sid, visitor_room(contact.tenant, contact.merged_into))
                visitor.conversation_id = None  # found again through the moved identity
            else:
                visitor.contact_name = contact.name

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        tenant = auth.get("tenant")
        skill = auth.get("skill")
        try:
            if not isinstance(tenant, str) or not tenant:
                raise Invalid("auth.tenant is required", code="tenant_required")
            if skill is not None and (
                not isinstance(skill, str) or not 0 < len(skill) <= MAX_SKILL
            ):
                raise Invalid("auth.skill must be a short string", code="invalid_skill")
            if auth.get("browse") is True:
                await self._connect_browsing(sid, environ, auth, tenant, skill)
                return
            first_tab = True
            token = auth.get("visitor_token")
            if isinstance(token, str):
                try:
                    claims = self.hub.tokens.read_visitor_token(token)
                    first_tab = not self.tabs[(claims.tenant, claims.contact_id)]
                except Unauthorized:
                    pass
            contact, conversation, visitor_token = await start_visitor_session(
                self.hub,
                tenant,
                visitor_token=token,
                name=auth.get("name"),
                details=visitor_details(environ, auth.get("page"), self.hub.settings),
                first_tab=first_tab,
            )
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        self.visitors[sid] = VisitorSocket(
            tenant, contact.id, contact.name, skill, conversation.id if conversation else None
        )
        self.tabs[(tenant, contact.id)] += 1
        await self.enter_room(sid, visitor_room(tenant, contact.id))
        details = visitor_details(environ, None, self.hub.settings)
        await visitor_arrived(
            self.hub,
            _arrival(tenant, contact.id, contact.name, sid, details, None, conversation),
        )
        await self.emit(
            "session",
            {
                "visitor_token": visitor_token,
                "contact_id": contact.id,
                "conversation": conversation.public() if conversation else None,
            },
            to=sid,
        )
        if conversation is not None:
            await self._send_status(sid, conversation)

    async def _connect_browsing(
        self,
        sid: str,
        environ: dict[str, Any],
        auth: dict[str, Any],
        tenant: str,
        skill: str | None,
    ) -> None:
        """A page view from the loader: the visitor is listed online, and nothing is written
        (a visitor who only browses gets a token naming a contact made if they ever chat).
        Refusals (an unknown tenant, a page too large) end the connection with their reason."""
        try:
            page = check_page(auth.get("page"), tenant)
            if tenant not in self.known_tenants:
                if await self.hub.store.get_tenant(tenant) is None:
                    raise NotFound("no such tenant", code="tenant_not_found")
                self.known_tenants.add(tenant)
            contact_id, name = await self._browsing_visitor(tenant, auth.get("visitor_token"))
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        self.visitors[sid] = VisitorSocket(tenant, contact_id, name, skill, browse=True)
        details = visitor_details(environ, None, self.hub.settings)
        await visitor_arrived(self.hub, _arrival(tenant, contact_id, name, sid, details, page))
        await self.emit(
            "session",
            {
                "visitor_token": self.hub.tokens.visitor_token(tenant, contact_id),
                "contact_id": contact_id,
            },
            to=sid,
        )
        pending = await pending_invitation(self.hub, tenant, contact_id)
        if pending is not None:  # sent while the visitor moved to this page
            await self.emit(
                "invitation",
                _invitation_view(
                    pending.id, pending.agent_id, pending.agent_name, pending.text, pending.style
                ),
                to=sid,
            )

    async def _browsing_visitor(self, tenant: str, token: object) -> tuple[str, str]:
        """(contact id, name) of the visitor a token names, or of a new one. The name comes
        from the online list when the visitor is on it (the usual case: the site's previous
        page), so a page view reads nothing."""
        try:
            claims = self.hub.tokens.read_visitor_token(token)
        except Unauthorized:
            claims = None
        if claims is None or claims.tenant != tenant:
            contact_id = new_id()
            return contact_id, f"Visitor {contact_id[:6]}"
        online = await self.hub.online.get(tenant, claims.contact_id)
        if online is not None:
            return online.contact_id, online.name
        contact = await self.hub.store.get_contact(tenant, claims.contact_id)
        if contact is not None and contact.merged_into is None:
            return contact.id, contact.name
        if contact is not None:  # merged: the chat frame follows the merge, the list too
            return contact.merged_into or contact.id, contact.name
        return claims.contact_id, f"Visitor {claims.contact_id[:6]}"

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Reserved names, invalid text, the visitor limits and the shutdown drain first
        # (hub/realtime/guard.py).
        visitor = self.visitors.get(args[0]) if args else None
        if visitor is not None and visitor.browse and event not in BROWSE_EVENTS:
            return error_ack(
                Invalid(
                    "this socket reports page views; chat in the chat frame", code="browse_only"
                )
            )
        return await dispatch(self.hub, self, event, args, self._dotted, visitor=True)

    async def _dotted(self, event: str, *args: Any) -> Any:
        # Dotted event names ("invitation.accept") map to on_invitation_accept.
        return await super().trigger_event(event.replace(".", "_"), *args)

    async def _send_status(self, sid: str, conversation: Conversation) -> None:
        """Where the resumed conversation stands, for the tab that just connected."""
        status: dict[str, Any] = {"conversation_id": conversation.id, "status": conversation.status}
        if conversation.status == ConversationStatus.QUEUED.value:
            position = await self.hub.acd.position(conversation.tenant, conversation.id)
            if position is not None:
                status["queue_position"] = position
        elif conversation.status == ConversationStatus.ASSIGNED.value and conversation.agent_id:
            agent = await self.hub.store.get_agent(conversation.tenant, conversation.agent_id)
            status["agent"] = {"id": conversation.agent_id, "name": agent.name if agent else ""}
        await self.emit("conversation.status", status, to=sid)

    async def on_disconnect(self, sid: str, *_: object) -> None:
        visitor = self.visitors.pop(sid, None)
        if visitor is not None:
            await visitor_socket_closed(self.hub, visitor.tenant, visitor.contact_id, sid)
        if visitor is not None and not visitor.browse:
            key = (visitor.tenant, visitor.contact_id)
            self.tabs[key] -= 1
            if self.tabs[key] <= 0:
                del self.tabs[key]

    def _visitor(self, sid: str) -> VisitorSocket:
        visitor = self.visitors.get(sid)
        if visitor is None:
            raise Unauthorized("not connected", code="not_connected")
        return visitor

    @acked
    async def on_message(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        visitor = self._visitor(sid)
        attachments = await check_attachment_owners(
            self.hub,
            visitor.tenant,
            check_attachments(body.get("attachments")),
            sender_type=UploaderType.CONTACT.value,
            sender_id=visitor.contact_id,
        )
        text = check_text(
            self.hub, body.get("text", "" if attachments else None), allow_empty=bool(attachments)
        )
        hint = (
            OpenConversationHint(visitor.conversation_id, visitor.contact_id)
            if visitor.conversation_id
            else None
        )
        received = await receive_inbound(
            self.hub,
            InboundMessage(
                tenant=visitor.tenant,
                channel=WEBIM,
                identity=Identity(WEBIM, visitor.contact_id),
                text=text,
                type=type_for(attachments),
                attachments=attachments,
                client_id=body.get("client_id"),
                contact_name=visitor.contact_name,
                skill=visitor.skill,
            ),
            hint=hint,
            origin=sid,
        )
        if visitor.conversation_id != received.conversation.id:
            visitor.conversation_id = received.conversation.id
            await conversation_seen(
                self.hub, visitor.tenant, visitor.contact_id, received.conversation.id
            )
        return {"message": received.public}

    @acked
    async def on_sync(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        visitor = self._visitor(sid)
        conversation_id = body.get("conversation_id")
        if not isinstance(conversation_id, str):
            raise Invalid("conversation_id must be a string", code="invalid_conversation_id")
        conversation = await self.hub.store.get_conversation(visitor.tenant, conversation_id)
        # Another visitor's conversation is answered exactly like a missing one.
        if conversation is None or conversation.contact_id != visitor.contact_id:
            raise NotFound("no such conversation", code="conversation_not_found")
        messages = await read_messages(
            self.hub,
            conversation,
            after_seq=check_after_seq(body.get("after_seq", 0)),
            before_seq=check_before_seq(body.get("before_seq")),
            limit=check_limit(body.get("limit")),
            include_notes=False,
        )
        return {"messages": [m.public() for m in messages]}

    @acked
    async def on_history(self, sid: str, data: object = None) -> dict[str, Any]:
        """The visitor's earlier conversations, read-only, a page at a time."""
        visitor = self._visitor(sid)
        return await visitor_history(
            self.hub,
            visitor.tenant,
            visitor.contact_id,
            payload(data).get("before_conversation"),
        )

    @acked
    async def on_typing(self, sid: str, data: object = None) -> dict[str, Any]:
        visitor = self._visitor(sid)
        await relay_customer_typing(
            self.hub, visitor.tenant, visitor.contact_id, payload(data).get("on"), channel=WEBIM
        )
        return {}

    @acked
    async def on_rate(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        visitor = self._visitor(sid)
        conversation = await do_rate(
            self.hub,
            visitor.tenant,
            visitor.contact_id,
            body.get("conversation_id"),
            score=body.get("score"),
            comment=body.get("comment", ""),
        )
        return {"conversation_id": conversation.id}

    @acked
    async def on_profile(self, sid: str, data: object = None) -> dict[str, Any]:
        """The pre-chat form's answers (name, phone, email) saved on the visitor's contact."""
        visitor = self._visitor(sid)
        contact = await update_visitor_profile(
            self.hub, visitor.tenant, visitor.contact_id, payload(data)
        )
        return {"contact": visitor_view(contact)}

    @acked
    async def on_page(self, sid: str, data: object = None) -> dict[str, Any]:
        """A page view without a new socket (a single-page site's navigation)."""
        visitor = self._visitor(sid)
        page = check_page(payload(data), visitor.tenant)
        self.hub.online_limits.page_view(sid)
        await page_viewed(self.hub, visitor.tenant, visitor.contact_id, page)
        return {}

    @acked
    async def on_invitation_accept(self, sid: str, data: object = None) -> dict[str, Any]:
        visitor = self._visitor(sid)
        conversation = await do_answer_invitation(
            self.hub,
            visitor.tenant,
            visitor.contact_id,
            payload(data).get("invitation_id"),
            accept=True,
            name=visitor.contact_name,
            skill=visitor.skill,
        )
        assert conversation is not None
        if not visitor.browse:
            visitor.conversation_id = conversation.id
        return {"conversation": conversation.public()}

    @acked
    async def on_invitation_refuse(self, sid: str, data: object = None) -> dict[str, Any]:
        visitor = self._visitor(sid)
        await do_answer_invitation(
            self.hub,
            visitor.tenant,
            visitor.contact_id,
            payload(data).get("invitation_id"),
            accept=False,
            name=visitor.contact_name,
        )
        return {}


def _invitation_view(
    invitation_id: str, agent_id: str | None, agent_name: str, text: str, style: dict[str, Any]
) -> dict[str, Any]:
    """The `invitation` event: `agent` is null for one sent by the auto-invite rules."""
    return {
        "invitation_id": invitation_id,
        "agent": {"id": agent_id, "name": agent_name} if agent_id else None,
        "text": text,
        "style": style,
    }


def _arrival(
    tenant: str,
    contact_id: str,
    name: str,
    sid: str,
    details: dict[str, Any],
    page: PageView | None,
    conversation: Conversation | None = None,
) -> Arrival:
    return Arrival(
        tenant=tenant,
        contact_id=contact_id,
        name=name,
        sid=sid,
        ip=details.get("ip", ""),
        region="" if details.get("region") == "unknown" else details.get("region", ""),
        device=details.get("device", ""),
        os=details.get("os", ""),
        browser=details.get("browser", ""),
        page=page,
        conversation_id=conversation.id if conversation else None,
    )
