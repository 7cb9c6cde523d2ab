"""The enterprise IM's part of the Store interface (hub/storage/base.py's Store inherits it):
departments, threads, their messages and read positions.

Rules every backend keeps (tests/storage/test_im_contract.py):
* `create_im_thread` makes one direct thread per pair: a second one with the same
  `direct_key` returns the first (unique in the database, so it holds across processes).
* `append_im_message` checks, in the step that stores it, that the sender is a member of
  the (not dissolved) thread, assigns the next per-thread `seq`, dedupes on (thread,
  client_id), moves the sender's read position to the new seq, marks the uploads its
  attachments name as used, and returns the thread as of that append.
* `update_im_thread` is a compare-and-set on the thread's `version` and raises it.
* Every query is scoped by tenant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from hub.im.model import Department, ImAppended, ImMessage, ImThread


class ImStore(ABC):
    # departments ------------------------------------------------------------------------

    @abstractmethod
    async def create_department(self, department: Department) -> None: ...

    @abstractmethod
    async def list_departments(self, tenant: str) -> list[Department]:
        """Oldest first."""

    @abstractmethod
    async def update_department(self, department: Department, fields: Sequence[str]) -> None:
        """NotFound (department_not_found) if it is not there."""

    @abstractmethod
    async def delete_department(self, tenant: str, department_id: str) -> bool: ...

    # threads ----------------------------------------------------------------------------

    @abstractmethod
    async def create_im_thread(self, thread: ImThread) -> tuple[ImThread, bool]:
        """Stores the thread; a direct one whose pair has a thread already returns that one
        (and False) and writes nothing."""

    @abstractmethod
    async def get_im_thread(self, tenant: str, thread_id: str) -> ImThread | None: ...

    @abstractmethod
    async def update_im_thread(self, thread: ImThread, fields: Sequence[str]) -> bool:
        """Writes the named fields if the stored version is still `thread.version`, and then
        stores version + 1 (also set on `thread`). False if someone changed it meanwhile.
        `last_seq`, `last_message_at` and the preview belong to append_im_message."""

    @abstractmethod
    async def list_im_threads(self, tenant: str, agent_id: str) -> list[ImThread]:
        """The threads the agent is a member of (dissolved ones left out), most recently
        active first (the newest message's time, else the creation's)."""

    # messages and read positions --------------------------------------------------------

    @abstractmethod
    async def append_im_message(self, message: ImMessage) -> ImAppended:
        """NotFound (thread_not_found) if there is no such thread in the tenant, Forbidden
        (not_a_member) if the sender is not a member of it now."""

    @abstractmethod
    async def list_im_messages(
        self,
        tenant: str,
        thread_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ImMessage]:
        """As Store.list_messages: seq > after_seq in seq order; with `before_seq`, the
        `limit` just before it."""

    @abstractmethod
    async def mark_im_read(self, tenant: str, thread_id: str, agent_id: str, seq: int) -> int:
        """Moves the agent's read position forward to `seq` (never back); the position now."""

    @abstractmethod
    async def im_reads_of_agent(self, tenant: str, agent_id: str) -> dict[str, int]:
        """thread id -> the agent's read position, for every thread it has read in."""

    @abstractmethod
    async def im_reads_of_thread(self, tenant: str, thread_id: str) -> dict[str, int]:
        """agent id -> read position, for everybody who has read in the thread."""

    @abstractmethod
    async def im_thread_shares(self, tenant: str, thread_id: str, conversation_id: str) -> bool:
        """Whether a message of the thread shared (consult) that customer conversation."""

    @abstractmethod
    async def search_im_messages(
        self, tenant: str, thread_ids: Sequence[str], text: str, *, limit: int = 50
    ) -> list[ImMessage]:
        """Messages of these threads whose text contains `text` (substring, ASCII
        case-insensitive, Chinese as well as English), newest first."""
