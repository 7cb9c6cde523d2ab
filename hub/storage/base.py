"""The one storage interface. Backends: sqlite.py (embedded default), mongo.py (motor).

Rules every backend keeps (tests/storage/ checks them on every backend):
* Every call that writes returns only after the write is durable (committed). Backends batch
  concurrent writes into one commit (group commit) so durability does not cost throughput.
* Every query is scoped by tenant; a record of another tenant is never returned.
* `append_message` assigns the next per-conversation `seq` (1, 2, 3 … without gaps) and
  deduplicates on (conversation, client_id) and on (tenant, platform_message_id): a repeat
  returns the original message with `created=False` and writes nothing.
* Partial updates name their fields, so two actions touching different fields of the same
  record never overwrite each other with stale values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from hub.domain import (
    Agent,
    AppendResult,
    Contact,
    Conversation,
    Identity,
    LeftMessage,
    Message,
    Tenant,
)

# Written by append_message alone, so that concurrent appends and updates never overwrite
# each other's view of the conversation's newest message.
APPEND_OWNED = frozenset({"last_seq", "last_message_at", "last_message_preview"})


def check_not_append_owned(fields: Sequence[str]) -> None:
    owned = APPEND_OWNED.intersection(fields)
    if owned:
        raise ValueError(f"{', '.join(sorted(owned))} are written by append_message only")


ContactWriteGuard = Callable[[str, str], AbstractContextManager[None]]


def no_guard(tenant: str, contact_id: str) -> AbstractContextManager[None]:
    return nullcontext()


class Store(ABC):
    """Async persistence for every record of the hub."""

    # Wraps every write to a contact or to one of its conversations, named by (tenant,
    # contact id). The app sets it to the contact cache's `changing`, so that no write, whichever
    # action makes it, can leave a cached record behind that a fresh read would not return.
    contact_write_guard: ContactWriteGuard = staticmethod(no_guard)

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
    async def list_agents(self, tenant: str) -> list[Agent]:
        """All agents of the tenant, oldest first."""

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
        self, tenant: str, *, blocked_at: datetime | None = None, limit: int = 100
    ) -> list[Contact]:
        """Most recently seen first. With `blocked_at`, only the contacts blacklisted at that
        moment (`blocked_until` later than it)."""

    @abstractmethod
    async def update_contact(self, contact: Contact, fields: Sequence[str]) -> None:
        """Writes the named fields (`identities` included: Conflict if one is taken)."""

    # conversations ----------------------------------------------------------------------

    @abstractmethod
    async def create_conversation(self, conversation: Conversation) -> None: ...

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
        limit: int = 100,
    ) -> list[Conversation]:
        """Newest first (by created_at)."""

    @abstractmethod
    async def find_open_conversation(
        self, tenant: str, contact_id: str, channel: str
    ) -> Conversation | None:
        """The contact's conversation on that channel whose status is not closed, if any."""

    # messages ---------------------------------------------------------------------------

    @abstractmethod
    async def append_message(self, message: Message) -> AppendResult:
        """Assigns seq (and on the conversation: last_seq, last_message_at, preview), dedupes
        by client_id / platform_message_id, commits, then returns. Raises NotFound if the
        conversation does not exist in the message's tenant."""

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
        self, tenant: str, *, handled: bool | None = None, limit: int = 100
    ) -> list[LeftMessage]:
        """Newest first."""

    @abstractmethod
    async def update_left_message(self, left: LeftMessage, fields: Sequence[str]) -> None: ...
