"""MailboxReader against a real Dovecot: exactly once across reconnects, restarts and
UIDVALIDITY changes; IDLE and polling; TLS; errors classified; faults on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.email.config import parse_config
from connectors.email.errors import AuthenticationError, ConfigurationError, TransientError
from connectors.email.imap import MailboxReader, MailboxState, mailbox_name
from tests.conftest import free_port
from tests.connectors.email import mails
from tests.connectors.email.link import FaultyLink
from tests.peers import Dovecot, dovecot_server, trusting

WAIT = 30  # seconds: a bound on waiting for an event, never a sleep


def reader_for(dovecot: Dovecot, folder: str = "INBOX", **config: Any) -> MailboxReader:
    names = ("timeout", "idle_seconds", "poll_seconds", "max_mail_bytes", "ssl_context")
    options = {key: config.pop(key) for key in names if key in config}
    return MailboxReader(parse_config(dovecot.account(imap_folder=folder, **config)), **options)


async def take_all(reader: MailboxReader, state: MailboxState) -> tuple[list[int], MailboxState]:
    """What the framework does: store each mail, persist its state, then mark it."""
    taken = []
    async for mail in reader.fetch_new(state):
        taken.append(mail.uid)
        state = mail.state
        await reader.mark_processed(mail.uid)
    return taken, state


async def subjects(reader: MailboxReader, state: MailboxState) -> list[str]:
    return [mail.parse().subject async for mail in reader.fetch_new(state)]


async def test_appended_mail_is_read_with_its_uid_and_state(dovecot: Dovecot, folder: str) -> None:
    first = await dovecot.append(mails.plain(subject="one"), folder)
    second = await dovecot.append(mails.plain(subject="two"), folder)
    async with reader_for(dovecot, folder) as reader:
        fetched = [mail async for mail in reader.fetch_new(MailboxState())]
        assert [mail.uid for mail in fetched] == [first, second]
        assert [mail.parse().subject for mail in fetched] == ["one", "two"]
        assert all(mail.complete and mail.size == len(mail.raw) for mail in fetched)
        assert fetched[-1].state.last_uid == second
        assert fetched[-1].state.uidvalidity is not None
        # Reading is not processing: nothing is flagged until the caller says it is stored.
        assert await dovecot.flags(folder) == {first: set(), second: set()}
        await reader.mark_processed(first)
    assert "\\Seen" in (await dovecot.flags(folder))[first]
    assert MailboxState.from_dict(fetched[-1].state.to_dict()) == fetched[-1].state


async def test_saved_state_reads_nothing_twice_and_misses_nothing(
    dovecot: Dovecot, folder: str
) -> None:
    await dovecot.append(mails.plain(subject="a"), folder)
    await dovecot.append(mails.plain(subject="b"), folder)
    async with reader_for(dovecot, folder) as reader:
        stored = None
        async for mail in reader.fetch_new(MailboxState()):
            stored = mail.state  # "a" stored, then the hub dies before "b" is stored
            break
    assert stored is not None
    await dovecot.append(mails.plain(subject="c"), folder)  # arrives while nobody reads
    async with reader_for(dovecot, folder) as reader:
        assert await subjects(reader, stored) == ["b", "c"]
        taken, state = await take_all(reader, stored)
        assert await subjects(reader, state) == []
        await dovecot.append(mails.plain(subject="d"), folder)
        assert await subjects(reader, state) == ["d"]
    assert len(taken) == 2


async def test_first_run_takes_unprocessed_mail_then_everything_new(
    dovecot: Dovecot, folder: str
) -> None:
    await dovecot.append(mails.plain(subject="old, read"), folder, flags="\\Seen")
    await dovecot.append(mails.plain(subject="old, unread"), folder)
    await dovecot.append(mails.plain(subject="old, read too"), folder, flags="\\Seen")
    async with reader_for(dovecot, folder) as reader:
        fetched = [mail async for mail in reader.fetch_new(MailboxState())]
        assert [mail.parse().subject for mail in fetched] == ["old, unread"]
        state = fetched[0].state
        # Someone reads a new mail in webmail before the hub gets to it: still new to us.
        await dovecot.append(mails.plain(subject="new, read elsewhere"), folder, flags="\\Seen")
        assert await subjects(reader, state) == ["new, read elsewhere"]


async def test_a_changed_uidvalidity_resyncs_instead_of_trusting_old_uids(
    dovecot: Dovecot, folder: str
) -> None:
    for n in range(3):
        await dovecot.append(mails.plain(subject=f"before {n}"), folder)
    async with reader_for(dovecot, folder) as reader:
        _, state = await take_all(reader, MailboxState())
    assert state.last_uid == 3
    # The folder is renumbered (deleted and made again): UIDs restart at 1.
    await dovecot.recreate_folder(folder)
    await dovecot.append(mails.plain(subject="after 1"), folder)
    await dovecot.append(mails.plain(subject="after 2, read"), folder, flags="\\Seen")
    async with reader_for(dovecot, folder) as reader:
        fetched = [mail async for mail in reader.fetch_new(state)]
    assert [mail.parse().subject for mail in fetched] == ["after 1"]
    assert fetched[0].state.uidvalidity != state.uidvalidity


async def test_processed_mail_is_moved_to_a_chinese_named_folder(
    dovecot: Dovecot, folder: str
) -> None:
    # 台北 in modified UTF-7 is "&U,BTFw-" (the example of RFC 3501 section 5.1.3).
    await dovecot.create_folder(f"{folder}-&U,BTFw-")
    uid = await dovecot.append(mails.plain(subject="move me"), folder)
    config = {"imap_processed": "move", "imap_processed_folder": f"{folder}-台北"}
    async with reader_for(dovecot, folder, **config) as reader:
        taken, state = await take_all(reader, MailboxState())
        assert taken == [uid]
        assert await subjects(reader, state) == []
    assert await dovecot.flags(folder) == {}
    assert len(await dovecot.flags(f"{folder}-&U,BTFw-")) == 1


def test_folder_names_are_modified_utf7_and_quoted() -> None:
    assert mailbox_name("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
    assert mailbox_name('A&B "x"\\') == '"A&-B \\"x\\"\\\\"'


async def test_missing_folders_are_configuration_errors(dovecot: Dovecot, folder: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await reader_for(dovecot, "No such folder").connect()
    assert raised.value.key == "imap_folder"
    config = {"imap_processed": "move", "imap_processed_folder": "Nowhere"}
    with pytest.raises(ConfigurationError) as raised:
        await reader_for(dovecot, folder, **config).connect()
    assert raised.value.key == "imap_processed_folder"


@pytest.mark.slow
async def test_wrong_password_is_an_authentication_error() -> None:
    with dovecot_server() as dovecot:
        reader = reader_for(dovecot, imap_password="wrong-password")
        with pytest.raises(AuthenticationError) as raised:
            await reader.connect()
        assert raised.value.key == "imap_password"
        assert "wrong-password" not in raised.value.message
        assert not reader.connected


async def test_nothing_listening_is_transient() -> None:
    config = {
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),
        "imap_security": "none",
        "imap_user": "u",
        "imap_password": "p",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "smtp_security": "none",
        "from_address": "support@example.com",
    }
    with pytest.raises(TransientError):
        await MailboxReader(parse_config(config), timeout=5).connect()


async def test_idle_wakes_up_on_new_mail(dovecot: Dovecot, folder: str) -> None:
    async with reader_for(dovecot, folder, idle_seconds=WAIT * 2) as reader:
        assert reader.uses_idle
        _, state = await take_all(reader, MailboxState())
        waiting = asyncio.ensure_future(reader.wait_for_mail())
        await dovecot.append(mails.plain(subject="pushed"), folder)
        # True means the server pushed: a timed-out IDLE would return False after 60 s.
        assert await asyncio.wait_for(waiting, WAIT) is True
        assert await subjects(reader, state) == ["pushed"]


async def test_idle_period_ends_without_mail(dovecot: Dovecot, folder: str) -> None:
    async with reader_for(dovecot, folder, idle_seconds=0.3) as reader:
        assert await asyncio.wait_for(reader.wait_for_mail(), WAIT) is False
        await dovecot.append(mails.plain(subject="after idle"), folder)
        assert await subjects(reader, MailboxState()) == ["after idle"]


@pytest.mark.slow
async def test_polling_where_the_server_offers_no_idle() -> None:
    with dovecot_server(idle=False) as dovecot:
        async with reader_for(dovecot, poll_seconds=0.2) as reader:
            assert not reader.uses_idle
            assert await reader.wait_for_mail() is False
            await dovecot.append(mails.plain(subject="polled"))
            await reader.wait_for_mail()
            assert await subjects(reader, MailboxState()) == ["polled"]


async def test_polling_when_idle_is_turned_off(dovecot: Dovecot, folder: str) -> None:
    async with reader_for(dovecot, folder, imap_idle=False, poll_seconds=0.1) as reader:
        assert not reader.uses_idle
        assert await reader.wait_for_mail() is False


@pytest.mark.slow
async def test_dovecot_restarted_midway_the_reader_recovers_and_misses_nothing() -> None:
    with dovecot_server() as dovecot:
        await dovecot.append(mails.plain(subject="before"))
        reader = reader_for(dovecot, timeout=5, idle_seconds=WAIT * 2)
        await reader.connect()
        taken, state = await take_all(reader, MailboxState())
        assert len(taken) == 1
        waiting = asyncio.ensure_future(reader.wait_for_mail())
        await asyncio.to_thread(dovecot.stop)  # the reader IDLEs meanwhile
        with pytest.raises(TransientError):
            await asyncio.wait_for(waiting, WAIT)
        assert not reader.connected
        with pytest.raises(TransientError):
            await reader.connect()  # still down: transient, try again later
        dovecot.start()
        await dovecot.append(mails.plain(subject="while away"))
        await reader.connect()
        try:
            assert await subjects(reader, state) == ["while away"]
        finally:
            await reader.close()


@pytest.fixture
async def link(dovecot: Dovecot) -> AsyncIterator[FaultyLink]:
    faulty = FaultyLink(dovecot.port)
    await faulty.start()
    yield faulty
    await faulty.close()


async def test_a_connection_cut_during_idle_is_a_transient_error(
    dovecot: Dovecot, folder: str, link: FaultyLink
) -> None:
    reader = reader_for(dovecot, folder, imap_port=link.port, idle_seconds=WAIT * 2)
    await reader.connect()
    waiting = asyncio.ensure_future(reader.wait_for_mail())
    await dovecot.append(mails.plain(subject="unrelated"), "INBOX")  # a round trip, no sleep
    link.cut()
    with pytest.raises(TransientError):
        await asyncio.wait_for(waiting, WAIT)
    await reader.close()


async def test_a_cut_instead_of_the_idle_answer_does_not_hang(
    dovecot: Dovecot, folder: str, link: FaultyLink
) -> None:
    """aioimaplib issue 110: the server closes the connection instead of answering IDLE,
    and `idle_start` waits forever, whatever its timeout."""
    reader = reader_for(dovecot, folder, imap_port=link.port, idle_seconds=WAIT * 2)
    await reader.connect()
    link.cut_when_client_sends = b"IDLE"
    with pytest.raises(TransientError):
        await asyncio.wait_for(reader.wait_for_mail(), WAIT)
    await reader.close()


async def test_a_silent_link_is_detected_by_our_timeout(
    dovecot: Dovecot, folder: str, link: FaultyLink
) -> None:
    reader = reader_for(dovecot, folder, imap_port=link.port, timeout=1, idle_seconds=0.5)
    await reader.connect()
    link.frozen = True  # no FIN, no RST: packets just stop, as behind a dead NAT
    with pytest.raises(TransientError) as raised:
        await asyncio.wait_for(reader.wait_for_mail(), WAIT)
    assert "did not answer" in raised.value.message
    await reader.close()


async def test_a_malformed_mail_does_not_stop_the_reader(dovecot: Dovecot, folder: str) -> None:
    await dovecot.append(b"\x00\xff garbage without any header\r\n", folder)
    await dovecot.append(b"Subject: =?utf-8?B?###?=\r\nDate: never\r\n\r\nbody\r\n", folder)
    await dovecot.append(mails.plain(subject="fine"), folder)
    async with reader_for(dovecot, folder) as reader:
        parsed = [mail.parse() async for mail in reader.fetch_new(MailboxState())]
    assert [mail.subject for mail in parsed] == ["", "", "fine"]
    assert parsed[1].text == "body" and parsed[1].defects


async def test_chinese_mail_through_imap(dovecot: Dovecot, folder: str) -> None:
    texts = {"gbk": "您好，朱镕基", "gb18030": "生僻字𠮷", "big5hkscs": "查詢㗎"}
    for charset, text in texts.items():
        label = {"gbk": "gb2312", "big5hkscs": "big5"}.get(charset, charset)
        subject = mails.encoded_word(text, charset, label=label)
        await dovecot.append(
            mails.plain(text, subject=subject, charset=charset, label=label), folder
        )
    async with reader_for(dovecot, folder) as reader:
        parsed = [mail.parse() async for mail in reader.fetch_new(MailboxState())]
    assert [(mail.subject, mail.text) for mail in parsed] == [(t, t) for t in texts.values()]


async def test_an_auto_reply_and_a_bounce_through_imap(dovecot: Dovecot, folder: str) -> None:
    await dovecot.append(
        mails.plain(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}), folder
    )
    await dovecot.append(mails.dsn("<ours-1@example.com>"), folder)
    async with reader_for(dovecot, folder) as reader:
        auto, bounce = [mail.parse() async for mail in reader.fetch_new(MailboxState())]
    assert auto.automatic is not None and auto.bounce is None
    assert bounce.bounce is not None and bounce.bounce.original_message_id == "<ours-1@example.com>"


async def test_ten_thousand_cc_through_imap(dovecot: Dovecot, folder: str) -> None:
    await dovecot.append(mails.with_cc(10_000), folder)
    async with reader_for(dovecot, folder) as reader:
        (mail,) = [mail.parse() async for mail in reader.fetch_new(MailboxState())]
    assert mail.cc_count == 10_000 and len(mail.cc) == 100


@pytest.mark.slow
async def test_a_25_mb_mail_through_imap(dovecot: Dovecot, folder: str) -> None:
    raw, data = mails.with_attachment(25 * 1024 * 1024)
    await dovecot.append(raw, folder)
    async with reader_for(dovecot, folder, timeout=120) as reader:
        (fetched,) = [mail async for mail in reader.fetch_new(MailboxState())]
    assert fetched.complete and fetched.raw == raw
    assert fetched.parse().parts[0].data == data


async def test_a_mail_over_the_limit_comes_as_its_header(dovecot: Dovecot, folder: str) -> None:
    raw, _ = mails.with_attachment(300_000, subject="Too big")
    uid = await dovecot.append(raw, folder)
    async with reader_for(dovecot, folder, max_mail_bytes=100_000) as reader:
        (fetched,) = [mail async for mail in reader.fetch_new(MailboxState())]
        assert (fetched.uid, fetched.complete, fetched.size) == (uid, False, len(raw))
        assert len(fetched.raw) < 1000
        parsed = fetched.parse()
        assert parsed.subject == "Too big" and parsed.unreadable is not None
        await reader.mark_processed(uid)  # set aside with its reason, and not read again
        assert await subjects(reader, fetched.state) == []


@pytest.mark.slow
async def test_many_new_mails_at_once(dovecot: Dovecot, folder: str) -> None:
    """More new mail than one FETCH batch: aioimaplib parses a response's lines recursively."""
    await dovecot.append_all([mails.plain(subject=f"n{n}") for n in range(250)], folder)
    async with reader_for(dovecot, folder) as reader:
        taken, state = await take_all(reader, MailboxState())
    assert len(taken) == 250 and state.last_uid == taken[-1]


@pytest.mark.slow
async def test_tls_starttls_and_ssl(certificate: tuple[Path, Path]) -> None:
    with dovecot_server(certificate=certificate) as dovecot:
        await dovecot.append(mails.plain(subject="secure"))
        trusted = trusting(certificate[0])
        for security, port in (("starttls", dovecot.port), ("ssl", dovecot.tls_port)):
            settings = {"imap_security": security, "imap_port": port}
            async with reader_for(dovecot, ssl_context=trusted, **settings) as reader:
                assert await subjects(reader, MailboxState()) == ["secure"]
            # The system's trust store does not know the test certificate.
            with pytest.raises(ConfigurationError) as raised:
                await reader_for(dovecot, **settings).connect()
            assert raised.value.key == "tls_verify"
            async with reader_for(dovecot, tls_verify=False, **settings) as reader:
                assert reader.connected
        # TLS spoken to the plain port: the security setting is wrong.
        with pytest.raises(ConfigurationError) as raised:
            await reader_for(dovecot, imap_security="ssl", tls_verify=False).connect()
        assert raised.value.key == "imap_security"


async def test_starttls_not_offered_is_a_configuration_error(dovecot: Dovecot) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await reader_for(dovecot, imap_security="starttls").connect()
    assert raised.value.key == "imap_security"
