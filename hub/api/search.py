"""Search over contacts and conversations (Chinese and English substrings), and the list of
ratings customers gave. Pages: `?limit=&cursor=` → `{items, next}` (`next` null on the last
page; pass it as `cursor` for the next one)."""

from __future__ import annotations

import base64
import binascii

import orjson
from aiohttp import web

from hub.api.common import current_agent, current_supervisor, hub_of, query_int
from hub.domain import Conversation, iso
from hub.errors import Invalid
from hub.storage.base import After

routes = web.RouteTableDef()

MAX_QUERY = 100


def _query_text(request: web.Request) -> str:
    text = request.query.get("q", "").strip()
    if not 0 < len(text) <= MAX_QUERY:
        raise Invalid(f"q is text of 1 to {MAX_QUERY} characters", code="invalid_query")
    return text


def _cursor(request: web.Request) -> After | None:
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        key, record_id = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
        if not isinstance(key, str) or not isinstance(record_id, str):
            raise ValueError(raw)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise Invalid("cursor is the `next` of the page before", code="invalid_cursor") from None
    return key, record_id


def _next(items: list[object], limit: int, key: str | None, record_id: str) -> str | None:
    if len(items) < limit or key is None:
        return None
    return base64.urlsafe_b64encode(orjson.dumps([key, record_id])).decode()


def _limit(request: web.Request) -> int:
    return query_int(request, "limit", 50, low=1, high=200)


@routes.get("/api/v1/search/contacts")
async def search_contacts(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    limit = _limit(request)
    contacts = await hub_of(request).store.search_contacts(
        agent.tenant, _query_text(request), limit=limit, after=_cursor(request)
    )
    last = contacts[-1] if contacts else None
    return web.json_response(
        {
            "items": [c.public() for c in contacts],
            "next": _next(contacts, limit, iso(last.last_seen_at), last.id) if last else None,
        }
    )


@routes.get("/api/v1/search/conversations")
async def search_conversations(request: web.Request) -> web.Response:
    """Agents find the conversations they may list (their own and the queue's, as
    GET /api/v1/conversations allows); supervisors every one."""
    agent = await current_agent(request)
    hub = hub_of(request)
    limit = _limit(request)
    hits = await hub.store.search_conversations(
        agent.tenant,
        _query_text(request),
        visible_to=None if agent.is_supervisor() else agent.id,
        limit=limit,
        after=_cursor(request),
    )
    names = await _contact_names(request, [hit.conversation for hit in hits])
    last = hits[-1].conversation if hits else None
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
            "next": _next(hits, limit, iso(last.created_at), last.id) if last else None,
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
    rated = await hub.store.list_rated_conversations(
        supervisor.tenant, limit=limit, after=_cursor(request)
    )
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
    last = rated[-1] if rated else None
    return web.json_response(
        {
            "items": items,
            "next": _next(rated, limit, iso(last.closed_at), last.id) if last else None,
        }
    )
