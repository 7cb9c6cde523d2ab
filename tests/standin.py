"""A stand-in channel for the channel framework's tests: a ChannelType and a Connector that
speak no platform, but behave the way a real channel's do at every seam the core sees.

* Inbound: `POST /channels/standin/{account_id}` with JSON `{from, text, id?, name?}` (a
  webhook, answered once the message is stored) or `deliver_inbound` from the test.
* Outbound: every `send` is recorded; a test scripts what the next sends do (succeed with a
  platform id, fail transiently or permanently, or hang until released).
* Connection: with `hold: true` in its config the connector holds a "connection": `run`
  fails the number of times the config's `fail_connects` says, then stays up.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.actions.messages import receive_inbound
from hub.channels import (
    Capabilities,
    ChannelError,
    ChannelType,
    ConfigError,
    Connector,
    DeliveryError,
    InboundMessage,
    Notification,
)
from hub.context import HUB, Hub
from hub.domain import ChannelAccount, Conversation, ConversationRef, Identity, Message
from hub.errors import Invalid

STANDIN = "standin"


@dataclass
class Script:
    """What the stand-in platform does, shared by every connector of the type (connectors
    are rebuilt when their account changes; the test's script outlives them)."""

    outcomes: list[str | DeliveryError | asyncio.Event] = field(default_factory=list)
    sent: list[tuple[str, Message]] = field(default_factory=list)  # (account id, message)
    notified: list[tuple[str, Notification]] = field(default_factory=list)
    connects: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    started: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def note(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self.changed:
            while not predicate():
                await self.changed.wait()


class StandInConnector(Connector):
    channel = STANDIN
    capabilities = Capabilities(outbox=True, attachments=True, max_text=1000)

    def __init__(self, hub: Hub, account: ChannelAccount, script: Script) -> None:
        self.hub = hub
        self.account = account
        self.script = script
        self.holds_connection = bool(account.config.get("hold"))  # type: ignore[misc]

    async def start(self) -> None:
        self.script.started.append((self.account.id, dict(self.account.config)))
        await self.script.note()

    async def stop(self) -> None:
        self.script.stopped.append(self.account.id)
        await self.script.note()

    async def run(self, connected: Callable[[], Awaitable[None]]) -> None:
        self.script.connects[self.account.id] += 1
        await self.script.note()
        if self.script.connects[self.account.id] <= int(
            self.account.config.get("fail_connects", 0)
        ):
            raise ChannelError("stand-in platform refused the connection")
        await connected()
        await asyncio.Event().wait()  # up until cancelled

    async def send(self, conversation: Conversation, message: Message) -> str | None:
        outcome = self.script.outcomes.pop(0) if self.script.outcomes else "ok"
        self.script.sent.append((self.account.id, message))
        await self.script.note()
        if isinstance(outcome, asyncio.Event):
            await outcome.wait()
            outcome = "ok"
        if isinstance(outcome, DeliveryError):
            raise outcome
        return f"platform-{len(self.script.sent)}"

    async def notify(self, conversation: ConversationRef, notification: Notification) -> None:
        self.script.notified.append((conversation.id, notification))
        await self.script.note()

    def outbound_meta(
        self, conversation: Conversation, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        subject = options.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise Invalid("subject must be text", code="invalid_subject")
        return {"subject": subject} if subject else {}

    async def deliver_inbound(
        self, sender: str, text: str, *, platform_id: str | None = None, name: str = ""
    ) -> Any:
        return await receive_inbound(
            self.hub,
            InboundMessage(
                tenant=self.account.tenant,
                channel=STANDIN,
                channel_id=self.account.id,
                identity=Identity(STANDIN, sender),
                text=text,
                platform_message_id=platform_id,
                contact_name=name,
            ),
            route_later=True,
        )


class StandInChannel(ChannelType):
    type = STANDIN
    secret_keys = frozenset({"token"})

    def __init__(self) -> None:
        self.script = Script()
        self.connectors: dict[str, StandInConnector] = {}

    def check_config(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(raw) - {"token", "hold", "fail_connects", "label"}
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a setting of this channel")
        token = raw.get("token")
        if not isinstance(token, str) or not token:
            raise ConfigError("token", "is required")
        fails = raw.get("fail_connects", 0)
        if isinstance(fails, bool) or not isinstance(fails, int) or fails < 0:
            raise ConfigError("fail_connects", "must be a whole number ≥ 0")
        return {"hold": bool(raw.get("hold", False)), **dict(raw)}

    def inbound_path(self, account: ChannelAccount) -> str | None:
        return f"/channels/standin/{account.id}"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/channels/standin/{account_id}", self._webhook)]

    async def _webhook(self, request: web.Request) -> web.Response:
        connector = request.app[HUB].connectors.get(STANDIN, request.match_info["account_id"])
        if not isinstance(connector, StandInConnector):
            return web.json_response({"error": "no such account"}, status=404)
        body = await request.json()
        received = await connector.deliver_inbound(
            body["from"], body["text"], platform_id=body.get("id"), name=body.get("name", "")
        )
        return web.json_response({"message_id": received.message.id})

    def recipient(self, to: str) -> Identity:
        if " " in to:
            raise ValueError("a stand-in address has no spaces")
        return Identity(STANDIN, to.lower())

    def connector(self, hub: Hub, account: ChannelAccount) -> Connector:
        connector = StandInConnector(hub, account, self.script)
        self.connectors[account.id] = connector
        return connector
