"""The PostgreSQL schema as a list of versioned migrations, applied in order when a store
opens (hub/storage/postgres.py).

`meta.schema_version` says how many migrations a database has had. A new database gets them
all; an older one gets the ones it lacks, each in its own transaction, so a crash midway
leaves the database at the last complete version. Several nodes may start at once on one
database: each migration runs under a transaction-scoped advisory lock and re-reads the
version inside it, so exactly one node applies it and the others find it done. A database
newer than this code is refused (its data may need columns this code does not write).

Adding one: append `Migration(<latest + 1>, "what it adds", _statements(...))` (or an async
function of the connection for data changes), never edit a released one; backfill what the
new code expects beside the shape change, with set-based statements.

Records are kept as JSON text documents (hub/storage/codec.py, the shape every backend
stores) beside the columns that are queried, ordered or kept unique. Text columns compare
bytewise (COLLATE "C"), as SQLite's do, so a page's position means the same on every
database whatever its locale. Documents are `text`, not `jsonb`: jsonb refuses "\\u0000",
and the document must read back exactly as written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import orjson

from hub.storage.postgres_sql import json_of

log = logging.getLogger(__name__)

Apply = Callable[[asyncpg.Connection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Apply


def _statements(script: str) -> Apply:
    """A migration made of plain statements (separated by ";"), run in its transaction."""

    async def apply(conn: asyncpg.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                await conn.execute(statement)

    return apply


KEY = 'TEXT COLLATE "C"'

V1_TABLES = f"""
CREATE TABLE tenants (id {KEY} PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE settings (
    tenant {KEY} NOT NULL, key {KEY} NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE agents (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, email {KEY} NOT NULL UNIQUE,
    created_at {KEY} NOT NULL, doc TEXT NOT NULL);
CREATE INDEX agents_tenant ON agents (tenant, created_at, id);
CREATE TABLE contacts (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, last_seen_at {KEY}, merged_into {KEY},
    blocked_until {KEY}, search_body TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX contacts_seen ON contacts (tenant, last_seen_at DESC, id);
CREATE TABLE identities (
    tenant {KEY} NOT NULL, channel {KEY} NOT NULL, external_id {KEY} NOT NULL,
    contact_id {KEY} NOT NULL, PRIMARY KEY (tenant, channel, external_id));
CREATE INDEX identities_contact ON identities (contact_id);
CREATE TABLE conversations (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, status {KEY} NOT NULL, agent_id {KEY},
    contact_id {KEY} NOT NULL, channel {KEY} NOT NULL, channel_id {KEY},
    created_at {KEY} NOT NULL, open_key {KEY}, closed_at {KEY}, rated BOOLEAN NOT NULL,
    doc TEXT NOT NULL);
CREATE UNIQUE INDEX conversations_open ON conversations (tenant, open_key);
CREATE INDEX conversations_created ON conversations (tenant, created_at DESC, id DESC);
CREATE INDEX conversations_status ON conversations (tenant, status, created_at DESC, id DESC);
CREATE INDEX conversations_agent ON conversations (tenant, agent_id, created_at DESC, id DESC);
CREATE INDEX conversations_contact
    ON conversations (tenant, contact_id, channel, created_at DESC, id DESC);
CREATE INDEX conversations_rated ON conversations (tenant, closed_at DESC, id DESC) WHERE rated;
CREATE TABLE messages (
    conversation_id {KEY} NOT NULL, seq INTEGER NOT NULL, tenant {KEY} NOT NULL,
    id {KEY} NOT NULL, client_id {KEY}, platform_message_id {KEY}, platform_scope {KEY},
    due_at {KEY}, search_body TEXT, doc TEXT NOT NULL, PRIMARY KEY (conversation_id, seq));
CREATE UNIQUE INDEX messages_client
    ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX messages_platform ON messages (tenant, platform_scope, platform_message_id)
    WHERE platform_message_id IS NOT NULL;
CREATE INDEX messages_id ON messages (conversation_id, id);
CREATE INDEX messages_due ON messages (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE channel_accounts (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, type {KEY} NOT NULL, enabled BOOLEAN NOT NULL,
    created_at {KEY} NOT NULL, doc TEXT NOT NULL);
CREATE INDEX channel_accounts_tenant ON channel_accounts (tenant, created_at, id);
CREATE INDEX channel_accounts_enabled ON channel_accounts (enabled, tenant, created_at);
CREATE TABLE left_messages (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, handled BOOLEAN NOT NULL,
    created_at {KEY} NOT NULL, doc TEXT NOT NULL);
CREATE INDEX left_messages_created ON left_messages (tenant, created_at DESC, id DESC);
CREATE INDEX left_messages_handled
    ON left_messages (tenant, handled, created_at DESC, id DESC);
CREATE TABLE uploads (
    tenant {KEY} NOT NULL, id {KEY} NOT NULL, uploader_type {KEY} NOT NULL,
    uploader_id {KEY} NOT NULL, size BIGINT NOT NULL, created_at {KEY} NOT NULL,
    message_id {KEY}, doc TEXT NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX uploads_uploader ON uploads (tenant, uploader_type, uploader_id, created_at);
CREATE INDEX uploads_orphan ON uploads (created_at) WHERE message_id IS NULL;
CREATE TABLE upload_totals (
    tenant {KEY} PRIMARY KEY, files BIGINT NOT NULL, bytes BIGINT NOT NULL)
"""


async def _search_indexes(conn: asyncpg.Connection) -> None:
    """Trigram indexes (pg_trgm, in Debian's postgresql package) for substring search:
    Chinese has no spaces between words, so a word index would find nothing inside a
    sentence. Without the extension (or the right to create it) search still works, by
    scanning the tenant's rows, and the hub says so once here."""
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves the migration going
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except asyncpg.PostgresError as exc:
        log.warning("pg_trgm is not available (%s): search scans instead of using an index", exc)
        return
    await conn.execute(
        "CREATE INDEX contacts_search ON contacts USING gin (search_body gin_trgm_ops)"
    )
    await conn.execute(
        "CREATE INDEX messages_search ON messages USING gin (search_body gin_trgm_ops) "
        "WHERE search_body IS NOT NULL"
    )


# Integrations (SQLite's version 8): API tokens found by their hash; webhooks; the webhook
# delivery queue, which is also its log (the next attempt's time in due_at, indexed only
# while pending, as the outbox's).
V_INTEGRATIONS = f"""
CREATE TABLE api_tokens (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, token_hash {KEY} NOT NULL UNIQUE,
    created_at {KEY} NOT NULL, doc TEXT NOT NULL);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, created_at, id);
CREATE TABLE webhooks (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, created_at {KEY} NOT NULL, doc TEXT NOT NULL);
CREATE INDEX webhooks_tenant ON webhooks (tenant, created_at, id);
CREATE TABLE webhook_deliveries (
    id {KEY} PRIMARY KEY, tenant {KEY} NOT NULL, webhook_id {KEY} NOT NULL,
    created_at {KEY} NOT NULL, due_at {KEY}, doc TEXT NOT NULL);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX webhook_deliveries_log
    ON webhook_deliveries (tenant, webhook_id, created_at DESC, id DESC)
"""


async def _has_trigrams(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))


V3_IM = f"""
CREATE TABLE im_departments (
    tenant {KEY} NOT NULL, id {KEY} NOT NULL, created_at {KEY} NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id));
CREATE TABLE im_threads (
    tenant {KEY} NOT NULL, id {KEY} NOT NULL, direct_key {KEY}, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id));
CREATE UNIQUE INDEX im_threads_direct ON im_threads (tenant, direct_key)
    WHERE direct_key IS NOT NULL;
CREATE TABLE im_members (
    tenant {KEY} NOT NULL, agent_id {KEY} NOT NULL, thread_id {KEY} NOT NULL,
    active_at {KEY} NOT NULL, PRIMARY KEY (tenant, agent_id, thread_id));
CREATE INDEX im_members_thread ON im_members (tenant, thread_id);
CREATE TABLE im_messages (
    tenant {KEY} NOT NULL, thread_id {KEY} NOT NULL, seq INTEGER NOT NULL, client_id {KEY},
    created_at {KEY} NOT NULL, shared_conversation_id {KEY}, search_body TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (tenant, thread_id, seq));
CREATE UNIQUE INDEX im_messages_client ON im_messages (tenant, thread_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX im_messages_shared ON im_messages (tenant, thread_id, shared_conversation_id)
    WHERE shared_conversation_id IS NOT NULL;
CREATE TABLE im_reads (
    tenant {KEY} NOT NULL, thread_id {KEY} NOT NULL, agent_id {KEY} NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY (tenant, thread_id, agent_id));
CREATE INDEX im_reads_agent ON im_reads (tenant, agent_id)
"""


async def _im(conn: asyncpg.Connection) -> None:
    """The enterprise IM's tables (as SQLite's version 7), its search on the trigram index
    where version 2 could create pg_trgm."""
    await _statements(V3_IM)(conn)
    if await _has_trigrams(conn):
        await conn.execute(
            "CREATE INDEX im_messages_search ON im_messages USING gin (search_body gin_trgm_ops)"
        )


async def _message_counts(conn: asyncpg.Connection) -> None:
    """Each conversation's messages_in / messages_out (codec.message_direction), counted in
    one statement over the messages, written into the documents a page at a time."""
    message = json_of("doc")
    await conn.execute(
        f"""CREATE TEMPORARY TABLE message_counts ON COMMIT DROP AS
        SELECT conversation_id AS id,
               count(*) FILTER (WHERE sender = 'contact') AS messages_in,
               count(*) FILTER (WHERE sender IN ('agent', 'bot')) AS messages_out
        FROM (SELECT conversation_id, {message} -> 'sender' ->> 'type' AS sender,
                     coalesce({message} ->> 'type', '') AS type FROM messages) m
        WHERE type NOT IN ('note', 'event') GROUP BY conversation_id"""
    )
    after = ""
    while True:
        rows = await conn.fetch(
            "SELECT c.id, c.doc, coalesce(n.messages_in, 0) AS messages_in, "
            "coalesce(n.messages_out, 0) AS messages_out FROM conversations c "
            "LEFT JOIN message_counts n ON n.id = c.id WHERE c.id > $1 ORDER BY c.id LIMIT 1000",
            after,
        )
        if not rows:
            return
        await conn.executemany(
            "UPDATE conversations SET doc = $1 WHERE id = $2",
            [
                (
                    orjson.dumps(
                        orjson.loads(row["doc"])
                        | {"messages_in": row["messages_in"], "messages_out": row["messages_out"]}
                    ).decode(),
                    row["id"],
                )
                for row in rows
            ],
        )
        after = rows[-1]["id"]


V_INVITATION_COUNTS = f"""
CREATE TABLE invitation_counts (
    tenant {KEY} NOT NULL, day {KEY} NOT NULL, agent_id {KEY} NOT NULL,
    invited INTEGER NOT NULL DEFAULT 0, accepted INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day, agent_id))
"""


# The bots (bots/): a tenant's articles, daily counters, unanswered questions.
V_BOTS = f"""
CREATE TABLE kb_articles (
    tenant {KEY} NOT NULL, id {KEY} NOT NULL, created_at {KEY} NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id));
CREATE INDEX kb_articles_created ON kb_articles (tenant, created_at, id);
CREATE TABLE bot_stats (
    tenant {KEY} NOT NULL, day {KEY} NOT NULL, name {KEY} NOT NULL, count BIGINT NOT NULL,
    PRIMARY KEY (tenant, day, name));
CREATE TABLE bot_unanswered (
    tenant {KEY} NOT NULL, text {KEY} NOT NULL, count BIGINT NOT NULL, last_at {KEY} NOT NULL,
    PRIMARY KEY (tenant, text));
CREATE INDEX bot_unanswered_count ON bot_unanswered (tenant, count DESC)
"""


MIGRATIONS: list[Migration] = [
    # Version 1: every record of the hub as SQLite's version 5 has them.
    Migration(1, "tables", _statements(V1_TABLES)),
    # Version 2: substring search.
    Migration(2, "search indexes", _search_indexes),
    Migration(3, "enterprise IM", _im),
    # Version 4: each conversation counts the messages its customer sent and the answers it
    # got (kept by the append from here on), for the reports.
    Migration(4, "message counts", _message_counts),
    Migration(5, "integrations", _statements(V_INTEGRATIONS)),
    # Version 6: invitations to chat sent, accepted and refused, per agent per day.
    Migration(6, "invitation counts", _statements(V_INVITATION_COUNTS)),
    Migration(7, "bots", _statements(V_BOTS)),
]
LATEST = MIGRATIONS[-1].version

# pg_advisory_xact_lock's key for "migrating this database" (any constant of our own).
MIGRATION_LOCK = 0x6875625F736368  # "hub_sch"


class SchemaTooNew(RuntimeError):
    pass


async def schema_version(conn: asyncpg.Connection) -> int:
    has_meta = await conn.fetchval("SELECT to_regclass('meta') IS NOT NULL")
    if not has_meta:
        return 0
    value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
    return int(value) if value is not None else 0


def _too_new(found: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"the database has schema version {found}, newer than this hub knows ({LATEST}): "
        "run the newer hub on every node, or restore a backup made for this one"
    )


async def migrate(conn: asyncpg.Connection, *, target: int = LATEST) -> int:
    """Bring the database to `target` (the latest by default); returns the version it had."""
    found = await schema_version(conn)
    if found > LATEST:
        raise _too_new(found)
    for migration in MIGRATIONS[found:target]:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            now = await schema_version(conn)  # another node may have got here first
            if now > LATEST:
                raise _too_new(now)
            if now >= migration.version:
                continue
            await migration.apply(conn)
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                str(migration.version),
            )
    return found
