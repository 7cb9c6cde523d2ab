"""What the browser needs to manage and use channel accounts: the types with their config
keys (admins, for the console's form) and the enabled accounts by name (every agent, to
write an email from one), on a real hub with the real email type."""

from __future__ import annotations

from typing import Any

from connectors.email.config import KNOWN_KEYS, REQUIRED_KEYS, SECRET_KEYS
from tests.conftest import RunningHub, free_port


def unreachable_mailbox(**overrides: Any) -> dict[str, Any]:
    """An email account config whose servers refuse connections (nothing listens there)."""
    return {
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),
        "imap_security": "none",
        "imap_user": "shop",
        "imap_password": "imap-secret",
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
        "smtp_security": "none",
        "from_address": "shop@example.com",
        **overrides,
    }


async def test_channel_types_describe_every_config_key(running_hub: RunningHub) -> None:
    api = running_hub.api
    status, body = await api.request("GET", "/api/v1/channel-types", token=running_hub.admin_token)
    assert status == 200, body
    (email,) = [item for item in body["items"] if item["type"] == "email"]
    fields = {f["key"]: f for f in email["fields"]}
    # The form asks for exactly the keys the config accepts, nothing misspelt or missing.
    assert set(fields) == KNOWN_KEYS and len(email["fields"]) == len(KNOWN_KEYS)
    assert {k for k, f in fields.items() if f["required"]} == set(REQUIRED_KEYS)
    assert {k for k, f in fields.items() if f["secret"]} == SECRET_KEYS
    assert fields["imap_port"]["kind"] == "integer"
    assert fields["imap_security"] == {
        "key": "imap_security",
        "kind": "choice",
        "secret": False,
        "required": True,
        "choices": ["none", "starttls", "ssl"],
        "default": None,
    }
    assert fields["tls_verify"]["kind"] == "boolean" and fields["tls_verify"]["default"] is True
    assert [f["key"] for f in email["fields"]][:2] == ["imap_host", "imap_port"]

    token, _ = await running_hub.create_agent()
    status, refused = await api.request("GET", "/api/v1/channel-types", token=token)
    assert status == 403 and refused["error"]["code"] == "admin_only"


async def test_agents_read_the_enabled_accounts_by_name_only(running_hub: RunningHub) -> None:
    api, admin = running_hub.api, running_hub.admin_token
    created = []
    for name, enabled in [("Support mailbox", True), ("Old mailbox", False)]:
        status, account = await api.request(
            "POST",
            "/api/v1/channels",
            token=admin,
            json={
                "type": "email",
                "name": name,
                "config": unreachable_mailbox(),
                "enabled": enabled,
            },
        )
        assert status == 201, account
        created.append(account)

    token, _ = await running_hub.create_agent()
    status, refused = await api.request("GET", "/api/v1/channels", token=token)
    assert status == 403 and refused["error"]["code"] == "admin_only"
    status, body = await api.request("GET", "/api/v1/channel-accounts", token=token)
    assert status == 200
    assert body == {"items": [{"id": created[0]["id"], "type": "email", "name": "Support mailbox"}]}

    status, _ = await api.request(
        "PATCH", f"/api/v1/channels/{created[1]['id']}", token=admin, json={"enabled": True}
    )
    assert status == 200
    status, body = await api.request("GET", "/api/v1/channel-accounts", token=token)
    assert sorted(a["name"] for a in body["items"]) == ["Old mailbox", "Support mailbox"]

    status, anonymous = await api.request("GET", "/api/v1/channel-accounts")
    assert status == 401 and anonymous["error"]["code"] == "token_missing"
