"""Property: with members added and removed between messages, in any order, each person
receives exactly the group's messages sent while they were a member (other than their
own), and nobody outside the group ever receives one. A real hub per example, real
Socket.IO clients; absence is checked after a barrier on each socket."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import hub_running
from tests.im.clients import person

PEOPLE = 4  # person 0 owns the group; 1..3 come and go
operations = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, PEOPLE - 1)),
        st.tuples(st.sampled_from(["add", "remove"]), st.integers(1, PEOPLE - 1)),
    ),
    min_size=1,
    max_size=14,
)


async def _run(initial: set[int], ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as data:
        async with hub_running(Path(data) / "data") as running:
            people = [await person(running) for _ in range(PEOPLE)]
            owner = people[0]
            thread = await owner.group("Prop", *(people[i] for i in sorted(initial)))
            tid = thread["id"]
            members = {0, *initial}
            expected: dict[int, set[str]] = {i: set() for i in range(PEOPLE)}
            for n, (kind, who) in enumerate(ops):
                if kind == "send":
                    ack = await people[who].tab.say(tid, f"message {n}")
                    if who not in members:
                        assert ack["error"]["code"] == "not_a_member"
                        continue
                    assert ack["ok"], ack
                    for receiver in members - {who}:
                        expected[receiver].add(ack["message"]["id"])
                else:
                    status, body = await owner.rest(
                        "PATCH", f"/api/v1/im/groups/{tid}", {kind: [people[who].id]}
                    )
                    assert status == 200, body
                    members = members | {who} if kind == "add" else members - {who}
                    assert sorted(body["members"]) == sorted(people[i].id for i in members)
            for index, someone in enumerate(people):
                await someone.tab.barrier()
                received = {m["id"] for m in someone.tab.messages() if m["thread_id"] == tid}
                assert received == expected[index], (index, ops)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(initial=st.sets(st.integers(1, PEOPLE - 1)), ops=operations)
def test_nobody_outside_a_group_receives_its_messages(
    initial: set[int], ops: list[tuple[str, int]]
) -> None:
    asyncio.run(_run(initial, ops))
