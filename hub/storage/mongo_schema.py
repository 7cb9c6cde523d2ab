"""The MongoDB schema: the collections, the indexes the store declares, and versioned
migrations applied by `MongoStore.open()` before the indexes are checked.

The version lives in `meta` (`{_id: "schema", version}`). A database written before
migrations existed has the collections but no version: it is version 1. Each migration
brings the documents and indexes to its version and then records it; migrations are
written to be safe to run again, since two hubs may start at once (a second run finds the
work done). A database newer than this code is refused.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from hub.domain import open_key

log = logging.getLogger(__name__)

Database = Any  # pymongo's AsyncDatabase, or the test fake's


@dataclass(frozen=True, slots=True)
class IndexSpec:
    collection: str
    name: str
    keys: list[tuple[str, int]]
    unique: bool = False
    partial: dict[str, Any] | None = None

    def describes(self, present: Mapping[str, Any]) -> bool:
        """Whether an index the database already has (from `index_information`) is this."""
        return (
            [(key, int(direction)) for key, direction in present["key"]] == self.keys
            and bool(present.get("unique", False)) == self.unique
            and present.get("partialFilterExpression") == self.partial
        )


def _is_string(name: str) -> dict[str, Any]:
    return {name: {"$type": "string"}}


# Listings sort newest first with the id as tie-break (oldest first for agents); each index a
# listing uses ends in that sort order, so the server reads the first `limit` entries of the
# index instead of sorting every matching document in memory.
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]
RECENTLY_SEEN_FIRST = [("last_seen_at", DESCENDING), ("_id", ASCENDING)]

INDEXES = [
    # The enterprise IM (hub/storage/mongo_im.py): one direct thread per pair; "my threads"
    # most recently active first; a per-thread seq and client id; read positions.
    IndexSpec(
        "im_threads",
        "direct_unique",
        [("tenant", ASCENDING), ("direct_key", ASCENDING)],
        unique=True,
        partial=_is_string("direct_key"),
    ),
    IndexSpec(
        "im_threads",
        "member_active",
        [("tenant", ASCENDING), ("members", ASCENDING), ("active_at", DESCENDING)],
    ),
    IndexSpec(
        "im_messages",
        "thread_seq",
        [("tenant", ASCENDING), ("thread_id", ASCENDING), ("seq", ASCENDING)],
        unique=True,
    ),
    IndexSpec(
        "im_messages",
        "thread_client",
        [("tenant", ASCENDING), ("thread_id", ASCENDING), ("client_id", ASCENDING)],
        unique=True,
        partial=_is_string("client_id"),
    ),
    IndexSpec("im_reads", "agent", [("tenant", ASCENDING), ("agent_id", ASCENDING)]),
    IndexSpec("im_reads", "thread", [("tenant", ASCENDING), ("thread_id", ASCENDING)]),
    IndexSpec("im_departments", "tenant", [("tenant", ASCENDING), ("created_at", ASCENDING)]),
    IndexSpec("agents", "email_unique", [("email_key", ASCENDING)], unique=True),
    IndexSpec("agents", "tenant_created", [("tenant", ASCENDING), *OLDEST_FIRST]),
    IndexSpec(
        "identities",
        "identity_unique",
        [("tenant", ASCENDING), ("channel", ASCENDING), ("external_id", ASCENDING)],
        unique=True,
    ),
    IndexSpec("identities", "contact", [("contact_id", ASCENDING)]),
    IndexSpec("contacts", "tenant_seen", [("tenant", ASCENDING), *RECENTLY_SEEN_FIRST]),
    IndexSpec("conversations", "tenant_created", [("tenant", ASCENDING), *NEWEST_FIRST]),
    IndexSpec(
        "conversations",
        "tenant_status",
        [("tenant", ASCENDING), ("status", ASCENDING), *NEWEST_FIRST],
    ),
    IndexSpec(
        "conversations",
        "tenant_agent",
        [("tenant", ASCENDING), ("agent_id", ASCENDING), *NEWEST_FIRST],
    ),
    IndexSpec(
        "conversations",
        "tenant_contact_channel",
        [("tenant", ASCENDING), ("contact_id", ASCENDING), ("channel", ASCENDING), *NEWEST_FIRST],
    ),
    # One open conversation per key: `open_key` is a string while open, null once closed.
    IndexSpec(
        "conversations",
        "open_unique",
        [("tenant", ASCENDING), ("open_key", ASCENDING)],
        unique=True,
        partial=_is_string("open_key"),
    ),
    IndexSpec(
        "messages",
        "seq_unique",
        [("conversation_id", ASCENDING), ("seq", ASCENDING)],
        unique=True,
    ),
    IndexSpec(
        "messages",
        "client_id_unique",
        [("conversation_id", ASCENDING), ("client_id", ASCENDING)],
        unique=True,
        partial=_is_string("client_id"),
    ),
    IndexSpec(
        "messages",
        "platform_unique",
        [("tenant", ASCENDING), ("platform_scope", ASCENDING), ("platform_message_id", ASCENDING)],
        unique=True,
        partial=_is_string("platform_message_id"),
    ),
    IndexSpec(
        "left_messages",
        "tenant_handled",
        [("tenant", ASCENDING), ("handled", ASCENDING), *NEWEST_FIRST],
    ),
    IndexSpec("settings", "tenant_key", [("tenant", ASCENDING), ("key", ASCENDING)], unique=True),
    IndexSpec("channel_accounts", "tenant_created", [("tenant", ASCENDING), *OLDEST_FIRST]),
    IndexSpec("channel_accounts", "enabled", [("enabled", ASCENDING), ("tenant", ASCENDING)]),
    # The outbox: outbound messages whose delivery is pending, by when the next attempt is due.
    IndexSpec("messages", "due", [("due_at", ASCENDING)], partial=_is_string("due_at")),
    # Search reads a tenant's messages (a regex has no prefix to use an index with).
    IndexSpec("messages", "tenant", [("tenant", ASCENDING), ("conversation_id", ASCENDING)]),
    # The ratings list: rated conversations, most recently closed first.
    IndexSpec(
        "conversations",
        "tenant_rated",
        [("tenant", ASCENDING), ("closed_at", DESCENDING), ("_id", DESCENDING)],
        partial={"rating": {"$type": "object"}},
    ),
    IndexSpec("left_messages", "tenant_created", [("tenant", ASCENDING), *NEWEST_FIRST]),
    # Upload records: an uploader's recent files (quotas), and the ones no message uses
    # (`orphan_since` is set until a message takes the file) for the clean-up.
    IndexSpec(
        "uploads",
        "uploader",
        [
            ("tenant", ASCENDING),
            ("uploader_type", ASCENDING),
            ("uploader_id", ASCENDING),
            ("created_at", ASCENDING),
        ],
    ),
    IndexSpec(
        "uploads", "orphan", [("orphan_since", ASCENDING)], partial=_is_string("orphan_since")
    ),
    # Integrations: API tokens found by their hash; webhooks per tenant; the delivery queue
    # by when the next attempt is due, and each webhook's delivery log newest first.
    IndexSpec("api_tokens", "hash_unique", [("token_hash", ASCENDING)], unique=True),
    IndexSpec("api_tokens", "tenant_created", [("tenant", ASCENDING), *OLDEST_FIRST]),
    IndexSpec("webhooks", "tenant_created", [("tenant", ASCENDING), *OLDEST_FIRST]),
    IndexSpec("webhook_deliveries", "due", [("status", ASCENDING), ("due_at", ASCENDING)]),
    IndexSpec(
        "webhook_deliveries",
        "webhook_log",
        [("tenant", ASCENDING), ("webhook_id", ASCENDING), *NEWEST_FIRST],
    ),
    IndexSpec(
        "invitation_counts",
        "tenant_day_agent",
        [("tenant", ASCENDING), ("day", ASCENDING), ("agent_id", ASCENDING)],
        unique=True,
    ),
    # The bots (bots/): a tenant's articles in creation order, its days, its unanswered
    # questions by how often they were asked.
    IndexSpec("kb_articles", "tenant_created", [("tenant", ASCENDING), *OLDEST_FIRST]),
    IndexSpec("bot_stats", "tenant_day", [("tenant", ASCENDING), ("day", ASCENDING)]),
    IndexSpec(
        "bot_unanswered", "tenant_text", [("tenant", ASCENDING), ("text", ASCENDING)], unique=True
    ),
    IndexSpec("bot_unanswered", "tenant_count", [("tenant", ASCENDING), ("count", DESCENDING)]),
]

COLLECTIONS = (
    "tenants",
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
    "im_departments",
    "im_threads",
    "im_messages",
    "im_reads",
    "api_tokens",
    "webhooks",
    "webhook_deliveries",
    "invitation_counts",
    "kb_articles",
    "bot_stats",
    "bot_unanswered",
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Database], Awaitable[None]]


async def _nothing(db: Database) -> None:
    """Version 1 is the layout the hub had before migrations: the collections appear with
    their first write, the indexes are declared after the migrations."""


async def _channel_keys(db: Database) -> None:
    """Version 2: one open conversation per (channel, account, contact, thread), kept by a
    unique index on `open_key`; platform message ids unique per channel account
    (`platform_scope`) instead of per tenant."""
    conversations, messages = db["conversations"], db["messages"]
    try:
        await messages.drop_index("platform_message_id_unique")
    except OperationFailure:
        pass  # a database made after this version, or a second hub that got here first
    newest: dict[tuple[str, str, str], bool] = {}
    cursor = conversations.find({"status": {"$ne": "closed"}, "open_key": {"$exists": False}}).sort(
        NEWEST_FIRST
    )
    async for doc in cursor:
        key = (doc["tenant"], doc["channel"], doc["contact_id"])
        # Should earlier races have left two open ones for a contact, the newest keeps the
        # key; the others stay open, found by their id, until closed.
        first = key not in newest
        newest[key] = True
        value = open_key(doc["channel"], None, doc["contact_id"], "") if first else None
        await conversations.update_one({"_id": doc["_id"]}, {"$set": {"open_key": value}})
    channels: dict[str, str] = {}
    cursor = messages.find(
        {"platform_message_id": {"$type": "string"}, "platform_scope": {"$exists": False}}
    )
    async for doc in cursor:
        conversation_id = doc["conversation_id"]
        if conversation_id not in channels:
            owner = await conversations.find_one({"_id": conversation_id}, {"channel": 1})
            channels[conversation_id] = owner["channel"] if owner else "webim"
        await messages.update_one(
            {"_id": doc["_id"]}, {"$set": {"platform_scope": channels[conversation_id]}}
        )


async def aggregate(collection: Any, pipeline: list[dict[str, Any]]) -> AsyncIterator[Any]:
    """The rows of an aggregation. PyMongo's async client answers `aggregate` with a
    coroutine of a cursor, motor's API (the mongomock-motor fake the tests use) with the
    cursor itself."""
    cursor = collection.aggregate(pipeline)
    if inspect.isawaitable(cursor):
        cursor = await cursor
    async for row in cursor:
        yield row


async def _message_counts(db: Database) -> None:
    """Version 6: each conversation counts its customer's messages and the answers it got
    (`messages_in` / `messages_out`, kept by the append from here on), for the reports."""
    counted = aggregate(
        db["messages"],
        [
            {"$match": {"type": {"$nin": ["note", "event"]}}},
            {
                "$group": {
                    "_id": "$conversation_id",
                    "messages_in": {
                        "$sum": {"$cond": [{"$eq": ["$sender.type", "contact"]}, 1, 0]}
                    },
                    "messages_out": {
                        "$sum": {"$cond": [{"$in": ["$sender.type", ["agent", "bot"]]}, 1, 0]}
                    },
                }
            },
        ],
    )
    async for row in counted:
        await db["conversations"].update_one(
            {"_id": row["_id"]},
            {"$set": {"messages_in": row["messages_in"], "messages_out": row["messages_out"]}},
        )


MIGRATIONS = [
    Migration(1, "collections", _nothing),
    Migration(2, "channel keys", _channel_keys),
    # Version 3: channel accounts and the outbox's `due_at` on messages. Both are new: no
    # document needs changing, the indexes are declared after the migrations.
    Migration(3, "channel accounts and the outbox", _nothing),
    # Version 4: search (a regex over the fields: no document changes) and the ratings
    # list's index, declared after the migrations.
    Migration(4, "search and ratings", _nothing),
    # Version 5: upload records and each tenant's totals (new collections), and the index
    # paging left messages without a filter; declared after the migrations.
    Migration(5, "upload records and paging", _nothing),
    Migration(6, "message counts", _message_counts),
    # Version 7: the enterprise IM's collections (new), their indexes declared after.
    Migration(7, "enterprise IM", _nothing),
    # Version 8: integrations (API tokens, webhooks, webhook deliveries): new collections,
    # their indexes declared after the migrations.
    Migration(8, "integrations", _nothing),
    # Version 9: invitation counts per agent per day (a new collection and its unique
    # index, declared after the migrations).
    Migration(9, "invitation counts", _nothing),
    # Version 10: the bots' knowledge base, daily counters and unanswered questions (new
    # collections; their indexes are declared after the migrations).
    Migration(10, "bots", _nothing),
]
LATEST = MIGRATIONS[-1].version
SCHEMA_ID = "schema"


class SchemaTooNew(RuntimeError):
    pass


async def schema_version(db: Database) -> int:
    meta = await db["meta"].find_one({"_id": SCHEMA_ID})
    if meta is not None:
        return int(meta["version"])
    existing = set(await db.list_collection_names())
    return 1 if existing.intersection(COLLECTIONS) else 0


async def migrate(db: Database, *, target: int = LATEST) -> int:
    """Bring the database to `target` (the latest by default); returns the version it had."""
    found = await schema_version(db)
    if found > LATEST:
        raise SchemaTooNew(
            f"the database has schema version {found}, newer than this hub knows ({LATEST})"
        )
    for migration in MIGRATIONS[found:target]:
        log.info("migrating MongoDB to schema version %d (%s)", migration.version, migration.name)
        await migration.apply(db)
        await db["meta"].update_one(
            {"_id": SCHEMA_ID}, {"$set": {"version": migration.version}}, upsert=True
        )
    return found


async def declare_indexes(db: Database) -> None:
    present: dict[str, dict[str, Any]] = {}
    for spec in INDEXES:
        if spec.collection not in present:
            present[spec.collection] = await db[spec.collection].index_information()
        # Declared indexes that exist are checked, not sent again: a drifted one gets a
        # clear error, and mongomock cannot re-declare a partial unique index over stored
        # documents (it checks uniqueness ignoring the partial filter).
        existing = present[spec.collection].get(spec.name)
        if existing is None:
            await _create_index(db, spec)
        elif not spec.describes(existing):
            # Changing an index on a live database is an operator's decision (it can fail
            # on existing data, or take long); say which one instead of guessing.
            raise RuntimeError(
                f"index {spec.name} on {spec.collection} differs from the one the hub "
                "declares; drop it and start again to have it built as declared"
            )


async def _create_index(db: Database, spec: IndexSpec) -> None:
    options: dict[str, Any] = {"name": spec.name, "unique": spec.unique}
    if spec.partial is not None:
        # Only documents that carry the field as a string are indexed, so the many messages
        # without a client id or platform id never collide on null.
        options["partialFilterExpression"] = spec.partial
    await db[spec.collection].create_index(spec.keys, **options)
