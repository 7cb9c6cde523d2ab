"""API tokens: created by administrators, shown once, usable as Bearer, listed with their
last use, scoped to the tenant, and refused the moment they are revoked."""

from __future__ import annotations

from tests.conftest import RunningHub


async def test_a_token_works_until_revoked(running_hub: RunningHub) -> None:
    api, admin = running_hub.api, running_hub.admin_token
    status, created = await api.request(
        "POST", "/api/v1/api-tokens", token=admin, json={"name": "CRM sync"}
    )
    assert status == 201, created
    assert created["name"] == "CRM sync" and created["token"].startswith("hubk_")
    token = created["token"]

    status, me = await api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 200 and "admin" in me["roles"]
    status, contacts = await api.request("GET", "/api/v1/contacts", token=token)
    assert status == 200 and contacts["items"] == []

    status, listed = await api.request("GET", "/api/v1/api-tokens", token=admin)
    assert status == 200
    (item,) = listed["items"]
    assert item["id"] == created["id"] and item["last_used_at"] is not None
    assert "token" not in item and "token_hash" not in item

    # Only a hash is stored: the token itself is nowhere in the store.
    stored = await running_hub.hub.store.list_api_tokens("default")
    assert stored[0].token_hash != token and token not in repr(stored)

    status, _ = await api.request("DELETE", f"/api/v1/api-tokens/{created['id']}", token=admin)
    assert status == 204
    status, body = await api.request("GET", "/api/v1/auth/me", token=token)
    assert status == 401 and body["error"]["code"] == "token_invalid"
    status, body = await api.request("DELETE", f"/api/v1/api-tokens/{created['id']}", token=admin)
    assert status == 404 and body["error"]["code"] == "api_token_not_found"


async def test_only_administrators_manage_tokens(running_hub: RunningHub) -> None:
    token, _ = await running_hub.create_agent()
    api = running_hub.api
    for method, path in (("GET", "/api/v1/api-tokens"), ("POST", "/api/v1/api-tokens")):
        status, body = await api.request(method, path, token=token, json={"name": "x"})
        assert status == 403 and body["error"]["code"] == "admin_only"
    status, listed = await api.request("GET", "/api/v1/api-tokens", token=running_hub.admin_token)
    assert listed["items"] == []


async def test_bad_names_and_made_up_tokens_are_refused(running_hub: RunningHub) -> None:
    api, admin = running_hub.api, running_hub.admin_token
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 101}):
        status, answer = await api.request("POST", "/api/v1/api-tokens", token=admin, json=body)
        assert status == 400, body
        assert answer["error"]["code"] in ("invalid_body", "invalid_name")
    status, answer = await api.request("GET", "/api/v1/auth/me", token="hubk_made-up")
    assert status == 401 and answer["error"]["code"] == "token_invalid"
    assert (await api.request("GET", "/api/v1/api-tokens", token=admin))[1]["items"] == []


async def test_a_token_stops_with_its_agent(running_hub: RunningHub) -> None:
    """A token acts for the administrator who made it: disabling that agent stops it."""
    api, admin = running_hub.api, running_hub.admin_token
    second_admin, agent = await running_hub.create_agent(roles=["admin"])
    status, created = await api.request(
        "POST", "/api/v1/api-tokens", token=second_admin, json={"name": "ops"}
    )
    assert status == 201
    assert (await api.request("GET", "/api/v1/auth/me", token=created["token"]))[0] == 200
    status, _ = await api.request(
        "PATCH", f"/api/v1/agents/{agent['id']}", token=admin, json={"disabled": True}
    )
    assert status == 200
    status, body = await api.request("GET", "/api/v1/auth/me", token=created["token"])
    assert status == 401 and body["error"]["code"] == "token_invalid"


async def test_last_use_is_written_at_most_once_a_minute(running_hub: RunningHub) -> None:
    api, admin = running_hub.api, running_hub.admin_token
    _, created = await api.request("POST", "/api/v1/api-tokens", token=admin, json={"name": "x"})
    assert (await api.request("GET", "/api/v1/contacts", token=created["token"]))[0] == 200
    first = (await running_hub.hub.store.list_api_tokens("default"))[0].last_used_at
    assert first is not None
    for _ in range(3):
        assert (await api.request("GET", "/api/v1/contacts", token=created["token"]))[0] == 200
    assert (await running_hub.hub.store.list_api_tokens("default"))[0].last_used_at == first
