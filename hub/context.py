"""The Hub: every resource the actions need, built once by the app factory and passed
explicitly (no module globals). Nothing here knows about sockets: actions publish events
on the bus and the realtime layer subscribes."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from config.settings import Settings
from hub.acd.base import AcdState
from hub.acd.presence import AgentPresence
from hub.background import Background
from hub.bus import EventBus
from hub.channels import ChannelType, Connectors
from hub.security import Tokens
from hub.storage.base import Store
from hub.throttle import Throttle
from hub.timers import Timers


@dataclass
class Hub:
    settings: Settings
    store: Store
    acd: AcdState
    tokens: Tokens
    bus: EventBus = field(default_factory=EventBus)
    connectors: Connectors = field(default_factory=Connectors)
    channel_types: dict[str, ChannelType] = field(default_factory=dict)
    background: Background = field(default_factory=Background)
    timers: Timers = field(default_factory=Timers)
    presence: AgentPresence = field(default_factory=AgentPresence)
    # Failed sign-ins per email: guessing passwords gets 429 after a few tries.
    login_failures: Throttle = field(default_factory=lambda: Throttle(limit=5, window=300))


HUB = web.AppKey("hub", Hub)
