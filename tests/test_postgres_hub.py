"""The hub on PostgreSQL (HUB_POSTGRES_URL): the message path end to end over real sockets,
and two nodes on one database seeing one set of records. The server is a private
PostgreSQL from Debian's package (tests/peers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import RunningHub, hub_running
from tests.peers import create_database, drop_database

pytestmark = pytest.mark.slow


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server_url)
    try:
        yield url
    finally:
        await drop_database(url)


async def _history(node: RunningHub, token: str, conversation_id: str) -> list[str]:
    status, body = await node.api.request(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", token=token
    )
    assert status == 200, body
    return [m["text"] for m in body["items"] if m["sender"]["type"] != "system"]


async def test_a_chat_on_postgres_reaches_the_agent_and_outlives_the_node(
    tmp_path: Path, database_url: str
) -> None:
    async with hub_running(tmp_path / "a", postgres_url=database_url) as node:
        agent = await node.agent()
        visitor = await node.visitor()
        ack = await visitor.say("你好, is anyone there?", client_id="v-1")
        assert ack["ok"], ack
        conversation_id = ack["message"]["conversation_id"]
        assigned = await agent.wait_for("conversation.assigned")
        assert assigned["conversation"]["id"] == conversation_id
        reply = await agent.say(conversation_id, "Hello, how can I help?")
        assert reply["ok"], reply
        await visitor.wait_for("message", lambda m: m["text"] == "Hello, how can I help?")
        # A retried send (its ack lost) is the same message, not a second one.
        again = await visitor.say("你好, is anyone there?", client_id="v-1")
        assert again["message"]["id"] == ack["message"]["id"]
        token = agent.token
        assert await _history(node, token, conversation_id) == [
            "你好, is anyone there?",
            "Hello, how can I help?",
        ]
        status, found = await node.api.request(
            "GET", "/api/v1/search/conversations", token=token, params={"q": "你好"}
        )
        assert status == 200, found
        assert [item["conversation"]["id"] for item in found["items"]] == [conversation_id]
    # Another node (another data directory) on the same database: the same records.
    async with hub_running(tmp_path / "b", postgres_url=database_url) as other:
        status, body = await other.api.request(
            "GET", f"/api/v1/conversations/{conversation_id}", token=other.admin_token
        )
        assert status == 200, body
        assert await _history(other, other.admin_token, conversation_id) == [
            "你好, is anyone there?",
            "Hello, how can I help?",
        ]


async def test_two_nodes_on_one_database_serve_one_conversation(
    tmp_path: Path, database_url: str
) -> None:
    async with (
        hub_running(tmp_path / "a", postgres_url=database_url) as node_a,
        hub_running(tmp_path / "b", postgres_url=database_url) as node_b,
    ):
        agent = await node_a.agent()
        visitor = await node_a.visitor()
        ack = await visitor.say("first, on node A")
        conversation_id = ack["message"]["conversation_id"]
        await agent.wait_for("conversation.assigned")
        # The same visitor comes back through node B (its token is signed with the shared
        # secret) and lands in the same open conversation, the next seq.
        back = await node_b.visitor(visitor_token=visitor.token)
        later = await back.say("then, on node B")
        assert later["ok"], later
        assert later["message"]["conversation_id"] == conversation_id
        assert later["message"]["seq"] == ack["message"]["seq"] + 1
        assert await _history(node_b, node_b.admin_token, conversation_id) == [
            "first, on node A",
            "then, on node B",
        ]
