"""Security headers on every response, set just before it is sent (aiohttp's
on_response_prepare signal, so static files, errors and websocket upgrades get them too).

* The inbox, the console and every other page are never framed (frame-ancestors 'none',
  X-Frame-Options DENY), except by the hub's own pages where they embed one another (the
  console's widget preview: /static/...). The chat frame (/chat) is meant to be framed by the
  customer's site: by the origins in the tenant's widget setting `allowed_origins`, or by any
  site while that list is empty.
* A Content-Security-Policy allowing only this origin's scripts, styles and connections, so
  text that slipped into a page could not load or run anything; the demo host page at / is a
  stand-in for the customer's site and keeps its inline style.
* nosniff, a same-origin Referrer-Policy, and no version banner (aiohttp's Server header
  names itself and Python with their versions).
"""

from __future__ import annotations

from aiohttp import web

from hub.actions.workspace import widget_config
from hub.context import HUB
from hub.web_static import STATIC_ROUTE, page_name

SERVER_NAME = "omnihub"
_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# Pages told apart by their routes' names, not their paths, so that a hub mounted under a
# prefix (behind a reverse proxy) gets the same headers.
DEMO_PAGE = page_name("/")
CHAT_FRAME = page_name("/chat")
OWN_FRAMES = STATIC_ROUTE


async def chat_frame_ancestors(request: web.Request) -> str:
    tenant = request.query.get("tenant", "default")
    config = widget_config(await request.app[HUB].store.get_settings(tenant, "widget"))
    origins = config["allowed_origins"]
    return " ".join(["'self'", *origins]) if origins else "*"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = SERVER_NAME
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    route = request.match_info.route.name if request.match_info is not None else None
    if route == CHAT_FRAME:
        ancestors = await chat_frame_ancestors(request)
    elif route in (OWN_FRAMES, DEMO_PAGE):
        ancestors = "'self'"
        headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        ancestors = "'none'"
        headers["X-Frame-Options"] = "DENY"
    if route == DEMO_PAGE:
        headers["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    else:
        headers["Content-Security-Policy"] = f"{_POLICY}; frame-ancestors {ancestors}"


def add_header_signal(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
