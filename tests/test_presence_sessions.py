"""An agent's chosen presence and conversations survive what is not leaving: a reload, a
short drop, a second tab, a visit to the console in the same tab (issue 23, item 1)."""

from __future__ import annotations

from tests.conftest import RunningHub
from tests.realtime_clients import AgentClient
from tests.test_routing import assigned_to


async def _reopen(running_hub: RunningHub, agent: AgentClient, **auth: object) -> AgentClient:
    again = AgentClient(running_hub.base_url, agent.token, agent.agent)
    running_hub.clients.append(again)
    await again.connect({"token": agent.token, **auth})
    return again


async def test_moving_to_the_console_keeps_the_chats_and_coming_back_is_still_ready(
    running_hub: RunningHub,
) -> None:
    await running_hub.routing(disconnect_grace_seconds=2)
    supervisor = await running_hub.agent(roles=["supervisor", "agent"], max_concurrent=1)
    mine = await running_hub.visitor()
    await mine.say("I am talking to the supervisor")
    await mine.wait_for("conversation.status", assigned_to(supervisor.id))
    colleague = await running_hub.agent(max_concurrent=1)
    theirs = await running_hub.visitor()
    await theirs.say("and I to the colleague")
    await theirs.wait_for("conversation.status", assigned_to(colleague.id))

    # The supervisor leaves the inbox for the console (same tab); the colleague just leaves.
    await supervisor.close()
    console = await _reopen(running_hub, supervisor, monitor=True)
    await colleague.close()
    # The colleague's grace, started after the supervisor's, runs out: the conversation
    # waits again. Had the supervisor's grace run, it would have gone first.
    await theirs.wait_for("conversation.status", lambda d: d["status"] == "queued")
    assert [d["status"] for d in mine.events["conversation.status"]] == ["assigned"]
    _, conversation = await running_hub.api.request(
        "GET",
        f"/api/v1/conversations/{mine.events['conversation.status'][0]['conversation_id']}",
        token=running_hub.admin_token,
    )
    assert conversation["agent_id"] == supervisor.id and conversation["status"] == "assigned"

    # Back in the inbox, still ready, without choosing again.
    await console.close()
    inbox = await _reopen(running_hub, supervisor)
    assert (await inbox.wait_for("presence"))["status"] == "ready"


async def test_a_reload_within_the_grace_resumes_ready_and_takes_new_chats(
    running_hub: RunningHub,
) -> None:
    await running_hub.routing(disconnect_grace_seconds=30)
    agent = await running_hub.agent(max_concurrent=2)
    first = await running_hub.visitor()
    await first.say("hello")
    await first.wait_for("conversation.status", assigned_to(agent.id))
    await agent.close()
    reloaded = await _reopen(running_hub, agent)
    assert (await reloaded.wait_for("presence"))["status"] == "ready"
    # Ready in routing too, not only on screen: a new visitor is assigned straight away.
    second = await running_hub.visitor()
    await second.say("anyone?")
    await second.wait_for("conversation.status", assigned_to(agent.id))


async def test_another_tab_shows_the_presence_the_agent_has(running_hub: RunningHub) -> None:
    agent = await running_hub.agent()
    tab = await _reopen(running_hub, agent)
    assert (await tab.wait_for("presence"))["status"] == "ready"
    ack = await agent.call("presence", {"status": "away"})
    assert ack["ok"]
    await tab.wait_for("presence", lambda d: d["status"] == "away")


async def test_after_the_grace_a_new_connection_starts_not_ready(running_hub: RunningHub) -> None:
    await running_hub.routing(disconnect_grace_seconds=0.05)
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    await visitor.say("hi")
    await visitor.wait_for("conversation.status", assigned_to(agent.id))
    await agent.close()
    await visitor.wait_for("conversation.status", lambda d: d["status"] == "queued")
    back = await _reopen(running_hub, agent)
    assert (await back.wait_for("presence"))["status"] == "not_ready"


async def test_a_console_alone_never_makes_a_supervisor_present(running_hub: RunningHub) -> None:
    supervisor_token, supervisor = await running_hub.create_agent(roles=["supervisor"])
    console = AgentClient(running_hub.base_url, supervisor_token, supervisor)
    running_hub.clients.append(console)
    await console.connect({"token": supervisor_token, "monitor": True})
    _, state = await running_hub.api.request("GET", "/api/v1/monitor", token=supervisor_token)
    assert state["agents_online"] == 0
    assert console.count("presence") == 0
