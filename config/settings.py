"""Typed, validated settings: defaults, then a file (TOML or JSON), then HUB_* environment,
then command-line options; each layer overrides the one before."""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import Invalid
from hub.security import check_password


class SettingsError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path("data")
    mongo_url: str | None = None
    mongo_db: str = "hub"
    # The shared store for several nodes (hub/storage/postgres.py), and each node's pool of
    # connections to it (nodes × pool size must stay below the server's max_connections).
    postgres_url: str | None = None
    postgres_pool_size: int = Field(10, ge=1, le=1000)
    redis_url: str | None = None
    admin_email: str = "admin@example.com"
    admin_password: str | None = None
    # Signs agent and visitor tokens. Unset: generated once and kept in data_dir; several
    # nodes must share one, so set it explicitly when scaling out.
    secret_key: str | None = None
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    max_text_length: int = Field(5000, ge=1, le=100_000)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    agent_token_ttl_seconds: int = Field(12 * 3600, ge=60)
    upload_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    geoip_database: Path | None = None
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed. Empty:
    # the header is ignored, since anyone can send it and fake the visitor's IP.
    trusted_proxies: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Visitor limits (docs/protocol.md, "Limits"): generous for people, tight for scripts.
    # "address" is the visitor's IP, as trusted_proxies lets the hub see it.
    visitor_messages_per_minute: int = Field(60, ge=1)
    address_messages_per_minute: int = Field(600, ge=1)
    address_connections: int = Field(200, ge=1)
    address_new_contacts_per_hour: int = Field(300, ge=1)
    # Team-chat messages one person may send a minute (hub/im/realtime.py), per node.
    im_messages_per_minute: int = Field(300, ge=1)
    # Online visitors (在线访客): one whose last page closed is listed this much longer (the
    # next page of the site usually opens within it); the inbox's list is told of changes
    # at most once per online_visitors_batch_seconds; an agent may send this many
    # invitations to chat a minute.
    online_visitor_timeout_seconds: float = Field(30.0, gt=0)
    online_visitors_batch_seconds: float = Field(1.0, gt=0)
    invitations_per_agent_minute: int = Field(20, ge=1)
    page_views_per_minute: int = Field(30, ge=1)  # on one loader socket (`page` events)
    # Uploads: files one visitor or agent may upload a minute, and the free disk space below
    # which the hub refuses new uploads (so that the database never runs out of room).
    uploads_per_minute: int = Field(20, ge=1)
    upload_min_free_bytes: int = Field(256 * 1024 * 1024, ge=0)
    # Upload quotas (docs/protocol.md, "Limits"): a visitor's files and bytes over the last
    # 24 hours, and all the bytes a tenant's uploads hold (None: no limit).
    visitor_upload_files_per_day: int = Field(100, ge=1)
    visitor_upload_bytes_per_day: int = Field(200 * 1024 * 1024, ge=1)
    tenant_upload_bytes: int | None = Field(20 * 1024**3, ge=1)
    # Files no message took are removed this long after they were uploaded; the clean-up
    # looks for them every upload_cleanup_seconds.
    upload_orphan_grace_seconds: float = Field(24 * 3600.0, ge=0)
    upload_cleanup_seconds: float = Field(600.0, gt=0)
    # Idle keep-alive connections, and requests whose headers never finish, are closed after
    # this long (aiohttp's default, 75 s, let a slow client hold a connection that long).
    http_keepalive_seconds: float = Field(15.0, gt=0, le=600)

    # Channel connections (IMAP, event socket) that fail are retried after a back-off that
    # doubles from the first value up to the second.
    channel_retry_min_seconds: float = Field(1.0, gt=0)
    channel_retry_max_seconds: float = Field(300.0, gt=0)
    # The outbox: a reply that could not be sent is tried again after a back-off from the
    # first value to the second, at most outbox_max_attempts times in all; an attempt holds
    # its message for outbox_lease_seconds (a hub that dies mid-send frees it after that).
    outbox_retry_min_seconds: float = Field(10.0, gt=0)
    outbox_retry_max_seconds: float = Field(3600.0, gt=0)
    outbox_max_attempts: int = Field(12, ge=1)
    outbox_lease_seconds: float = Field(120.0, gt=0)
    outbox_poll_seconds: float = Field(2.0, gt=0)

    # Integrations (docs/integrations.md). Webhook deliveries that fail are tried again after
    # a back-off doubling from the first value to the second; a delivery that failed
    # webhook_max_attempts times is given up and its webhook disabled, with the reason.
    # Targets on loopback, link-local or private addresses are refused unless allowed.
    webhook_allow_private: bool = False
    webhook_retry_min_seconds: float = Field(10.0, gt=0)
    webhook_retry_max_seconds: float = Field(3600.0, gt=0)
    webhook_max_attempts: int = Field(10, ge=1)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_lease_seconds: float = Field(60.0, gt=0)
    webhook_poll_seconds: float = Field(2.0, gt=0)
    # The platform administrator's token: creates, lists, suspends and deletes tenants.
    # Unset: there is no platform administrator and /api/v1/tenants answers 404.
    platform_token: str | None = Field(None, min_length=16)

    @model_validator(mode="after")
    def _admin_password_policy(self) -> Settings:
        if self.admin_password is not None:
            try:
                check_password(self.admin_password, email=self.admin_email)
            except Invalid as exc:
                raise ValueError(f"admin_password: {exc.message}") from exc
        return self

    @model_validator(mode="after")
    def _one_store(self) -> Settings:
        if self.mongo_url and self.postgres_url:
            raise ValueError("mongo_url and postgres_url: set one shared store, not both")
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):  # HUB_TRUSTED_PROXIES="10.0.0.1, 10.1.0.0/16"
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            for entry in value:
                ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value


ENV_PREFIX = "HUB_"
CONFIG_FILE_ENV = "HUB_CONFIG"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a table of settings")
    return data


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    known = Settings.model_fields
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in known:
            values[name] = value
    return values


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    file_name = config_file or (
        Path(environ[CONFIG_FILE_ENV]) if environ.get(CONFIG_FILE_ENV) else None
    )
    if file_name is not None:
        merged.update(_read_file(file_name))
    merged.update(_from_env(environ))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
