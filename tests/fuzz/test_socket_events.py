"""Every socket event, on both namespaces, with hypothesis-chosen payloads: each gets an ack
with {ok, ...} or {ok: false, error: {code, message}}, never `internal`, no ERROR logged, and
a refused event changes nothing in the store."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.webim.namespace import VisitorNamespace
from hub.realtime.agent import AgentNamespace
from hub.realtime.guard import RESERVED_EVENTS
from tests.fuzz.conftest import EXAMPLES, FuzzHub
from tests.fuzz.strategies import materialize, nasty_text, shaped_payloads
from tests.realtime_clients import EventClient


def handled_events(namespace: type) -> list[str]:
    return sorted(
        name[3:]
        for name in dir(namespace)
        if name.startswith("on_") and name not in ("on_connect", "on_disconnect")
    )


VISITOR_EVENTS = handled_events(VisitorNamespace)
AGENT_EVENTS = handled_events(AgentNamespace)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_event(fuzz: FuzzHub, client: EventClient, event: str, data: Any) -> None:
    errors_before = len(fuzz.errors.records)
    before = fuzz.run(fuzz.snapshot())
    ack = fuzz.run(client.call(event, materialize(data), timeout=15))
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        error = ack["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), ack
        assert error["code"] != "internal", ack
        assert fuzz.run(fuzz.snapshot()) == before, (event, data, ack)
    logged = fuzz.errors.records[errors_before:]
    assert not logged, [record.getMessage() for record in logged]


def events_with(names: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(names), st.sampled_from(sorted(RESERVED_EVENTS)), nasty_text)


def test_visitor_events(fuzz_hub: FuzzHub) -> None:
    payloads = shaped_payloads(fuzz_hub.ids)

    @FUZZ
    @given(event=events_with(VISITOR_EVENTS), data=payloads)
    def example(event: str, data: Any) -> None:
        check_event(fuzz_hub, fuzz_hub.visitor, event, data)

    example()


def test_agent_events(fuzz_hub: FuzzHub) -> None:
    payloads = shaped_payloads(fuzz_hub.ids)
    # Dotted names as the inbox sends them ("conversation.close"), and the plain ones.
    names = AGENT_EVENTS + [name.replace("conversation_", "conversation.") for name in AGENT_EVENTS]

    @FUZZ
    @given(event=events_with(names), data=payloads)
    def example(event: str, data: Any) -> None:
        check_event(fuzz_hub, fuzz_hub.agent, event, data)

    example()
