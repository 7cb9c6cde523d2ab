"""Issue 13, item 8: message rate limits per visitor and per address, connection caps and
new-contact caps per address (the real address, behind a trusted proxy)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from hub.context import HUB, Hub
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_hub
from tests.raw_socket import RawSocket
from tests.realtime_clients import Api

LIMITS = {
    "visitor_messages_per_minute": 5,
    "address_messages_per_minute": 8,
    "address_connections": 3,
    "address_new_contacts_per_hour": 4,
}


@pytest.fixture
async def limited_hub(tmp_path: Path) -> AsyncIterator[tuple[str, Hub]]:
    runner, base_url = await start_hub(tmp_path / "data", trusted_proxies=("127.0.0.1",), **LIMITS)
    try:
        yield base_url, runner.app[HUB]
    finally:
        await runner.cleanup()


def from_address(base_url: str, address: str) -> RawSocket:
    return RawSocket(base_url, "/visitor", headers={"X-Forwarded-For": address})


async def stored_messages(base_url: str, conversation_id: str) -> int:
    async with aiohttp.ClientSession() as session:
        api = Api(base_url, session)
        token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        status, body = await api.request(
            "GET", f"/api/v1/conversations/{conversation_id}/messages", token=token
        )
        assert status == 200
        return len(body["items"])


async def test_one_visitor_is_rate_limited(limited_hub: tuple[str, Hub]) -> None:
    """Before: one visitor stored 21,800 messages in 10 s."""
    base_url, _ = limited_hub
    async with from_address(base_url, "203.0.113.1") as raw:
        await raw.join({"tenant": "default"})
        acks = [
            await raw.call("message", {"client_id": f"m{n}", "text": "spam"}, ack_id=n)
            for n in range(1, 8)
        ]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 2
    refused = acks[-1]["error"]
    assert refused["code"] == "rate_limited" and 1 <= refused["retry_after"] <= 60
    conversation_id = acks[0]["message"]["conversation_id"]
    assert await stored_messages(base_url, conversation_id) == 5
    # Another visitor elsewhere is not affected.
    async with from_address(base_url, "203.0.113.2") as other:
        await other.join({"tenant": "default"})
        assert (await other.call("message", {"client_id": "x", "text": "hello"}))["ok"]


async def test_visitors_of_one_address_share_its_limit(limited_hub: tuple[str, Hub]) -> None:
    base_url, _ = limited_hub
    oks = []
    async with AsyncExitStack() as stack:
        for _ in range(3):
            raw = await stack.enter_async_context(from_address(base_url, "203.0.113.3"))
            await raw.join({"tenant": "default"})
            for n in range(1, 5):
                ack = await raw.call("message", {"client_id": f"c{n}", "text": "hi"}, ack_id=n)
                oks.append(ack["ok"])
    assert oks.count(True) == 8


async def test_connections_and_new_contacts_per_address_are_capped(
    limited_hub: tuple[str, Hub],
) -> None:
    """Before: 800 sockets from one address made 800 contacts and queued 434 conversations."""
    base_url, _ = limited_hub
    async with AsyncExitStack() as stack:
        answers = []
        for _ in range(4):
            raw = await stack.enter_async_context(from_address(base_url, "203.0.113.4"))
            answers.append(await raw.join({"tenant": "default"}))
        assert [a[:2] for a in answers] == ["40", "40", "40", "44"]
        assert "rate_limited" in answers[-1]
        elsewhere = await stack.enter_async_context(from_address(base_url, "203.0.113.5"))
        assert (await elsewhere.join({"tenant": "default"})).startswith("40")
    # The three closed: connections free again, but a fourth new contact, then the cap.
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(from_address(base_url, "203.0.113.4"))
        assert (await first.join({"tenant": "default"})).startswith("40")
        second = await stack.enter_async_context(from_address(base_url, "203.0.113.4"))
        answer = await second.join({"tenant": "default"})
        assert answer.startswith("44") and "new visitors" in answer


async def test_a_returning_visitor_is_not_a_new_contact(limited_hub: tuple[str, Hub]) -> None:
    base_url, _ = limited_hub
    async with from_address(base_url, "203.0.113.6") as raw:
        await raw.join({"tenant": "default"})
        session = await raw_session(raw)
    token = session.split('"visitor_token":"', 1)[1].split('"', 1)[0]
    for _ in range(6):
        async with from_address(base_url, "203.0.113.6") as again:
            answer = await again.join({"tenant": "default", "visitor_token": token})
            assert answer.startswith("40"), answer


async def test_left_messages_count_against_the_visitor(limited_hub: tuple[str, Hub]) -> None:
    base_url, _ = limited_hub
    async with from_address(base_url, "203.0.113.7") as raw:
        await raw.join({"tenant": "default"})
        session = await raw_session(raw)
    token = session.split('"visitor_token":"', 1)[1].split('"', 1)[0]
    statuses = []
    async with aiohttp.ClientSession() as client:
        for _ in range(7):
            async with client.post(
                f"{base_url}/api/v1/left-messages",
                json={"text": "call me", "phone": "555-0100"},
                headers={"X-Visitor-Token": token, "X-Forwarded-For": "203.0.113.7"},
            ) as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert response.headers["Retry-After"]
    assert statuses == [201] * 5 + [429] * 2


async def raw_session(raw: RawSocket) -> str:
    return next(e for e in raw.events if '"session"' in e)


async def test_a_socket_that_ignores_the_limit_is_disconnected(
    limited_hub: tuple[str, Hub],
) -> None:
    """Answering a flood with refusals costs the hub as much as the flood: past as many
    refusals again as the limit, the socket is closed (after its ack)."""
    base_url, _ = limited_hub
    async with from_address(base_url, "203.0.113.8") as raw:
        await raw.join({"tenant": "default"})
        codes = []
        with pytest.raises(ConnectionError):
            for n in range(1, 40):
                ack = await raw.call("message", {"client_id": f"f{n}", "text": "x"}, ack_id=n)
                codes.append(ack["ok"] or ack["error"]["code"])
    # 5 accepted, then refusals until 5 more were ignored; the last one still had its ack.
    assert codes == [True] * 5 + ["rate_limited"] * 5
