"""The permission table of docs/protocol.md, cell by cell, over REST and sockets: the agent
holding a conversation, another agent, and a supervisor who does not hold it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient, Visitor


@dataclass
class Scene:
    hub: RunningHub
    holder: AgentClient
    other: AgentClient
    supervisor: AgentClient
    visitor: Visitor
    conversation_id: str
    contact_id: str
    queued_id: str

    def actor(self, name: str) -> AgentClient:
        return {"holder": self.holder, "other": self.other, "supervisor": self.supervisor}[name]


@pytest.fixture
async def scene(running_hub: RunningHub) -> Scene:
    holder = await running_hub.agent(max_concurrent=5)
    visitor = await running_hub.visitor()
    ack = await visitor.say("help")
    await holder.wait_for("conversation.assigned")
    other = await running_hub.agent(max_concurrent=5)
    supervisor = await running_hub.agent(roles=["supervisor"], ready=False)
    waiting = await running_hub.visitor(skill="nobody-has-it")
    queued = await waiting.say("anyone?")
    return Scene(
        running_hub,
        holder,
        other,
        supervisor,
        visitor,
        ack["message"]["conversation_id"],
        visitor.session["contact_id"],
        queued["message"]["conversation_id"],
    )


async def _rest(scene: Scene, actor: str, method: str, path: str, **kwargs: Any) -> int:
    status, _ = await scene.hub.api.request(method, path, token=scene.actor(actor).token, **kwargs)
    return status


READERS = [("holder", True), ("other", False), ("supervisor", True)]


@pytest.mark.parametrize(("actor", "allowed"), READERS)
async def test_reading_a_conversation(scene: Scene, actor: str, allowed: bool) -> None:
    base = f"/api/v1/conversations/{scene.conversation_id}"
    assert await _rest(scene, actor, "GET", base) == (200 if allowed else 403)
    assert await _rest(scene, actor, "GET", f"{base}/messages") == (200 if allowed else 403)
    synced = await scene.actor(actor).call(
        "sync", {"conversation_id": scene.conversation_id, "after_seq": 0}
    )
    assert synced["ok"] is allowed, synced
    # Anyone reads what waits in the queue.
    assert await _rest(scene, actor, "GET", f"/api/v1/conversations/{scene.queued_id}") == 200


@pytest.mark.parametrize(
    ("actor", "reply", "note", "typing"),
    [
        ("holder", True, True, True),
        ("other", False, False, False),
        ("supervisor", False, True, False),
    ],
)
async def test_writing_to_a_conversation(
    scene: Scene, actor: str, reply: bool, note: bool, typing: bool
) -> None:
    client = scene.actor(actor)
    said = await client.say(scene.conversation_id, f"from {actor}")
    assert said["ok"] is reply, said
    noted = await client.call(
        "message",
        {
            "conversation_id": scene.conversation_id,
            "client_id": f"note-{actor}",
            "text": "internal",
            "private": True,
        },
    )
    assert noted["ok"] is note, noted
    typed = await client.call("typing", {"conversation_id": scene.conversation_id, "on": True})
    assert typed["ok"] is typing, typed
    if not reply:
        assert said["error"]["code"] == "not_your_conversation"


@pytest.mark.parametrize(
    ("actor", "take_over", "watch"),
    [("holder", False, False), ("other", False, False), ("supervisor", True, True)],
)
async def test_supervising_a_conversation(
    scene: Scene, actor: str, take_over: bool, watch: bool
) -> None:
    client = scene.actor(actor)
    watched = await client.call("conversation.watch", {"conversation_id": scene.conversation_id})
    assert watched["ok"] is watch, watched
    taken = await client.call("conversation.take_over", {"conversation_id": scene.conversation_id})
    assert taken["ok"] is take_over, taken
    if not take_over:
        assert taken["error"]["code"] == "supervisor_only"


@pytest.mark.parametrize(
    ("actor", "transfer", "close"),
    [("holder", True, True), ("other", False, False), ("supervisor", False, True)],
)
async def test_transferring_and_closing(
    scene: Scene, actor: str, transfer: bool, close: bool
) -> None:
    client = scene.actor(actor)
    moved = await client.call(
        "conversation.transfer", {"conversation_id": scene.conversation_id, "skill": "billing"}
    )
    assert moved["ok"] is transfer, moved
    if transfer:
        return  # it left the holder: closing it is another cell's question
    closed = await client.call("conversation.close", {"conversation_id": scene.conversation_id})
    assert closed["ok"] is close, closed


@pytest.mark.parametrize(("actor", "allowed"), READERS)
async def test_acting_on_the_contact(scene: Scene, actor: str, allowed: bool) -> None:
    path = f"/api/v1/contacts/{scene.contact_id}"
    expected = 200 if allowed else 403
    assert await _rest(scene, actor, "PATCH", path, json={"notes": actor}) == expected
    assert await _rest(scene, actor, "DELETE", f"{path}/block") == expected
    if not allowed:
        blocked = await _rest(scene, actor, "POST", f"{path}/block", json={"minutes": 5})
        assert blocked == 403


async def test_listing_conversations(scene: Scene) -> None:
    holder, other = scene.holder.id, scene.other.id
    cases = [
        ("other", f"agent_id={other}", 200),
        ("other", "status=queued", 200),
        ("other", f"agent_id={holder}", 403),
        ("other", "", 403),
        ("other", "status=assigned", 403),
        ("other", f"contact_id={scene.contact_id}", 403),
        ("holder", f"contact_id={scene.contact_id}", 200),
        ("supervisor", "", 200),
        ("supervisor", f"agent_id={holder}", 200),
    ]
    for actor, query, expected in cases:
        status = await _rest(scene, actor, "GET", f"/api/v1/conversations?{query}")
        assert status == expected, (actor, query, status)


async def test_an_agent_serving_the_customer_reads_their_earlier_conversations(
    scene: Scene,
) -> None:
    """The contact's history is the context of the conversation an agent holds now, even
    where another agent served it."""
    closed = await scene.holder.call(
        "conversation.close", {"conversation_id": scene.conversation_id}
    )
    assert closed["ok"]
    earlier = f"/api/v1/conversations/{scene.conversation_id}"
    assert await _rest(scene, "other", "GET", earlier) == 403
    await scene.hub.routing(history_agent_first=False, policy="idle_first")
    # The other agent is the only one free to take the customer's next conversation.
    assert (await scene.holder.call("presence", {"status": "not_ready"}))["ok"]
    again = await scene.visitor.say("it is me again")
    await scene.other.wait_for(
        "conversation.assigned",
        lambda d: d["conversation"]["id"] == again["message"]["conversation_id"],
    )
    assert await _rest(scene, "other", "GET", earlier) == 200
    assert await _rest(scene, "other", "GET", f"{earlier}/messages") == 200
