"""Static pages: the demo host page, the widget loader, the chat frame and the agent inbox."""

from __future__ import annotations

import pathlib

from aiohttp import web

_NO_CACHE = {"Cache-Control": "no-cache"}


def add_static_routes(app: web.Application, widget_dir: pathlib.Path) -> None:
    """Serve everything under `widget_dir`; HTML entry points get friendly URLs."""
    widget_dir = widget_dir.resolve()

    def page(relative: str):
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(widget_dir / relative, headers=_NO_CACHE)

        return handler

    async def agent_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/agent/")

    app.router.add_get("/", page("demo.html"))
    app.router.add_get("/widget.js", page("widget.js"))
    app.router.add_get("/chat", page("chat.html"))
    app.router.add_get("/agent", agent_redirect)
    app.router.add_get("/agent/", page("agent/index.html"))
    app.router.add_get("/agent/console", page("agent/console.html"))
    app.router.add_static("/static/", widget_dir, show_index=False, follow_symlinks=False)
