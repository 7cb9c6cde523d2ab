"""The supervisor console's live monitor (班长监控): agents with names and the conversations
they hold, and every skill's waiting queue with how long each visitor has waited.

The ACD is the truth for queue order and load; the store adds the details people read (names,
channels, arrival times). Reads only: nothing here changes state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from hub.acd.base import AgentLoad
from hub.api.common import current_supervisor, hub_of
from hub.context import Hub
from hub.domain import Conversation, ConversationStatus, iso, utcnow

routes = web.RouteTableDef()

# Beyond this many waiting conversations per skill only the count is given: the console shows
# the head of a long queue, and each entry costs two point reads.
QUEUE_DETAIL_LIMIT = 100
# Open conversations read to find the skills that have waiting visitors and each agent's list.
SCAN_LIMIT = 1000


async def supervisor_agents(
    hub: Hub, tenant: str, loads: Iterable[AgentLoad], *, with_conversations: bool = False
) -> list[dict[str, Any]]:
    """One entry per routable agent: the ACD's load plus name and roles, and on request the
    conversations each holds (the inbox header polls the monitor too and needs none)."""
    profiles = {agent.id: agent for agent in await hub.store.list_agents(tenant)}
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    assigned = (
        await hub.store.list_conversations(
            tenant, status=[ConversationStatus.ASSIGNED.value], limit=SCAN_LIMIT
        )
        if with_conversations
        else []
    )
    for conversation in assigned:
        if conversation.agent_id:
            held[conversation.agent_id].append(
                {
                    "id": conversation.id,
                    "contact_id": conversation.contact_id,
                    "channel": conversation.channel,
                    "skill": conversation.skill,
                    "assigned_at": iso(conversation.assigned_at),
                    "last_message_at": iso(conversation.last_message_at),
                    "last_message_preview": conversation.last_message_preview,
                }
            )
    entries = []
    for load in loads:
        profile = profiles.get(load.agent_id)
        entries.append(
            {
                "agent_id": load.agent_id,
                "name": profile.name if profile else "",
                "email": profile.email if profile else "",
                "roles": list(profile.roles) if profile else [],
                "presence": hub.presence.presence((tenant, load.agent_id)),
                "held": load.held,
                "max_concurrent": load.max_concurrent,
                "skills": sorted(load.skills),
            }
        )
        if with_conversations:
            entries[-1]["conversations"] = sorted(
                held.get(load.agent_id, []), key=lambda c: c["assigned_at"] or ""
            )
    entries.sort(key=lambda e: (e["name"].lower(), e["agent_id"]))
    return entries


async def queue_entries(
    hub: Hub,
    tenant: str,
    waiting: list[tuple[int, str]],
    known: dict[str, Conversation] | None = None,
) -> list[dict[str, Any]]:
    """Details of waiting conversations of one queue: (position, conversation id) each."""
    now = utcnow()
    entries = []
    for position, conversation_id in waiting:
        conversation = (known or {}).get(conversation_id) or await hub.store.get_conversation(
            tenant, conversation_id
        )
        if conversation is None:
            continue
        contact = await hub.store.get_contact(tenant, conversation.contact_id)
        since = conversation.queued_at or conversation.created_at
        entries.append(
            {
                "conversation_id": conversation.id,
                "position": position,
                "contact_id": conversation.contact_id,
                "contact_name": contact.name if contact else "",
                "channel": conversation.channel,
                "skill": conversation.skill,
                "created_at": iso(conversation.created_at),
                "waiting_since": iso(since),
                # Computed here so that the console's clock does not matter.
                "waited_seconds": round(max(0.0, (now - since).total_seconds()), 1),
                "last_message_preview": conversation.last_message_preview,
            }
        )
    return entries


@routes.get("/api/v1/monitor/queues")
async def monitor_queues(request: web.Request) -> web.Response:
    """Every skill's queue: the queue of no skill, each skill an agent has and each skill a
    waiting conversation asked for, with counts and the waiting conversations in order."""
    supervisor = await current_supervisor(request)
    hub = hub_of(request)
    tenant = supervisor.tenant
    queued = await hub.store.list_conversations(
        tenant, status=[ConversationStatus.QUEUED.value], limit=SCAN_LIMIT
    )
    known = {c.id: c for c in queued}
    skills: set[str] = {c.skill for c in queued if c.skill}
    for agent in await hub.store.list_agents(tenant):
        if not agent.disabled:
            skills.update(agent.skills)
    queues = []
    for skill in [None, *sorted(skills)]:
        waiting = await hub.acd.queue(tenant, skill)
        head = list(enumerate(waiting[:QUEUE_DETAIL_LIMIT], start=1))
        queues.append(
            {
                "skill": skill,
                "count": len(waiting),
                "items": await queue_entries(hub, tenant, head, known),
            }
        )
    return web.json_response({"queued": await hub.acd.queued_count(tenant), "queues": queues})
