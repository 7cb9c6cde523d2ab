"""Real python-socketio clients for tests: every event lands in a queue that tests wait on
(with a timeout), never a sleep."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import socketio

WAIT = 10.0
_client_ids = itertools.count(1)


class EventClient:
    namespace: str

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self.sio.on("*", self._record, namespace=self.namespace)

    async def _record(self, event: str, data: Any = None) -> None:
        async with self._changed:
            self.events[event].append(data)
            self._changed.notify_all()

    async def connect(self, auth: dict[str, Any]) -> None:
        await self.sio.connect(
            self.base_url,
            namespaces=[self.namespace],
            auth=auth,
            transports=["websocket"],
            wait_timeout=WAIT,
        )

    async def wait_for(
        self,
        event: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        *,
        timeout: float = WAIT,
        start: int = 0,
    ) -> Any:
        """The first event of that name (from index `start`) matching the predicate."""

        def found() -> Any:
            for data in self.events[event][start:]:
                if predicate(data):
                    return data
            return None

        async with asyncio.timeout(timeout), self._changed:
            while (hit := found()) is None:
                await self._changed.wait()
        return hit

    def count(self, event: str) -> int:
        return len(self.events[event])

    async def call(self, event: str, data: Any, *, timeout: float = WAIT) -> dict[str, Any]:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def emit(self, event: str, data: Any) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    async def close(self) -> None:
        await self.sio.disconnect()


class Visitor(EventClient):
    namespace = "/visitor"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.session: dict[str, Any] | None = None

    async def join(self, tenant: str = "default", **auth: Any) -> dict[str, Any]:
        await self.connect({"tenant": tenant, **auth})
        self.session = await self.wait_for("session")
        return self.session

    @property
    def token(self) -> str:
        assert self.session is not None
        return self.session["visitor_token"]

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or f"c{next(_client_ids)}"
        return await self.call("message", {"client_id": client_id, "text": text})


class AgentClient(EventClient):
    namespace = "/agent"

    def __init__(self, base_url: str, token: str, agent: dict[str, Any]) -> None:
        super().__init__(base_url)
        self.token = token
        self.agent = agent

    @property
    def id(self) -> str:
        return self.agent["id"]

    async def start(self, *, ready: bool = True) -> AgentClient:
        await self.connect({"token": self.token})
        if ready:
            ack = await self.call("presence", {"status": "ready"})
            assert ack["ok"], ack
        return self

    async def say(
        self, conversation_id: str, text: str, client_id: str | None = None
    ) -> dict[str, Any]:
        client_id = client_id or f"a{next(_client_ids)}"
        return await self.call(
            "message", {"conversation_id": conversation_id, "client_id": client_id, "text": text}
        )


class Api:
    """REST calls as an integrator makes them."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    async def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text  # CSV exports and other documents

    async def login(self, email: str, password: str) -> tuple[str, dict[str, Any]]:
        status, body = await self.request(
            "POST", "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert status == 200, body
        return body["token"], body["agent"]
