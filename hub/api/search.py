"""Search over contacts and conversations (Chinese and English substrings), and the list of
ratings customers gave. Pages: `?limit=&cursor=` → `{items, next}` (`next` null on the last
page; pass it as `cursor` for the next one)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from hub.api.common import current_agent, current_supervisor, hub_of
from hub.api.paging import page, page_limit, page_position
from hub.domain import Conversation, iso
from hub.errors import Invalid

# A record without its sort time (a contact never seen) sorts as the oldest.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

routes = web.RouteTableDef()

MAX_QUERY = 100


def _query_text(request: web.Request) -> str:
    text = request.query.get("q", "").strip()
    if not 0 < len(text) <= MAX_QUERY:
        raise Invalid(f"q is text of 1 to {MAX_QUERY} characters", code="invalid_query")
    return text


def _limit(request: web.Request) -> int:
    return page_limit(request, default=50, high=200)


@routes.get("/api/v1/search/contacts")
async def search_contacts(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    limit = _limit(request)
    found = await hub_of(request).store.search_contacts(
        agent.tenant,
        _query_text(request),
        limit=limit + 1,
        after=page_position(request, "search_contacts"),
    )
    contacts, following = page(
        "search_contacts", found, limit, lambda c: (c.last_seen_at or EPOCH, c.id)
    )
    return web.json_response({"items": [c.public() for c in contacts], "next": following})


@routes.get("/api/v1/search/conversations")
async def search_conversations(request: web.Request) -> web.Response:
    """Agents find the conversations they may list (their own and the queue's, as
    GET /api/v1/conversations allows); supervisors every one."""
    agent = await current_agent(request)
    hub = hub_of(request)
    limit = _limit(request)
    found = await hub.store.search_conversations(
        agent.tenant,
        _query_text(request),
        visible_to=None if agent.is_supervisor() else agent.id,
        limit=limit + 1,
        after=page_position(request, "search_conversations"),
    )
    hits, following = page(
        "search_conversations",
        found,
        limit,
        lambda h: (h.conversation.created_at, h.conversation.id),
    )
    names = await _contact_names(request, [hit.conversation for hit in hits])
    return web.json_response(
        {
            "items": [
                {
                    "conversation": hit.conversation.public(),
                    "contact_name": names.get(hit.conversation.contact_id, ""),
                    "message": hit.message.public(),
                }
                for hit in hits
            ],
            "next": following,
        }
    )


async def _contact_names(request: web.Request, conversations: list[Conversation]) -> dict[str, str]:
    hub = hub_of(request)
    names: dict[str, str] = {}
    for conversation in conversations:
        if conversation.contact_id not in names:
            contact = await hub.store.get_contact(conversation.tenant, conversation.contact_id)
            names[conversation.contact_id] = contact.name if contact else ""
    return names


@routes.get("/api/v1/ratings")
async def list_ratings(request: web.Request) -> web.Response:
    """What customers said of the conversations they rated, most recently closed first."""
    supervisor = await current_supervisor(request)
    hub = hub_of(request)
    limit = _limit(request)
    found = await hub.store.list_rated_conversations(
        supervisor.tenant, limit=limit + 1, after=page_position(request, "ratings")
    )
    rated, following = page("ratings", found, limit, lambda c: (c.closed_at or EPOCH, c.id))
    names = await _contact_names(request, rated)
    agents = {a.id: a.name for a in await hub.store.list_agents(supervisor.tenant)}
    items = []
    for conversation in rated:
        assert conversation.rating is not None
        items.append(
            {
                "conversation_id": conversation.id,
                "channel": conversation.channel,
                "contact_id": conversation.contact_id,
                "contact_name": names.get(conversation.contact_id, ""),
                "agent_id": conversation.agent_id,
                "agent_name": agents.get(conversation.agent_id or "", ""),
                "score": conversation.rating.score,
                "comment": conversation.rating.comment,
                "closed_at": iso(conversation.closed_at),
            }
        )
    return web.json_response({"items": items, "next": following})
