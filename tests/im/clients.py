"""People of the team chat for tests: a signed-in agent with real `/im` sockets (one per
tab) and REST calls with its token."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import RunningHub
from tests.realtime_clients import EventClient

_client_ids = itertools.count(1)


class ImSocket(EventClient):
    namespace = "/im"

    async def say(self, thread_id: str, text: str, **extra: Any) -> dict[str, Any]:
        extra.setdefault("client_id", f"im{next(_client_ids)}")
        return await self.call("message", {"thread_id": thread_id, "text": text, **extra})

    async def barrier(self) -> None:
        """Every event the hub emitted to this socket before now has arrived: the hub
        answers events in order on one connection, after what it queued before."""
        ack = await self.call("read", {"thread_id": "barrier", "seq": 0})
        assert ack["error"]["code"] == "thread_not_found"

    def messages(self) -> list[dict[str, Any]]:
        return list(self.events["message"])


@dataclass
class Person:
    running: RunningHub
    token: str
    agent: dict[str, Any]
    tabs: list[ImSocket] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.agent["id"]

    @property
    def tab(self) -> ImSocket:
        return self.tabs[0]

    async def open_tab(self) -> ImSocket:
        tab = ImSocket(self.running.base_url)
        self.running.clients.append(tab)
        await tab.connect({"token": self.token})
        self.tabs.append(tab)
        return tab

    async def rest(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs = {} if body is None else {"json": body}
        return await self.running.api.request(method, path, token=self.token, **kwargs)

    async def direct(self, other: Person) -> dict[str, Any]:
        status, thread = await self.rest("POST", "/api/v1/im/direct", {"agent_id": other.id})
        assert status == 200, thread
        return thread

    async def group(self, name: str, *members: Person, **extra: Any) -> dict[str, Any]:
        status, thread = await self.rest(
            "POST",
            "/api/v1/im/groups",
            {"name": name, "members": [m.id for m in members]} | extra,
        )
        assert status == 201, thread
        return thread

    async def threads(self) -> dict[str, Any]:
        status, body = await self.rest("GET", "/api/v1/im/threads")
        assert status == 200, body
        return body


async def person(running: RunningHub, *, tabs: int = 1, roles: list[str] | None = None) -> Person:
    token, agent = await running.create_agent(roles=roles)
    found = Person(running, token, agent)
    for _ in range(tabs):
        await found.open_tab()
    return found
