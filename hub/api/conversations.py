"""Conversations, their messages and contacts, read by agents; the live monitor."""

from __future__ import annotations

from aiohttp import web

from hub.actions.access import Act, check_conversation, check_listing
from hub.actions.conversations import do_reopen, do_start_conversation
from hub.actions.delivery import do_retry_delivery
from hub.api.common import current_agent, current_supervisor, hub_of, query_int, read_json
from hub.api.monitor import QUEUE_DETAIL_LIMIT, queue_entries, supervisor_agents
from hub.api.paging import decode_cursor, encode_cursor, page, page_limit, page_position
from hub.domain import Channel, ConversationStatus
from hub.errors import Invalid

routes = web.RouteTableDef()

STATUSES = {s.value for s in ConversationStatus}
CHANNELS = {c.value for c in Channel}


@routes.get("/api/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    query = request.query
    statuses = [s for s in query.get("status", "").split(",") if s]
    if set(statuses) - STATUSES:
        raise Invalid(f"status must be among {', '.join(sorted(STATUSES))}", code="invalid_status")
    channel = query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise Invalid(
            f"channel must be one of {', '.join(sorted(CHANNELS))}", code="invalid_channel"
        )
    hub = hub_of(request)
    agent_id = query.get("agent_id") or None
    contact_id = query.get("contact_id") or None
    await check_listing(hub, agent, statuses=statuses, agent_id=agent_id, contact_id=contact_id)
    limit = page_limit(request)
    records = await hub.store.list_conversations(
        agent.tenant,
        status=statuses or None,
        agent_id=agent_id,
        channel=channel,
        contact_id=contact_id,
        after=page_position(request, "conversations"),
        limit=limit + 1,
    )
    items, after = page("conversations", records, limit, lambda c: (c.created_at, c.id))
    return web.json_response({"items": [c.public() for c in items], "next": after})


@routes.post("/api/v1/conversations")
async def start_conversation(request: web.Request) -> web.Response:
    """An agent writes first to a customer: on an email or SMS account, or in web chat."""
    agent = await current_agent(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", code="invalid_body")
    conversation, message = await do_start_conversation(hub_of(request), agent, body)
    return web.json_response(
        {"conversation": conversation.public(), "message": message.public()}, status=201
    )


@routes.post("/api/v1/conversations/{conversation_id}/reopen")
async def reopen_conversation(request: web.Request) -> web.Response:
    """A closed conversation opens again, assigned to the caller."""
    agent = await current_agent(request)
    conversation = await do_reopen(hub_of(request), agent, request.match_info["conversation_id"])
    return web.json_response(conversation.public())


@routes.post("/api/v1/conversations/{conversation_id}/messages/{message_id}/retry")
async def retry_message(request: web.Request) -> web.Response:
    """Send a failed outbound message again."""
    agent = await current_agent(request)
    message = await do_retry_delivery(
        hub_of(request),
        agent,
        request.match_info["conversation_id"],
        request.match_info["message_id"],
    )
    return web.json_response(message.public())


@routes.get("/api/v1/conversations/{conversation_id}")
async def get_conversation(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    conversation = await check_conversation(
        hub_of(request), agent, request.match_info["conversation_id"], Act.READ
    )
    return web.json_response(conversation.public())


@routes.get("/api/v1/conversations/{conversation_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    hub = hub_of(request)
    conversation = await check_conversation(
        hub, agent, request.match_info["conversation_id"], Act.READ
    )
    before_seq = query_int(request, "before_seq", 0, low=1, high=2**62) or None
    messages = await hub.store.list_messages(
        agent.tenant,
        conversation.id,
        after_seq=query_int(request, "after_seq", 0, low=0, high=2**62),
        before_seq=before_seq,
        limit=query_int(request, "limit", 100, low=1, high=500),
    )
    return web.json_response({"items": [m.public() for m in messages]})


@routes.get("/api/v1/monitor")
async def monitor(request: web.Request) -> web.Response:
    """Live state for the inbox header and the supervisor view."""
    agent = await current_agent(request)
    hub = hub_of(request)
    loads = await hub.acd.loads(agent.tenant)
    body: dict[str, object] = {
        "queued": await hub.acd.queued_count(agent.tenant),
        "agents_online": hub.presence.online_count(agent.tenant),
        "serving": sum(load.held for load in loads if load.agent_id == agent.id),
    }
    if agent.is_supervisor():
        body["agents"] = await supervisor_agents(
            hub,
            agent.tenant,
            loads,
            with_conversations=request.query.get("conversations") == "true",
        )
        body["serving_total"] = sum(load.held for load in loads)
    return web.json_response(body)


@routes.get("/api/v1/monitor/queue")
async def monitor_queue(request: web.Request) -> web.Response:
    """One skill's waiting queue a page at a time, in queue order; `next` continues after the
    page's last entry, even once that one has been served."""
    supervisor = await current_supervisor(request)
    hub = hub_of(request)
    skill = request.query.get("skill") or None
    limit = page_limit(request, high=QUEUE_DETAIL_LIMIT)
    cursor = request.query.get("cursor") or None
    after = None if cursor is None else decode_cursor("queue", cursor)
    if after is not None and (
        len(after) != 4 or after[0] != skill or not _is_queue_mark(after[1:])
    ):
        raise Invalid("cursor is not one this list gave", code="invalid_cursor")
    waiting = await hub.acd.queue_page(
        supervisor.tenant, skill, after=after[1:] if after else None, limit=limit + 1
    )
    shown = waiting[:limit]
    following = encode_cursor("queue", [skill, *shown[-1][2]]) if len(waiting) > limit else None
    entries = await queue_entries(
        hub, supervisor.tenant, [(position, cid) for position, cid, _ in shown]
    )
    return web.json_response(
        {
            "skill": skill,
            "items": [cid for _, cid, _ in shown],
            "entries": entries,
            "next": following,
        }
    )


def _is_queue_mark(mark: list[object]) -> bool:
    since, arrival, conversation_id = mark
    return (
        isinstance(since, int | float)
        and not isinstance(since, bool)
        and isinstance(arrival, int)
        and not isinstance(arrival, bool)
        and isinstance(conversation_id, str)
    )
