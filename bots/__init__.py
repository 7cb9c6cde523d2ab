"""Bots (issue 19): the bot interface (base.py), the built-in knowledge-base bot (builtin.py,
knowledge.py, matching.py), the Rasa bridge (rasa.py) and its action server (rasa_actions/),
and the service that gives them conversations (service.py). hub/app.py installs them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bots.api import BOTS, routes
from bots.knowledge import KnowledgeBase
from bots.service import BotService
from hub.context import Hub


def install_bots(app: web.Application, hub: Hub) -> BotService:
    service = BotService(hub, KnowledgeBase(hub.store))
    service.subscribe(hub.bus)
    hub.bot_intake = service
    app[BOTS] = service
    app.router.add_routes(routes)

    async def running(app: web.Application) -> AsyncIterator[None]:
        yield
        await service.stop()

    app.cleanup_ctx.append(running)
    return service
