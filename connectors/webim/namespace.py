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
from hub.actions.uploads import check_attachment_owners
from hub.actions.visitors import (
    start_visitor_session,
    update_visitor_profile,
    visitor_history,
    visitor_view,
)
from hub.channels import InboundMessage
from hub.context import Hub
from hub.domain import Channel, Conversation, ConversationStatus, Identity, UploaderType
from hub.errors import HubError, Invalid, NotFound, Unauthorized
from hub.events import ContactUpdated, TenantSuspended
from hub.realtime.guard import dispatch
from hub.realtime.rooms import VISITOR_NS, visitor_room
from hub.realtime.server import acked, payload

MAX_SKILL = 64
WEBIM = Channel.WEBIM.value


@dataclass(slots=True)
class VisitorSocket:
    tenant: str
    contact_id: str
    contact_name: str
    skill: str | None
    # The open conversation as this tab last saw it: a hint for the next message, which the
    # store checks (hub.actions.messages.OpenConversationHint).
    conversation_id: str | None = None


class VisitorNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub) -> None:
        super().__init__(VISITOR_NS)
        self.hub = hub
        self.visitors: dict[str, VisitorSocket] = {}
        self.tabs: Counter[tuple[str, str]] = Counter()  # open sockets per (tenant, contact)
        hub.bus.subscribe(ContactUpdated, self._contact_updated)
        hub.bus.subscribe(TenantSuspended, self._tenant_suspended)

    async def _tenant_suspended(self, event: TenantSuspended) -> None:
        """A suspended tenant's visitors are let go (a reconnect is refused meanwhile)."""
        if event.suspended:
            for sid, visitor in list(self.visitors.items()):
                if visitor.tenant == event.tenant_id:
                    await self.disconnect(sid)

    async def _contact_updated(self, event: ContactUpdated) -> None:
        """A renamed contact's next messages carry the new name. A contact merged into
        another: its open tabs hear the other's events too (their conversations moved
        there), and its messages go there."""
        contact = event.contact
        for sid, visitor in list(self.visitors.items()):
            if visitor.contact_id != contact.id or visitor.tenant != contact.tenant:
                continue
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

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Reserved names, invalid text, the visitor limits and the shutdown drain first
        # (hub/realtime/guard.py).
        return await dispatch(self.hub, self, event, args, super().trigger_event, visitor=True)

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
        visitor.conversation_id = received.conversation.id
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
