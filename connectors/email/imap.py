"""Reading an IMAP mailbox (aioimaplib 2.x): new mail by UID, exactly once, across restarts.

The caller owns the state. `MailboxState` (UIDVALIDITY, the last UID taken, and how far a
resync reaches) goes in to `fetch_new`, and every `FetchedMail` carries the state to persist
once that mail is stored; persisted after each mail, nothing is read twice or missed, whether
the hub restarts, the connection drops or the server restarts (mail that arrived meanwhile has
higher UIDs). `mark_processed` flags `\\Seen` or moves the mail, per config, and is called only
after the caller has stored it.

UIDVALIDITY. When the folder's UIDVALIDITY is not the one in the state (the first run, or the
server renumbered the folder), stored UIDs mean nothing. The reader then resyncs: of the mail
present, it takes what is not yet processed (without `\\Seen` in "seen" mode; everything still
in the folder in "move" mode, where processed mail has left it) and then everything new. Mail
taken before the renumbering can come again only if it was never marked; the caller's
Message-ID deduplication catches that.

Waiting. `wait_for_mail` IDLEs where the server offers IDLE (and `imap_idle` is on), for at
most `idle_seconds` (RFC 2177 asks to re-IDLE within 29 minutes; shorter also detects dead
connections sooner), and otherwise polls every `imap_poll_seconds`. Every call into
aioimaplib is raced against the connection's loss and a timeout of our own: `idle_start` and
others never return when the server drops the connection (aioimaplib issue 110).

A reader is one connection. After any `MailError` close it; after a `TransientError`
reconnect (`connect` again) with back-off; `AuthenticationError` and `ConfigurationError` are
for the administrator to fix, and retrying fast only risks a lock-out.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aioimaplib

from connectors.email.config import EmailConfig
from connectors.email.errors import (
    AuthenticationError,
    ConfigurationError,
    MailError,
    TransientError,
    network_error,
)
from connectors.email.parse import MAX_MAIL_BYTES, ParsedMail, parse_mail

DEFAULT_TIMEOUT = 30.0
DEFAULT_IDLE_SECONDS = 300.0
# aioimaplib parses the lines of one read recursively (its issue 118): about a thousand lines
# arriving together overflow Python's recursion limit, and the command then never completes
# (our timeout ends it). UIDs are fetched in batches of this size to stay far below that.
FETCH_BATCH = 100

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MailboxState:
    uidvalidity: int | None = None  # None: never read, resync on the first run
    last_uid: int = 0  # mail up to this UID is taken
    resync_until: int = 0  # mail from last_uid up to here is taken only if not yet processed

    def to_dict(self) -> dict[str, int | None]:
        return {
            "uidvalidity": self.uidvalidity,
            "last_uid": self.last_uid,
            "resync_until": self.resync_until,
        }

    @classmethod
    def from_dict(cls, data: Any) -> MailboxState:
        """A stored state; anything unreadable is a fresh state (a resync, not a crash)."""
        if not isinstance(data, dict):
            return cls()
        values = [data.get(key) for key in ("uidvalidity", "last_uid", "resync_until")]
        if not all(value is None or (type(value) is int and value >= 0) for value in values):
            return cls()
        uidvalidity, last_uid, resync_until = values
        return cls(uidvalidity, last_uid or 0, resync_until or 0)


@dataclass(frozen=True, slots=True)
class FetchedMail:
    uid: int
    raw: bytes = field(repr=False)
    size: int  # as the server counts it
    complete: bool  # False: larger than the reader's limit, `raw` is only the header
    state: MailboxState  # to persist once this mail is stored

    def parse(self, mailbox: str | None = None) -> ParsedMail:
        return parse_mail(
            self.raw, mailbox=mailbox, header_of_size=None if self.complete else self.size
        )


class MailboxReader:
    def __init__(
        self,
        config: EmailConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        max_mail_bytes: int = MAX_MAIL_BYTES,
        poll_seconds: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`poll_seconds` overrides `imap_poll_seconds`; `ssl_context` is for a server whose
        certificate a private CA signed."""
        self.config = config
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self.poll_seconds = config.imap_poll_seconds if poll_seconds is None else poll_seconds
        self.max_mail_bytes = max_mail_bytes
        self._ssl_context = ssl_context
        self._client: aioimaplib.IMAP4 | None = None
        self._lost = asyncio.Event()
        self._uidvalidity: int | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._lost.is_set()

    @property
    def uses_idle(self) -> bool:
        return (
            self.config.imap_idle
            and self._client is not None
            and self._client.has_capability("IDLE")
        )

    async def __aenter__(self) -> MailboxReader:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect, secure, log in, select the folder. Raises a `MailError`."""
        await self.close()
        config = self.config
        self._lost = asyncio.Event()
        lost = self._lost
        self._client = client = aioimaplib.IMAP4(
            host=config.imap_host,
            port=config.imap_port,
            timeout=self.timeout,
            conn_lost_cb=lambda _error: lost.set(),
            ssl_context=self._tls_context() if config.imap_security == "ssl" else None,
        )
        try:
            await self._call(client.wait_hello_from_server())
            if config.imap_security == "starttls":
                await self._starttls(client)
            # aioimaplib quotes the password but sends the user name as it is: an Exchange
            # "DOMAIN\\user" or a name with a space would break the command line.
            user = aioimaplib.quoted(config.imap_user)
            response = await self._call(client.login(user, config.imap_password))
            if response.result != "OK":
                reason = _text(response)
                if "[UNAVAILABLE]" in reason:  # RFC 5530: the server, not the login
                    raise TransientError(f"{config.imap_host} cannot log in now: {reason}")
                raise AuthenticationError(
                    f"{config.imap_host} refused the login of {config.imap_user}: {reason}",
                    key="imap_password",
                )
            # Capabilities change after login; not every server lists them in its answer.
            await self._call(client.protocol.capability())
            await self._select(client)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        logged_in = client.get_state() in ("AUTH", "SELECTED")
        if not self._lost.is_set() and logged_in and not client.has_pending_idle():
            try:
                await asyncio.wait_for(client.logout(), min(self.timeout, 5.0))
            except Exception:  # the connection is going away either way
                pass
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        self._lost.set()

    async def fetch_new(self, state: MailboxState) -> AsyncIterator[FetchedMail]:
        """The mail after `state`, oldest first, each with the state to persist after it."""
        client = self._connected()
        # Servers bring their view of the folder up to date at NOOP, not necessarily before
        # a SEARCH (Dovecot announces new mail only after the SEARCH answered without it).
        await self._call(client.noop())
        uidvalidity = self._uidvalidity
        if state.uidvalidity != uidvalidity:
            highest = max(await self._search("UID *"), default=0)
            state = MailboxState(uidvalidity, 0, highest)
        pending: list[int] = []
        if state.resync_until > state.last_uid:
            unprocessed = "UNSEEN " if self.config.imap_processed == "seen" else ""
            pending += await self._search(
                f"{unprocessed}UID {state.last_uid + 1}:{state.resync_until}"
            )
        start = max(state.last_uid, state.resync_until) + 1
        # "n:*" also matches the highest UID when it is below n (RFC 3501 section 6.4.8).
        pending += [uid for uid in await self._search(f"UID {start}:*") if uid >= start]

        for offset in range(0, len(pending), FETCH_BATCH):
            batch = pending[offset : offset + FETCH_BATCH]
            sizes = await self._sizes(batch)
            for uid in batch:
                if uid not in sizes:
                    continue  # expunged in the meantime: nothing to take
                complete = sizes[uid] <= self.max_mail_bytes
                raw = await self._body(client, uid, complete)
                if raw is None:
                    continue
                after = MailboxState(
                    uidvalidity, uid, state.resync_until if uid < state.resync_until else 0
                )
                yield FetchedMail(uid=uid, raw=raw, size=sizes[uid], complete=complete, state=after)

    async def mark_processed(self, uid: int) -> None:
        """Flag the stored mail `\\Seen`, or move it to `imap_processed_folder`."""
        client = self._connected()
        if self.config.imap_processed == "seen":
            response = await self._call(client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"))
            self._expect_ok(response, f"flagging mail {uid} \\Seen", "imap_processed")
            return
        folder = mailbox_name(self.config.imap_processed_folder or "")
        if client.has_capability("MOVE"):
            response = await self._call(client.uid("move", str(uid), folder))
            self._expect_ok(response, f"moving mail {uid}", "imap_processed_folder")
            return
        response = await self._call(client.uid("copy", str(uid), folder))
        self._expect_ok(response, f"copying mail {uid}", "imap_processed_folder")
        response = await self._call(
            client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen \Deleted)")
        )
        self._expect_ok(response, f"flagging mail {uid} \\Deleted", "imap_processed")
        if client.has_capability("UIDPLUS"):
            # Without UIDPLUS only a plain EXPUNGE exists, which would also remove mail that
            # someone else flagged \Deleted: the copy then stays, flagged, for them to expunge.
            response = await self._call(client.uid("expunge", str(uid)))
            self._expect_ok(response, f"expunging mail {uid}", "imap_processed")

    async def wait_for_mail(self) -> bool:
        """Until the server reports a change (True) or the IDLE or poll period ends (False).
        Call `fetch_new` after it either way."""
        client = self._connected()
        if not self.uses_idle:
            await self._call(asyncio.sleep(self.poll_seconds), self.poll_seconds + self.timeout)
            await self._call(client.noop())
            return False
        idle = await self._call(client.idle_start(timeout=self.idle_seconds))
        push = await self._call(
            _push_or_nothing(client, self.idle_seconds), self.idle_seconds + self.timeout
        )
        client.idle_done()
        await self._call(idle)
        return push != aioimaplib.STOP_WAIT_SERVER_PUSH

    def _connected(self) -> aioimaplib.IMAP4:
        if self._client is None or self._lost.is_set():
            raise TransientError(f"not connected to {self.config.imap_host}")
        return self._client

    async def _call(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """`awaitable`, unless the connection is lost or it takes longer than `timeout` (the
        reader's by default): then a `TransientError`, and the connection is given up."""
        if self._lost.is_set():
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise TransientError(f"the connection to {self.config.imap_host} is closed")
        limit = self.timeout if timeout is None else timeout
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            task.cancel()
            raise
        finally:
            lost.cancel()
        if task in done:
            try:
                return task.result()
            except MailError:
                raise
            except Exception as error:
                self._give_up()
                raise self._classify(error) from error
        task.cancel()
        self._give_up()
        if lost in done:
            raise TransientError(f"the connection to {self.config.imap_host} was lost")
        raise TransientError(f"{self.config.imap_host} did not answer within {limit:g} s")

    def _give_up(self) -> None:
        """After a timeout or an error aioimaplib's view of the connection is unreliable."""
        self._lost.set()
        if self._client is not None and self._client.protocol.transport is not None:
            self._client.protocol.transport.close()

    def _classify(self, error: BaseException) -> MailError:
        host = self.config.imap_host
        network = network_error(error, host, "imap")
        if network is not None:
            return network
        return TransientError(f"{host}: {type(error).__name__}: {error}")

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        context = ssl.create_default_context()
        if not self.config.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """STARTTLS (RFC 3501 section 6.2.1), which aioimaplib lacks (its issue 1): the
        command through its protocol, then asyncio's own TLS upgrade of the transport."""
        host = self.config.imap_host
        if not client.has_capability("STARTTLS"):
            raise ConfigurationError(f"{host} does not offer STARTTLS", key="imap_security")
        protocol = client.protocol
        loop = asyncio.get_running_loop()
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=loop)
        response = await self._call(protocol.execute(command))
        if response.result != "OK":
            raise ConfigurationError(
                f"{host} refused STARTTLS: {_text(response)}", key="imap_security"
            )
        protocol.transport = await self._call(
            loop.start_tls(protocol.transport, protocol, self._tls_context(), server_hostname=host)
        )
        # Capabilities seen before TLS may have been forged: ask again (RFC 3501 6.2.1).
        await self._call(protocol.capability())

    async def _select(self, client: aioimaplib.IMAP4) -> None:
        config = self.config
        response = await self._call(client.select(mailbox_name(config.imap_folder)))
        if response.result != "OK":
            raise ConfigurationError(
                f"cannot open folder {config.imap_folder!r}: {_text(response)}", key="imap_folder"
            )
        for line in response.lines:
            match = _UIDVALIDITY.search(bytes(line))
            if match:
                self._uidvalidity = int(match[1])
                break
        else:
            raise ConfigurationError(
                f"{config.imap_host} gave no UIDVALIDITY for {config.imap_folder!r}",
                key="imap_folder",
            )
        if config.imap_processed == "move":
            folder = config.imap_processed_folder or ""
            status = await self._call(client.status(mailbox_name(folder), "(UIDVALIDITY)"))
            if status.result != "OK":
                raise ConfigurationError(
                    f"folder {folder!r} for processed mail: {_text(status)}",
                    key="imap_processed_folder",
                )

    async def _search(self, criteria: str) -> list[int]:
        client = self._connected()
        response = await self._call(client.uid_search(criteria, charset=None))
        self._expect_ok(response, "searching", None)
        uids: set[int] = set()
        for line in response.lines[:-1]:
            uids.update(int(word) for word in bytes(line).split() if word.isdigit())
        return sorted(uids)

    async def _sizes(self, uids: list[int]) -> dict[int, int]:
        client = self._connected()
        message_set = ",".join(str(uid) for uid in uids)
        response = await self._call(client.uid("fetch", message_set, "(UID RFC822.SIZE)"))
        self._expect_ok(response, "reading sizes", None)
        sizes: dict[int, int] = {}
        for line in response.lines:
            if not isinstance(line, bytes):
                continue
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                sizes[int(uid[1])] = int(size[1])
        return sizes

    async def _body(self, client: aioimaplib.IMAP4, uid: int, complete: bool) -> bytes | None:
        section = "BODY.PEEK[]" if complete else "BODY.PEEK[HEADER]"
        response = await self._call(client.uid("fetch", str(uid), f"(UID {section})"))
        self._expect_ok(response, f"fetching mail {uid}", None)
        # The literal follows the FETCH line that names our UID; other FETCH lines can be
        # flag changes the server reports on the way.
        lines = response.lines
        for index, line in enumerate(lines[:-1]):
            if isinstance(line, bytes) and _UID.search(line) and int(_UID.search(line)[1]) == uid:
                following = lines[index + 1]
                if isinstance(following, bytearray):
                    return bytes(following)
        return None

    def _expect_ok(self, response: Any, doing: str, key: str | None) -> None:
        if response.result == "OK":
            return
        reason = _text(response)
        if response.result == "NO":
            raise ConfigurationError(f"{self.config.imap_host} refused {doing}: {reason}", key=key)
        self._give_up()
        raise TransientError(f"{self.config.imap_host} failed {doing}: {reason}")


def mailbox_name(name: str) -> str:
    """A folder name as an IMAP argument: modified UTF-7 (RFC 3501 section 5.1.3), quoted."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            encoded.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return aioimaplib.quoted("".join(encoded))


async def _push_or_nothing(client: aioimaplib.IMAP4, timeout: float) -> Any:
    """What the server pushed during IDLE, or the stop marker when the period ended."""
    try:
        return await client.wait_server_push(timeout=timeout)
    except TimeoutError:
        return aioimaplib.STOP_WAIT_SERVER_PUSH


def _text(response: Any) -> str:
    lines = [bytes(line) for line in response.lines if isinstance(line, bytes | bytearray)]
    return b" ".join(lines).decode("utf-8", "replace")[:300] or response.result
