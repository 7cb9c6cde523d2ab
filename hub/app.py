"""The aiohttp application factory: wires every resource, one cleanup context each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from bots import install_bots
from config.settings import Settings
from connectors.email.channel import EmailChannel
from connectors.webim import VisitorNamespace, WebImConnector
from hub.acd.memory import MemoryAcd
from hub.actions.bootstrap import ensure_default_tenant, restore_routing_state
from hub.actions.online import start_announcing
from hub.actions.uploads import run_upload_cleanup
from hub.api import add_api_routes
from hub.api.common import drain_middleware, error_middleware
from hub.api.headers import add_header_signal
from hub.api.integrations import WEBHOOK_WORKER
from hub.channel_runtime import ChannelRuntime
from hub.channels import ChannelType
from hub.context import HUB, Hub
from hub.im import install_im
from hub.integrations.webhooks import WebhookWorker
from hub.notifications import CustomerNotifier
from hub.outbox import Outbox
from hub.realtime.agent import AgentNamespace
from hub.realtime.online import OnlineFanout
from hub.realtime.server import create_sio
from hub.realtime.staff import StaffFanout
from hub.security import Tokens, load_or_create_secret
from hub.storage import create_store

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
WIDGET_DIR = REPO_ROOT / "widget"
READY = web.AppKey("ready", dict)
SIO = web.AppKey("sio", socketio.AsyncServer)
# How long a stop waits for events and requests in hand to be answered.
DRAIN_SECONDS = 10.0
SQLITE_FILE = "hub.sqlite3"  # the name hub.storage.create_store gives the embedded database


def default_channel_types() -> list[ChannelType]:
    """Every kind of channel account this hub can run."""
    return [EmailChannel()]


def make_data_dir_private(data_dir: Path, *, sqlite: bool) -> None:
    """The data directory holds the database, its WAL, the token secret and the uploads:
    only the hub's user may enter it, and the database files are created readable by it
    alone (SQLite gives the WAL and shared-memory files the database file's mode)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    database = data_dir / SQLITE_FILE
    if sqlite and not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))


def build_hub(
    settings: Settings, sio: socketio.AsyncServer, channel_types: Sequence[ChannelType]
) -> Hub:
    make_data_dir_private(
        settings.data_dir, sqlite=not (settings.mongo_url or settings.postgres_url)
    )
    secret = settings.secret_key or load_or_create_secret(settings.data_dir)
    hub = Hub(
        settings=settings,
        store=create_store(
            data_dir=settings.data_dir,
            mongo_url=settings.mongo_url,
            mongo_db=settings.mongo_db,
            postgres_url=settings.postgres_url,
            postgres_pool_size=settings.postgres_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        ),
        acd=MemoryAcd(),
        tokens=Tokens(secret, agent_ttl_seconds=settings.agent_token_ttl_seconds),
    )
    hub.channel_types = {kind.type: kind for kind in channel_types}
    StaffFanout(sio).subscribe(hub.bus)
    OnlineFanout(sio).subscribe(hub.bus)
    CustomerNotifier(hub.connectors).subscribe(hub.bus)
    webim = WebImConnector(sio)
    webim.subscribe(hub.bus)
    hub.connectors.add(webim)
    sio.register_namespace(VisitorNamespace(hub))
    sio.register_namespace(AgentNamespace(hub))
    return hub


async def _storage(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    await hub.store.open()
    yield
    await hub.store.close()


async def _timers(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[HUB].timers.close()


async def _state(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    await ensure_default_tenant(hub)
    for tenant in await hub.store.list_tenant_ids():
        await restore_routing_state(hub, tenant)
    app[READY]["ready"] = True
    yield


async def _background(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[HUB].background.drain()


async def _online_visitors(app: web.Application) -> AsyncIterator[None]:
    """The batched announcements of online visitors' changes (hub/actions/online.py)."""
    task = start_announcing(app[HUB])
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _upload_cleanup(app: web.Application) -> AsyncIterator[None]:
    """Removes uploads no message took after their grace period (hub/actions/uploads.py)."""
    task = asyncio.get_running_loop().create_task(
        run_upload_cleanup(app[HUB]), name="upload-cleanup"
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _channels(app: web.Application) -> AsyncIterator[None]:
    """Channel accounts' connectors and the outbox that sends through them."""
    hub = app[HUB]
    runtime = ChannelRuntime(hub)
    outbox = Outbox(hub)
    outbox.subscribe(hub.bus)
    await runtime.start()
    outbox.start()
    yield
    await outbox.stop()
    await runtime.stop()


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    """Outbound webhooks: events queued in the store, delivered by one worker."""
    worker = app[WEBHOOK_WORKER]
    worker.start()
    yield
    await worker.stop()


async def _connectors(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    for connector in hub.connectors.all():
        await connector.start()
    yield
    for connector in hub.connectors.all():
        await connector.stop()


async def _drain(app: web.Application) -> None:
    """The first step of a graceful stop, once the listener is closed (aiohttp's
    on_shutdown): every socket event and REST request being handled is answered, new ones
    are refused. aiohttp then cancels what is left, the websockets: python-engineio closes
    each one without an Engine.IO close packet, which clients take as a lost connection and
    reconnect, to another node."""
    await app[HUB].drain.stop(DRAIN_SECONDS)
    await app[SIO].shutdown()


async def healthz(request: web.Request) -> web.Response:
    if not request.app[READY].get("ready"):
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ok"})


def server_options(settings: Settings) -> dict[str, Any]:
    """aiohttp's connection handling, for run.py and the tests alike: idle keep-alive
    connections and requests whose headers never finish are closed after
    http_keepalive_seconds (aiohttp's 75 s let a slow client hold each connection that long)."""
    return {"keepalive_timeout": settings.http_keepalive_seconds}


def create_app(
    settings: Settings, *, channel_types: Sequence[ChannelType] | None = None
) -> web.Application:
    sio = create_sio(settings)
    kinds = default_channel_types() if channel_types is None else channel_types
    hub = build_hub(settings, sio, kinds)
    app = web.Application(
        middlewares=[error_middleware, drain_middleware], client_max_size=settings.max_body_bytes
    )
    app[HUB] = hub
    app[SIO] = sio
    app[READY] = {"ready": False}
    app[WEBHOOK_WORKER] = WebhookWorker(hub)
    app[WEBHOOK_WORKER].subscribe(hub.bus)
    add_header_signal(app)
    app.on_shutdown.append(_drain)
    sio.attach(app)
    app.router.add_get("/healthz", healthz)
    add_api_routes(app)
    install_im(app, sio, hub)
    for connector in hub.connectors.all():
        app.router.add_routes(connector.routes())
    for kind in kinds:
        app.router.add_routes(kind.routes())
    try:
        from hub.web_static import add_static_routes
    except ImportError:
        log.warning("hub.web_static is missing: the widget and inbox pages are not served")
    else:
        add_static_routes(app, WIDGET_DIR)
    # Order matters: storage opens first and closes last, after timers stopped firing.
    app.cleanup_ctx.extend(
        [
            _storage,
            _background,
            _timers,
            _state,
            _online_visitors,
            _upload_cleanup,
            _channels,
            _webhooks,
            _connectors,
        ]
    )
    install_bots(app, hub)
    return app
