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
from hub.intake import BotIntake
from hub.online.base import OnlineVisitors
from hub.online.memory import MemoryOnlineVisitors
from hub.security import Tokens
from hub.storage.base import Store
from hub.throttle import Drain, LoginGuard, OnlineLimits, Turns, VisitorLimits
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
    # Failed sign-ins per address, account and both (hub/throttle.py).
    login_guard: LoginGuard = field(default_factory=LoginGuard)
    # What one visitor and one address may do (settings visitor_* and address_*).
    visitor_limits: VisitorLimits = field(init=False)
    # The events and requests in hand, and whether the hub is stopping (hub/app.py _drain).
    drain: Drain = field(default_factory=Drain)
    # One at a time per key: slowed sign-ins to one account, ratings of one conversation.
    turns: Turns = field(default_factory=Turns)
    # Asked first about every new conversation (bots/service.py); None: no bot.
    bot_intake: BotIntake | None = None

    # Visitors on the customer's site now, and the invitations they have to answer.
    online: OnlineVisitors = field(default_factory=MemoryOnlineVisitors)
    online_limits: OnlineLimits = field(init=False)

    def __post_init__(self) -> None:
        self.visitor_limits = VisitorLimits(self.settings)
        self.online_limits = OnlineLimits(self.settings)


HUB = web.AppKey("hub", Hub)
