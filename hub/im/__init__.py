"""Enterprise IM (企业IM): staff find colleagues by department and chat directly and in
groups, on the same store, realtime layer and guarantees as customer messages.

model.py records · actions.py the only code that writes IM state · events.py what the
actions publish · realtime.py the `/im` namespace and its fan-out · api.py REST views."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports hub.im.model, so this package imports nothing heavy
    import socketio
    from aiohttp import web

    from hub.context import Hub


def install_im(app: web.Application, sio: socketio.AsyncServer, hub: Hub) -> None:
    """The `/im` namespace, its fan-out on the bus and the REST routes."""
    from hub.im.api import ONLINE, routes
    from hub.im.realtime import ImFanout, ImNamespace

    namespace = ImNamespace(hub)
    sio.register_namespace(namespace)
    ImFanout(sio, hub).subscribe(hub.bus)
    app[ONLINE] = namespace.online
    app.router.add_routes(routes)
