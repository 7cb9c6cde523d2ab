"""The one storage interface. Backends: sqlite.py (embedded default), mongo.py (MongoDB).

Rules every backend keeps (tests/storage/ checks them on every backend):
* Every call that writes returns only after the write is durable (committed). Backends batch
  concurrent writes into one commit (group commit) so durability does not cost throughput.
* Every query is scoped by tenant; a record of another tenant is never returned.
* `append_message` assigns the next per-conversation `seq` (1, 2, 3 … without gaps) and
  deduplicates on (conversation, client_id) and on (tenant, channel account,
  platform_message_id): a repeat returns the original message with `created=False` and
  writes nothing.
* A contact has at most one open conversation per key (hub.domain.open_key: channel,
  account, thread), and an identity belongs to one contact: both are kept by the database
  (unique indexes), so they hold across concurrent calls and across processes.
* Schemas are versioned: `open()` applies the migrations a database lacks and refuses one
  newer than the code.
* Partial updates name their fields, so two actions touching different fields of the same
  record never overwrite each other with stale values.
* Lists are paged by position, never by offset: `after` is the sort key of the last record
  of the previous page (`Position`), so records added between two pages are neither
  skipped nor repeated, and each page is a range read of an index.
* Uploads are recorded with their quotas checked in the same step, and a stored message
  marks the uploads its attachments name as used by it (`append_message`, `ingest`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

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
)
from hub.domain.integrations import ApiToken, Webhook, WebhookDelivery
from hub.storage.im_base import ImStore

# Written by append_message alone, so that concurrent appends and updates never overwrite
# each other's view of the conversation's newest message.
APPEND_OWNED = frozenset({"last_seq", "last_message_at", "last_message_preview"})


def check_not_append_owned(fields: Sequence[str]) -> None:
    owned = APPEND_OWNED.intersection(fields)
    if owned:
        raise ValueError(f"{', '.join(sorted(owned))} are written by append_message only")


# What an invitation to chat can come to (Store.count_invitation).
INVITATION_OUTCOMES = ("invited", "accepted", "refused")


def check_invitation_outcome(outcome: str) -> None:
    if outcome not in INVITATION_OUTCOMES:
        raise ValueError(f"unknown invitation outcome {outcome!r}")


# What may change on a stored message: where it is on its way, and what the channel said.
MESSAGE_UPDATABLE = frozenset({"delivery", "meta"})


def check_message_fields(fields: Sequence[str]) -> None:
    fixed = set(fields) - MESSAGE_UPDATABLE
    if fixed:
        raise ValueError(f"{', '.join(sorted(fixed))} of a stored message never change")


# What a report is grouped by: the conversation's agent, skill or channel, or the
# quarter-hour it started in (every time zone's offset is a whole number of quarter hours,
# so quarter hours add up to local days in any zone: hub/reports.py).
ReportGroup = Literal["agent", "skill", "channel", "quarter_hour"]


@dataclass(slots=True)
class ReportCell:
    """Sums over the conversations of one group that started in a report's range: the
    averages are sums over counts, so cells add up (quarter hours into days, nodes' views
    into one). Durations are in seconds; a conversation adds to a duration only when both
    of its times are known: wait from queued_at to assigned_at, first response from
    created_at to first_response_at, handling from assigned_at to closed_at."""

    key: str
    conversations: int = 0
    messages_in: int = 0
    messages_out: int = 0
    wait_seconds: float = 0.0
    waits: int = 0
    first_response_seconds: float = 0.0
    first_responses: int = 0
    handle_seconds: float = 0.0
    handled: int = 0
    csat_total: float = 0.0
    csat_count: int = 0
    left_messages: int = 0

    def add(self, other: ReportCell) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            if name != "key":
                setattr(self, name, getattr(self, name) + getattr(other, name))


# Where a page ends: the sort key of its last record and that record's id (the tie-break).
# The next page starts after it, in the list's order.
Position = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class UploadQuota:
    """What `create_upload` checks in the step that records a file: the tenant's stored
    bytes, and the files and bytes its uploader recorded since `since`. None: no limit."""

    tenant_bytes: int | None = None
    since: datetime | None = None
    uploader_files: int | None = None
    uploader_bytes: int | None = None


@dataclass(slots=True)
class Ingested:
    """What `ingest` did with a customer's message.

    outcome "new": stored (the contact and the conversation may be new too); "seen": its
    platform or client id was seen before, `message` is the original and nothing was
    written; "blocked": the contact is blacklisted, nothing was written (`conversation` and
    `message` are None)."""

    outcome: Literal["new", "seen", "blocked"]
    contact: Contact
    conversation: Conversation | None
    message: Message | None
    contact_created: bool = False
    conversation_opened: bool = False


@dataclass(slots=True)
class ClaimedDelivery:
    """An outbound message the outbox now holds, as claimed. `interrupted`: an earlier
    attempt started and never recorded an outcome (its worker died mid-send), so whether the
    customer got it is unknown."""

    message: Message
    interrupted: bool


@dataclass(slots=True)
class ConversationHit:
    """A conversation search found: the conversation and its newest message that matched
    (a subject matches through the messages that carry it)."""

    conversation: Conversation
    message: Message


class Store(ImStore, ABC):
    """Async persistence for every record of the hub (the enterprise IM's records: ImStore)."""

    @abstractmethod
    async def open(self) -> None:
        """Connect, create tables/collections and indexes (idempotent)."""

    @abstractmethod
    async def close(self) -> None:
        """Finish in-flight writes, then release connections."""

    # tenants and settings ---------------------------------------------------------------

    @abstractmethod
    async def create_tenant(self, tenant: Tenant) -> None:
        """Raises hub.errors.Conflict if the id exists."""

    @abstractmethod
    async def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    @abstractmethod
    async def list_tenant_ids(self) -> list[str]:
        """Every tenant's id (start-up rebuilds each tenant's routing state)."""

    @abstractmethod
    async def get_settings(self, tenant: str, key: str) -> dict[str, Any] | None:
        """A tenant's settings document named `key` (e.g. "routing", "widget")."""

    @abstractmethod
    async def put_settings(self, tenant: str, key: str, value: Mapping[str, Any]) -> None: ...

    # agents -----------------------------------------------------------------------------

    @abstractmethod
    async def create_agent(self, agent: Agent) -> None:
        """Raises Conflict when the email (case-insensitive, across tenants) is taken."""

    @abstractmethod
    async def get_agent(self, tenant: str, agent_id: str) -> Agent | None: ...

    @abstractmethod
    async def get_agent_by_email(self, email: str) -> Agent | None:
        """Login looks agents up by email alone, so emails are unique across tenants."""

    @abstractmethod
    async def list_agents(
        self, tenant: str, *, after: Position | None = None, limit: int | None = None
    ) -> list[Agent]:
        """The tenant's agents oldest first (created_at, then id); all of them unless
        `limit` is given."""

    @abstractmethod
    async def update_agent(self, agent: Agent, fields: Sequence[str]) -> None:
        """Writes the named fields. Raises Conflict if `email` is changed to a taken one."""

    # contacts ---------------------------------------------------------------------------

    @abstractmethod
    async def create_contact(self, contact: Contact) -> None:
        """Raises Conflict when one of its identities already belongs to a contact."""

    @abstractmethod
    async def get_contact(self, tenant: str, contact_id: str) -> Contact | None: ...

    @abstractmethod
    async def find_contact(self, tenant: str, identity: Identity) -> Contact | None: ...

    @abstractmethod
    async def list_contacts(
        self,
        tenant: str,
        *,
        blocked_at: datetime | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        """Most recently seen first (last_seen_at descending, then id ascending). With
        `blocked_at`, only the contacts blacklisted at that moment (`blocked_until` later
        than it)."""

    @abstractmethod
    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        """Writes the named fields (`identities` included: Conflict if one is taken)."""

    @abstractmethod
    async def merge_contacts(self, target: Contact, source: Contact) -> list[str]:
        """Move the source's identities and conversations to the target and store both as
        given (the caller has filled in the target's merged fields and set the source's
        merged_into), atomically where the backend can. Conflict (conversation_open) when
        both have an open conversation with the same key: nothing changes. Returns the ids
        of the conversations moved."""

    # conversations ----------------------------------------------------------------------

    @abstractmethod
    async def create_conversation(self, conversation: Conversation) -> None:
        """Raises Conflict (conversation_open) when the contact has an open conversation with
        the same key, or (conversation_exists) when the id is taken."""

    @abstractmethod
    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        """Creates the conversation unless its contact has an open one with the same key;
        returns (the open conversation, whether it was created)."""

    @abstractmethod
    async def get_conversation(self, tenant: str, conversation_id: str) -> Conversation | None: ...

    @abstractmethod
    async def update_conversation(
        self,
        conversation: Conversation,
        fields: Sequence[str],
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        """Writes the named fields; with `expect`, only if the stored record still has those
        values (compare-and-set, e.g. expect={"status": "queued"}). True if written.
        `last_seq`, `last_message_at` and `last_message_preview` belong to append_message
        and are never written here."""

    @abstractmethod
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
        """Newest first (created_at, then id, both descending)."""

    @abstractmethod
    async def find_open_conversation(
        self,
        tenant: str,
        contact_id: str,
        channel: str,
        channel_id: str | None = None,
        thread_key: str = "",
    ) -> Conversation | None:
        """The contact's open conversation with that key (hub.domain.open_key), if any."""

    # messages ---------------------------------------------------------------------------

    @abstractmethod
    async def append_message(self, message: Message, *, require_open: bool = False) -> AppendResult:
        """Assigns seq (and on the conversation: last_seq, last_message_at, preview), dedupes
        by client_id / platform_message_id, marks the uploads its attachments name (the
        tenant's, not used yet) as used by it, commits, then returns. Raises NotFound if the
        conversation does not exist in the message's tenant; with `require_open`, Conflict
        (conversation_closed) if it is closed, checked in the same atomic step."""

    @abstractmethod
    async def ingest(
        self, contact: Contact, conversation: Conversation, message: Message, *, now: datetime
    ) -> Ingested:
        """A customer's message from a channel, atomically: the contact found by its first
        identity (or `contact` created), refused if blacklisted at `now`, its open
        conversation with `conversation`'s key (or `conversation` opened for it), the message
        appended there (its conversation id and sender id and name filled in). A message
        whose platform id (within `conversation`'s channel account) or client id was seen
        before returns the original, whatever conversation it is in, and writes nothing.
        Concurrent first messages of one new contact make one contact and one conversation."""

    @abstractmethod
    async def find_messages_by_platform_ids(
        self, tenant: str, scope: str, platform_message_ids: Sequence[str]
    ) -> list[Message]:
        """Messages of a channel account (`scope`: its id, or the channel for web chat) with
        any of these platform ids (email threading looks up In-Reply-To and References)."""

    @abstractmethod
    async def update_message(
        self, message: Message, fields: Sequence[str], *, expect_delivery: Delivery | None = None
    ) -> bool:
        """Writes the named fields of a stored message: `delivery` and `meta` only (what a
        channel learns after sending, such as its own id for the message, goes into meta).
        With `expect_delivery`, only if the stored delivery still equals it (compare-and-set).
        True if written; NotFound if there is no such message."""

    @abstractmethod
    async def get_message(
        self, tenant: str, conversation_id: str, message_id: str
    ) -> Message | None:
        """One message by its id (a rare look-up: a retry asked for by hand)."""

    # the outbox: outbound messages whose delivery is pending ------------------------------

    @abstractmethod
    async def claim_due_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        """Up to `limit` messages (of every tenant) whose delivery is pending and due at
        `now`, oldest due first, each claimed atomically until `lease_until` (its delivery's
        due_at; attempt_started_at = now), so that no other worker, in this process or
        another, takes it meanwhile."""

    # channel accounts ---------------------------------------------------------------------

    @abstractmethod
    async def create_channel_account(self, account: ChannelAccount) -> None: ...

    @abstractmethod
    async def get_channel_account(self, tenant: str, account_id: str) -> ChannelAccount | None: ...

    @abstractmethod
    async def list_channel_accounts(self, tenant: str | None) -> list[ChannelAccount]:
        """A tenant's accounts oldest first; with None, every tenant's enabled accounts (the
        ones to start)."""

    @abstractmethod
    async def update_channel_account(self, account: ChannelAccount, fields: Sequence[str]) -> None:
        """NotFound (channel_not_found) if it is not there."""

    @abstractmethod
    async def delete_channel_account(self, tenant: str, account_id: str) -> None:
        """NotFound (channel_not_found) if it is not there. Its conversations stay."""

    @abstractmethod
    async def list_messages(
        self,
        tenant: str,
        conversation_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Message]:
        """Messages with seq > after_seq in seq order, at most `limit`. With `before_seq`,
        the `limit` messages just before that seq (still above after_seq), in seq order:
        the page a client scrolling back through the history asks for."""

    # messages left when nobody could answer ---------------------------------------------

    @abstractmethod
    async def create_left_message(self, left: LeftMessage) -> None: ...

    @abstractmethod
    async def list_left_messages(
        self,
        tenant: str,
        *,
        handled: bool | None = None,
        after: Position | None = None,
        limit: int = 100,
    ) -> list[LeftMessage]:
        """Newest first (created_at, then id, both descending)."""

    @abstractmethod
    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None: ...

    @abstractmethod
    async def get_left_message(self, tenant: str, left_id: str) -> LeftMessage | None: ...

    @abstractmethod
    async def update_left_message_if(
        self, left: LeftMessage, fields: Sequence[str], expect: Mapping[str, Any]
    ) -> bool:
        """Writes the named fields only if the stored record still has the `expect` values
        (compare-and-set: two agents taking one left message). True if written; NotFound
        (left_message_not_found) if there is no such record."""

    # search and ratings -----------------------------------------------------------------
    # `text` matches as a substring, ASCII case-insensitively, Chinese as well as English
    # (no word boundaries needed). Results come in pages of `limit`, `after` continuing one.

    @abstractmethod
    async def search_contacts(
        self, tenant: str, text: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Contact]:
        """Contacts whose name, email, phone, notes, a tag or an identity contains `text`,
        most recently seen first (then by id); merged-away contacts are left out."""

    @abstractmethod
    async def search_conversations(
        self,
        tenant: str,
        text: str,
        *,
        visible_to: str | None = None,
        limit: int = 50,
        after: Position | None = None,
    ) -> list[ConversationHit]:
        """Conversations with a message (notes included) whose text or email subject
        contains `text`, newest first (by created_at, then id descending). `visible_to`: only
        the ones that agent holds (or held) and the queued ones."""

    @abstractmethod
    async def list_rated_conversations(
        self, tenant: str, *, limit: int = 50, after: Position | None = None
    ) -> list[Conversation]:
        """Rated conversations, most recently closed first (then by id descending)."""

    # uploads ----------------------------------------------------------------------------

    @abstractmethod
    async def create_upload(self, upload: Upload, quota: UploadQuota) -> str | None:
        """Records a stored file unless that would pass a limit of `quota`; answers None
        when recorded, else the limit it would pass ("tenant_bytes", "uploader_files",
        "uploader_bytes") and writes nothing. The tenant's total is kept beside the records
        (`upload_totals`), so the check reads no list of files."""

    @abstractmethod
    async def get_uploads(self, tenant: str, upload_ids: Sequence[str]) -> list[Upload]:
        """The tenant's uploads with these ids (those that exist)."""

    @abstractmethod
    async def upload_totals(self, tenant: str) -> tuple[int, int]:
        """(files, bytes) the tenant's upload records hold."""

    @abstractmethod
    async def list_orphan_uploads(self, created_before: datetime, limit: int) -> list[Upload]:
        """Uploads of every tenant that no message uses, recorded before `created_before`,
        oldest first."""

    @abstractmethod
    async def delete_orphan_upload(self, tenant: str, upload_id: str) -> bool:
        """Removes the record if no message uses it (checked in the same step), taking it
        off the tenant's total. True if removed."""

    # reports ----------------------------------------------------------------------------

    @abstractmethod
    async def report(
        self, tenant: str, start: datetime, end: datetime, group: ReportGroup
    ) -> list[ReportCell]:
        """One cell per group (key "" for none: no agent, no skill) over the conversations
        created in [start, end), with the left messages left in that range counted by the
        same key (their conversation's agent, skill or channel, or their own quarter hour).
        Quarter-hour keys are "YYYY-MM-DDTHH:MM" in UTC, MM one of 00, 15, 30, 45. Computed
        in the database: one range read of the tenant's conversations by creation time."""

    # integrations: API tokens, webhooks and their delivery queue ------------------------

    @abstractmethod
    async def create_api_token(self, token: ApiToken) -> None: ...

    @abstractmethod
    async def list_api_tokens(self, tenant: str) -> list[ApiToken]:
        """The tenant's tokens oldest first."""

    @abstractmethod
    async def find_api_token(self, token_hash: str) -> ApiToken | None:
        """The token with this hash, in whichever tenant (hashes are unique)."""

    @abstractmethod
    async def touch_api_token(self, tenant: str, token_id: str, used_at: datetime) -> None:
        """Records when it was last used (nothing if it is gone)."""

    @abstractmethod
    async def delete_api_token(self, tenant: str, token_id: str) -> bool:
        """True if it was there."""

    @abstractmethod
    async def create_webhook(self, webhook: Webhook) -> None: ...

    @abstractmethod
    async def list_webhooks(self, tenant: str) -> list[Webhook]:
        """The tenant's webhooks oldest first."""

    @abstractmethod
    async def get_webhook(self, tenant: str, webhook_id: str) -> Webhook | None: ...

    @abstractmethod
    async def update_webhook(self, webhook: Webhook, fields: Sequence[str]) -> bool:
        """Writes the named fields; False if it is gone."""

    @abstractmethod
    async def delete_webhook(self, tenant: str, webhook_id: str) -> bool:
        """Removes it and its deliveries; True if it was there."""

    @abstractmethod
    async def create_webhook_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Queues them, all in one durable write."""

    @abstractmethod
    async def claim_due_webhook_deliveries(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[WebhookDelivery]:
        """Up to `limit` pending deliveries (of every tenant) due at `now`, oldest due first,
        each claimed atomically until `lease_until` (its due_at), so that no other worker
        takes it meanwhile; a worker that dies mid-attempt frees it when the lease ends."""

    @abstractmethod
    async def update_webhook_delivery(
        self, delivery: WebhookDelivery, fields: Sequence[str]
    ) -> bool:
        """Writes the named fields; False if it is gone (its webhook was deleted)."""

    @abstractmethod
    async def get_webhook_delivery(
        self, tenant: str, delivery_id: str
    ) -> WebhookDelivery | None: ...

    @abstractmethod
    async def list_webhook_deliveries(
        self, tenant: str, webhook_id: str, *, limit: int = 50
    ) -> list[WebhookDelivery]:
        """The webhook's deliveries newest first (created_at, then id descending)."""

    # tenants, for the platform administrator ---------------------------------------------

    @abstractmethod
    async def list_tenants(self) -> list[Tenant]:
        """Every tenant, by id."""

    @abstractmethod
    async def update_tenant(self, tenant: Tenant, fields: Sequence[str]) -> bool:
        """Writes the named fields; False if there is no such tenant."""

    @abstractmethod
    async def delete_tenant(self, tenant_id: str) -> bool:
        """Removes the tenant and every record it owns (agents, contacts, conversations,
        messages, settings, channel accounts, uploads' records, tokens, webhooks); True if
        it was there."""

    # invitations to chat: counts per agent per day ---------------------------------------

    @abstractmethod
    async def count_invitation(self, tenant: str, day: str, agent_id: str, outcome: str) -> None:
        """Add one to the agent's `outcome` (invited | accepted | refused) of that day
        (YYYY-MM-DD); atomic, so concurrent counts from several processes all land."""

    @abstractmethod
    async def invitation_counts(self, tenant: str, day: str) -> dict[str, dict[str, int]]:
        """Per agent id ("" for the auto-invite rules): {invited, accepted, refused}."""

    # the bots' knowledge base and metrics (bots/) -------------------------------------------
    # Articles are plain documents ({id, question, similar, answer, answers, category,
    # enabled, created_at, updated_at}, times ISO 8601): the bots package owns their shape.

    @abstractmethod
    async def list_kb_articles(self, tenant: str) -> list[dict[str, Any]]:
        """Every article of the tenant, oldest first (created_at, then id)."""

    @abstractmethod
    async def put_kb_articles(self, tenant: str, articles: Sequence[Mapping[str, Any]]) -> None:
        """Creates or replaces these articles (by id), all of them or none (a CSV import)."""

    @abstractmethod
    async def delete_kb_article(self, tenant: str, article_id: str) -> bool:
        """True if it existed."""

    @abstractmethod
    async def add_bot_stats(
        self, tenant: str, day: str, counts: Mapping[str, int], unanswered: str | None = None
    ) -> None:
        """Adds `counts` to the day's counters (day: YYYY-MM-DD) and, with `unanswered`,
        counts one more asking of that question the bot could not answer."""

    @abstractmethod
    async def list_bot_stats(self, tenant: str, since_day: str) -> list[dict[str, Any]]:
        """[{day, counts}] from since_day on, oldest first."""

    @abstractmethod
    async def list_unanswered(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        """[{text, count, last_at}], most asked first."""
