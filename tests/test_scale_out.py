"""Two hub nodes behind one Redis (python-socketio's AsyncRedisManager): an event emitted on
one node reaches sockets connected to the other.

Each node has a store of its own (an SQLite directory is one node's: two writer processes on
one database are not supported), so this checks the fan-out only; nodes on one shared store
behaving as one hub is the several-nodes work (a shared database and shared ACD state)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from hub.context import HUB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub
from tests.peers import redis_server
from tests.realtime_clients import Api, EventClient

pytestmark = pytest.mark.slow


async def test_events_cross_nodes_through_redis(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as redis_url:
        node_a, url_a = await start_hub(tmp_path / "a", redis_url=redis_url)
        node_b, url_b = await start_hub(tmp_path / "b", redis_url=redis_url)
        clients: list[EventClient] = []
        try:
            async with aiohttp.ClientSession() as session:
                nodes = []
                for runner, url in ((node_a, url_a), (node_b, url_b)):
                    api = Api(url, session)
                    admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
                    nodes.append(RunningHub(url, runner.app[HUB], api, admin_token, clients))
                on_a, on_b = nodes
                watcher_on_b = await on_b.agent(ready=False)
                agent_on_a = await on_a.agent(ready=False)
                # A staff-wide event published on node A reaches a socket on node B ...
                assert (await agent_on_a.call("presence", {"status": "ready"}))["ok"]
                await watcher_on_b.wait_for(
                    "agent.presence",
                    lambda d: d["agent_id"] == agent_on_a.id and d["status"] == "ready",
                )
                # ... and so does a conversation opened and assigned on node A.
                visitor = await on_a.visitor()
                ack = await visitor.say("hello from node A")
                conversation_id = ack["message"]["conversation_id"]
                await watcher_on_b.wait_for(
                    "conversation.updated",
                    lambda d: (
                        d["conversation"]["id"] == conversation_id
                        and d["conversation"]["agent_id"] == agent_on_a.id
                    ),
                )
                # The holder's own events stay with the holder's rooms.
                await agent_on_a.wait_for("conversation.assigned")
                assert watcher_on_b.count("conversation.assigned") == 0
        finally:
            for client in clients:
                await client.close()
            await node_a.cleanup()
            await node_b.cleanup()
