"""The `/im` namespace (any staff) and the fan-out of IM events to it.

Every socket of a person joins that person's room; an event of a thread is emitted to the
rooms of the thread's members as of the write that caused it, so nobody outside a thread
receives its messages, and every tab of a member stays in step. With the Redis client
manager the rooms span the nodes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import socketio

from hub.actions.agents import signed_in_agent
from hub.bus import EventBus
from hub.context import Hub
from hub.domain import Agent
from hub.errors import HubError, Unauthorized
from hub.events import AgentSignedOut
from hub.im.actions import do_read, do_send, read_history, relay_typing, thread_view_from
from hub.im.events import ImMessageCreated, ImRead, ImThreadChanged, ImTyping
from hub.realtime.guard import dispatch
from hub.realtime.server import acked, error_ack, payload
from hub.security import AgentClaims
from hub.throttle import Throttle, rate_limited

IM_NS = "/im"


def person_room(tenant: str, agent_id: str) -> str:
    """Every /im socket of one person."""
    return f"im:{tenant}:{agent_id}"


class ImNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub) -> None:
        super().__init__(IM_NS)
        self.hub = hub
        self.agents: dict[str, Agent] = {}
        # Checked again at every event, so a revoked token takes effect at once.
        self.claims: dict[str, AgentClaims] = {}
        self.sockets: dict[tuple[str, str], set[str]] = defaultdict(set)
        # Far above anyone typing or pasting: a stop for a runaway script that would flood
        # every member of a big group (settings im_messages_per_minute, on this node).
        self.message_limit = Throttle(hub.settings.im_messages_per_minute, 60.0)
        hub.bus.subscribe(AgentSignedOut, self._signed_out)

    def online(self, tenant: str, agent_id: str) -> bool:
        return bool(self.sockets.get((tenant, agent_id)))

    async def _signed_out(self, event: AgentSignedOut) -> None:
        for sid in list(self.sockets.get((event.agent.tenant, event.agent.id), ())):
            await self.disconnect(sid)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self.hub.tokens.read_agent_token(token)
            agent = await signed_in_agent(self.hub, claims)
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        self.agents[sid], self.claims[sid] = agent, claims
        self.sockets[(agent.tenant, agent.id)].add(sid)
        await self.enter_room(sid, person_room(agent.tenant, agent.id))

    async def on_disconnect(self, sid: str, *_: object) -> None:
        agent = self.agents.pop(sid, None)
        self.claims.pop(sid, None)
        if agent is not None:
            key = (agent.tenant, agent.id)
            self.sockets[key].discard(sid)
            if not self.sockets[key]:
                del self.sockets[key]

    def _agent(self, sid: str) -> Agent:
        agent = self.agents.get(sid)
        if agent is None:
            raise Unauthorized("not signed in", code="not_connected")
        return agent

    @acked
    async def on_message(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        agent = self._agent(sid)
        key = (agent.tenant, agent.id)
        if self.message_limit.exceeded(key):
            raise rate_limited(
                "too many messages: wait a moment", self.message_limit.retry_after(key)
            )
        self.message_limit.record(key)
        message = await do_send(
            self.hub,
            agent,
            body.get("thread_id"),
            client_id=body.get("client_id"),
            text=body.get("text"),
            attachments=body.get("attachments"),
            mentions=body.get("mentions"),
            quote_seq=body.get("quote_seq"),
            consult=body.get("consult"),
            origin=sid,
        )
        return {"message": message.public()}

    @acked
    async def on_sync(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        messages = await read_history(
            self.hub,
            self._agent(sid),
            body.get("thread_id"),
            after_seq=body.get("after_seq", 0),
            before_seq=body.get("before_seq"),
            limit=body.get("limit"),
        )
        return {"messages": [m.public() for m in messages]}

    @acked
    async def on_read(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        seq = await do_read(self.hub, self._agent(sid), body.get("thread_id"), body.get("seq"))
        return {"seq": seq}

    @acked
    async def on_typing(self, sid: str, data: object = None) -> dict[str, Any]:
        body = payload(data)
        await relay_typing(
            self.hub, self._agent(sid), body.get("thread_id"), body.get("on"), origin=sid
        )
        return {}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # Reserved names, invalid text and the shutdown drain first (hub/realtime/guard.py).
        return await dispatch(self.hub, self, event, args, self._dispatch)

    async def _dispatch(self, event: str, *args: Any) -> Any:
        if args and event not in ("connect", "disconnect"):
            claims = self.claims.get(args[0])
            if claims is not None:
                try:
                    self.agents[args[0]] = await signed_in_agent(self.hub, claims)
                except Unauthorized as exc:
                    self.hub.background.spawn(
                        self.disconnect(args[0]), name=f"im-revoked-{args[0]}"
                    )
                    return error_ack(exc)
        return await super().trigger_event(event.replace(".", "_"), *args)


class ImFanout:
    """The bus subscriber that turns IM events into `/im` server events."""

    def __init__(self, sio: socketio.AsyncServer, hub: Hub) -> None:
        self.sio = sio
        self.hub = hub

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ImMessageCreated, self.message_created)
        bus.subscribe(ImThreadChanged, self.thread_changed)
        bus.subscribe(ImRead, self.read)
        bus.subscribe(ImTyping, self.typing)

    async def _emit(self, event: str, data: Any, rooms: list[str], skip: str | None = None):
        if rooms:
            await self.sio.emit(event, data, to=rooms, namespace=IM_NS, skip_sid=skip)

    async def message_created(self, event: ImMessageCreated) -> None:
        thread = event.thread
        rooms = [person_room(thread.tenant, m) for m in thread.members]
        await self._emit("message", event.message.public(), rooms, skip=event.origin)

    async def _updated(self, thread: Any, viewers: list[str]) -> None:
        reads = await self.hub.store.im_reads_of_thread(thread.tenant, thread.id)
        for viewer in viewers:
            await self._emit(
                "thread.updated",
                {"thread": thread_view_from(thread, viewer, reads)},
                [person_room(thread.tenant, viewer)],
            )

    async def thread_changed(self, event: ImThreadChanged) -> None:
        thread = event.thread
        if not thread.dissolved:
            await self._updated(thread, list(thread.members))
        gone = [person_room(thread.tenant, m) for m in event.removed]
        await self._emit(
            "thread.removed", {"thread_id": thread.id, "dissolved": thread.dissolved}, gone
        )

    async def read(self, event: ImRead) -> None:
        thread = event.thread
        # The reader's other tabs clear the badge; in a direct chat the other side sees how
        # far it was read.
        viewers = list(thread.members) if thread.kind == "direct" else [event.agent_id]
        await self._updated(thread, viewers)

    async def typing(self, event: ImTyping) -> None:
        thread = event.thread
        rooms = [person_room(thread.tenant, m) for m in thread.members if m != event.agent_id]
        await self._emit(
            "typing",
            {
                "thread_id": thread.id,
                "agent_id": event.agent_id,
                "name": event.name,
                "on": event.on,
            },
            rooms,
        )
