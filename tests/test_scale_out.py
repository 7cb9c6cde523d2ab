"""Two hub nodes behind one Redis (python-socketio's AsyncRedisManager): an event emitted on
one node reaches sockets connected to the other."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from hub.context import HUB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub
from tests.peers import redis_server
from tests.realtime_clients import Api, Visitor


async def test_events_cross_nodes_through_redis(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as redis_url:
        node_a, url_a = await start_hub(tmp_path / "data", redis_url=redis_url)
        node_b, url_b = await start_hub(tmp_path / "data", redis_url=redis_url)
        clients = []
        try:
            async with aiohttp.ClientSession() as session:
                api = Api(url_a, session)
                admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
                on_a = RunningHub(url_a, node_a.app[HUB], api, admin_token, clients)
                agent = await on_a.agent()
                tab_on_a = await on_a.visitor()
                tab_on_b = Visitor(url_b)
                clients.append(tab_on_b)
                session_b = await tab_on_b.join(visitor_token=tab_on_a.token)
                assert session_b["contact_id"] == tab_on_a.session["contact_id"]

                ack = await tab_on_a.say("hello from node A")
                await tab_on_b.wait_for("message", lambda m: m["text"] == "hello from node A")
                await tab_on_b.wait_for(
                    "conversation.status", lambda d: d.get("status") == "assigned"
                )
                reply = await agent.say(ack["message"]["conversation_id"], "答复")
                assert reply["ok"]
                await tab_on_b.wait_for("message", lambda m: m["text"] == "答复")
                await tab_on_a.wait_for("message", lambda m: m["text"] == "答复")
        finally:
            for client in clients:
                await client.close()
            await node_a.cleanup()
            await node_b.cleanup()
