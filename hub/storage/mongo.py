"""The scale-out store: MongoDB through PyMongo's asyncio client, for several hub processes
sharing one database.

Documents have the shapes of hub/storage/codec.py (datetimes as ISO 8601 UTC strings), so a
record reads back identical whichever backend wrote it. Records with an id keep it as `_id`
as well, which makes the primary index the lookup by id. Fields that exist only to be indexed
(`email_key`) are ignored when a document is read back.

Durability: every write is sent with write concern `w="majority", j=True`. A write is then
acknowledged only once it is in the journal of a majority of the replica set, so it survives
a crash of the hub, of the primary and a fail-over: "acked means durable" holds. The write
concern is a constructor argument; `write_concern=None` leaves the client's default, for a
fake that refuses the option. mongomock-motor, the fake the tests use, accepts it (and, having
no journal, cannot honour it), so the tests run this module unchanged.

Throughput: MongoDB has no equivalent of SQLite's group commit that a client could drive, and
none is imitated here. Concurrent calls run side by side: the driver sends them over its
connection pool without waiting for one another, and the server's journal commits in groups,
so many in-flight `j=True` writes share a journal flush. A slow write holds up only its own
caller. Appends to one conversation from one process take turns (below), so one busy
conversation is bounded by its round trips (a read, an insert, an update); conversations do
not wait for each other.

Appends and `seq`, across several processes:
* The unique index (conversation_id, seq) decides who gets a seq. An append reads the
  conversation's `last_seq`, inserts the message with `last_seq + 1`, and if that seq was
  taken meanwhile (another process won), retries with one above the highest stored seq. A
  seq therefore exists only as a stored message, and seq n is only tried once n - 1 is stored:
  there is no gap, not even after a crash. A counter incremented before the insert
  (`$inc` then insert) could not promise that: a crash, a cancellation or a duplicate between
  the two steps leaves a number that no message carries.
* Within one process, appends to one conversation take turns (an asyncio lock per
  conversation), so they do not race each other for a seq and keep their call order.
* Deduplication is the unique partial indexes (conversation_id, client_id) and
  (tenant, platform_scope, platform_message_id), the scope being the conversation's channel
  account: an insert they refuse returns the stored original with `created=False`, in every
  process.
* After the insert, the conversation's `last_seq`, `last_message_at` and preview are set by
  an update conditional on `last_seq` being lower, so the newest message wins whichever
  process finishes last. A crash between the insert and that update leaves `last_seq` one
  behind the messages until the next append, which repairs it (the messages are the truth).

Identities live in their own `identities` collection with a unique index on (tenant, channel,
external_id): a unique multikey index over `identities.channel`/`identities.external_id` in
the contact document would index the cross product of the array's values and refuse valid
pairs. Writes to the two collections are not one transaction: a contact is inserted before
its identities are claimed (a crash leaves a contact nobody finds by identity, never an
identity claimed by a contact that does not exist), and a conflict removes what this call
wrote. On update, new identities are claimed before the contact is written and released ones
are removed after. The registry decides who owns an identity and is what `find_contact` reads.

One open conversation per key (hub.domain.open_key) is the unique partial index on
`open_key`, a string while the conversation is open and null once it is closed: two
processes opening one at once both try the insert, one wins, the other reads the winner.

Writes run as tasks: a caller that goes away does not cut a write in half, and `close()`
waits for the writes in flight, as the SQLite store does. The schema is versioned
(hub/storage/mongo_schema.py): `open()` migrates, then checks the declared indexes.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from pymongo import (
    ASCENDING,
    DESCENDING,
    AsyncMongoClient,
    ReturnDocument,
    WriteConcern,
)
from pymongo.errors import DuplicateKeyError

from hub.domain import (
    Agent,
    AppendResult,
    ChannelAccount,
    Contact,
    Conversation,
    Delivery,
    Identity,
    LeftMessage,
    Message,
    Tenant,
    Upload,
    iso,
    open_key,
    upload_ids,
    utcnow,
)
from hub.domain.integrations import ApiToken, Webhook, WebhookDelivery
from hub.errors import Conflict, NotFound
from hub.storage.base import (
    INVITATION_OUTCOMES,
    ClaimedDelivery,
    ConversationHit,
    Ingested,
    Position,
    ReportCell,
    ReportGroup,
    Store,
    UploadQuota,
    check_invitation_outcome,
    check_message_fields,
    check_not_append_owned,
)
from hub.storage.codec import encode_value, from_doc, message_direction, preview_of, to_doc
from hub.storage.mongo_im import MongoImStore
from hub.storage.mongo_schema import (
    COLLECTIONS,
    NEWEST_FIRST,
    OLDEST_FIRST,
    RECENTLY_SEEN_FIRST,
    declare_indexes,
    migrate,
)

T = TypeVar("T")

# Acked means durable: an acknowledged write is journaled on a majority of the replica set,
# so neither a crash nor a fail-over to another member can lose it.
DURABLE_WRITES = WriteConcern(w="majority", j=True)


Client = Any  # AsyncMongoClient, or the tests' fake of it
Collection = Any


def _with_id(record: Any) -> dict[str, Any]:
    return {"_id": record.id, **to_doc(record)}


# A change to any of these moves the conversation's open key.
OPEN_KEY_FIELDS = frozenset({"status", "channel", "channel_id", "contact_id", "thread_key"})


def _conversation_doc(conversation: Conversation) -> dict[str, Any]:
    return _with_id(conversation) | {"open_key": conversation.open_key}


def _due_at(delivery: Mapping[str, Any] | None) -> str | None:
    """The outbox field: when the next delivery attempt may start, while one is pending."""
    if not delivery or delivery.get("status") != "pending":
        return None
    return delivery.get("due_at")


def _platform_scope(conversation: Mapping[str, Any]) -> str:
    return conversation.get("channel_id") or conversation["channel"]


def _contains(text: str) -> dict[str, Any]:
    """A filter matching `text` anywhere in a string field, ASCII case-insensitively."""
    return {"$regex": re.escape(text), "$options": "i"}


def _continues(key: str, after: Position | None, *, id_descending: bool) -> dict[str, Any]:
    """The filter for the page after `after` in (key descending, _id) order."""
    if after is None:
        return {}
    moment = iso(after[0])
    return {
        "$or": [
            {key: {"$lt": moment}},
            {key: moment, "_id": {"$lt" if id_descending else "$gt": after[1]}},
        ]
    }


async def _close(client: Client) -> None:
    # PyMongo's AsyncMongoClient.close is a coroutine; the test fake's is a plain method.
    closing = client.close()
    if inspect.isawaitable(closing):
        await closing


def _open_key_taken() -> Conflict:
    return Conflict(
        "the contact has another open conversation on this channel", code="conversation_open"
    )


def _agent_doc(agent: Agent) -> dict[str, Any]:
    return _with_id(agent) | {"email_key": agent.email.lower()}


def _identity_conflict() -> Conflict:
    return Conflict("that identity belongs to another contact", code="identity_taken")


def _refuse_repeated(identities: Sequence[Identity]) -> None:
    # One identity listed twice is refused like a clash, as the SQLite store does.
    if len(set(identities)) != len(identities):
        raise _identity_conflict()


def _past(
    field_name: str, after: Position | None, *, descending: bool, id_descending: bool
) -> dict[str, Any]:
    """The filter for the records after `after` in a list sorted by `field_name`, then _id."""
    if after is None:
        return {}
    moment, record_id = iso(after[0]), after[1]
    beyond, id_beyond = ("$lt" if descending else "$gt"), ("$lt" if id_descending else "$gt")
    return {
        "$or": [
            {field_name: {beyond: moment}},
            {field_name: moment, "_id": {id_beyond: record_id}},
        ]
    }


def _upload_key(tenant: str, upload_id: str) -> str:
    return f"{tenant}/{upload_id}"


@dataclass(slots=True)
class _Turn:
    """Appends to one conversation in this process wait here for one another."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class MongoStore(MongoImStore, Store):
    def __init__(
        self,
        connect: Callable[[], Client],
        db_name: str,
        *,
        write_concern: WriteConcern | None = DURABLE_WRITES,
    ) -> None:
        """`connect` makes a client (a fresh one on every `open()`, since a closed client
        cannot be used again). `write_concern=None` leaves the client's default, for fakes."""
        self._connect = connect
        self.db_name = db_name
        self.write_concern = write_concern
        self._client: Client | None = None
        self._collections: dict[str, Collection] = {}
        self._closing = False
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._turns: dict[str, _Turn] = {}

    @classmethod
    def from_url(
        cls, url: str, db_name: str, *, write_concern: WriteConcern | None = DURABLE_WRITES
    ) -> MongoStore:
        # Retryable writes (the driver's default) resend a write once after a network error
        # or a fail-over; the server recognises the resend, so nothing is written twice.
        return cls(lambda: AsyncMongoClient(url), db_name, write_concern=write_concern)

    # life cycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._collections:
            return
        client = self._connect()
        db = client.get_database(self.db_name)
        try:
            await migrate(db)
            await declare_indexes(db)
        except BaseException:
            await _close(client)
            raise
        # The write concern is set on each collection rather than inherited from the
        # database: the fake's collections would not inherit it.
        self._collections = {
            name: db.get_collection(name, write_concern=self.write_concern) for name in COLLECTIONS
        }
        self._client, self._closing = client, False

    async def close(self) -> None:
        self._closing = True
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._client is not None:
            await _close(self._client)
        self._client = None
        self._collections = {}

    def _col(self, name: str) -> Collection:
        assert self._collections, "the store is not open"
        return self._collections[name]

    async def _write(self, operation: Coroutine[Any, Any, T]) -> T:
        if self._closing or not self._collections:
            operation.close()
            raise RuntimeError("the store is closed")
        task = asyncio.get_running_loop().create_task(operation)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    # tenants and settings --------------------------------------------------------------

    async def create_tenant(self, tenant: Tenant) -> None:
        async def op() -> None:
            try:
                await self._col("tenants").insert_one(_with_id(tenant))
            except DuplicateKeyError as exc:
                raise Conflict(f"tenant {tenant.id} exists", code="tenant_exists") from exc

        await self._write(op())

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        doc = await self._col("tenants").find_one({"_id": tenant_id})
        return from_doc(Tenant, doc) if doc else None

    async def list_tenant_ids(self) -> list[str]:
        cursor = self._col("tenants").find({}, {"_id": 1}).sort("_id", ASCENDING)
        return [doc["_id"] async for doc in cursor]

    async def get_settings(self, tenant: str, key: str) -> dict[str, Any] | None:
        doc = await self._col("settings").find_one({"tenant": tenant, "key": key})
        return doc["value"] if doc else None

    async def put_settings(self, tenant: str, key: str, value: Mapping[str, Any]) -> None:
        encoded = encode_value(dict(value))
        await self._write(
            self._col("settings").update_one(
                {"tenant": tenant, "key": key}, {"$set": {"value": encoded}}, upsert=True
            )
        )

    # agents ----------------------------------------------------------------------------

    async def create_agent(self, agent: Agent) -> None:
        async def op() -> None:
            try:
                await self._col("agents").insert_one(_agent_doc(agent))
            except DuplicateKeyError as exc:
                raise Conflict("an agent with this email exists", code="email_taken") from exc

        await self._write(op())

    async def get_agent(self, tenant: str, agent_id: str) -> Agent | None:
        doc = await self._col("agents").find_one({"_id": agent_id, "tenant": tenant})
        return from_doc(Agent, doc) if doc else None

    async def get_agent_by_email(self, email: str) -> Agent | None:
        doc = await self._col("agents").find_one({"email_key": email.lower()})
        return from_doc(Agent, doc) if doc else None

    async def list_agents(
        self, tenant: str, *, after: Position | None = None, limit: int | None = None
    ) -> list[Agent]:
        where = {"tenant": tenant} | _past(
            "created_at", after, descending=False, id_descending=False
        )
        cursor = self._col("agents").find(where).sort(OLDEST_FIRST)
        if limit is not None:
            cursor = cursor.limit(limit)
        return [from_doc(Agent, doc) async for doc in cursor]

    async def update_agent(self, agent: Agent, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(agent, f)) for f in fields}
        if "email" in changes:
            changes["email_key"] = agent.email.lower()

        async def op() -> None:
            try:
                found = await self._update_fields(
                    "agents", {"_id": agent.id, "tenant": agent.tenant}, changes
                )
            except DuplicateKeyError as exc:
                raise Conflict("an agent with this email exists", code="email_taken") from exc
            if not found:
                raise NotFound("no such agent", code="agent_not_found")

        await self._write(op())

    async def _update_fields(
        self, collection: str, where: dict[str, Any], changes: dict[str, Any]
    ) -> bool:
        """Sets `changes` on the document matching `where`; True if one matched. MongoDB
        refuses an empty `$set`, so naming no field only checks that the document is there."""
        if not changes:
            return await self._col(collection).find_one(where, {"_id": 1}) is not None
        result = await self._col(collection).update_one(where, {"$set": changes})
        return result.matched_count == 1

    # contacts --------------------------------------------------------------------------

    async def _claim_identities(self, contact: Contact) -> list[Identity]:
        """Records `contact` as the owner of each of its identities. Returns the ones claimed
        by this call; on a clash releases them again and raises Conflict."""
        identities = self._col("identities")
        claimed: list[Identity] = []
        for identity in contact.identities:
            key = {
                "tenant": contact.tenant,
                "channel": identity.channel,
                "external_id": identity.external_id,
            }
            try:
                await identities.insert_one(key | {"contact_id": contact.id})
                claimed.append(identity)
            except DuplicateKeyError as exc:
                owner = await identities.find_one(key)
                if owner is not None and owner["contact_id"] == contact.id:
                    continue
                await self._release_identities(contact, claimed)
                raise _identity_conflict() from exc
        return claimed

    async def _release_identities(self, contact: Contact, identities: Sequence[Identity]) -> None:
        if not identities:
            return
        await self._col("identities").delete_many(
            {
                "tenant": contact.tenant,
                "contact_id": contact.id,
                "$or": [{"channel": i.channel, "external_id": i.external_id} for i in identities],
            }
        )

    async def create_contact(self, contact: Contact) -> None:
        _refuse_repeated(contact.identities)
        await self._write(self._create_contact(contact))

    async def _create_contact(self, contact: Contact) -> None:
        try:
            await self._col("contacts").insert_one(_with_id(contact))
        except DuplicateKeyError as exc:
            raise Conflict("contact exists", code="contact_exists") from exc
        try:
            await self._claim_identities(contact)
        except Conflict:
            await self._col("contacts").delete_one({"_id": contact.id, "tenant": contact.tenant})
            raise

    async def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        doc = await self._col("contacts").find_one({"_id": contact_id, "tenant": tenant})
        return from_doc(Contact, doc) if doc else None

    async def find_contact(self, tenant: str, identity: Identity) -> Contact | None:
        owner = await self._col("identities").find_one(
            {"tenant": tenant, "channel": identity.channel, "external_id": identity.external_id}
        )
        return await self.get_contact(tenant, owner["contact_id"]) if owner else None

    async def list_contacts(
        self,
        tenant: str,
        *,
        blocked_at: datetime | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        where: dict[str, Any] = {"tenant": tenant} | _past(
            "last_seen_at", after, descending=True, id_descending=False
        )
        if blocked_at is not None:
            # ISO 8601 UTC strings of one format order like the moments they name; `$gt` on
            # a string never matches null, so contacts never blocked stay out.
            where["blocked_until"] = {"$gt": iso(blocked_at)}
        cursor = self._col("contacts").find(where).sort(RECENTLY_SEEN_FIRST).limit(limit)
        return [from_doc(Contact, doc) async for doc in cursor]

    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(contact, f)) for f in fields}
        where = {"_id": contact.id, "tenant": contact.tenant}
        if "identities" in changes:
            _refuse_repeated(contact.identities)

        async def op() -> None:
            if "identities" not in changes:
                if not await self._update_fields("contacts", where, changes):
                    raise NotFound("no such contact", code="contact_not_found")
                return
            if await self._col("contacts").find_one(where, {"_id": 1}) is None:
                raise NotFound("no such contact", code="contact_not_found")
            await self._claim_identities(contact)
            await self._update_fields("contacts", where, changes)
            await self._col("identities").delete_many(
                {"tenant": contact.tenant, "contact_id": contact.id}
                | self._not_one_of(contact.identities)
            )

        await self._write(op())

    async def merge_contacts(self, target: Contact, source: Contact) -> list[str]:
        return await self._write(self._merge_contacts(target, source))

    async def _merge_contacts(self, target: Contact, source: Contact) -> list[str]:
        """Not one transaction: the conversations move first (each keeps its open key unique,
        so a clash stops the merge before anything else moved; the ones moved before it are
        moved back), then the identities, then both contacts are written. A crash midway
        leaves conversations or identities on the target with the source not yet marked
        merged; merging again finishes it."""
        tenant = target.tenant
        for contact in (target, source):
            if await self._col("contacts").find_one({"_id": contact.id, "tenant": tenant}) is None:
                raise NotFound("no such contact", code="contact_not_found")
        conversations = self._col("conversations")
        moved: list[Conversation] = []
        cursor = conversations.find({"tenant": tenant, "contact_id": source.id})
        try:
            async for doc in cursor:
                conversation = from_doc(Conversation, doc)
                conversation.contact_id = target.id
                await conversations.update_one(
                    {"_id": conversation.id},
                    {"$set": {"contact_id": target.id, "open_key": conversation.open_key}},
                )
                moved.append(conversation)
        except DuplicateKeyError as exc:
            for conversation in moved:
                conversation.contact_id = source.id
                await conversations.update_one(
                    {"_id": conversation.id},
                    {"$set": {"contact_id": source.id, "open_key": conversation.open_key}},
                )
            raise _open_key_taken() from exc
        await self._col("identities").update_many(
            {"tenant": tenant, "contact_id": source.id}, {"$set": {"contact_id": target.id}}
        )
        for contact in (target, source):
            await self._col("contacts").replace_one({"_id": contact.id}, _with_id(contact))
        return [conversation.id for conversation in moved]

    @staticmethod
    def _not_one_of(identities: Sequence[Identity]) -> dict[str, Any]:
        if not identities:
            return {}
        return {"$nor": [{"channel": i.channel, "external_id": i.external_id} for i in identities]}

    # conversations ---------------------------------------------------------------------

    async def _insert_conversation(self, conversation: Conversation) -> None:
        try:
            await self._col("conversations").insert_one(_conversation_doc(conversation))
        except DuplicateKeyError as exc:
            if "open_key" in str(exc):
                raise _open_key_taken() from exc
            raise Conflict("conversation exists", code="conversation_exists") from exc

    async def create_conversation(self, conversation: Conversation) -> None:
        await self._write(self._insert_conversation(conversation))

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        return await self._write(self._open_conversation(conversation))

    async def _open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        key = conversation.open_key
        if key is not None:
            found = await self._col("conversations").find_one(
                {"open_key": key, "tenant": conversation.tenant}
            )
            if found is not None:
                return from_doc(Conversation, found), False
        try:
            await self._insert_conversation(conversation)
        except Conflict as exc:
            if exc.code != "conversation_open":
                raise
            # Another process opened it between our read and our insert: theirs is the one.
            found = await self._col("conversations").find_one(
                {"open_key": key, "tenant": conversation.tenant}
            )
            if found is None:
                raise  # closed again meanwhile: let the caller try once more
            return from_doc(Conversation, found), False
        return conversation, True

    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None:
        doc = await self._col("conversations").find_one({"_id": conversation_id, "tenant": tenant})
        return from_doc(Conversation, doc) if doc else None

    async def update_conversation(
        self,
        conversation: Conversation,
        fields: Sequence[str],
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        check_not_append_owned(fields)
        changes = {f: encode_value(getattr(conversation, f)) for f in fields}
        if OPEN_KEY_FIELDS.intersection(fields):
            changes["open_key"] = conversation.open_key
        # The expected values go into the filter, so the check and the write are one atomic
        # operation on the server: this is the compare-and-set.
        where = {k: encode_value(v) for k, v in (expect or {}).items()} | {
            "_id": conversation.id,
            "tenant": conversation.tenant,
        }

        async def op() -> bool:
            try:
                return await self._update_fields("conversations", where, changes)
            except DuplicateKeyError as exc:
                raise _open_key_taken() from exc

        return await self._write(op())

    async def list_conversations(
        self,
        tenant: str,
        *,
        status: Sequence[str] | None = None,
        agent_id: str | None = None,
        channel: str | None = None,
        contact_id: str | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[Conversation]:
        where: dict[str, Any] = {"tenant": tenant} | _past(
            "created_at", after, descending=True, id_descending=True
        )
        if status:
            where["status"] = {"$in": list(status)}
        for name, value in (
            ("agent_id", agent_id),
            ("channel", channel),
            ("contact_id", contact_id),
        ):
            if value is not None:
                where[name] = value
        cursor = self._col("conversations").find(where).sort(NEWEST_FIRST).limit(limit)
        return [from_doc(Conversation, doc) async for doc in cursor]

    async def find_open_conversation(
        self,
        tenant: str,
        contact_id: str,
        channel: str,
        channel_id: str | None = None,
        thread_key: str = "",
    ) -> Conversation | None:
        doc = await self._col("conversations").find_one(
            {"open_key": open_key(channel, channel_id, contact_id, thread_key), "tenant": tenant}
        )
        return from_doc(Conversation, doc) if doc else None

    # messages --------------------------------------------------------------------------

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        turn = self._turns.get(conversation_id)
        if turn is None:
            turn = self._turns[conversation_id] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[conversation_id]  # idle conversations hold no lock

    async def append_message(self, message: Message, *, require_open: bool = False) -> AppendResult:
        return await self._write(self._append(message, require_open=require_open))

    async def _append(self, message: Message, *, require_open: bool = False) -> AppendResult:
        conversations, messages = self._col("conversations"), self._col("messages")
        where = {"_id": message.conversation_id, "tenant": message.tenant}
        async with self._turn(message.conversation_id):
            conversation = await conversations.find_one(
                where, {"last_seq": 1, "status": 1, "channel": 1, "channel_id": 1, "agent_id": 1}
            )
            if conversation is None:
                raise NotFound("no such conversation", code="conversation_not_found")
            scope = _platform_scope(conversation)
            if require_open and conversation["status"] == "closed":
                original = await self._original_of(message, scope)
                if original is not None:
                    return AppendResult(from_doc(Message, original), False)
                # Closed since the caller looked: its idea of the open conversation is old.
                raise Conflict("the conversation is closed", code="conversation_closed")
            seq = int(conversation["last_seq"]) + 1
            doc = to_doc(message)
            if message.platform_message_id is not None:
                doc["platform_scope"] = scope
            if (due_at := _due_at(doc.get("delivery"))) is not None:
                doc["due_at"] = due_at
            while True:
                stored = doc | {"seq": seq}
                try:
                    # insert_one adds `_id` to the dict it is given; `stored` stays ours.
                    await messages.insert_one(dict(stored))
                    break
                except DuplicateKeyError:
                    original = await self._original_of(message, scope)
                    if original is not None:
                        return AppendResult(from_doc(Message, original), False)
                    if (
                        await messages.find_one(
                            {"conversation_id": message.conversation_id, "seq": seq}, {"_id": 1}
                        )
                        is None
                    ):
                        raise  # not a lost race for this seq: a conflict we do not expect
                    seq = await self._highest_seq(message.conversation_id) + 1
            if ids := upload_ids(message.attachments):
                # Not one transaction with the insert: a crash between the two leaves the
                # files unmarked, and the clean-up would take them after its grace period.
                await self._col("uploads").update_many(
                    {
                        "_id": {"$in": [_upload_key(message.tenant, i) for i in ids]},
                        "message_id": None,
                    },
                    {"$set": {"message_id": message.id}, "$unset": {"orphan_since": ""}},
                )
            await conversations.update_one(
                where | {"last_seq": {"$lt": seq}},
                {
                    "$set": {
                        "last_seq": seq,
                        "last_message_at": stored["created_at"],
                        "last_message_preview": preview_of(stored),
                    }
                },
            )
            if (counter := message_direction(stored)) is not None:
                # Not conditional like the update above: every stored message counts once
                # (a crash between the insert and here misses one, as it leaves last_seq).
                await conversations.update_one(where, {"$inc": {counter: 1}})
        return AppendResult(
            from_doc(Message, stored), True, conversation["status"], conversation.get("agent_id")
        )

    async def _original_of(self, message: Message, scope: str) -> dict[str, Any] | None:
        messages = self._col("messages")
        if message.client_id is not None:
            original = await messages.find_one(
                {
                    "conversation_id": message.conversation_id,
                    "tenant": message.tenant,
                    "client_id": message.client_id,
                }
            )
            if original is not None:
                return original
        if message.platform_message_id is not None:
            return await self._seen_platform_message(
                message.tenant, scope, message.platform_message_id
            )
        return None

    async def _seen_platform_message(
        self, tenant: str, scope: str, platform_message_id: str
    ) -> dict[str, Any] | None:
        return await self._col("messages").find_one(
            {
                "tenant": tenant,
                "platform_scope": scope,
                "platform_message_id": platform_message_id,
            }
        )

    async def ingest(
        self, contact: Contact, conversation: Conversation, message: Message, *, now: datetime
    ) -> Ingested:
        return await self._write(self._ingest(contact, conversation, message, now))

    async def _ingest(
        self, contact: Contact, conversation: Conversation, message: Message, now: datetime
    ) -> Ingested:
        """Each step is one atomic operation that a unique index arbitrates (identity, open
        key, client and platform ids), so concurrent ingests in several processes agree on
        one contact and one conversation; a crash between steps leaves at most a contact or
        an empty open conversation, which the retry of the same message then uses."""
        tenant = contact.tenant
        scope = conversation.channel_id or conversation.channel
        if message.platform_message_id is not None:
            seen = await self._seen_platform_message(tenant, scope, message.platform_message_id)
            if seen is not None:
                return await self._seen(tenant, seen)
        identity = contact.identities[0]
        stored_contact, contact_created = await self._contact_for(contact, identity)
        if stored_contact.is_blocked(now):
            return Ingested("blocked", stored_contact, None, None)
        template = replace(conversation, contact_id=stored_contact.id)
        sender = replace(message.sender, id=stored_contact.id, name=stored_contact.name)
        for attempt in range(3):
            stored_conversation, opened = await self._open_conversation(template)
            addressed = replace(message, conversation_id=stored_conversation.id, sender=sender)
            try:
                result = await self._append(addressed, require_open=True)
                break
            except Conflict as exc:
                # Closed by an agent between the two steps: the next try opens a new one.
                if exc.code != "conversation_closed" or attempt == 2:
                    raise
        if not result.created:
            return await self._seen(tenant, to_doc(result.message))
        stored_conversation.last_seq = result.message.seq
        stored_conversation.last_message_at = result.message.created_at
        stored_conversation.last_message_preview = preview_of(to_doc(result.message))
        if (counter := message_direction(to_doc(result.message))) is not None:
            setattr(stored_conversation, counter, getattr(stored_conversation, counter) + 1)
        return Ingested(
            "new",
            stored_contact,
            stored_conversation,
            result.message,
            contact_created,
            opened,
        )

    async def _seen(self, tenant: str, original: Mapping[str, Any]) -> Ingested:
        conversation = await self.get_conversation(tenant, original["conversation_id"])
        assert conversation is not None
        contact = await self.get_contact(tenant, conversation.contact_id)
        assert contact is not None
        return Ingested("seen", contact, conversation, from_doc(Message, dict(original)))

    async def _contact_for(self, contact: Contact, identity: Identity) -> tuple[Contact, bool]:
        """The contact an identity belongs to, or `contact` created as its owner. Two
        processes creating one at once: the identity's unique index lets one claim it; the
        other removes its own contact and takes the winner's."""
        for _attempt in range(3):
            found = await self.find_contact(contact.tenant, identity)
            if found is not None:
                return found, False
            try:
                await self._create_contact(contact)
            except Conflict as exc:
                if exc.code != "identity_taken":
                    raise
                continue
            return contact, True
        raise Conflict("that identity belongs to another contact", code="identity_taken")

    async def find_messages_by_platform_ids(
        self, tenant: str, scope: str, platform_message_ids: Sequence[str]
    ) -> list[Message]:
        if not platform_message_ids:
            return []
        cursor = self._col("messages").find(
            {
                "tenant": tenant,
                "platform_scope": scope,
                "platform_message_id": {"$in": list(platform_message_ids)},
            }
        )
        return [from_doc(Message, doc) async for doc in cursor]

    async def update_message(
        self, message: Message, fields: Sequence[str], *, expect_delivery: Delivery | None = None
    ) -> bool:
        check_message_fields(fields)
        changes = {f: encode_value(getattr(message, f)) for f in fields}
        if "delivery" in changes:
            changes["due_at"] = _due_at(changes["delivery"])
        where: dict[str, Any] = {
            "conversation_id": message.conversation_id,
            "seq": message.seq,
            "tenant": message.tenant,
        }
        if expect_delivery is not None:
            where["delivery"] = encode_value(expect_delivery)

        async def op() -> bool:
            if await self._update_fields("messages", where, changes):
                return True
            key = {k: where[k] for k in ("conversation_id", "seq", "tenant")}
            if await self._col("messages").find_one(key, {"_id": 1}) is None:
                raise NotFound("no such message", code="message_not_found")
            return False

        return await self._write(op())

    async def get_message(
        self, tenant: str, conversation_id: str, message_id: str
    ) -> Message | None:
        doc = await self._col("messages").find_one(
            {"conversation_id": conversation_id, "tenant": tenant, "id": message_id}
        )
        return from_doc(Message, doc) if doc else None

    # the outbox --------------------------------------------------------------------------

    async def claim_due_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        async def op() -> list[ClaimedDelivery]:
            claimed = []
            lease, started = iso(lease_until), iso(now)
            for _ in range(limit):
                # One atomic find-and-modify per message: two workers never claim one. The
                # document comes back as it was, to tell an interrupted earlier attempt.
                before = await self._col("messages").find_one_and_update(
                    {"due_at": {"$lte": started}},
                    {
                        "$set": {
                            "due_at": lease,
                            "delivery.due_at": lease,
                            "delivery.attempt_started_at": started,
                        }
                    },
                    sort=[("due_at", ASCENDING)],
                    return_document=ReturnDocument.BEFORE,
                )
                if before is None:
                    break
                delivery = before["delivery"]
                interrupted = delivery.get("attempt_started_at") is not None
                delivery |= {"due_at": lease, "attempt_started_at": started}
                claimed.append(ClaimedDelivery(from_doc(Message, before), interrupted))
            return claimed

        return await self._write(op())

    # channel accounts --------------------------------------------------------------------

    async def create_channel_account(self, account: ChannelAccount) -> None:
        async def op() -> None:
            try:
                await self._col("channel_accounts").insert_one(_with_id(account))
            except DuplicateKeyError as exc:
                raise Conflict("channel account exists", code="channel_exists") from exc

        await self._write(op())

    async def get_channel_account(self, tenant: str, account_id: str) -> ChannelAccount | None:
        doc = await self._col("channel_accounts").find_one({"_id": account_id, "tenant": tenant})
        return from_doc(ChannelAccount, doc) if doc else None

    async def list_channel_accounts(self, tenant: str | None) -> list[ChannelAccount]:
        where: dict[str, Any] = {"enabled": True} if tenant is None else {"tenant": tenant}
        order = [("tenant", ASCENDING), *OLDEST_FIRST] if tenant is None else OLDEST_FIRST
        cursor = self._col("channel_accounts").find(where).sort(order)
        return [from_doc(ChannelAccount, doc) async for doc in cursor]

    async def update_channel_account(self, account: ChannelAccount, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(account, f)) for f in fields}

        async def op() -> None:
            where = {"_id": account.id, "tenant": account.tenant}
            if not await self._update_fields("channel_accounts", where, changes):
                raise NotFound("no such channel", code="channel_not_found")

        await self._write(op())

    async def delete_channel_account(self, tenant: str, account_id: str) -> None:
        async def op() -> None:
            result = await self._col("channel_accounts").delete_one(
                {"_id": account_id, "tenant": tenant}
            )
            if result.deleted_count != 1:
                raise NotFound("no such channel", code="channel_not_found")

        await self._write(op())

    async def _highest_seq(self, conversation_id: str) -> int:
        top = await self._col("messages").find_one(
            {"conversation_id": conversation_id}, {"seq": 1}, sort=[("seq", DESCENDING)]
        )
        return int(top["seq"]) if top else 0

    async def list_messages(
        self,
        tenant: str,
        conversation_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Message]:
        seq: dict[str, int] = {"$gt": after_seq}
        if before_seq is not None:
            seq["$lt"] = before_seq
        cursor = (
            self._col("messages")
            .find({"conversation_id": conversation_id, "tenant": tenant, "seq": seq})
            .sort("seq", ASCENDING if before_seq is None else DESCENDING)
            .limit(limit)
        )
        docs = [doc async for doc in cursor]
        if before_seq is not None:
            docs.reverse()
        return [from_doc(Message, doc) for doc in docs]

    # left messages ---------------------------------------------------------------------

    async def create_left_message(self, left: LeftMessage) -> None:
        await self._write(self._col("left_messages").insert_one(_with_id(left)))

    async def list_left_messages(
        self,
        tenant: str,
        *,
        handled: bool | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[LeftMessage]:
        where: dict[str, Any] = {"tenant": tenant} | _past(
            "created_at", after, descending=True, id_descending=True
        )
        if handled is not None:
            where["handled"] = handled
        cursor = self._col("left_messages").find(where).sort(NEWEST_FIRST).limit(limit)
        return [from_doc(LeftMessage, doc) async for doc in cursor]

    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None:
        changes = {f: encode_value(getattr(left, f)) for f in fields}

        async def op() -> None:
            if not await self._update_fields(
                "left_messages", {"_id": left.id, "tenant": left.tenant}, changes
            ):
                raise NotFound("no such left message", code="left_message_not_found")

        await self._write(op())

    async def get_left_message(self, tenant: str, left_id: str) -> LeftMessage | None:
        doc = await self._col("left_messages").find_one({"_id": left_id, "tenant": tenant})
        return from_doc(LeftMessage, doc) if doc else None

    async def update_left_message_if(
        self, left: LeftMessage, fields: Sequence[str], expect: Mapping[str, Any]
    ) -> bool:
        changes = {f: encode_value(getattr(left, f)) for f in fields}
        where = {"_id": left.id, "tenant": left.tenant} | {
            k: encode_value(v) for k, v in expect.items()
        }

        async def op() -> bool:
            if await self._update_fields("left_messages", where, changes):
                return True
            if await self.get_left_message(left.tenant, left.id) is None:
                raise NotFound("no such left message", code="left_message_not_found")
            return False

        return await self._write(op())

    # search and ratings ------------------------------------------------------------------
    # MongoDB's text index splits words at spaces and punctuation, so it finds nothing inside
    # a Chinese sentence; a case-insensitive regex matches any substring instead. It cannot
    # use an index for the match itself (no fixed prefix): the tenant's index narrows the
    # scan to the tenant and gives the order, so a search reads the tenant's records until
    # it has a page.

    async def search_contacts(
        self, tenant: str, text: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Contact]:
        pattern = _contains(text)
        where = {
            "tenant": tenant,
            "merged_into": None,
            "$and": [
                {
                    "$or": [
                        {"name": pattern},
                        {"email": pattern},
                        {"phone": pattern},
                        {"notes": pattern},
                        {"tags": pattern},
                        {"identities.external_id": pattern},
                    ]
                },
                _continues("last_seen_at", after, id_descending=False),
            ],
        }
        cursor = self._col("contacts").find(where).sort(RECENTLY_SEEN_FIRST).limit(limit)
        return [from_doc(Contact, doc) async for doc in cursor]

    async def search_conversations(
        self,
        tenant: str,
        text: str,
        *,
        visible_to: str | None = None,
        limit: int = 50,
        after: Position | None = None,
    ) -> list[ConversationHit]:
        pattern = _contains(text)
        newest_match: dict[str, int] = {}
        matches = self._col("messages").find(
            {
                "tenant": tenant,
                "type": {"$ne": "event"},
                "$or": [{"text": pattern}, {"meta.subject": pattern}],
            },
            {"conversation_id": 1, "seq": 1},
        )
        async for doc in matches:
            conversation_id = doc["conversation_id"]
            newest_match[conversation_id] = max(newest_match.get(conversation_id, 0), doc["seq"])
        if not newest_match:
            return []
        where: dict[str, Any] = {
            "tenant": tenant,
            "_id": {"$in": list(newest_match)},
            "$and": [
                {"$or": [{"agent_id": visible_to}, {"status": "queued"}]} if visible_to else {},
                _continues("created_at", after, id_descending=True),
            ],
        }
        cursor = self._col("conversations").find(where).sort(NEWEST_FIRST).limit(limit)
        hits = []
        async for doc in cursor:
            message = await self._col("messages").find_one(
                {"conversation_id": doc["_id"], "seq": newest_match[doc["_id"]]}
            )
            if message is not None:
                hits.append(
                    ConversationHit(from_doc(Conversation, doc), from_doc(Message, message))
                )
        return hits

    async def list_rated_conversations(
        self, tenant: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Conversation]:
        where = {
            "tenant": tenant,
            "rating": {"$type": "object"},
            **_continues("closed_at", after, id_descending=True),
        }
        cursor = (
            self._col("conversations")
            .find(where)
            .sort([("closed_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [from_doc(Conversation, doc) async for doc in cursor]

    # uploads ---------------------------------------------------------------------------

    async def create_upload(self, upload: Upload, quota: UploadQuota) -> str | None:
        return await self._write(self._create_upload(upload, quota))

    async def _create_upload(self, upload: Upload, quota: UploadQuota) -> str | None:
        """The tenant's total is taken with one conditional `$inc` (atomic on the server, so
        concurrent uploads in several processes never pass it together) and given back if
        the record is refused. The uploader's own limits are a read of its recent records:
        two of its uploads at the same moment in two processes could both pass them, within
        what its rate limit allows."""
        uploads, totals = self._col("uploads"), self._col("upload_totals")
        if quota.since is not None:
            recent = uploads.find(
                {
                    "tenant": upload.tenant,
                    "uploader_type": upload.uploader_type,
                    "uploader_id": upload.uploader_id,
                    "created_at": {"$gte": iso(quota.since)},
                },
                {"size": 1},
            )
            sizes = [int(doc["size"]) async for doc in recent]
            if quota.uploader_files is not None and len(sizes) + 1 > quota.uploader_files:
                return "uploader_files"
            if quota.uploader_bytes is not None and sum(sizes) + upload.size > quota.uploader_bytes:
                return "uploader_bytes"
        await totals.update_one(
            {"_id": upload.tenant}, {"$setOnInsert": {"files": 0, "bytes": 0}}, upsert=True
        )
        room: dict[str, Any] = {"_id": upload.tenant}
        if quota.tenant_bytes is not None:
            room["bytes"] = {"$lte": quota.tenant_bytes - upload.size}
        taken = await totals.update_one(room, {"$inc": {"files": 1, "bytes": upload.size}})
        if taken.matched_count != 1:
            return "tenant_bytes"
        doc = {"_id": _upload_key(upload.tenant, upload.id), **to_doc(upload)}
        if upload.message_id is None:
            doc["orphan_since"] = doc["created_at"]
        try:
            await uploads.insert_one(doc)
        except BaseException:
            await totals.update_one(
                {"_id": upload.tenant}, {"$inc": {"files": -1, "bytes": -upload.size}}
            )
            raise
        return None

    async def get_uploads(self, tenant: str, upload_ids: Sequence[str]) -> list[Upload]:
        if not upload_ids:
            return []
        cursor = self._col("uploads").find(
            {"_id": {"$in": [_upload_key(tenant, i) for i in upload_ids]}, "tenant": tenant}
        )
        return [from_doc(Upload, doc) async for doc in cursor]

    async def upload_totals(self, tenant: str) -> tuple[int, int]:
        doc = await self._col("upload_totals").find_one({"_id": tenant})
        return (int(doc["files"]), int(doc["bytes"])) if doc else (0, 0)

    async def list_orphan_uploads(self, created_before: datetime, limit: int) -> list[Upload]:
        cursor = (
            self._col("uploads")
            .find({"orphan_since": {"$lt": iso(created_before)}})
            .sort("orphan_since", ASCENDING)
            .limit(limit)
        )
        return [from_doc(Upload, doc) async for doc in cursor]

    async def delete_orphan_upload(self, tenant: str, upload_id: str) -> bool:
        async def op() -> bool:
            removed = await self._col("uploads").find_one_and_delete(
                {"_id": _upload_key(tenant, upload_id), "message_id": None}
            )
            if removed is None:
                return False
            await self._col("upload_totals").update_one(
                {"_id": tenant}, {"$inc": {"files": -1, "bytes": -int(removed["size"])}}
            )
            return True

        return await self._write(op())

    # integrations ----------------------------------------------------------------------

    async def create_api_token(self, token: ApiToken) -> None:
        await self._write(self._col("api_tokens").insert_one(_with_id(token)))

    async def list_api_tokens(self, tenant: str) -> list[ApiToken]:
        cursor = self._col("api_tokens").find({"tenant": tenant}).sort(OLDEST_FIRST)
        return [from_doc(ApiToken, doc) async for doc in cursor]

    async def find_api_token(self, token_hash: str) -> ApiToken | None:
        doc = await self._col("api_tokens").find_one({"token_hash": token_hash})
        return from_doc(ApiToken, doc) if doc else None

    async def touch_api_token(self, tenant: str, token_id: str, used_at: datetime) -> None:
        await self._write(
            self._col("api_tokens").update_one(
                {"_id": token_id, "tenant": tenant}, {"$set": {"last_used_at": iso(used_at)}}
            )
        )

    async def delete_api_token(self, tenant: str, token_id: str) -> bool:
        async def op() -> bool:
            result = await self._col("api_tokens").delete_one({"_id": token_id, "tenant": tenant})
            return result.deleted_count == 1

        return await self._write(op())

    async def create_webhook(self, webhook: Webhook) -> None:
        await self._write(self._col("webhooks").insert_one(_with_id(webhook)))

    async def list_webhooks(self, tenant: str) -> list[Webhook]:
        cursor = self._col("webhooks").find({"tenant": tenant}).sort(OLDEST_FIRST)
        return [from_doc(Webhook, doc) async for doc in cursor]

    async def get_webhook(self, tenant: str, webhook_id: str) -> Webhook | None:
        doc = await self._col("webhooks").find_one({"_id": webhook_id, "tenant": tenant})
        return from_doc(Webhook, doc) if doc else None

    async def update_webhook(self, webhook: Webhook, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(webhook, f)) for f in fields}
        where = {"_id": webhook.id, "tenant": webhook.tenant}
        return await self._write(self._update_fields("webhooks", where, changes))

    async def delete_webhook(self, tenant: str, webhook_id: str) -> bool:
        async def op() -> bool:
            result = await self._col("webhooks").delete_one({"_id": webhook_id, "tenant": tenant})
            await self._col("webhook_deliveries").delete_many(
                {"tenant": tenant, "webhook_id": webhook_id}
            )
            return result.deleted_count == 1

        return await self._write(op())

    async def create_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            docs = [_with_id(d) for d in deliveries]
            await self._write(self._col("webhook_deliveries").insert_many(docs))

    async def claim_due_webhook_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        async def op() -> list[WebhookDelivery]:
            claimed = []
            for _ in range(limit):
                # One atomic find-and-modify each: two workers never claim one delivery.
                doc = await self._col("webhook_deliveries").find_one_and_update(
                    {"status": "pending", "due_at": {"$lte": iso(now)}},
                    {"$set": {"due_at": iso(lease_until)}},
                    sort=[("due_at", ASCENDING)],
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:
                    break
                claimed.append(from_doc(WebhookDelivery, doc))
            return claimed

        return await self._write(op())

    async def update_webhook_delivery(
        self, delivery: WebhookDelivery, fields: Sequence[str]
    ) -> bool:
        changes = {f: encode_value(getattr(delivery, f)) for f in fields}
        where = {"_id": delivery.id, "tenant": delivery.tenant}
        return await self._write(self._update_fields("webhook_deliveries", where, changes))

    async def get_webhook_delivery(self, tenant: str, delivery_id: str) -> WebhookDelivery | None:
        doc = await self._col("webhook_deliveries").find_one({"_id": delivery_id, "tenant": tenant})
        return from_doc(WebhookDelivery, doc) if doc else None

    async def list_webhook_deliveries(
        self, tenant: str, webhook_id: str, *, limit: int = 50
    ) -> list[WebhookDelivery]:
        cursor = (
            self._col("webhook_deliveries")
            .find({"tenant": tenant, "webhook_id": webhook_id})
            .sort(NEWEST_FIRST)
            .limit(limit)
        )
        return [from_doc(WebhookDelivery, doc) async for doc in cursor]

    # tenants, for the platform administrator -------------------------------------------

    async def list_tenants(self) -> list[Tenant]:
        cursor = self._col("tenants").find({}).sort("_id", ASCENDING)
        return [from_doc(Tenant, doc) async for doc in cursor]

    async def update_tenant(self, tenant: Tenant, fields: Sequence[str]) -> bool:
        changes = {f: encode_value(getattr(tenant, f)) for f in fields}
        return await self._write(self._update_fields("tenants", {"_id": tenant.id}, changes))

    async def delete_tenant(self, tenant_id: str) -> bool:
        async def op() -> bool:
            for name in COLLECTIONS:
                if name not in ("tenants", "upload_totals", "meta"):
                    await self._col(name).delete_many({"tenant": tenant_id})
            await self._col("upload_totals").delete_one({"_id": tenant_id})
            result = await self._col("tenants").delete_one({"_id": tenant_id})
            return result.deleted_count == 1

        return await self._write(op())

    # invitations to chat: counts per agent per day -------------------------------------

    async def count_invitation(self, tenant: str, day: str, agent_id: str, outcome: str) -> None:
        check_invitation_outcome(outcome)
        # One upserting $inc: atomic on the server, whichever process counts.
        await self._write(
            self._col("invitation_counts").update_one(
                {"tenant": tenant, "day": day, "agent_id": agent_id},
                {"$inc": {outcome: 1}},
                upsert=True,
            )
        )

    async def invitation_counts(self, tenant: str, day: str) -> dict[str, dict[str, int]]:
        cursor = self._col("invitation_counts").find({"tenant": tenant, "day": day})
        return {
            doc["agent_id"]: {key: int(doc.get(key, 0)) for key in INVITATION_OUTCOMES}
            async for doc in cursor
        }

    # the bots' knowledge base and metrics -------------------------------------------------

    async def list_kb_articles(self, tenant: str) -> list[dict[str, Any]]:
        cursor = self._col("kb_articles").find({"tenant": tenant}).sort(OLDEST_FIRST)
        return [doc["doc"] async for doc in cursor]

    async def put_kb_articles(self, tenant: str, articles: Sequence[Mapping[str, Any]]) -> None:
        """One write after another, in order: the articles were all checked before, so only
        the server failing midway could leave part of an import (MongoDB without a replica
        set has no multi-document transactions); importing the same file again completes it."""
        if not articles:
            return
        collection = self._col("kb_articles")

        async def op() -> None:
            for article in articles:
                await collection.replace_one(
                    {"_id": f"{tenant}:{article['id']}"},
                    {
                        "tenant": tenant,
                        "created_at": article["created_at"],
                        "doc": encode_value(dict(article)),
                    },
                    upsert=True,
                )

        await self._write(op())

    async def delete_kb_article(self, tenant: str, article_id: str) -> bool:
        result = await self._write(
            self._col("kb_articles").delete_one({"_id": f"{tenant}:{article_id}"})
        )
        return result.deleted_count > 0

    async def add_bot_stats(
        self, tenant: str, day: str, counts: Mapping[str, int], unanswered: str | None = None
    ) -> None:
        if counts:
            await self._write(
                self._col("bot_stats").update_one(
                    {"_id": f"{tenant}:{day}"},
                    {
                        "$set": {"tenant": tenant, "day": day},
                        "$inc": {f"counts.{name}": n for name, n in counts.items()},
                    },
                    upsert=True,
                )
            )
        if unanswered is not None:
            await self._write(
                self._col("bot_unanswered").update_one(
                    {"tenant": tenant, "text": unanswered},
                    {"$inc": {"count": 1}, "$set": {"last_at": iso(utcnow())}},
                    upsert=True,
                )
            )

    async def list_bot_stats(self, tenant: str, since_day: str) -> list[dict[str, Any]]:
        cursor = (
            self._col("bot_stats")
            .find({"tenant": tenant, "day": {"$gte": since_day}})
            .sort("day", ASCENDING)
        )
        return [{"day": d["day"], "counts": dict(d.get("counts", {}))} async for d in cursor]

    async def list_unanswered(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        cursor = (
            self._col("bot_unanswered")
            .find({"tenant": tenant})
            .sort([("count", DESCENDING), ("last_at", DESCENDING)])
            .limit(limit)
        )
        return [
            {"text": d["text"], "count": int(d["count"]), "last_at": d["last_at"]}
            async for d in cursor
        ]

    # reports ---------------------------------------------------------------------------

    async def report(
        self, tenant: str, start: datetime, end: datetime, group: ReportGroup
    ) -> list[ReportCell]:
        """The few fields a report needs, read in creation order and summed here: one range
        read of the tenant_created index (the times are strings, which the aggregation
        framework could only sum after parsing each one)."""
        cells: dict[str, ReportCell] = {}
        in_range = {"tenant": tenant, "created_at": {"$gte": iso(start), "$lt": iso(end)}}
        fields = {name: 1 for name in _REPORT_FIELDS}
        keys: dict[str, str] = {}
        async for doc in self._col("conversations").find(in_range, fields):
            key = keys[doc["_id"]] = _report_key(doc, group)
            cell = cells.setdefault(key, ReportCell(key))
            cell.conversations += 1
            cell.messages_in += int(doc.get("messages_in") or 0)
            cell.messages_out += int(doc.get("messages_out") or 0)
            for total, count, later, earlier in _REPORT_SPANS:
                if (seconds := _seconds_between(doc, later, earlier)) is not None:
                    setattr(cell, total, getattr(cell, total) + seconds)
                    setattr(cell, count, getattr(cell, count) + 1)
            if isinstance(rating := doc.get("rating"), dict) and "score" in rating:
                cell.csat_total += rating["score"]
                cell.csat_count += 1
        lefts = self._col("left_messages").find(in_range, {"conversation_id": 1, "created_at": 1})
        async for left in lefts:
            if group == "quarter_hour":
                key = _quarter_hour(left["created_at"])
            elif (conversation_id := left.get("conversation_id")) in keys:
                key = keys[conversation_id]
            elif conversation_id is not None and (
                owner := await self._col("conversations").find_one(
                    {"_id": conversation_id, "tenant": tenant}, fields
                )
            ):
                key = keys[conversation_id] = _report_key(owner, group)
            else:
                key = ""
            cells.setdefault(key, ReportCell(key)).left_messages += 1
        return list(cells.values())


_REPORT_FIELDS = (
    "agent_id",
    "skill",
    "channel",
    "created_at",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "closed_at",
    "rating",
    "messages_in",
    "messages_out",
)
# (ReportCell's total, its count, the later time, the earlier time)
_REPORT_SPANS = (
    ("wait_seconds", "waits", "assigned_at", "queued_at"),
    ("first_response_seconds", "first_responses", "first_response_at", "created_at"),
    ("handle_seconds", "handled", "closed_at", "assigned_at"),
)


def _quarter_hour(time: str) -> str:
    return f"{time[:14]}{int(time[14:16]) // 15 * 15:02d}"


def _report_key(doc: Mapping[str, Any], group: ReportGroup) -> str:
    if group == "quarter_hour":
        return _quarter_hour(doc["created_at"])
    return str(doc.get("agent_id" if group == "agent" else group) or "")


def _seconds_between(doc: Mapping[str, Any], later: str, earlier: str) -> float | None:
    a, b = doc.get(earlier), doc.get(later)
    if not a or not b or b < a:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
