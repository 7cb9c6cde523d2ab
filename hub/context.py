"""The Hub: every resource the actions need, built once by the app factory and passed
explicitly (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import socketio
from aiohttp import web

from config.settings import Settings
from hub.acd.base import AcdState
from hub.contact_cache import ContactCache
from hub.domain import RoutingSettings
from hub.locks import KeyedLocks
from hub.realtime.guard import SocketGate
from hub.realtime.sessions import AgentSessions
from hub.security import Tokens
from hub.storage.base import Store
from hub.throttle import LoginGuard, VisitorLimits
from hub.timers import Timers

if TYPE_CHECKING:
    from connectors.base import Connector


@dataclass
class Hub:
    settings: Settings
    store: Store
    acd: AcdState
    sio: socketio.AsyncServer
    tokens: Tokens
    connectors: dict[str, Connector] = field(default_factory=dict)
    timers: Timers = field(default_factory=Timers)
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    agent_sessions: AgentSessions = field(default_factory=AgentSessions)
    # Routing settings are read on every routing decision: cached here, refreshed by the
    # action that changes them.
    routing: dict[str, RoutingSettings] = field(default_factory=dict)
    # conversation id -> contact id for conversations waiting in a queue, so position updates
    # reach the right visitor without a store read per waiting conversation.
    waiting_contacts: dict[str, str] = field(default_factory=dict)
    last_pushed_position: dict[str, int] = field(default_factory=dict)
    # Failed sign-ins per address, account and both (hub/throttle.py).
    login_guard: LoginGuard = field(default_factory=LoginGuard)
    # Connected visitors' contact and open conversation (see hub/contact_cache.py).
    contacts: ContactCache = field(default_factory=ContactCache)

    # Every client socket event passes it first (hub/realtime/guard.py).
    socket_gate: SocketGate = field(init=False)

    def __post_init__(self) -> None:
        self.socket_gate = SocketGate(
            VisitorLimits(self.settings), self.tokens, self.settings.trusted_proxies
        )
        # The store brackets every write to a contact or a conversation with the cache's
        # `changing`, so no action can forget to and leave a stale entry behind.
        self.store.contact_write_guard = self.contacts.changing


HUB = web.AppKey("hub", Hub)
