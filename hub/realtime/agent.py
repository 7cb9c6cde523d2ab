"""The /agent namespace: the inbox's live connection."""

from __future__ import annotations

from typing import Any

import socketio

from hub.actions.access import Act, check_conversation
from hub.actions.agents import signed_in_agent
from hub.actions.conversations import do_close, do_take_over, do_transfer, relay_agent_typing
from hub.actions.delivery import do_retry_delivery
from hub.actions.messages import (
    check_after_seq,
    check_before_seq,
    check_limit,
    do_send_agent_message,
    read_messages,
)
from hub.actions.online import do_invite
from hub.actions.presence import agent_connected, agent_disconnected, do_set_presence
from hub.context import Hub
from hub.domain import Agent
from hub.errors import HubError, Invalid, Unauthorized
from hub.events import AgentSignedOut, AgentUpdated
from hub.realtime.guard import dispatch
from hub.realtime.rooms import AGENT_NS, admins_room, agent_room, staff_room, watch_room
from hub.realtime.server import acked, error_ack, payload
from hub.security import AgentClaims

# A reply's fields that only some channels have (checked by the conversation's connector).
CHANNEL_OPTIONS = ("subject", "cc")
# What a monitor socket (`auth: {token, monitor: true}`, the supervisor console) may do.
MONITOR_EVENTS = {"connect", "disconnect", "sync", "conversation.watch", "conversation.unwatch"}


class AgentNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub) -> None:
        super().__init__(AGENT_NS)
        self.hub = hub
        self.agents: dict[str, Agent] = {}
        # What each socket signed in with: checked again at every event, so a revoked token
        # or changed roles take effect at once, on whichever node the socket is.
        self.claims: dict[str, AgentClaims] = {}
        # Sockets opened with `monitor: true` (the supervisor console): they watch the
        # tenant but are not the agent being present, so they never touch presence or routing.
        self.monitors: set[str] = set()
        hub.bus.subscribe(AgentUpdated, self._agent_updated)
        hub.bus.subscribe(AgentSignedOut, self._agent_signed_out)

    def _sids_of(self, agent: Agent) -> list[str]:
        return [
            sid
            for sid, known in self.agents.items()
            if known.id == agent.id and known.tenant == agent.tenant
        ]

    async def _agent_updated(self, event: AgentUpdated) -> None:
        """Changed rights apply to this node's open sockets now (others at their next event)."""
        for sid in self._sids_of(event.agent):
            await self._refresh(sid)

    async def _agent_signed_out(self, event: AgentSignedOut) -> None:
        for sid in self._sids_of(event.agent):  # the inbox's tabs and the console's alike
            await self.disconnect(sid)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self.hub.tokens.read_agent_token(token)
            agent = await signed_in_agent(self.hub, claims)
            monitor = isinstance(auth, dict) and auth.get("monitor") is True
            if monitor and not agent.is_supervisor():
                raise HubError(
                    "monitor connections are for supervisors", code="supervisor_only", status=403
                )
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        self.agents[sid] = agent
        self.claims[sid] = claims
        if monitor:
            # Tenant-wide events only (presence, queue, conversation updates); not the
            # agent's own room, so the console never receives the agent's assignments. It
            # continues the agent's inbox session, though: moving from the inbox to the
            # console is not leaving.
            self.monitors.add(sid)
            await self._enter_tenant_rooms(sid, agent)
            await agent_connected(self.hub, agent, sid, console=True)
            return
        await self.enter_room(sid, agent_room(agent.tenant, agent.id))
        await self._enter_tenant_rooms(sid, agent)
        status = await agent_connected(self.hub, agent, sid)
        # The tab shows the presence the agent has (ready again after a reload, or as chosen
        # in another tab); sent before the connection's own answer, so it arrives first.
        await self.emit("presence", {"status": status}, to=sid)

    async def _enter_tenant_rooms(self, sid: str, agent: Agent) -> None:
        await self.enter_room(sid, staff_room(agent.tenant))
        if agent.is_admin():
            await self.enter_room(sid, admins_room(agent.tenant))

    async def on_disconnect(self, sid: str, *_: object) -> None:
        agent = self.agents.pop(sid, None)
        self.claims.pop(sid, None)
        self.monitors.discard(sid)
        if agent is not None:
            await agent_disconnected(self.hub, agent, sid)

    def _agent(self, sid: str) -> Agent:
        agent = self.agents.get(sid)
        if agent is None:
            raise Unauthorized("not signed in", code="not_connected")
        return agent

    @acked
    async def on_visitor_invite(self, sid: str, data: object = None) -> dict[str, Any]:
        """Invite an online visitor to chat (在线访客 → 邀请); `invitation.answered` follows."""
        body = payload(data)
        invitation = await do_invite(
            self.hub, self._agent(sid), body.get("contact_id"), body.get("text")
        )
        return {"invitation_id": invitation.id}

    @acked
    async def on_presence(self, sid: str, data: object = None) -> dict[str, Any]:
        status = await do_set_presence(self.hub, self._agent(sid), payload(data).get("status"))
        return {"status": status}

    @acked
    async def on_message(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        message = await do_send_agent_message(
            self.hub,
            self._agent(sid),
            body.get("conversation_id"),
            client_id=body.get("client_id"),
            text=body.get("text"),
            private=body.get("private") is True or body.get("type") == "note",
            attachments=body.get("attachments"),
            options={key: body[key] for key in CHANNEL_OPTIONS if key in body},
            origin_sid=sid,
        )
        return {"message": message.public()}

    @acked
    async def on_message_retry(self, sid: str, data: object = None) -> dict[str, Any]:
        """Send a failed message again (the inbox's "retry" on a failed reply)."""
        body = payload(data)
        message = await do_retry_delivery(
            self.hub, self._agent(sid), body.get("conversation_id"), body.get("message_id")
        )
        return {"message": message.public()}

    @acked
    async def on_sync(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        agent = self._agent(sid)
        conversation = await check_conversation(
            self.hub, agent, body.get("conversation_id"), Act.READ
        )
        messages = await read_messages(
            self.hub,
            conversation,
            after_seq=check_after_seq(body.get("after_seq", 0)),
            before_seq=check_before_seq(body.get("before_seq")),
            limit=check_limit(body.get("limit")),
            include_notes=True,
        )
        return {"messages": [m.public() for m in messages]}

    @acked
    async def on_typing(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        await relay_agent_typing(
            self.hub, self._agent(sid), body.get("conversation_id"), body.get("on")
        )
        return {}

    @acked
    async def on_conversation_close(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        conversation = await do_close(
            self.hub, self._agent(sid), body.get("conversation_id"), summary=body.get("summary", "")
        )
        return {"conversation": conversation.public()}

    @acked
    async def on_conversation_transfer(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        conversation = await do_transfer(
            self.hub,
            self._agent(sid),
            body.get("conversation_id"),
            agent_id=body.get("agent_id"),
            skill=body.get("skill"),
            note=body.get("note"),
        )
        return {"conversation": conversation.public()}

    @acked
    async def on_conversation_watch(self, sid: str, data: object = None) -> dict[str, Any]:
        """Supervisors follow any conversation read-only."""
        body = payload(data)
        agent = self._agent(sid)
        conversation = await check_conversation(
            self.hub, agent, body.get("conversation_id"), Act.WATCH
        )
        await self.enter_room(sid, watch_room(agent.tenant, conversation.id))
        return {}

    @acked
    async def on_conversation_unwatch(self, sid: str, data: object = None) -> dict[str, Any]:
        """Stop following a conversation (the supervisor opened another one)."""
        body = payload(data)
        conversation_id = body.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise Invalid("conversation_id must be a string", code="invalid_conversation_id")
        await self.leave_room(sid, watch_room(self._agent(sid).tenant, conversation_id))
        return {}

    @acked
    async def on_conversation_take_over(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        conversation = await do_take_over(self.hub, self._agent(sid), body.get("conversation_id"))
        return {"conversation": conversation.public()}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Reserved names, invalid text and the shutdown drain first (hub/realtime/guard.py).
        return await dispatch(self.hub, self, event, args, self._dispatch)

    async def _refresh(self, sid: str) -> HubError | None:
        """The socket's agent as stored now; an error if its token no longer holds (the
        socket is then closed once this event is answered)."""
        claims = self.claims.get(sid)
        if claims is None:
            return None  # not signed in: the handler says so
        try:
            agent = await signed_in_agent(self.hub, claims)
        except Unauthorized as exc:
            self.hub.background.spawn(self.disconnect(sid), name=f"revoked-{sid}")
            return exc
        before = self.agents.get(sid)
        self.agents[sid] = agent
        if before is not None and before.is_admin() != agent.is_admin():
            room = admins_room(agent.tenant)
            await (self.enter_room(sid, room) if agent.is_admin() else self.leave_room(sid, room))
        return None

    async def _dispatch(self, event: str, *args: Any) -> Any:
        if args and event not in ("connect", "disconnect"):
            refused = await self._refresh(args[0])
            if refused is not None:
                return error_ack(refused)
        if args and args[0] in self.monitors and event not in MONITOR_EVENTS:
            # A monitor socket only reads: acting from it (presence above all) would make the
            # agent look present to routing. An allow-list, so new events are refused too.
            return error_ack(
                HubError(
                    "a monitor connection only watches; use the inbox to act",
                    code="monitor_only",
                    status=403,
                )
            )
        # Dotted event names ("conversation.close") map to on_conversation_close.
        return await super().trigger_event(event.replace(".", "_"), *args)
