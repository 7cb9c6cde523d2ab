"""The Store's integrations and platform-administrator sections on PostgreSQL: API tokens,
webhooks and their delivery queue; listing, changing and deleting tenants. PostgresStore
inherits this (hub/storage/postgres.py: its pool, `_one`/`_all`/`_write`, the NUL-safe text
codec on every connection, and the rules a method follows there).

The delivery queue is claimed as the outbox is: FOR UPDATE SKIP LOCKED, so that two nodes
claiming at once take different deliveries, and a row claimed and committed since the
claim's statement began is re-checked against due_at (its lease moved it) and left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import orjson

from hub.domain import Tenant, iso
from hub.domain.integrations import ApiToken, Webhook, WebhookDelivery, WebhookDeliveryStatus
from hub.storage.codec import encode_value, from_doc, to_doc

Doc = dict[str, Any]
Connection = asyncpg.Connection
R = TypeVar("R")

# Every table holding a tenant's records, by its tenant column (the tenants row goes last).
TENANT_TABLES = (
    "settings",
    "agents",
    "contacts",
    "identities",
    "conversations",
    "messages",
    "left_messages",
    "channel_accounts",
    "uploads",
    "upload_totals",
    "api_tokens",
    "webhooks",
    "webhook_deliveries",
    "invitation_counts",
    "kb_articles",
    "bot_stats",
    "bot_unanswered",
    "im_departments",
    "im_threads",
    "im_members",
    "im_messages",
    "im_reads",
)


def _dump(doc: Doc) -> str:
    return orjson.dumps(doc).decode()


async def _locked(conn: Connection, table: str, tenant: str, record_id: str) -> Doc | None:
    text = await conn.fetchval(
        f"SELECT doc FROM {table} WHERE id = $1 AND tenant = $2 FOR UPDATE", record_id, tenant
    )
    return orjson.loads(text) if text is not None else None


def _queued_until(doc: Doc) -> str | None:
    """The due_at column: the next attempt (or the lease) while pending, else nothing."""
    return doc["due_at"] if doc["status"] == WebhookDeliveryStatus.PENDING else None


# The write ops: each runs inside the transaction PostgresStore._write opened. -------------


async def _create_api_token(conn: Connection, doc: Doc) -> None:
    await conn.execute(
        "INSERT INTO api_tokens (id, tenant, token_hash, created_at, doc) "
        "VALUES ($1, $2, $3, $4, $5)",
        doc["id"],
        doc["tenant"],
        doc["token_hash"],
        doc["created_at"],
        _dump(doc),
    )


async def _touch_api_token(conn: Connection, tenant: str, token_id: str, used_at: str) -> None:
    doc = await _locked(conn, "api_tokens", tenant, token_id)
    if doc is not None:
        await conn.execute(
            "UPDATE api_tokens SET doc = $1 WHERE id = $2",
            _dump(doc | {"last_used_at": used_at}),
            token_id,
        )


async def _delete_api_token(conn: Connection, tenant: str, token_id: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM api_tokens WHERE id = $1 AND tenant = $2 RETURNING id", token_id, tenant
    )
    return deleted is not None


async def _create_webhook(conn: Connection, doc: Doc) -> None:
    await conn.execute(
        "INSERT INTO webhooks (id, tenant, created_at, doc) VALUES ($1, $2, $3, $4)",
        doc["id"],
        doc["tenant"],
        doc["created_at"],
        _dump(doc),
    )


async def _update_webhook(conn: Connection, tenant: str, webhook_id: str, changes: Doc) -> bool:
    doc = await _locked(conn, "webhooks", tenant, webhook_id)
    if doc is None:
        return False
    await conn.execute(
        "UPDATE webhooks SET doc = $1 WHERE id = $2", _dump(doc | changes), webhook_id
    )
    return True


async def _delete_webhook(conn: Connection, tenant: str, webhook_id: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM webhooks WHERE id = $1 AND tenant = $2 RETURNING id", webhook_id, tenant
    )
    await conn.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND tenant = $2", webhook_id, tenant
    )
    return deleted is not None


async def _create_webhook_deliveries(conn: Connection, docs: list[Doc]) -> None:
    await conn.executemany(
        "INSERT INTO webhook_deliveries (id, tenant, webhook_id, created_at, due_at, doc) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (d["id"], d["tenant"], d["webhook_id"], d["created_at"], _queued_until(d), _dump(d))
            for d in docs
        ],
    )


async def _claim_webhook_deliveries(
    conn: Connection, now: str, lease_until: str, limit: int
) -> list[Doc]:
    """Rows another node is claiming right now are skipped, not waited for."""
    rows = await conn.fetch(
        "SELECT id, doc FROM webhook_deliveries WHERE due_at IS NOT NULL AND due_at <= $1 "
        "ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    claimed = [orjson.loads(row["doc"]) | {"due_at": lease_until} for row in rows]
    if claimed:
        await conn.executemany(
            "UPDATE webhook_deliveries SET doc = $1, due_at = $2 WHERE id = $3",
            [(_dump(doc), lease_until, doc["id"]) for doc in claimed],
        )
    return claimed


async def _update_webhook_delivery(
    conn: Connection, tenant: str, delivery_id: str, changes: Doc
) -> bool:
    doc = await _locked(conn, "webhook_deliveries", tenant, delivery_id)
    if doc is None:
        return False
    changed = doc | changes
    await conn.execute(
        "UPDATE webhook_deliveries SET doc = $1, due_at = $2 WHERE id = $3",
        _dump(changed),
        _queued_until(changed),
        delivery_id,
    )
    return True


async def _update_tenant(conn: Connection, tenant_id: str, changes: Doc) -> bool:
    text = await conn.fetchval("SELECT doc FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)
    if text is None:
        return False
    await conn.execute(
        "UPDATE tenants SET doc = $1 WHERE id = $2", _dump(orjson.loads(text) | changes), tenant_id
    )
    return True


async def _delete_tenant(conn: Connection, tenant_id: str) -> bool:
    for table in TENANT_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE tenant = $1", tenant_id)
    deleted = await conn.fetchval("DELETE FROM tenants WHERE id = $1 RETURNING id", tenant_id)
    return deleted is not None


class PostgresIntegrations:
    if TYPE_CHECKING:  # PostgresStore's (hub/storage/postgres.py)

        async def _one(self, sql: str, *args: Any) -> Doc | None: ...

        async def _all(self, sql: str, *args: Any) -> list[Doc]: ...

        async def _write(
            self, op: Callable[..., Awaitable[R]], *args: Any, races: bool = False
        ) -> R: ...

    # integrations: API tokens, webhooks and their delivery queue ------------------------

    async def create_api_token(self, token: ApiToken) -> None:
        await self._write(_create_api_token, to_doc(token))

    async def list_api_tokens(self, tenant: str) -> list[ApiToken]:
        docs = await self._all(
            "SELECT doc FROM api_tokens WHERE tenant = $1 ORDER BY created_at, id", tenant
        )
        return [from_doc(ApiToken, d) for d in docs]

    async def find_api_token(self, token_hash: str) -> ApiToken | None:
        doc = await self._one("SELECT doc FROM api_tokens WHERE token_hash = $1", token_hash)
        return from_doc(ApiToken, doc) if doc else None

    async def touch_api_token(self, tenant: str, token_id: str, used_at: datetime) -> None:
        await self._write(_touch_api_token, tenant, token_id, iso(used_at))

    async def delete_api_token(self, tenant: str, token_id: str) -> bool:
        return await self._write(_delete_api_token, tenant, token_id)

    async def create_webhook(self, webhook: Webhook) -> None:
        await self._write(_create_webhook, to_doc(webhook))

    async def list_webhooks(self, tenant: str) -> list[Webhook]:
        docs = await self._all(
            "SELECT doc FROM webhooks WHERE tenant = $1 ORDER BY created_at, id", tenant
        )
        return [from_doc(Webhook, d) for d in docs]

    async def get_webhook(self, tenant: str, webhook_id: str) -> Webhook | None:
        doc = await self._one(
            "SELECT doc FROM webhooks WHERE id = $1 AND tenant = $2", webhook_id, tenant
        )
        return from_doc(Webhook, doc) if doc else None

    async def update_webhook(self, webhook: Webhook, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(webhook, f)) for f in fields}
        return await self._write(_update_webhook, webhook.tenant, webhook.id, changes)

    async def delete_webhook(self, tenant: str, webhook_id: str) -> bool:
        return await self._write(_delete_webhook, tenant, webhook_id)

    async def create_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            await self._write(_create_webhook_deliveries, [to_doc(d) for d in deliveries])

    async def claim_due_webhook_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        docs = await self._write(_claim_webhook_deliveries, iso(now), iso(lease_until), limit)
        return [from_doc(WebhookDelivery, d) for d in docs]

    async def update_webhook_delivery(
        self, delivery: WebhookDelivery, fields: Sequence[str]
    ) -> bool:
        changes = {f: encode_value(getattr(delivery, f)) for f in fields}
        return await self._write(_update_webhook_delivery, delivery.tenant, delivery.id, changes)

    async def get_webhook_delivery(self, tenant: str, delivery_id: str) -> WebhookDelivery | None:
        doc = await self._one(
            "SELECT doc FROM webhook_deliveries WHERE id = $1 AND tenant = $2",
            delivery_id,
            tenant,
        )
        return from_doc(WebhookDelivery, doc) if doc else None

    async def list_webhook_deliveries(
        self, tenant: str, webhook_id: str, *, limit: int = 50
    ) -> list[WebhookDelivery]:
        docs = await self._all(
            "SELECT doc FROM webhook_deliveries WHERE tenant = $1 AND webhook_id = $2 "
            "ORDER BY created_at DESC, id DESC LIMIT $3",
            tenant,
            webhook_id,
            limit,
        )
        return [from_doc(WebhookDelivery, d) for d in docs]

    # tenants, for the platform administrator ---------------------------------------------

    async def list_tenants(self) -> list[Tenant]:
        return [from_doc(Tenant, d) for d in await self._all("SELECT doc FROM tenants ORDER BY id")]

    async def update_tenant(self, tenant: Tenant, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(tenant, f)) for f in fields}
        return await self._write(_update_tenant, tenant.id, changes)

    async def delete_tenant(self, tenant_id: str) -> bool:
        return await self._write(_delete_tenant, tenant_id)
