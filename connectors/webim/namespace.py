"""The /visitor namespace: the widget's side of the socket protocol (shared/CONTRACT.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import socketio

from connectors.base import InboundMessage
from connectors.webim.details import visitor_details
from hub.actions.conversations import do_rate, relay_visitor_typing
from hub.actions.messages import (
    check_after_seq,
    check_attachments,
    check_before_seq,
    check_limit,
    read_messages,
    receive_inbound,
    type_for,
)
from hub.actions.routing import conversation_status_event
from hub.actions.visitors import start_visitor_session, update_visitor_profile, visitor_view
from hub.context import Hub
from hub.domain import Channel, ConversationStatus, Identity
from hub.errors import HubError, Invalid, NotFound, Unauthorized
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


class VisitorNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub) -> None:
        super().__init__(VISITOR_NS)
        self.hub = hub
        self.visitors: dict[str, VisitorSocket] = {}

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
            room_key = None
            token = auth.get("visitor_token")
            if isinstance(token, str):
                try:
                    claims = self.hub.tokens.read_visitor_token(token)
                    room_key = visitor_room(claims.tenant, claims.contact_id)
                except Unauthorized:
                    room_key = None
            first_tab = room_key is None or not self._room_has_members(room_key)
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
        self.visitors[sid] = VisitorSocket(tenant, contact.id, contact.name, skill)
        self.hub.contacts.attach(tenant, contact.id)
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
        return await self.hub.socket_gate.dispatch(
            self, event, args, super().trigger_event, visitor=True
        )

    def _room_has_members(self, room: str) -> bool:
        rooms = self.server.manager.rooms.get(VISITOR_NS, {})
        return bool(rooms.get(room))

    async def _send_status(self, sid: str, conversation: Any) -> None:
        extra: dict[str, Any] = {}
        agent_name = None
        if conversation.status == ConversationStatus.QUEUED.value:
            position = await self.hub.acd.position(conversation.tenant, conversation.id)
            if position is not None:
                extra["queue_position"] = position
        elif conversation.agent_id:
            agent = await self.hub.store.get_agent(conversation.tenant, conversation.agent_id)
            agent_name = agent.name if agent else None
        await self.emit(
            "conversation.status",
            conversation_status_event(conversation, agent_name=agent_name, **extra),
            to=sid,
        )

    async def on_disconnect(self, sid: str, *_: object) -> None:
        visitor = self.visitors.pop(sid, None)
        if visitor is not None:
            self.hub.contacts.detach(visitor.tenant, visitor.contact_id)

    def _visitor(self, sid: str) -> VisitorSocket:
        visitor = self.visitors.get(sid)
        if visitor is None:
            raise Unauthorized("not connected", code="not_connected")
        return visitor

    @acked
    async def on_message(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        visitor = self._visitor(sid)
        attachments = check_attachments(body.get("attachments"))
        received = await receive_inbound(
            self.hub,
            InboundMessage(
                tenant=visitor.tenant,
                channel=WEBIM,
                identity=Identity(WEBIM, visitor.contact_id),
                text=body.get("text", "" if attachments else None),  # type: ignore[arg-type]
                type=type_for(attachments),
                attachments=attachments,
                client_id=body.get("client_id"),
                contact_name=visitor.contact_name,
                skill=visitor.skill,
            ),
            contact_id=visitor.contact_id,
            origin_sid=sid,
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
    async def on_typing(self, sid: str, data: object = None) -> dict[str, Any]:
        visitor = self._visitor(sid)
        await relay_visitor_typing(
            self.hub, visitor.tenant, visitor.contact_id, payload(data).get("on")
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
