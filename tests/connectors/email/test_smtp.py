"""send_mail against a real SMTP server (aiosmtpd): delivery, threading on the wire, TLS,
login, and every failure classified so the outbox can retry or give up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.email.addresses import MailAddress
from connectors.email.compose import Parent, compose_mail
from connectors.email.config import parse_config
from connectors.email.errors import (
    AuthenticationError,
    ConfigurationError,
    PermanentError,
    TransientError,
)
from connectors.email.imap import MailboxReader, MailboxState
from connectors.email.parse import parse_mail
from connectors.email.smtp import check_smtp, send_mail
from tests.connectors.email import mails
from tests.peers import Dovecot, SmtpServer, smtp_server, trusting

CUSTOMER = MailAddress("customer@example.org", "Customer")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def outgoing(server: SmtpServer, **config: Any) -> Any:
    return parse_config(server.account(**config))


def a_mail(config: Any, **fields: Any) -> Any:
    return compose_mail(config, to=[CUSTOMER], text="Hello", subject="Hi", **fields)


async def test_a_reply_arrives_threaded_and_parses_back_as_a_reply(
    smtp: SmtpServer, dovecot: Dovecot, folder: str
) -> None:
    """The whole round: a customer's mail read from Dovecot, the agent's reply sent through
    SMTP, and the customer's answer to it read again and tied to the reply."""
    await dovecot.append(
        mails.plain(
            "Where is my order?",
            subject="Order 1234",
            message_id="<q1@example.org>",
            headers={"References": "<earlier@example.org>"},
        ),
        folder,
    )
    imap_config = parse_config(dovecot.account(imap_folder=folder))
    async with MailboxReader(imap_config) as reader:
        (fetched,) = [mail async for mail in reader.fetch_new(MailboxState())]
    question = fetched.parse(mailbox=dovecot.address)

    config = outgoing(smtp, reply_plus_address=True)
    parent = Parent(question.message_id or "", question.references, question.subject)
    reply = compose_mail(
        config,
        to=[question.sender] if question.sender else [],
        text="It ships today.",
        parent=parent,
        token="c1234",
    )
    result = await send_mail(config, reply)
    assert result.message_id == reply.message_id and result.refused == {}
    (envelope,) = smtp.received
    assert envelope.mail_from == "support@example.com"
    assert envelope.rcpt_tos == ["customer@example.org"]
    arrived = parse_mail(envelope.original_content)
    assert arrived.message_id == reply.message_id
    assert arrived.in_reply_to == "<q1@example.org>"
    assert arrived.references == ["<earlier@example.org>", "<q1@example.org>"]
    assert arrived.subject == "Re: Order 1234 [#c1234]"
    assert arrived.text == "It ships today."

    answer = mails.plain(
        "Thanks!\n\nOn Mon, Support <support+c1234@example.com> wrote:\n> It ships today.\n",
        subject=f"Re: {arrived.subject}",
        to="support+c1234@example.com",
        headers={
            "In-Reply-To": arrived.message_id or "",
            "References": " ".join([*arrived.references, arrived.message_id or ""]),
        },
    )
    await dovecot.append(answer, folder)
    async with MailboxReader(imap_config) as reader:
        (fetched_answer,) = [mail async for mail in reader.fetch_new(fetched.state)]
    parsed = fetched_answer.parse(mailbox=dovecot.address)
    assert parsed.thread_ids[0] == reply.message_id
    assert (parsed.reply_token, parsed.subject_tag) == ("c1234", "c1234")
    assert (parsed.text, parsed.quoted.splitlines()[-1]) == ("Thanks!", "> It ships today.")


async def test_smtp_down_is_transient_and_back_on_the_same_port_it_sends(
    smtp: SmtpServer,
) -> None:
    config = outgoing(smtp)
    mail = a_mail(config)
    smtp.stop()
    with pytest.raises(TransientError):
        await send_mail(config, mail, timeout=5)
    smtp.start()
    result = await send_mail(config, mail)
    assert result.message_id == mail.message_id
    assert [parse_mail(e.original_content).message_id for e in smtp.received] == [mail.message_id]


@pytest.mark.parametrize(
    ("command", "reply", "error", "words"),
    [
        ("DATA", "554 5.7.1 Message rejected as spam", PermanentError, "5.7.1 Message rejected"),
        ("DATA", "552 5.3.4 Message too big", PermanentError, "552 5.3.4 Message too big"),
        ("DATA", "451 4.3.0 Try again later", TransientError, "451 4.3.0"),
        ("RCPT", "550 5.1.1 No such user here", PermanentError, "550 5.1.1 No such user"),
        ("RCPT", "450 4.2.1 Mailbox busy", TransientError, "450 4.2.1 Mailbox busy"),
    ],
)
async def test_server_refusals_are_classified_with_the_reason(
    smtp: SmtpServer, command: str, reply: str, error: type[Exception], words: str
) -> None:
    smtp.reject[command] = reply
    config = outgoing(smtp)
    with pytest.raises(error) as raised:
        await send_mail(config, a_mail(config))
    assert words in str(raised.value)
    assert raised.value.code == int(reply[:3])  # type: ignore[attr-defined]
    assert smtp.received == []


async def test_some_recipients_refused_is_a_send_with_the_refusals(smtp: SmtpServer) -> None:
    smtp.refuse["gone@example.org"] = "550 5.1.1 No such user"
    config = outgoing(smtp)
    mail = compose_mail(
        config, to=[CUSTOMER], cc=[MailAddress("gone@example.org")], text="x", subject="Hi"
    )
    result = await send_mail(config, mail)
    assert result.refused == {"gone@example.org": "550 5.1.1 No such user"}
    assert smtp.received[0].rcpt_tos == ["customer@example.org"]


async def test_header_injection_never_reaches_the_wire(smtp: SmtpServer) -> None:
    config = outgoing(smtp)
    mail = compose_mail(
        config,
        to=[MailAddress("customer@example.org", "A\r\nBcc: spy@example.net")],
        subject="Hi\r\nBcc: spy@example.net",
        text="x",
    )
    await send_mail(config, mail)
    (envelope,) = smtp.received
    assert envelope.rcpt_tos == ["customer@example.org"]
    header_block = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block and not header_block.startswith(b"Bcc:")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_right_and_wrong() -> None:
    with smtp_server(login=("agent", "right-password")) as server:
        config = outgoing(server)
        await check_smtp(config)
        await send_mail(config, a_mail(config))
        assert len(server.received) == 1
        wrong = outgoing(server, smtp_password="wrong-password")
        with pytest.raises(AuthenticationError) as raised:
            await send_mail(wrong, a_mail(wrong))
        assert raised.value.key == "smtp_password"
        assert "wrong-password" not in raised.value.message
        anonymous = outgoing(server, smtp_user=None, smtp_password=None)
        with pytest.raises(AuthenticationError) as raised:  # 530: the account needs a login
            await send_mail(anonymous, a_mail(anonymous))
        assert raised.value.key == "smtp_user" and raised.value.code == 530


async def test_the_sender_refused_is_the_account_s_problem(smtp: SmtpServer) -> None:
    smtp.reject["MAIL"] = "553 5.7.1 Sender address rejected: not owned by user"
    config = outgoing(smtp)
    with pytest.raises(ConfigurationError) as raised:
        await send_mail(config, a_mail(config))
    assert raised.value.key == "from_address" and "not owned by user" in raised.value.message


async def test_starttls_and_ssl(certificate: tuple[Path, Path]) -> None:
    trusted = trusting(certificate[0])
    with smtp_server(certificate=certificate) as server:
        config = outgoing(server, smtp_security="starttls")
        await send_mail(config, a_mail(config), ssl_context=trusted)
        with pytest.raises(ConfigurationError) as raised:
            await send_mail(config, a_mail(config))  # the system does not trust it
        assert raised.value.key == "tls_verify"
        unverified = outgoing(server, smtp_security="starttls", tls_verify=False)
        await send_mail(unverified, a_mail(unverified))
        # "none" means none: no STARTTLS on its own (aiosmtplib's default would try it, and
        # fail here on the untrusted certificate).
        plain = outgoing(server, smtp_security="none")
        await send_mail(plain, a_mail(plain))
        assert len(server.received) == 3
    with smtp_server(certificate=certificate, implicit_tls=True) as server:
        config = outgoing(server, smtp_security="ssl")
        await send_mail(config, a_mail(config), ssl_context=trusted)
        assert len(server.received) == 1
        # Plain SMTP to a TLS port: both sides wait for the other to speak first.
        plain = outgoing(server, smtp_security="none")
        with pytest.raises(TransientError):
            await send_mail(plain, a_mail(plain), timeout=1)


async def test_starttls_not_offered_is_a_configuration_error(smtp: SmtpServer) -> None:
    config = outgoing(smtp, smtp_security="starttls")
    with pytest.raises(ConfigurationError) as raised:
        await send_mail(config, a_mail(config))
    assert raised.value.key == "smtp_security"
