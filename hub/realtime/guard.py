"""What every client event passes before a handler runs, on every namespace: reserved event
names, the text check (hub/boundary.py), the visitor limits (hub/throttle.py) and the drain
at shutdown. The namespaces' `trigger_event` hooks (python-socketio's public dispatch
point) call `SocketGate.dispatch`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import socketio

from connectors.webim.details import client_ip
from hub.boundary import check_value, repair_environ
from hub.errors import HubError, Invalid, Unauthorized
from hub.realtime.packet import UNREADABLE_EVENT
from hub.realtime.server import error_ack
from hub.security import Tokens
from hub.throttle import VisitorLimits

# python-socketio calls handlers by these names itself (connect, disconnect) or keeps them for
# its own signalling; a client emitting one would run a handler with arguments it chose.
RESERVED_EVENTS = frozenset(
    {"connect", "disconnect", "connect_error"}
    | set(socketio.AsyncServer.reserved_events)
    | set(socketio.AsyncClient.reserved_events)
)

Dispatch = Callable[..., Awaitable[Any]]


class SocketGate:
    def __init__(
        self, limits: VisitorLimits, tokens: Tokens, trusted_proxies: tuple[str, ...]
    ) -> None:
        self.limits = limits
        self.tokens = tokens
        self.trusted_proxies = trusted_proxies
        self.stopping = False
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._visitor_addresses: dict[str, str] = {}  # visitor socket sid -> address

    async def dispatch(
        self,
        namespace: socketio.AsyncNamespace,
        event: object,
        args: tuple[Any, ...],
        handler: Dispatch,
        *,
        visitor: bool = False,
    ) -> Any:
        if not isinstance(event, str):
            return error_ack(Invalid("an event name is a string", code="invalid_event"))
        sid = args[0]
        if event in RESERVED_EVENTS:
            # python-socketio marks a socket connected only after its connect handler and
            # not connected any more before its disconnect handler: a reserved event that
            # arrives while connected came from the client.
            if namespace.server.manager.is_connected(sid, namespace.namespace):
                return error_ack(
                    Invalid(f"{event} is a reserved event name", code="reserved_event")
                )
            if event == "connect":
                return await self._connect(handler, args, visitor=visitor)
            if visitor:
                self._visitor_left(sid)
            return await handler(event, *args)
        if event == UNREADABLE_EVENT:
            problem = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
            return error_ack(
                Invalid(
                    str(problem.get("message", "the event is not valid JSON")),
                    code=str(problem.get("code", "invalid_json")),
                )
            )
        # The agent namespace maps dotted names ("conversation.close") to on_conversation_close.
        if not hasattr(namespace, "on_" + event.replace(".", "_")):
            return error_ack(Invalid(f"there is no event {event[:64]!r}", code="unknown_event"))
        try:
            check_value(list(args[1:]), "the event payload")
            if self.stopping:
                raise HubError("the hub is restarting; reconnect", code="shutting_down", status=503)
            if visitor and event == "message":
                visitor_socket = getattr(namespace, "visitors", {}).get(sid)
                address = self._visitor_addresses.get(sid, "")
                if visitor_socket is not None:
                    self.limits.message((visitor_socket.tenant, visitor_socket.contact_id), address)
        except HubError as exc:
            return error_ack(exc)
        with self.in_flight():
            return await handler(event, *args)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request or event being handled, for the drain at shutdown."""
        self._in_flight += 1
        self._drained.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._drained.set()

    async def _connect(self, handler: Dispatch, args: tuple[Any, ...], *, visitor: bool) -> Any:
        sid, environ, *rest = args
        auth = rest[0] if rest else None
        try:
            if self.stopping:
                raise HubError("the hub is restarting; reconnect", code="shutting_down", status=503)
            if isinstance(auth, dict) and isinstance(problem := auth.get(UNREADABLE_EVENT), dict):
                raise Invalid(str(problem.get("message")), code=str(problem.get("code")))
            check_value(auth, "auth")
            environ = repair_environ(environ)
            if not visitor:
                return await handler("connect", sid, environ, *rest)
            address = client_ip(environ, self.trusted_proxies)
            new_contact = not self._returning_visitor(auth)
            self.limits.check_connect(address, new_contact=new_contact)
        except HubError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
        result = await handler("connect", sid, environ, *rest)
        self.limits.connected(address, new_contact=new_contact)
        self._visitor_addresses[sid] = address
        return result

    def _returning_visitor(self, auth: object) -> bool:
        """Whether the handshake carries a valid visitor token for its tenant (so it finds
        its contact instead of creating one)."""
        if not isinstance(auth, dict):
            return False
        try:
            claims = self.tokens.read_visitor_token(auth.get("visitor_token"))
        except Unauthorized:
            return False
        return claims.tenant == auth.get("tenant")

    def _visitor_left(self, sid: str) -> None:
        address = self._visitor_addresses.pop(sid, None)
        if address is not None:
            self.limits.disconnected(address)

    async def drain(self, timeout: float) -> None:
        """Refuse new events, connections and REST requests, then wait (up to `timeout`) for
        those being handled to be answered."""
        self.stopping = True
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            pass
