"""The team chat on two hub nodes behind one Redis: a message sent on node A reaches a member
connected to node B, and not a non-member there. (Each node has its own SQLite store, as in
tests/test_scale_out.py, so the same people and thread are written into both: this checks the
fan-out across nodes, the member rooms going through python-socketio's Redis manager.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.context import HUB
from hub.domain import Agent
from hub.im.model import ImThread
from tests.conftest import start_hub
from tests.im.clients import ImSocket
from tests.peers import redis_server

pytestmark = pytest.mark.slow


async def test_a_message_reaches_members_on_the_other_node_only(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as redis_url:
        node_a, url_a = await start_hub(tmp_path / "a", redis_url=redis_url)
        node_b, url_b = await start_hub(tmp_path / "b", redis_url=redis_url)
        sockets: list[ImSocket] = []
        try:
            hubs = [node_a.app[HUB], node_b.app[HUB]]
            for hub in hubs:
                for name in ("ann", "bob", "cat"):
                    await hub.store.create_agent(
                        Agent(
                            id=name,
                            tenant="default",
                            name=name.title(),
                            email=f"{name}@example.com",
                            password_hash="unused",
                        )
                    )
                await hub.store.create_im_thread(
                    ImThread(
                        id="g",
                        tenant="default",
                        kind="group",
                        members=["ann", "bob"],
                        owner_id="ann",
                    )
                )

            async def connect(url: str, agent_id: str) -> ImSocket:
                socket = ImSocket(url)
                sockets.append(socket)
                await socket.connect({"token": hubs[0].tokens.agent_token("default", agent_id)})
                return socket

            ann_on_a = await connect(url_a, "ann")
            bob_on_b = await connect(url_b, "bob")
            cat_on_b = await connect(url_b, "cat")
            ack = await ann_on_a.say("g", "across nodes")
            assert ack["ok"], ack
            got = await bob_on_b.wait_for("message", lambda m: m["id"] == ack["message"]["id"])
            assert got["text"] == "across nodes"
            # Node A publishes one emit naming the member rooms; node B handled it before Bob
            # got the message, so anything meant for Cat was queued before Cat's barrier.
            await cat_on_b.barrier()
            assert cat_on_b.messages() == []
        finally:
            for socket in sockets:
                await socket.close()
            await node_a.cleanup()
            await node_b.cleanup()
