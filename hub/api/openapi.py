"""The OpenAPI 3.1 description of the REST API, built from the routes the app serves and the
pydantic models that validate their requests (one source of truth: a request model here is
the one its view parses with).

OPERATIONS says, per route, what the router cannot: a summary, who may call it, its query
parameters and its request and response models. A route missing from it is still described
(as taking and answering a JSON object), and tests/test_openapi.py fails until it is listed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hub.api.agents import AgentChanges, NewAgent
from hub.api.auth import LoginBody, PasswordBody
from hub.api.integrations import (
    ApiTokenList,
    CreatedApiToken,
    DeliveryList,
    DeliveryOut,
    NewApiToken,
    NewWebhook,
    WebhookChanges,
    WebhookList,
    WebhookOut,
)
from hub.api.schemas import (
    AgentOut,
    AgentPage,
    AgentWithState,
    ContactOut,
    ContactPage,
    ConversationOut,
    ConversationPage,
    MessageList,
    MessageOut,
    StartedConversation,
)
from hub.api.settings import RoutingBody
from hub.api.tenants import CreatedTenant, NewTenant, TenantChanges, TenantList, TenantOut

Auth = Literal["public", "visitor", "agent", "supervisor", "admin", "platform"]
PAGE = ("limit", "cursor")


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    auth: Auth = "agent"
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: tuple[str, ...] = ()
    # The body is not JSON (uploads: multipart/form-data with one field named file).
    multipart: bool = False
    # The answer can be CSV too (an export, or `format=csv`).
    csv: bool = False


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/v1/auth/login"): Operation("Sign in: a token for Bearer", "public", LoginBody),
    ("POST", "/api/v1/auth/password"): Operation("Change one's own password", body=PasswordBody),
    ("GET", "/api/v1/auth/me"): Operation("The signed-in agent"),
    ("GET", "/api/v1/agents"): Operation(
        "The tenant's agents", response=AgentPage, query=(*PAGE, "include_disabled")
    ),
    ("POST", "/api/v1/agents"): Operation("Add an agent", "admin", NewAgent, AgentOut, 201),
    ("GET", "/api/v1/agents/{agent_id}"): Operation("One agent", response=AgentOut),
    ("PATCH", "/api/v1/agents/{agent_id}"): Operation(
        "Change an agent", "admin", AgentChanges, AgentWithState
    ),
    ("GET", "/api/v1/settings/routing"): Operation("The routing settings"),
    ("PUT", "/api/v1/settings/routing"): Operation(
        "Set the routing settings", "admin", RoutingBody
    ),
    ("GET", "/api/v1/conversations"): Operation(
        "Conversations, newest first",
        response=ConversationPage,
        query=(*PAGE, "status", "agent_id", "channel", "contact_id", "skill"),
    ),
    ("POST", "/api/v1/conversations"): Operation(
        "Start a conversation with a contact", response=StartedConversation, status=201
    ),
    ("GET", "/api/v1/conversations/{conversation_id}"): Operation(
        "One conversation", response=ConversationOut
    ),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): Operation(
        "A conversation's messages",
        response=MessageList,
        query=("after_seq", "before_seq", "limit"),
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/reopen"): Operation(
        "Reopen a closed conversation", response=ConversationOut
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/retry"): Operation(
        "Send a failed reply again", response=MessageOut
    ),
    ("GET", "/api/v1/monitor"): Operation("Live counts for the inbox", query=("conversations",)),
    ("GET", "/api/v1/monitor/queue"): Operation("The queue", "supervisor", query=PAGE),
    ("GET", "/api/v1/monitor/queues"): Operation("Queues per skill", "supervisor"),
    ("GET", "/api/v1/contacts"): Operation(
        "Contacts", response=ContactPage, query=(*PAGE, "blocked")
    ),
    ("GET", "/api/v1/contacts/{contact_id}"): Operation("One contact", response=ContactOut),
    ("PATCH", "/api/v1/contacts/{contact_id}"): Operation("Edit a contact", response=ContactOut),
    ("POST", "/api/v1/contacts/{contact_id}/block"): Operation(
        "Blacklist a contact", response=ContactOut
    ),
    ("DELETE", "/api/v1/contacts/{contact_id}/block"): Operation(
        "Lift a contact's blacklisting", response=ContactOut
    ),
    ("POST", "/api/v1/contacts/{contact_id}/merge"): Operation(
        "Merge another contact into it", response=ContactOut
    ),
    ("GET", "/api/v1/search/contacts"): Operation(
        "Search contacts", response=ContactPage, query=(*PAGE, "q")
    ),
    ("GET", "/api/v1/tags"): Operation("The tag catalogue"),
    ("PUT", "/api/v1/tags"): Operation("Set the tag catalogue", "admin"),
    ("GET", "/api/v1/search/conversations"): Operation("Search conversations", query=(*PAGE, "q")),
    ("GET", "/api/v1/ratings"): Operation("Rated conversations", "supervisor", query=PAGE),
    ("POST", "/api/v1/uploads"): Operation(
        "Upload a file (agent Bearer or X-Visitor-Token)", status=201, multipart=True
    ),
    ("GET", "/api/v1/quick-replies"): Operation("Quick replies"),
    ("PUT", "/api/v1/quick-replies"): Operation("Set the quick replies", "admin"),
    ("GET", "/api/v1/widget/availability"): Operation(
        "Whether anyone answers now", "public", query=("tenant",)
    ),
    ("GET", "/api/v1/widget/config"): Operation(
        "The widget's appearance and limits", "public", query=("tenant",)
    ),
    ("PUT", "/api/v1/settings/widget"): Operation("Set the widget's appearance", "admin"),
    ("POST", "/api/v1/left-messages"): Operation(
        "Leave a message (X-Visitor-Token)", "visitor", status=201
    ),
    ("GET", "/api/v1/left-messages"): Operation("Left messages", query=(*PAGE, "handled")),
    ("PATCH", "/api/v1/left-messages/{left_id}"): Operation("Mark a left message handled"),
    ("POST", "/api/v1/left-messages/{left_id}/take"): Operation("Take a left message"),
    ("POST", "/api/v1/left-messages/{left_id}/reply"): Operation("Answer a left message"),
    ("GET", "/api/v1/channel-types"): Operation("Kinds of channel accounts", "admin"),
    ("GET", "/api/v1/channel-accounts"): Operation("The channel accounts agents reply on"),
    ("GET", "/api/v1/channels"): Operation("Channel accounts", "admin"),
    ("POST", "/api/v1/channels"): Operation("Add a channel account", "admin", status=201),
    ("GET", "/api/v1/channels/{channel_id}"): Operation("One channel account", "admin"),
    ("PATCH", "/api/v1/channels/{channel_id}"): Operation("Change a channel account", "admin"),
    ("DELETE", "/api/v1/channels/{channel_id}"): Operation(
        "Remove a channel account", "admin", status=204
    ),
    ("GET", "/api/v1/openapi.json"): Operation("This description", "public"),
    ("POST", "/api/v1/api-tokens"): Operation(
        "Create an API token (shown once)", "admin", NewApiToken, CreatedApiToken, 201
    ),
    ("GET", "/api/v1/api-tokens"): Operation("API tokens", "admin", response=ApiTokenList),
    ("DELETE", "/api/v1/api-tokens/{token_id}"): Operation(
        "Revoke an API token", "admin", status=204
    ),
    ("POST", "/api/v1/webhooks"): Operation(
        "Subscribe a URL to events", "admin", NewWebhook, WebhookOut, 201
    ),
    ("GET", "/api/v1/webhooks"): Operation("Webhooks", "admin", response=WebhookList),
    ("GET", "/api/v1/webhooks/{webhook_id}"): Operation(
        "One webhook", "admin", response=WebhookOut
    ),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): Operation(
        "Enable or disable a webhook", "admin", WebhookChanges, WebhookOut
    ),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Operation(
        "Delete a webhook and its log", "admin", status=204
    ),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): Operation(
        "A webhook's delivery log, newest first", "admin", response=DeliveryList, query=("limit",)
    ),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"): Operation(
        "Send a delivery again", "admin", response=DeliveryOut
    ),
    ("POST", "/api/v1/tenants"): Operation(
        "Create a tenant with its first administrator", "platform", NewTenant, CreatedTenant, 201
    ),
    ("GET", "/api/v1/tenants"): Operation("Tenants", "platform", response=TenantList),
    ("GET", "/api/v1/tenants/{tenant_id}"): Operation("A tenant", "platform", response=TenantOut),
    ("PATCH", "/api/v1/tenants/{tenant_id}"): Operation(
        "Suspend or resume a tenant", "platform", TenantChanges, TenantOut
    ),
    ("DELETE", "/api/v1/tenants/{tenant_id}"): Operation(
        "Delete a tenant and everything it owns", "platform", status=204
    ),
    ("GET", "/api/v1/visitors/online"): Operation(
        "Visitors on the customer's site now (在线访客)",
        query=("q", "status", "device", "offset", "limit"),
    ),
    ("GET", "/api/v1/visitors/stats"): Operation(
        "Visitors online, today's PV / IP and each agent's invitations today"
    ),
    ("GET", "/api/v1/settings/invitation"): Operation(
        "The invitation pop-up and auto-invite rules"
    ),
    ("PUT", "/api/v1/settings/invitation"): Operation(
        "Set the invitation pop-up and auto-invite rules", "admin"
    ),
    ("GET", "/api/v1/settings/bot"): Operation("The bot's mode and hand-off rules", "admin"),
    ("PUT", "/api/v1/settings/bot"): Operation("Set the bot's mode and hand-off rules", "admin"),
    ("GET", "/api/v1/kb/articles"): Operation("The knowledge base's articles"),
    ("POST", "/api/v1/kb/articles"): Operation("Add an article", "admin", status=201),
    ("GET", "/api/v1/kb/articles/{article_id}"): Operation("One article"),
    ("PATCH", "/api/v1/kb/articles/{article_id}"): Operation("Change an article", "admin"),
    ("DELETE", "/api/v1/kb/articles/{article_id}"): Operation(
        "Remove an article", "admin", status=204
    ),
    ("GET", "/api/v1/kb/search"): Operation(
        "The best articles for a question", query=("q", "limit")
    ),
    ("POST", "/api/v1/kb/search"): Operation("The best articles for a long question"),
    ("GET", "/api/v1/kb/export"): Operation("The knowledge base as CSV", "admin", csv=True),
    ("POST", "/api/v1/kb/import"): Operation(
        "Import articles from CSV (all rows or none)", "admin", multipart=True
    ),
    ("GET", "/api/v1/kb/suggestions"): Operation(
        "Answers to suggest for a conversation's newest question", query=("conversation_id",)
    ),
    ("GET", "/api/v1/bot/metrics"): Operation(
        "The bot's daily counts and unanswered questions", "supervisor", query=("days",)
    ),
    ("POST", "/api/v1/bot/conversations/{conversation_id}/handoff"): Operation(
        "Hand a bot's conversation to a human (Rasa's action server)"
    ),
    ("GET", "/api/v1/reports/summary"): Operation(
        "Conversations, messages, times, satisfaction and left messages over a range",
        "supervisor",
        query=("from", "to", "tz", "group_by", "format"),
        csv=True,
    ),
    ("GET", "/api/v1/im/directory"): Operation("Departments and colleagues"),
    ("GET", "/api/v1/im/threads"): Operation("One's team chats, most recent first"),
    ("POST", "/api/v1/im/direct"): Operation("The direct chat with a colleague"),
    ("POST", "/api/v1/im/groups"): Operation("Create a group", status=201),
    ("PATCH", "/api/v1/im/groups/{thread_id}"): Operation("Change a group (owner or admin)"),
    ("POST", "/api/v1/im/groups/{thread_id}/leave"): Operation("Leave a group"),
    ("DELETE", "/api/v1/im/groups/{thread_id}"): Operation("Dissolve a group (owner)", status=204),
    ("PUT", "/api/v1/im/threads/{thread_id}/mute"): Operation("Mute or unmute a chat"),
    ("GET", "/api/v1/im/threads/{thread_id}"): Operation("One team chat"),
    ("GET", "/api/v1/im/threads/{thread_id}/messages"): Operation(
        "A team chat's messages in seq order", query=("after_seq", "before_seq", "limit")
    ),
    ("GET", "/api/v1/im/threads/{thread_id}/consult/{conversation_id}"): Operation(
        "A customer conversation shared into a team chat, read-only"
    ),
    ("GET", "/api/v1/im/search"): Operation("Search one's team chats", query=("q",)),
    ("GET", "/api/v1/im/departments"): Operation("Departments"),
    ("POST", "/api/v1/im/departments"): Operation("Add a department", "admin", status=201),
    ("PATCH", "/api/v1/im/departments/{department_id}"): Operation(
        "Rename or move a department", "admin"
    ),
    ("DELETE", "/api/v1/im/departments/{department_id}"): Operation(
        "Delete an empty department", "admin", status=204
    ),
    ("PUT", "/api/v1/im/people/{agent_id}/department"): Operation(
        "Place an agent in a department", "admin"
    ),
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ANY_OBJECT: dict[str, Any] = {"type": "object"}
PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]*)?}")
REF = "#/components/schemas/{model}"


def api_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) of every REST call the app serves."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method not in ("HEAD", "*"):
            found.add((route.method, path))
    return sorted(found, key=lambda item: (item[1], item[0]))


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(
    method: str, path: str, op: Operation, schemas: dict[tuple[type[BaseModel], str], Any]
) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PATH_PARAMETER.findall(path)
    ] + [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in op.query
    ]
    described: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}",
        "summary": op.summary,
        "tags": [path.split("/")[3]],
        "parameters": parameters,
        "security": [] if op.auth in ("public", "visitor") else [{"bearer": []}],
        # The platform token is another bearer: the same scheme, another secret.
        "x-hub-auth": op.auth,
    }
    if op.multipart:
        described["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    elif op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": _json(schemas[(op.body, "validation")]),
        }
    elif method in ("POST", "PUT", "PATCH"):
        described["requestBody"] = {"required": False, "content": _json(ANY_OBJECT)}
    if op.status == 204:
        success: dict[str, Any] = {"description": "done"}
    else:
        answer = schemas[(op.response, "serialization")] if op.response else ANY_OBJECT
        success = {"description": "done", "content": _json(answer)}
        if op.csv:
            success["content"]["text/csv"] = {"schema": {"type": "string"}}
    described["responses"] = {
        str(op.status): success,
        "4XX": {"description": "refused: what and why", "content": _json(ERROR_SCHEMA)},
    }
    return described


def _link_created_records(
    ops: dict[tuple[str, str], Operation], paths: dict[str, dict[str, Any]]
) -> None:
    """OpenAPI links from each call that creates a record (201 with an `id`) to the calls on
    that record (`<its path>/{id}...`), so that clients, and schemathesis's stateful phase,
    know where the id goes."""
    for (method, base), op in ops.items():
        if method != "POST" or op.status != 201 or op.response is None:
            continue
        if "id" not in op.response.model_fields:
            continue
        links: dict[str, Any] = {}
        for (target_method, target), _ in ops.items():
            if not target.startswith(base + "/{"):
                continue
            param = PATH_PARAMETER.match(target[len(base) + 1 :])
            assert param is not None
            target_op = paths[target][target_method.lower()]
            links[target_op["operationId"]] = {
                "operationId": target_op["operationId"],
                "parameters": {param.group(1): "$response.body#/id"},
            }
        if links:
            paths[base]["post"]["responses"]["201"]["links"] = links


def build_document(app: web.Application) -> dict[str, Any]:
    routes = api_routes(app)
    ops = {key: OPERATIONS.get(key, Operation("(not described yet)")) for key in routes}
    models = {(op.body, "validation") for op in ops.values() if op.body} | {
        (op.response, "serialization") for op in ops.values() if op.response
    }
    schemas, definitions = models_json_schema(sorted(models, key=str), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), op in ops.items():
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op, schemas)
    _link_created_records(ops, paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Omnichannel hub REST API",
            "version": "1",
            "description": "Errors are {error: {code, message}}. Agents sign in with "
            "POST /api/v1/auth/login; integrations use an API token. See docs/protocol.md "
            "and docs/integrations.md.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def reference_page(document: dict[str, Any]) -> str:
    """A plain, browsable HTML reference of the description (no script, no vendored
    renderer): each call with its summary, who may make it and its parameters, the request
    and response schemas as JSON."""
    schemas = document["components"]["schemas"]
    out = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>{escape(document['info']['title'])}</title>",
        "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;"
        "overflow:auto}h2{margin-top:2rem;border-top:1px solid #ddd;padding-top:1rem}"
        ".m{font-weight:bold;display:inline-block;min-width:4.5rem}</style>",
        f"<h1>{escape(document['info']['title'])}</h1>",
        f"<p>{escape(document['info']['description'])} "
        "The machine-readable description: <a href=/api/v1/openapi.json>openapi.json</a>.</p>",
    ]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            out.append(
                f"<h2 id={escape(op['operationId'])}><span class=m>{method.upper()}</span>"
                f"<code>{escape(path)}</code></h2><p>{escape(op['summary'])} "
                f"({escape(op['x-hub-auth'])})</p>"
            )
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op["parameters"])
            if params:
                out.append(f"<p>Parameters: {escape(params)}</p>")
            body = op.get("requestBody", {}).get("content", {})
            for kind, content in body.items():
                out.append(f"<p>Body ({escape(kind)}):</p>{_schema_block(content, schemas)}")
            for status, answer in op["responses"].items():
                content = answer.get("content", {}).get("application/json")
                out.append(f"<p>{escape(status)}: {escape(answer['description'])}</p>")
                if content and status != "4XX":
                    out.append(_schema_block(content, schemas))
    return "\n".join(out)


def _schema_block(content: dict[str, Any], schemas: dict[str, Any]) -> str:
    schema = content["schema"]
    ref = schema.get("$ref", "")
    if ref:
        schema = schemas.get(ref.rsplit("/", 1)[-1], schema)
    return f"<pre>{escape(json.dumps(schema, indent=2, ensure_ascii=False))}</pre>"


routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))


@routes.get("/docs/api")
async def reference_view(request: web.Request) -> web.Response:
    return web.Response(text=reference_page(build_document(request.app)), content_type="text/html")
