"""email: mails per second from IMAP into conversations, and replies per second out through
SMTP, with the outbox's overhead against a direct send.

Real peers on this machine: Dovecot (Debian's dovecot-imapd, as the tests start it) and
aiosmtpd (in this process, in a thread of its own). The hub runs in this process too, on the
embedded SQLite store with synchronous=FULL (its default), with one email account.

* inbound: N mails are appended to a fresh folder, then the account is created: from then
  until the N-th message is stored (counted on the event bus). Baseline: the same mailbox
  read by the connector's own MailboxReader alone (fetch, parse, mark), no hub.
* outbound: N agent replies to one conversation, stored through the action the inbox uses:
  from the first until the N-th is `sent` (the outbox: claim, compose, SMTP, record).
  Baseline: the same N mails composed and sent by send_mail directly, with as many at once
  as the outbox sends (PARALLEL_SENDS).
Ratios hub / baseline are the framework's cost; both sides share the machine's two cores
with Dovecot and aiosmtpd, so absolute rates are this machine's.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.stats import machine
from connectors.email.addresses import MailAddress
from connectors.email.compose import compose_mail
from connectors.email.config import parse_config
from connectors.email.imap import MailboxReader, MailboxState
from connectors.email.smtp import send_mail
from hub.actions.channels import do_create_channel
from hub.actions.conversations import do_take_over
from hub.actions.messages import do_send_agent_message
from hub.app import create_app
from hub.context import HUB, Hub
from hub.events import MessageCreated, MessageDeliveryChanged
from hub.outbox import PARALLEL_SENDS
from tests.peers import Dovecot, SmtpServer, dovecot_server, smtp_server

TENANT = "default"


@dataclass(frozen=True)
class EmailBenchConfig:
    mails: int
    replies: int

    @classmethod
    def for_run(cls, quick: bool) -> EmailBenchConfig:
        return cls(mails=40, replies=40) if quick else cls(mails=500, replies=500)


def _mail(number: int) -> bytes:
    return (
        f"From: Customer {number % 50} <customer{number % 50}@example.org>\r\n"
        "To: support@example.com\r\n"
        f"Subject: Question {number}\r\n"
        f"Message-ID: <bench-{number}@example.org>\r\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0800\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, this is question number {number}. 您好，请问订单什么时候发货？\r\n"
    ).encode()


async def _fill(dovecot: Dovecot, folder: str, count: int) -> None:
    await dovecot.create_folder(folder)
    await dovecot.append_all([_mail(n) for n in range(count)], folder)


async def _reader_alone(dovecot: Dovecot, folder: str) -> tuple[int, float]:
    config = parse_config(dovecot.account(imap_folder=folder))
    started = time.perf_counter()
    taken = 0
    async with MailboxReader(config) as reader:
        async for mail in reader.fetch_new(MailboxState.from_dict(None)):
            mail.parse(config.from_address)
            await reader.mark_processed(mail.uid)
            taken += 1
    return taken, time.perf_counter() - started


class _Counter:
    """Counts events of one kind on the bus and wakes whoever waits for a number of them."""

    def __init__(self, hub: Hub, kind: type, accept: Callable[[Any], bool]) -> None:
        self.count = 0
        self._accept = accept
        self._changed = asyncio.Event()
        hub.bus.subscribe(kind, self._seen)

    async def _seen(self, event: Any) -> None:
        if self._accept(event):
            self.count += 1
            self._changed.set()

    async def reach(self, target: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while self.count < target:
                self._changed.clear()
                await self._changed.wait()


async def _hub(data_dir: Path) -> tuple[web.AppRunner, Hub]:
    from config.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        admin_password="bench-password-1",
        secret_key="bench",
        log_level="WARNING",
        outbox_poll_seconds=0.05,
    )
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    await runner.setup()
    return runner, runner.app[HUB]


async def _direct_sends(smtp: SmtpServer, count: int) -> float:
    config = parse_config(smtp.account())
    sending = asyncio.Semaphore(PARALLEL_SENDS)

    async def one(number: int) -> None:
        mail = compose_mail(
            config,
            to=[MailAddress("customer@example.org", "Customer")],
            text=f"Reply {number}: it ships today.",
            subject="Re: Question",
        )
        async with sending:
            await send_mail(config, mail)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - started


async def _measure(config: EmailBenchConfig, log: Callable[[str], None]) -> dict[str, Any]:
    with dovecot_server() as dovecot, smtp_server() as smtp, tempfile.TemporaryDirectory() as tmp:
        await _fill(dovecot, "alone", config.mails)
        taken, alone_seconds = await _reader_alone(dovecot, "alone")
        log(f"email: the reader alone took {taken} mails in {alone_seconds:.2f}s")

        await _fill(dovecot, "hub", config.mails)
        runner, hub = await _hub(Path(tmp) / "data")
        try:
            stored = _Counter(hub, MessageCreated, lambda e: e.message.sender.type == "contact")
            started = time.perf_counter()
            await do_create_channel(
                hub,
                TENANT,
                {
                    "type": "email",
                    "name": "bench",
                    "config": dovecot.account(
                        imap_folder="hub", smtp_port=smtp.port, imap_poll_seconds=5
                    ),
                },
            )
            await stored.reach(config.mails, timeout=600)
            inbound_seconds = time.perf_counter() - started
            log(f"email: the hub stored {config.mails} mails in {inbound_seconds:.2f}s")

            (conversation, *_) = await hub.store.list_conversations(TENANT, channel="email")
            admin = (await hub.store.list_agents(TENANT))[0]
            await do_take_over(hub, admin, conversation.id)
            sent = _Counter(hub, MessageDeliveryChanged, lambda e: e.delivery.status == "sent")
            started = time.perf_counter()
            for number in range(config.replies):
                await do_send_agent_message(
                    hub,
                    admin,
                    conversation.id,
                    client_id=f"bench-{number}",
                    text=f"Reply {number}: it ships today.",
                )
            await sent.reach(config.replies, timeout=600)
            outbound_seconds = time.perf_counter() - started
            log(f"email: the outbox sent {config.replies} replies in {outbound_seconds:.2f}s")
        finally:
            await runner.cleanup()
        direct_seconds = await _direct_sends(smtp, config.replies)
    inbound_rate = config.mails / inbound_seconds
    alone_rate = taken / alone_seconds
    outbound_rate = config.replies / outbound_seconds
    direct_rate = config.replies / direct_seconds
    return {
        "mails": config.mails,
        "replies": config.replies,
        "inbound_mails_per_s": round(inbound_rate, 1),
        "reader_alone_mails_per_s": round(alone_rate, 1),
        "inbound_ratio": round(inbound_rate / alone_rate, 2),
        "outbound_replies_per_s": round(outbound_rate, 1),
        "direct_sends_per_s": round(direct_rate, 1),
        "outbound_ratio": round(outbound_rate / direct_rate, 2),
    }


def run(quick: bool, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    config = EmailBenchConfig.for_run(quick)
    result = asyncio.run(_measure(config, log))
    return {"scenario": "email", "machine": machine(), **result}
