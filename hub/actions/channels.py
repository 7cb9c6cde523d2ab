"""Channel accounts: created, changed, enabled and removed by admins; their connection's
status and their connector's state kept by the runtime (hub/channel_runtime.py).

Secrets in a config are never shown (`***`) nor logged; an update that leaves a secret out,
or sends `***` back, keeps the stored one."""

from __future__ import annotations

from typing import Any

from hub.channels import ChannelType, ConfigError
from hub.context import Hub
from hub.domain import ChannelAccount, ChannelStatus, iso, new_id, utcnow
from hub.errors import Invalid, NotFound
from hub.events import ChannelAccountChanged, ChannelStatusChanged

MASK = "***"
MAX_NAME = 100
MAX_ERROR = 500


def channel_type(hub: Hub, type_name: object) -> ChannelType:
    kind = hub.channel_types.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        known = ", ".join(sorted(hub.channel_types)) or "none"
        raise Invalid(f"type must be one of: {known}", code="invalid_channel_type")
    return kind


def channel_view(hub: Hub, account: ChannelAccount) -> dict[str, Any]:
    """The contract's channel JSON: secrets masked, the inbound path to paste into the
    platform's console."""
    kind = hub.channel_types.get(account.type)
    secrets = kind.secret_keys if kind else frozenset()
    return {
        "id": account.id,
        "tenant": account.tenant,
        "type": account.type,
        "name": account.name,
        "enabled": account.enabled,
        "status": account.status if account.enabled else ChannelStatus.DISABLED.value,
        "last_error": account.last_error,
        "config": {
            key: (MASK if key in secrets and value not in (None, "") else value)
            for key, value in account.config.items()
        },
        "inbound_url": kind.inbound_path(account) if kind else None,
        "created_at": iso(account.created_at),
        "updated_at": iso(account.updated_at),
    }


def channel_type_view(kind: ChannelType) -> dict[str, Any]:
    """A type's config keys as a form asks for them (which are secret, which required)."""
    return {"type": kind.type, "fields": [f.public(kind.secret_keys) for f in kind.fields]}


def check_name(raw: object) -> str:
    if not isinstance(raw, str) or not 0 < len(raw.strip()) <= MAX_NAME:
        raise Invalid(f"name is text of 1 to {MAX_NAME} characters", code="invalid_channel_name")
    return raw.strip()


def check_config(
    kind: ChannelType, raw: object, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`raw` over `current` (an update names only what changes; a secret left out or sent
    back masked stays as stored), then the channel type's own checks."""
    if not isinstance(raw, dict):
        raise Invalid("config must be an object", code="invalid_channel_config")
    merged = dict(current or {})
    for key, value in raw.items():
        if key in kind.secret_keys and value == MASK and current is not None:
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    try:
        return kind.check_config(merged)
    except ConfigError as exc:
        raise Invalid(
            f"config.{exc.key}: {exc.message}", code="invalid_channel_config", key=exc.key
        ) from exc


async def get_channel(hub: Hub, tenant: str, account_id: str) -> ChannelAccount:
    account = await hub.store.get_channel_account(tenant, account_id)
    if account is None:
        raise NotFound("no such channel", code="channel_not_found")
    return account


async def _changed(hub: Hub, account: ChannelAccount, *, removed: bool = False) -> None:
    await hub.bus.publish(ChannelAccountChanged(account, channel_view(hub, account), removed))


async def do_create_channel(hub: Hub, tenant: str, body: dict[str, Any]) -> ChannelAccount:
    kind = channel_type(hub, body.get("type"))
    name = check_name(body.get("name"))
    config = check_config(kind, body.get("config", {}))
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Invalid("enabled is true or false", code="invalid_body")
    now = utcnow()
    account = ChannelAccount(
        id=new_id(),
        tenant=tenant,
        type=kind.type,
        name=name,
        config=config,
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    await hub.store.create_channel_account(account)
    await _changed(hub, account)
    return account


async def do_update_channel(
    hub: Hub, tenant: str, account_id: str, body: dict[str, Any]
) -> ChannelAccount:
    unknown = set(body) - {"name", "config", "enabled"}
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]} cannot be changed", code="invalid_body")
    account = await get_channel(hub, tenant, account_id)
    kind = channel_type(hub, account.type)
    fields = ["updated_at"]
    if "name" in body:
        account.name = check_name(body["name"])
        fields.append("name")
    if "config" in body:
        config = check_config(kind, body["config"], account.config)
        if config != account.config:
            account.config = config
            # What the connector kept (a mailbox's last UID) may not fit the new config.
            account.state = {}
            fields += ["config", "state"]
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise Invalid("enabled is true or false", code="invalid_body")
        account.enabled = body["enabled"]
        fields.append("enabled")
    if account.enabled and {"config", "enabled"}.intersection(fields):
        account.status, account.last_error = ChannelStatus.CONNECTING.value, ""
        fields += ["status", "last_error"]
    account.updated_at = utcnow()
    await hub.store.update_channel_account(account, fields)
    await _changed(hub, account)
    return account


async def do_delete_channel(hub: Hub, tenant: str, account_id: str) -> None:
    account = await get_channel(hub, tenant, account_id)
    await hub.store.delete_channel_account(tenant, account_id)
    await _changed(hub, account, removed=True)


async def do_set_channel_status(
    hub: Hub, account: ChannelAccount, status: str, error: str = ""
) -> None:
    """The runtime's word on the account's connection. Written only when it changes, so a
    connection that keeps failing the same way does not write on every retry."""
    error = error[:MAX_ERROR]
    if account.status == status and account.last_error == error:
        return
    account.status, account.last_error = status, error
    try:
        await hub.store.update_channel_account(account, ["status", "last_error"])
    except NotFound:
        return  # removed meanwhile: its connector is being stopped
    await hub.bus.publish(ChannelStatusChanged(account, channel_view(hub, account)))


async def do_save_channel_state(hub: Hub, account: ChannelAccount, state: dict[str, Any]) -> None:
    """What a connector keeps between runs (an IMAP mailbox's UIDVALIDITY and last UID)."""
    account.state = dict(state)
    await hub.store.update_channel_account(account, ["state"])
