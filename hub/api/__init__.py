"""REST views: thin, they parse and authorise, then call hub.actions."""

from __future__ import annotations

from aiohttp import web

from hub.api import (
    agents,
    auth,
    channels,
    contacts,
    conversations,
    integrations,
    left_messages,
    monitor,
    openapi,
    reports,
    search,
    settings,
    tenants,
    uploads,
    visitors,
    workspace,
)

# Each module owns one `routes` table; add a module here to publish it.
API_MODULES = [
    auth,
    agents,
    settings,
    conversations,
    contacts,
    uploads,
    workspace,
    left_messages,
    search,
    monitor,
    reports,
    channels,
    integrations,
    tenants,
    openapi,
    visitors,
]


def add_api_routes(app: web.Application) -> None:
    for module in API_MODULES:
        app.router.add_routes(module.routes)
