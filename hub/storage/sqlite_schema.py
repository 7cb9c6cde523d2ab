"""The SQLite schema as a list of versioned migrations, applied in order when the writer
starts (hub/storage/sqlite_writer.py).

`meta.schema_version` says how many migrations a database has had. A new database gets them
all; an older one gets the ones it lacks, each in its own transaction, so a crash midway
leaves the database at the last complete version and the next start carries on. A database
newer than this code is refused (its data may need columns this code does not write).

Rules for adding one: append a Migration, never edit a released one; write the data change
beside the shape change (backfill what the new code expects); keep it runnable on a big
database (set-based statements, no per-row Python where SQL can do it).
tests/storage/test_migrations.py builds a database at every earlier version with data and
checks it reads back right after migrating.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _statements(script: str) -> Callable[[sqlite3.Connection], None]:
    """A migration made of plain statements, run one by one inside the migration's
    transaction (executescript would commit first)."""

    def apply(conn: sqlite3.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)

    return apply


# Version 1: the schema as the hub shipped it before migrations existed (it wrote
# schema_version 1 and never read it).
V1_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (
    tenant TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS agents_tenant ON agents (tenant, created_at);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    tenant TEXT NOT NULL, channel TEXT NOT NULL, external_id TEXT NOT NULL,
    contact_id TEXT NOT NULL, PRIMARY KEY (tenant, channel, external_id));
CREATE INDEX IF NOT EXISTS identities_contact ON identities (contact_id);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL, agent_id TEXT,
    contact_id TEXT NOT NULL, channel TEXT NOT NULL, created_at TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_status ON conversations (tenant, status, created_at);
CREATE INDEX IF NOT EXISTS conversations_agent ON conversations (tenant, agent_id, created_at);
CREATE INDEX IF NOT EXISTS conversations_contact
    ON conversations (tenant, contact_id, channel, created_at);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, tenant TEXT NOT NULL,
    client_id TEXT, platform_message_id TEXT, doc TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_client
    ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS messages_platform
    ON messages (tenant, platform_message_id) WHERE platform_message_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS left_messages (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, handled INTEGER NOT NULL,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS left_messages_tenant ON left_messages (tenant, handled, created_at)
"""


def _channel_keys(conn: sqlite3.Connection) -> None:
    """Version 2: conversations keyed by channel account and thread, one open conversation
    per key enforced by a unique index (two first messages at once, or two nodes, cannot
    open two); platform message ids deduplicated per channel account, not per tenant (an
    SMS id equal to a WeChat MsgId is another message)."""
    conn.execute("ALTER TABLE conversations ADD COLUMN channel_id TEXT")
    conn.execute("ALTER TABLE conversations ADD COLUMN open_key TEXT")
    # Every conversation so far is on an account-less channel with one thread per contact
    # (hub.domain.open_key). Should earlier races have left two open ones for a contact,
    # the newest keeps the key; the others stay open, found by their id, until closed.
    conn.execute(
        """
        UPDATE conversations SET open_key = channel || '||' || contact_id || '|'
        WHERE status != 'closed' AND id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (
                    PARTITION BY tenant, channel, contact_id
                    ORDER BY created_at DESC, id DESC) AS newest
                FROM conversations WHERE status != 'closed')
            WHERE newest = 1)
        """
    )
    conn.execute("CREATE UNIQUE INDEX conversations_open ON conversations (tenant, open_key)")
    conn.execute("ALTER TABLE messages ADD COLUMN platform_scope TEXT")
    conn.execute(
        """
        UPDATE messages SET platform_scope = (
            SELECT c.channel FROM conversations c WHERE c.id = messages.conversation_id)
        WHERE platform_message_id IS NOT NULL
        """
    )
    conn.execute("DROP INDEX messages_platform")
    conn.execute(
        "CREATE UNIQUE INDEX messages_platform ON messages "
        "(tenant, platform_scope, platform_message_id) WHERE platform_message_id IS NOT NULL"
    )


V3_CHANNELS = """
CREATE TABLE channel_accounts (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, type TEXT NOT NULL, enabled INTEGER NOT NULL,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX channel_accounts_tenant ON channel_accounts (tenant, created_at);
CREATE INDEX channel_accounts_enabled ON channel_accounts (enabled, tenant);
ALTER TABLE messages ADD COLUMN due_at TEXT;
CREATE INDEX messages_due ON messages (due_at) WHERE due_at IS NOT NULL
"""


# Version 4: search. Contacts and messages get FTS5 tables with the trigram tokenizer, which
# matches any substring (LIKE '%…%' uses the index from three characters on, shorter
# patterns scan the search table only): Chinese has no spaces between words, so a word
# tokenizer would find nothing inside a sentence. Triggers keep them current, whichever
# write touches a contact or adds a message. The fields of a contact are joined by U+001F,
# a character no query can hold (control characters are refused), so no match spans two
# fields. Rated conversations get an index for the ratings list.
def _contact_body(doc: str) -> str:
    fields = " || char(31) || ".join(
        f"coalesce(json_extract({doc}, '$.{name}'), '')"
        for name in ("name", "email", "phone", "notes")
    )
    tags = f"coalesce((SELECT group_concat(value, char(31)) FROM json_each({doc}, '$.tags')), '')"
    identities = (
        "coalesce((SELECT group_concat(json_extract(value, '$.external_id'), char(31)) "
        f"FROM json_each({doc}, '$.identities')), '')"
    )
    return f"{fields} || char(31) || {tags} || char(31) || {identities}"


def _message_body(doc: str) -> str:
    return (
        f"coalesce(json_extract({doc}, '$.text'), '') || char(31) || "
        f"coalesce(json_extract({doc}, '$.meta.subject'), '')"
    )


V4_SEARCH = [
    "CREATE VIRTUAL TABLE contact_search USING fts5(body, tokenize = 'trigram')",
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "body, tenant UNINDEXED, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram')",
    f"""CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts BEGIN
        INSERT INTO contact_search (rowid, body) VALUES (new.rowid, {_contact_body("new.doc")});
    END""",
    f"""CREATE TRIGGER contact_search_update AFTER UPDATE OF doc ON contacts BEGIN
        DELETE FROM contact_search WHERE rowid = old.rowid;
        INSERT INTO contact_search (rowid, body) VALUES (new.rowid, {_contact_body("new.doc")});
    END""",
    """CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts BEGIN
        DELETE FROM contact_search WHERE rowid = old.rowid;
    END""",
    # A message's text and subject never change once stored (only delivery and meta's
    # platform id do), so inserting is all there is to follow.
    f"""CREATE TRIGGER message_search_insert AFTER INSERT ON messages
    WHEN json_extract(new.doc, '$.type') != 'event' BEGIN
        INSERT INTO message_search (body, tenant, conversation_id, seq)
        VALUES ({_message_body("new.doc")}, new.tenant, new.conversation_id, new.seq);
    END""",
    f"INSERT INTO contact_search (rowid, body) SELECT rowid, {_contact_body('doc')} FROM contacts",
    "INSERT INTO message_search (body, tenant, conversation_id, seq) "
    f"SELECT {_message_body('doc')}, tenant, conversation_id, seq FROM messages "
    "WHERE json_extract(doc, '$.type') != 'event'",
    "CREATE INDEX conversations_rated ON conversations "
    "(tenant, json_extract(doc, '$.closed_at') DESC, id DESC) "
    "WHERE json_extract(doc, '$.rating') IS NOT NULL",
]


def _search(conn: sqlite3.Connection) -> None:
    for statement in V4_SEARCH:
        conn.execute(statement)


V5_UPLOADS_AND_PAGING = """
CREATE TABLE uploads (
    tenant TEXT NOT NULL, id TEXT NOT NULL, uploader_type TEXT NOT NULL,
    uploader_id TEXT NOT NULL, size INTEGER NOT NULL, created_at TEXT NOT NULL,
    message_id TEXT, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID;
CREATE INDEX uploads_uploader ON uploads (tenant, uploader_type, uploader_id, created_at);
CREATE INDEX uploads_orphan ON uploads (created_at) WHERE message_id IS NULL;
CREATE TABLE upload_totals (
    tenant TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
ALTER TABLE contacts ADD COLUMN last_seen_at TEXT;
UPDATE contacts SET last_seen_at = json_extract(doc, '$.last_seen_at');
CREATE INDEX contacts_seen ON contacts (tenant, last_seen_at DESC, id);
CREATE INDEX conversations_created ON conversations (tenant, created_at, id);
CREATE INDEX left_messages_created ON left_messages (tenant, created_at, id)
"""

V9_INVITATION_COUNTS = """
CREATE TABLE invitation_counts (
    tenant TEXT NOT NULL, day TEXT NOT NULL, agent_id TEXT NOT NULL,
    invited INTEGER NOT NULL DEFAULT 0, accepted INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day, agent_id))
"""


# Version 6: each conversation counts the messages its customer sent and the answers it
# got (messages_in / messages_out, kept by the append from here on), for the reports; the
# index the reports read conversations in.
V6_MESSAGE_COUNTS = """
UPDATE conversations SET doc = json_set(doc,
    '$.messages_in', (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id
        AND json_extract(m.doc, '$.sender.type') = 'contact'
        AND json_extract(m.doc, '$.type') NOT IN ('note', 'event')),
    '$.messages_out', (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id
        AND json_extract(m.doc, '$.sender.type') IN ('agent', 'bot')
        AND json_extract(m.doc, '$.type') NOT IN ('note', 'event')))
"""


# Version 7: the enterprise IM (hub/im/): departments, threads with their members (a row
# per member, for "my threads"), messages with a per-thread seq, read positions, search.
V7_IM = [
    "CREATE TABLE im_departments (tenant TEXT NOT NULL, id TEXT NOT NULL, "
    "created_at TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID",
    "CREATE TABLE im_threads (tenant TEXT NOT NULL, id TEXT NOT NULL, direct_key TEXT, "
    "doc TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID",
    "CREATE UNIQUE INDEX im_threads_direct ON im_threads (tenant, direct_key) "
    "WHERE direct_key IS NOT NULL",
    "CREATE TABLE im_members (tenant TEXT NOT NULL, agent_id TEXT NOT NULL, "
    "thread_id TEXT NOT NULL, active_at TEXT NOT NULL, "
    "PRIMARY KEY (tenant, agent_id, thread_id)) WITHOUT ROWID",
    "CREATE INDEX im_members_thread ON im_members (tenant, thread_id)",
    "CREATE TABLE im_messages (tenant TEXT NOT NULL, thread_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, client_id TEXT, doc TEXT NOT NULL, "
    "PRIMARY KEY (tenant, thread_id, seq))",
    "CREATE UNIQUE INDEX im_messages_client ON im_messages (tenant, thread_id, client_id) "
    "WHERE client_id IS NOT NULL",
    "CREATE TABLE im_reads (tenant TEXT NOT NULL, thread_id TEXT NOT NULL, "
    "agent_id TEXT NOT NULL, seq INTEGER NOT NULL, "
    "PRIMARY KEY (tenant, thread_id, agent_id)) WITHOUT ROWID",
    "CREATE INDEX im_reads_agent ON im_reads (tenant, agent_id)",
    "CREATE VIRTUAL TABLE im_message_search USING fts5("
    "body, tenant UNINDEXED, thread_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram')",
    """CREATE TRIGGER im_message_search_insert AFTER INSERT ON im_messages BEGIN
        INSERT INTO im_message_search (body, tenant, thread_id, seq)
        VALUES (coalesce(json_extract(new.doc, '$.text'), ''), new.tenant, new.thread_id,
                new.seq);
    END""",
]


def _im(conn: sqlite3.Connection) -> None:
    for statement in V7_IM:
        conn.execute(statement)


# Version 8: integrations. API tokens by their hash; webhooks; the webhook delivery queue
# (its next attempt's time in due_at, indexed only while pending) that is also its log.
V8_INTEGRATIONS = """
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, created_at, id);
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX webhooks_tenant ON webhooks (tenant, created_at, id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, webhook_id TEXT NOT NULL,
    created_at TEXT NOT NULL, due_at TEXT, doc TEXT NOT NULL);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at, id)
"""


V10_BOTS = """
CREATE TABLE kb_articles (
    tenant TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)) WITHOUT ROWID;
CREATE INDEX kb_articles_created ON kb_articles (tenant, created_at, id);
CREATE TABLE bot_stats (
    tenant TEXT NOT NULL, day TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, name)) WITHOUT ROWID;
CREATE TABLE bot_unanswered (
    tenant TEXT NOT NULL, text TEXT NOT NULL, count INTEGER NOT NULL, last_at TEXT NOT NULL,
    PRIMARY KEY (tenant, text)) WITHOUT ROWID;
CREATE INDEX bot_unanswered_count ON bot_unanswered (tenant, count DESC)
"""


MIGRATIONS: list[Migration] = [
    Migration(1, "tables", _statements(V1_TABLES)),
    Migration(2, "channel keys", _channel_keys),
    # Version 3: channel accounts per tenant; the outbox, as the outbound messages whose
    # delivery is pending (their next attempt's time in due_at, indexed only while set).
    Migration(3, "channel accounts and the outbox", _statements(V3_CHANNELS)),
    Migration(4, "search and ratings", _search),
    # Version 5: upload records (quotas, ownership, clean-up) with each tenant's totals;
    # contacts' last_seen_at as a column, and indexes in every list's order, for paging.
    Migration(5, "upload records and paging", _statements(V5_UPLOADS_AND_PAGING)),
    Migration(6, "message counts", _statements(V6_MESSAGE_COUNTS)),
    Migration(7, "enterprise IM", _im),
    Migration(8, "integrations", _statements(V8_INTEGRATIONS)),
    # Version 9: invitations to chat sent, accepted and refused, per agent per day.
    Migration(9, "invitation counts", _statements(V9_INVITATION_COUNTS)),
    # Version 10: the bots' knowledge base, daily counters and unanswered questions.
    Migration(10, "bots", _statements(V10_BOTS)),
]
LATEST = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


class SchemaTooNew(RuntimeError):
    pass


def migrate(conn: sqlite3.Connection, *, target: int = LATEST) -> int:
    """Bring the database to `target` (the latest by default); returns the version it had."""
    found = schema_version(conn)
    if found > LATEST:
        raise SchemaTooNew(
            f"the database has schema version {found}, newer than this hub knows ({LATEST}): "
            "run the newer hub, or restore a backup made for this one"
        )
    for migration in MIGRATIONS[found:target]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(conn)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(migration.version),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found
