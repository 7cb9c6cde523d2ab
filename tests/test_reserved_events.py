"""Issue 13, item 3: clients cannot emit the events python-socketio reserves for itself."""

from __future__ import annotations

import pytest

from hub.realtime.guard import RESERVED_EVENTS
from tests.conftest import RunningHub
from tests.raw_socket import RawSocket

FORGED_ENVIRON = {"REMOTE_ADDR": "6.6.6.6", "HTTP_USER_AGENT": "forged"}


async def contact_total(running_hub: RunningHub) -> int:
    status, body = await running_hub.api.request(
        "GET", "/api/v1/contacts?limit=1000", token=running_hub.admin_token
    )
    assert status == 200
    return len(body["items"])


@pytest.mark.parametrize("event", sorted(RESERVED_EVENTS))
async def test_visitors_cannot_emit_reserved_events(running_hub: RunningHub, event: str) -> None:
    """Before: `connect` ran the connect handler again with the client's environ (a new
    contact with a spoofed address each time)."""
    async with RawSocket(running_hub.base_url, "/visitor") as raw:
        await raw.join({"tenant": "default"})
        before = await contact_total(running_hub)
        for ack_id in range(1, 4):
            ack = await raw.call(event, FORGED_ENVIRON, {"tenant": "default"}, ack_id=ack_id)
            assert ack["ok"] is False and ack["error"]["code"] == "reserved_event", ack
        assert await contact_total(running_hub) == before
        assert (await raw.call("message", {"client_id": "c1", "text": "hi"}, ack_id=9))["ok"]


async def test_an_agent_cannot_drop_its_presence_with_a_forged_disconnect(
    running_hub: RunningHub,
) -> None:
    """Before: `disconnect` ran the disconnect handler while the socket stayed open."""
    token, agent = await running_hub.create_agent()
    async with RawSocket(running_hub.base_url, "/agent") as raw:
        assert (await raw.join({"token": token})).startswith("40/agent,")
        assert (await raw.call("presence", {"status": "ready"}))["ok"]
        ack = await raw.call("disconnect", "client namespace disconnect", ack_id=2)
        assert ack["error"]["code"] == "reserved_event"
        presence = running_hub.hub.presence.presence(("default", agent["id"]))
        assert presence == "ready"
        assert running_hub.hub.presence.sids(("default", agent["id"]))
