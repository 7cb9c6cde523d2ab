"""The email channel end to end: a hub with an email account on a real Dovecot (IMAP) and a
real SMTP server (aiosmtpd), agents on real Socket.IO connections.

A mail becomes a conversation and reaches an agent; the reply arrives threaded; the
customer's answer continues the conversation; redelivery makes no duplicate; Chinese mail
decodes; an auto-reply is marked and a bounce fails the reply; a malformed mail does not stop
the mailbox; Dovecot restarted mid-way misses nothing; with SMTP down the reply waits in the
outbox and goes out when the server is back, also across a hub restart."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.context import HUB
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningHub, start_hub
from tests.connectors.email import mails
from tests.peers import Dovecot, SmtpServer, smtp_server
from tests.realtime_clients import AgentClient, Api

pytestmark = pytest.mark.slow

FAST = {
    "channel_retry_min_seconds": 0.05,
    "channel_retry_max_seconds": 0.5,
    "outbox_retry_min_seconds": 0.1,
    "outbox_retry_max_seconds": 0.5,
    "outbox_poll_seconds": 0.1,
    "outbox_max_attempts": 100,
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@dataclass
class MailHub:
    running: RunningHub
    dovecot: Dovecot
    smtp: SmtpServer
    folder: str
    account_id: str = ""

    async def add_account(self, **overrides: Any) -> dict[str, Any]:
        config = self.dovecot.account(
            imap_folder=self.folder,
            smtp_port=self.smtp.port,
            imap_poll_seconds=5,
            **overrides,
        )
        status, body = await self.running.api.request(
            "POST",
            "/api/v1/channels",
            token=self.running.admin_token,
            json={"type": "email", "name": "Support mailbox", "config": config},
        )
        assert status == 201, body
        self.account_id = body["id"]
        return body

    async def agent(self) -> AgentClient:
        return await self.running.agent(max_concurrent=10)


async def _running(
    tmp_path: Path, **overrides: Any
) -> tuple[Any, RunningHub, aiohttp.ClientSession]:
    runner, base_url = await start_hub(tmp_path / "data", **(FAST | overrides))
    session = aiohttp.ClientSession()
    api = Api(base_url, session)
    admin_token, _ = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return runner, RunningHub(base_url, runner.app[HUB], api, admin_token), session


@pytest.fixture
async def mail_hub(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> AsyncIterator[MailHub]:
    runner, running, session = await _running(tmp_path)
    try:
        yield MailHub(running, dovecot, smtp, folder)
    finally:
        for client in running.clients:
            await client.close()
        await runner.cleanup()
        await session.close()


def _sent(smtp: SmtpServer, index: int = -1) -> email.message.EmailMessage:
    envelope = smtp.received[index]
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[return-value]


async def _wait_sent(agent: AgentClient, message_id: str, status: str = "sent") -> dict[str, Any]:
    return await agent.wait_for(
        "message.delivery",
        lambda d: d["message_id"] == message_id and d["delivery"]["status"] == status,
        timeout=30,
    )


async def test_a_mail_becomes_a_conversation_and_the_thread_goes_both_ways(
    mail_hub: MailHub,
) -> None:
    created = await mail_hub.add_account()
    assert created["config"]["imap_password"] == "***"
    agent = await mail_hub.agent()
    first_id = "<first-question@example.org>"
    await mail_hub.dovecot.append(
        mails.plain("Where is my order?", subject="Order 42", message_id=first_id),
        mail_hub.folder,
    )
    assigned = await agent.wait_for("conversation.assigned", timeout=30)
    conversation = assigned["conversation"]
    assert conversation["channel"] == "email"
    assert conversation["channel_id"] == mail_hub.account_id
    assert conversation["meta"]["subject"] == "Order 42"
    (inbound,) = assigned["messages"]
    assert inbound["text"].startswith("Where is my order?")
    assert inbound["meta"]["message_id"] == first_id
    assert inbound["meta"]["from"]["email"] == "customer@example.org"
    assert assigned["contact"]["identities"] == [
        {"channel": "email", "external_id": "customer@example.org"}
    ]

    reply = await agent.say(conversation["id"], "It ships today.")
    assert reply["message"]["delivery"]["status"] == "pending"
    await _wait_sent(agent, reply["message"]["id"])
    sent = _sent(mail_hub.smtp)
    assert sent["In-Reply-To"] == first_id
    assert first_id in sent["References"]
    assert sent["Subject"].startswith("Re: Order 42")
    assert sent["To"].addresses[0].addr_spec == "customer@example.org"
    assert "It ships today." in sent.get_body(("plain",)).get_content()
    our_id = sent["Message-ID"]
    # Fixed when the reply was stored: every retry would send the same one.
    assert our_id == f"<{reply['message']['id']}@example.com>"

    # The customer answers from a client that keeps only In-Reply-To.
    await mail_hub.dovecot.append(
        mails.plain(
            "Thanks!",
            subject="Re: Order 42",
            headers={"In-Reply-To": our_id},
        ),
        mail_hub.folder,
    )
    answer = await agent.wait_for("message", lambda m: m["text"].startswith("Thanks!"), timeout=30)
    assert answer["conversation_id"] == conversation["id"]


async def test_redelivered_and_chinese_and_broken_mail(mail_hub: MailHub) -> None:
    await mail_hub.add_account()
    agent = await mail_hub.agent()
    repeated = mails.plain("Once only", message_id="<once@example.org>")
    await mail_hub.dovecot.append(repeated, mail_hub.folder)
    await mail_hub.dovecot.append(repeated, mail_hub.folder)  # the same mail twice
    await mail_hub.dovecot.append(b"\x00\xff this is not a mail at all\r\n", mail_hub.folder)
    await mail_hub.dovecot.append(
        mails.plain(
            "您好，我的订单还没有到。",
            subject=mails.encoded_word("订单查询", "gbk", "gb2312"),
            sender=mails.encoded_word("张三", "gbk") + " <zhang@example.cn>",
            charset="gbk",
            label="gb2312",
        ),
        mail_hub.folder,
    )
    chinese = await agent.wait_for(
        "conversation.assigned",
        lambda d: d["contact"]["identities"][0]["external_id"] == "zhang@example.cn",
        timeout=30,
    )
    assert chinese["conversation"]["meta"]["subject"] == "订单查询"
    assert chinese["contact"]["name"] == "张三"
    assert chinese["messages"][0]["text"].startswith("您好，我的订单还没有到。")
    hub = mail_hub.running.hub
    once = [
        c
        for c in await hub.store.list_conversations("default", channel="email")
        if c.last_message_preview.startswith("Once only")
    ]
    assert len(once) == 1 and once[0].last_seq == 1


async def test_an_auto_reply_is_marked_and_a_bounce_fails_the_reply(mail_hub: MailHub) -> None:
    await mail_hub.add_account()
    agent = await mail_hub.agent()
    await mail_hub.dovecot.append(mails.plain("Please help", subject="Help"), mail_hub.folder)
    assigned = await agent.wait_for("conversation.assigned", timeout=30)
    conversation_id = assigned["conversation"]["id"]
    reply = await agent.say(conversation_id, "Sure")
    await _wait_sent(agent, reply["message"]["id"])
    our_id = _sent(mail_hub.smtp)["Message-ID"]
    await mail_hub.dovecot.append(
        mails.plain(
            "I am out of the office.",
            subject="Auto: Re: Help",
            headers={"Auto-Submitted": "auto-replied", "In-Reply-To": our_id},
        ),
        mail_hub.folder,
    )
    auto = await agent.wait_for("message", lambda m: m["text"].startswith("I am out"), timeout=30)
    assert auto["conversation_id"] == conversation_id
    assert auto["meta"]["automatic"]
    await mail_hub.dovecot.append(mails.dsn(our_id, "customer@example.org"), mail_hub.folder)
    failed = await _wait_sent(agent, reply["message"]["id"], "failed")
    assert failed["delivery"]["error"]["code"] == "bounced"
    assert len(mail_hub.smtp.received) == 1  # nothing answered automatically


async def test_dovecot_restarted_midway_misses_nothing(mail_hub: MailHub) -> None:
    await mail_hub.add_account()
    agent = await mail_hub.agent()
    await mail_hub.dovecot.append(mails.plain("before", subject="one"), mail_hub.folder)
    assigned = await agent.wait_for("conversation.assigned", timeout=30)
    assert assigned["messages"][0]["text"].startswith("before")
    mail_hub.dovecot.stop()
    mail_hub.dovecot.start()
    await mail_hub.dovecot.append(mails.plain("after", subject="two"), mail_hub.folder)
    after = await agent.wait_for("message", lambda m: m["text"].startswith("after"), timeout=60)
    # The sender's open conversation goes on; the mail from before was not read again.
    assert after["conversation_id"] == assigned["conversation"]["id"]
    assert after["seq"] == 2


async def test_with_smtp_down_the_reply_waits_and_goes_out_after_a_hub_restart(
    tmp_path: Path, dovecot: Dovecot, folder: str
) -> None:
    with smtp_server() as smtp:
        port = smtp.port
    # Nothing listens on `port` now: SMTP is down.
    down = SmtpServer(port)
    runner, running, session = await _running(tmp_path)
    view = MailHub(running, dovecot, down, folder)
    try:
        await view.add_account()
        agent = await view.agent()
        await dovecot.append(mails.plain("Are you there?", subject="Hello"), folder)
        assigned = await agent.wait_for("conversation.assigned", timeout=30)
        conversation_id = assigned["conversation"]["id"]
        reply = await agent.say(conversation_id, "We are.")
        message_id = reply["message"]["id"]
        waiting = await agent.wait_for(
            "message.delivery",
            lambda d: d["message_id"] == message_id and d["delivery"].get("error"),
            timeout=30,
        )
        assert waiting["delivery"]["status"] == "pending"
        assert waiting["delivery"]["error"]["code"] == "smtp_unavailable"
    finally:
        for client in running.clients:
            await client.close()
        await runner.cleanup()
        await session.close()
    # SMTP comes back on its port; a new hub on the same data sends the reply, and the agent,
    # back in the inbox, sees it go.
    down.start()
    runner, running, session = await _running(tmp_path)
    try:
        back = AgentClient(running.base_url, agent.token, agent.agent)
        running.clients.append(back)
        await back.start(ready=False)
        # The outbox may have sent it before the inbox was back: the store says so then.
        stored = await running.hub.store.get_message("default", conversation_id, message_id)
        assert stored is not None and stored.delivery is not None
        if stored.delivery.status != "sent":
            await _wait_sent(back, message_id)
        assert len(down.received) == 1
        assert "We are." in _sent(down).get_body(("plain",)).get_content()
    finally:
        for client in running.clients:
            await client.close()
        await runner.cleanup()
        await session.close()
        down.stop()


async def test_header_injection_typed_by_an_agent_goes_nowhere(mail_hub: MailHub) -> None:
    await mail_hub.add_account()
    agent = await mail_hub.agent()
    await mail_hub.dovecot.append(mails.plain("Hi", subject="Hello"), mail_hub.folder)
    conversation_id = (await agent.wait_for("conversation.assigned", timeout=30))["conversation"][
        "id"
    ]
    refused = await agent.call(
        "message",
        {
            "conversation_id": conversation_id,
            "client_id": "cc-1",
            "text": "x",
            "cc": ["a@example.org\r\nBcc: victim@example.org"],
        },
    )
    assert refused["error"]["code"] == "invalid_cc"
    sneaky = await agent.call(
        "message",
        {
            "conversation_id": conversation_id,
            "client_id": "s-1",
            "text": "x",
            "subject": "Hello\r\nBcc: victim@example.org",
        },
    )
    assert sneaky["ok"]
    await _wait_sent(agent, sneaky["message"]["id"])
    (envelope,) = mail_hub.smtp.received
    assert envelope.rcpt_tos == ["customer@example.org"]
    sent = _sent(mail_hub.smtp)
    assert sent["Bcc"] is None and "\n" not in sent["Subject"]
