"""What every client event passes before a handler runs, on every namespace: reserved event
names, unknown events, the text check (hub/boundary.py), the visitor limits
(hub/throttle.py) and the drain at shutdown. The namespaces' `trigger_event` hooks
(python-socketio's public dispatch point) call `dispatch`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from hub.addresses import environ_address
from hub.boundary import check_value, repair_environ
from hub.context import Hub
from hub.errors import HubError, Invalid, RateLimited, Unauthorized
from hub.realtime.json_codec import UNREADABLE_EVENT, Unreadable
from hub.realtime.server import error_ack

# python-socketio calls handlers by these names itself (connect, disconnect) or keeps them for
# its own signalling; a client emitting one would run a handler with arguments it chose.
RESERVED_EVENTS = frozenset(
    {"connect", "disconnect", "connect_error"}
    | set(socketio.AsyncServer.reserved_events)
    | set(socketio.AsyncClient.reserved_events)
)

Dispatch = Callable[..., Awaitable[Any]]


async def dispatch(
    hub: Hub,
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
        # python-socketio marks a socket connected only after its connect handler and not
        # connected any more before its disconnect handler: a reserved event that arrives
        # while connected came from the client.
        if namespace.server.manager.is_connected(sid, namespace.namespace):
            return error_ack(Invalid(f"{event} is a reserved event name", code="reserved_event"))
        if event == "connect":
            return await _connect(hub, handler, args, visitor=visitor)
        if visitor:
            hub.visitor_limits.disconnected(sid)
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
        hub.drain.refuse_if_stopping()
        if visitor and event == "message":
            visitor_socket = getattr(namespace, "visitors", {}).get(sid)
            if visitor_socket is not None:
                hub.visitor_limits.message(
                    (visitor_socket.tenant, visitor_socket.contact_id),
                    hub.visitor_limits.address_of(sid),
                )
    except RateLimited as exc:
        if hub.visitor_limits.refused(sid):
            # After its ack (sent as this returns): answering a flood costs as much as it.
            namespace.server.start_background_task(namespace.disconnect, sid)
        return error_ack(exc)
    except HubError as exc:
        return error_ack(exc)
    with hub.drain.in_flight():
        return await handler(event, *args)


async def _connect(hub: Hub, handler: Dispatch, args: tuple[Any, ...], *, visitor: bool) -> Any:
    sid, environ, *rest = args
    auth = rest[0] if rest else None
    try:
        hub.drain.refuse_if_stopping()
        if isinstance(auth, Unreadable):
            raise Invalid(auth.problem["message"], code=auth.problem["code"])
        check_value(auth, "auth")
        environ = repair_environ(environ)
        if not visitor:
            return await handler("connect", sid, environ, *rest)
        address = environ_address(environ, hub.settings.trusted_proxies)
        new_contact = not _returning_visitor(hub, auth)
        hub.visitor_limits.check_connect(address, new_contact=new_contact)
    except HubError as exc:
        raise socketio.exceptions.ConnectionRefusedError(exc.body()) from exc
    result = await handler("connect", sid, environ, *rest)
    hub.visitor_limits.connected(sid, address, new_contact=new_contact)
    return result


def _returning_visitor(hub: Hub, auth: object) -> bool:
    """Whether the handshake carries a valid visitor token for its tenant (so it finds its
    contact instead of creating one)."""
    if not isinstance(auth, dict):
        return False
    try:
        claims = hub.tokens.read_visitor_token(auth.get("visitor_token"))
    except Unauthorized:
        return False
    return claims.tenant == auth.get("tenant")
