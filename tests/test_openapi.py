"""The OpenAPI description: every REST call the hub serves is in it, its request schemas
are the pydantic models the views validate with, it is browsable, and schemathesis, run
against the served description with an administrator's API token, finds no server error
and no answer that breaks the schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

from config.settings import Settings
from hub.api.integrations import NewWebhook
from hub.api.openapi import OPERATIONS, api_routes
from hub.app import create_app
from tests.conftest import RunningHub, hub_running

ST = Path(sys.executable).with_name("st")


def served_app(tmp_path: Path) -> web.Application:
    """An app as the hub builds it (its routes are all added by create_app)."""
    return create_app(Settings(data_dir=tmp_path / "routes-only"))


async def test_every_rest_call_is_described(running_hub: RunningHub, tmp_path: Path) -> None:
    served = api_routes(served_app(tmp_path))
    assert served, "no routes found"
    assert [route for route in served if route not in OPERATIONS] == []
    assert [route for route in OPERATIONS if route not in served] == []
    status, document = await running_hub.api.request("GET", "/api/v1/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert described == set(served)


async def test_request_schemas_come_from_the_validating_models(running_hub: RunningHub) -> None:
    _, document = await running_hub.api.request("GET", "/api/v1/openapi.json")
    operation = document["paths"]["/api/v1/webhooks"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema == NewWebhook.model_json_schema()
    assert operation["security"] == [{"bearer": []}]
    links = operation["responses"]["201"]["links"]
    assert links["delete_api_v1_webhooks_webhook_id_"]["parameters"] == {
        "webhook_id": "$response.body#/id"
    }
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == []


async def test_the_reference_page_lists_every_call(running_hub: RunningHub, tmp_path: Path) -> None:
    async with running_hub.api.session.get(running_hub.base_url + "/docs/api") as response:
        assert response.status == 200 and response.content_type == "text/html"
        page = await response.text()
    for method, path in api_routes(served_app(tmp_path)):
        assert f"<code>{path}</code>" in page, (method, path)
    assert "<script" not in page


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_no_schema_break(tmp_path: Path) -> None:
    async with hub_running(tmp_path / "data") as running:
        status, created = await running.api.request(
            "POST", "/api/v1/api-tokens", token=running.admin_token, json={"name": "fuzz"}
        )
        assert status == 201
        process = await asyncio.create_subprocess_exec(
            str(ST),
            "run",
            f"{running.base_url}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--header",
            f"Authorization: Bearer {created['token']}",
            "--max-examples",
            os.environ.get("HUB_TEST_FUZZ_EXAMPLES", "10"),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            "21",
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode(errors="replace")[-20000:]


async def test_real_answers_match_the_described_responses(running_hub: RunningHub) -> None:
    """Every described GET answers, with data of every kind in the tenant, what its response
    model says (schemathesis mostly meets these calls with made-up ids)."""
    agent = await running_hub.agent()
    visitor = await running_hub.visitor()
    await visitor.say("describe me")
    assigned = await agent.wait_for("conversation.assigned")
    await agent.say(assigned["conversation"]["id"], "described")
    ids = {
        "agent_id": agent.id,
        "conversation_id": assigned["conversation"]["id"],
        "contact_id": assigned["conversation"]["contact_id"],
    }
    checked = []
    for (method, path), operation in OPERATIONS.items():
        if method != "GET" or operation.response is None or operation.auth == "platform":
            continue
        if "{webhook_id}" in path:
            continue  # tests/test_webhooks.py reads those with real webhooks
        url = path.format(**ids) + ("?q=describe" if "/search/" in path else "")
        status, answer = await running_hub.api.request("GET", url, token=running_hub.admin_token)
        assert status == 200, (path, answer)
        operation.response.model_validate(answer)
        checked.append(path)
    assert len(checked) >= 8, checked
