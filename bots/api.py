"""REST for the bots: settings, the knowledge base (articles, search, CSV import and
export), metrics, agent suggestions, and the hand-off Rasa's action server calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bots.knowledge import MAX_CSV_BYTES, ArticleBody, ArticlePatch, Hit, KnowledgeBase
from bots.service import BotService
from bots.settings import BotSettings
from hub.actions.access import Act, check_conversation
from hub.api.common import (
    current_admin,
    current_agent,
    current_supervisor,
    parse_body,
    query_int,
)
from hub.domain import ConversationStatus, MessageType, SenderType
from hub.errors import Conflict, Invalid, NotFound, TooLarge

BOTS = web.AppKey("bots", BotService)
routes = web.RouteTableDef()
MAX_QUERY = 5000
SUGGESTIONS = 3


def _service(request: web.Request) -> BotService:
    return request.app[BOTS]


def _knowledge(request: web.Request) -> KnowledgeBase:
    return request.app[BOTS].knowledge


def _hits(hits: list[Hit]) -> dict[str, object]:
    return {"items": [{"article": h.article, "score": h.score} for h in hits]}


@routes.get("/api/v1/settings/bot")
async def get_settings(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    return web.json_response((await _service(request).settings(admin.tenant)).public())


@routes.put("/api/v1/settings/bot")
async def put_settings(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, BotSettings)
    settings = await _service(request).update_settings(admin.tenant, body)
    return web.json_response(settings.public())


@routes.get("/api/v1/kb/articles")
async def list_articles(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    return web.json_response({"items": await _knowledge(request).list(agent.tenant)})


@routes.post("/api/v1/kb/articles")
async def create_article(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    body = await parse_body(request, ArticleBody)
    article = await _knowledge(request).create(admin.tenant, body)
    return web.json_response(article, status=201)


@routes.get("/api/v1/kb/articles/{article_id}")
async def get_article(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    article = await _knowledge(request).get(agent.tenant, request.match_info["article_id"])
    return web.json_response(article)


@routes.patch("/api/v1/kb/articles/{article_id}")
async def patch_article(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    patch = await parse_body(request, ArticlePatch)
    article = await _knowledge(request).update(
        admin.tenant, request.match_info["article_id"], patch
    )
    return web.json_response(article)


@routes.delete("/api/v1/kb/articles/{article_id}")
async def delete_article(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    await _knowledge(request).delete(admin.tenant, request.match_info["article_id"])
    return web.Response(status=204)


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str
    limit: int = Field(default=5, ge=1, le=50)


@routes.get("/api/v1/kb/search")
async def search(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    limit = query_int(request, "limit", 5, low=1, high=50)
    return await _search(request, agent.tenant, request.query.get("q", ""), limit)


@routes.post("/api/v1/kb/search")
async def search_long(request: web.Request) -> web.Response:
    """The same as GET, for questions too long for a URL (5,000 Chinese characters)."""
    agent = await current_agent(request)
    body = await parse_body(request, SearchBody)
    return await _search(request, agent.tenant, body.q, body.limit)


async def _search(request: web.Request, tenant: str, query: str, limit: int) -> web.Response:
    if not query.strip():
        raise Invalid("q must not be empty", code="empty_query")
    if len(query) > MAX_QUERY:
        raise TooLarge(
            f"q is longer than {MAX_QUERY} characters", code="query_too_long", limit=MAX_QUERY
        )
    return web.json_response(_hits(await _knowledge(request).search(tenant, query, limit)))


@routes.get("/api/v1/kb/export")
async def export_csv(request: web.Request) -> web.Response:
    admin = await current_admin(request)
    text = await _knowledge(request).export_csv(admin.tenant)
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="knowledge-base.csv"'},
    )


@routes.post("/api/v1/kb/import")
async def import_csv(request: web.Request) -> web.Response:
    """The body is the CSV file itself (text/csv, UTF-8), or a form with it as `file` (the
    console's upload): all rows or none."""
    admin = await current_admin(request)
    if request.content_length is not None and request.content_length > MAX_CSV_BYTES + 65536:
        raise TooLarge(
            f"the file is larger than {MAX_CSV_BYTES} bytes",
            code="csv_too_large",
            limit=MAX_CSV_BYTES,
        )
    if request.content_type == "multipart/form-data":
        data = await _uploaded_file(request)
    else:
        # A knowledge base is larger than the hub's usual request limit (max_body_bytes).
        data = await request.clone(client_max_size=MAX_CSV_BYTES + 1).read()
    articles = await _knowledge(request).import_csv(admin.tenant, data)
    return web.json_response({"imported": len(articles)})


async def _uploaded_file(request: web.Request) -> bytes:
    try:
        return await _file_field(request)
    except (ValueError, HttpProcessingError) as exc:  # no boundary, a broken part header …
        raise Invalid(f"the multipart body is not valid: {exc}", code="invalid_upload") from exc


async def _file_field(request: web.Request) -> bytes:
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "file":
            data = bytearray()
            while chunk := await part.read_chunk():
                data.extend(chunk)
                if len(data) > MAX_CSV_BYTES:
                    raise TooLarge(
                        f"the file is larger than {MAX_CSV_BYTES} bytes",
                        code="csv_too_large",
                        limit=MAX_CSV_BYTES,
                    )
            return bytes(data)
    raise Invalid("the form has no file field", code="csv_missing")


@routes.get("/api/v1/kb/suggestions")
async def suggestions(request: web.Request) -> web.Response:
    """The best articles for the latest customer message of a conversation the caller may
    read: what the inbox offers to put in the composer."""
    agent = await current_agent(request)
    conversation = await check_conversation(
        request.app[BOTS].hub, agent, request.query.get("conversation_id"), Act.READ
    )
    hub = request.app[BOTS].hub
    recent = await hub.store.list_messages(
        agent.tenant,
        conversation.id,
        after_seq=max(0, conversation.last_seq - 20),
        limit=20,
    )
    asked = next(
        (
            m
            for m in reversed(recent)
            if m.sender.type == SenderType.CONTACT.value
            and m.type == MessageType.TEXT.value
            and m.text.strip()
        ),
        None,
    )
    if asked is None:
        return web.json_response({"items": [], "message_id": None})
    settings = await _service(request).settings(agent.tenant)
    hits = await _knowledge(request).search(agent.tenant, asked.text, SUGGESTIONS)
    chosen = [h for h in hits if h.score >= settings.suggest_threshold]
    return web.json_response({**_hits(chosen), "message_id": asked.id})


@routes.get("/api/v1/bot/metrics")
async def metrics(request: web.Request) -> web.Response:
    supervisor = await current_supervisor(request)
    days = query_int(request, "days", 30, low=1, high=366)
    since = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
    store = request.app[BOTS].hub.store
    return web.json_response(
        {
            "days": await store.list_bot_stats(supervisor.tenant, since),
            "unanswered": await store.list_unanswered(supervisor.tenant, 50),
        }
    )


Skill = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class HandOffBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skill: Skill | None = Field(default=None)


@routes.post("/api/v1/bot/conversations/{conversation_id}/handoff")
async def hand_off(request: web.Request) -> web.Response:
    """A bot's request for a human from outside its answer (Rasa's action server): any
    staff token of the tenant, typically an administrator's kept by the action server."""
    agent = await current_agent(request)
    body = await parse_body(request, HandOffBody)
    service = _service(request)
    conversation = await service.hub.store.get_conversation(
        agent.tenant, request.match_info["conversation_id"]
    )
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    if conversation.status != ConversationStatus.BOT.value or not await service.hand_off(
        conversation, body.skill
    ):
        raise Conflict("the bot does not hold this conversation", code="not_with_bot")
    current = await service.hub.store.get_conversation(agent.tenant, conversation.id)
    assert current is not None
    return web.json_response({"conversation": current.public()})
