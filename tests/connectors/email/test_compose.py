"""compose_mail: threading headers, reply tokens, parts, and no header injection."""

from __future__ import annotations

import email
from dataclasses import replace
from email import policy
from typing import Any

import pytest

from connectors.email.addresses import MailAddress
from connectors.email.compose import (
    MAX_RECIPIENTS,
    MAX_REFERENCES,
    Attachment,
    ComposeError,
    Parent,
    compose_mail,
    reply_subject,
)
from connectors.email.config import EmailConfig, parse_config
from connectors.email.parse import parse_mail

CUSTOMER = MailAddress("zhang@qq.com", "张三")


def account(**changes: Any) -> EmailConfig:
    return parse_config(
        {
            "imap_host": "imap.example.com",
            "imap_port": 993,
            "imap_security": "ssl",
            "imap_user": "support",
            "imap_password": "secret",
            "smtp_host": "smtp.example.com",
            "smtp_port": 465,
            "smtp_security": "ssl",
            "from_address": "support@example.com",
            "from_name": "客服 Support",
            **changes,
        }
    )


def headers(raw: bytes) -> list[tuple[str, str]]:
    return list(email.message_from_bytes(raw, policy=policy.compat32).items())


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        ("Question", "Re: Question"),
        ("Re: Question", "Re: Question"),
        ("RE: Re: re:Question", "Re: Question"),
        ("Re[2]: Question", "Re: Question"),
        ("回复：问题", "Re: 问题"),
        ("答复: Re: 回覆: 问题", "Re: 问题"),
        ("AW: Frage", "Re: Frage"),
        ("Fwd: Question", "Re: Fwd: Question"),
        ("Recipe for pie", "Re: Recipe for pie"),
    ],
)
def test_reply_subject_has_one_re(parent: str, expected: str) -> None:
    assert reply_subject(parent) == expected


def test_a_reply_threads_under_its_parent() -> None:
    parent = Parent("<m3@qq.com>", ["<m1@example.com>", "<m2@qq.com>"], "Re: 退款 [#c42]")
    mail = compose_mail(account(), to=[CUSTOMER], text="已退款。", parent=parent, token="c42")
    parsed = parse_mail(mail.as_bytes())
    assert parsed.message_id == mail.message_id
    assert mail.message_id.endswith("@example.com>")
    assert parsed.in_reply_to == "<m3@qq.com>"
    assert parsed.references == ["<m1@example.com>", "<m2@qq.com>", "<m3@qq.com>"]
    assert parsed.subject == mail.subject == "Re: 退款 [#c42]"
    assert parsed.text == "已退款。"
    assert (parsed.sender.email, parsed.sender.name) == ("support@example.com", "客服 Support")
    assert parsed.to == [MailAddress("zhang@qq.com", "张三")]
    assert parsed.reply_to == []  # plus addressing is off by default
    assert mail.recipients == ("zhang@qq.com",) and mail.sender == "support@example.com"


def test_references_are_bounded_keeping_the_root() -> None:
    references = [f"<r{n}@example.com>" for n in range(100)]
    mail = compose_mail(
        account(), to=[CUSTOMER], text="x", parent=Parent("<last@qq.com>", references, "Hi")
    )
    ids = parse_mail(mail.as_bytes()).references
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<r0@example.com>" and ids[-1] == "<last@qq.com>"


def test_the_message_id_is_kept_for_a_retry() -> None:
    first = compose_mail(account(), to=[CUSTOMER], text="x")
    again = compose_mail(account(), to=[CUSTOMER], text="x", message_id=first.message_id)
    assert again.message_id == first.message_id
    assert parse_mail(again.as_bytes()).message_id == first.message_id
    with pytest.raises(ComposeError) as raised:
        compose_mail(account(), to=[CUSTOMER], text="x", message_id="<a@b>\r\nBcc: x@y.com")
    assert raised.value.field == "message_id"


def test_reply_token_in_reply_to_and_subject_tag() -> None:
    mail = compose_mail(
        account(reply_plus_address=True),
        to=[CUSTOMER],
        subject="Your order",
        text="x",
        token="k3x9",
    )
    parsed = parse_mail(mail.as_bytes(), mailbox="support@example.com")
    assert parsed.reply_to == [MailAddress("support+k3x9@example.com", "客服 Support")]
    assert parsed.subject == "Your order [#k3x9]" and parsed.subject_tag == "k3x9"
    untagged = compose_mail(
        account(subject_tag=False), to=[CUSTOMER], subject="Your order", text="x", token="k3x9"
    )
    assert untagged.subject == "Your order"
    with pytest.raises(ComposeError):
        compose_mail(account(), to=[CUSTOMER], text="x", token="Bad Token")


def test_text_html_inline_image_and_attachment() -> None:
    mail = compose_mail(
        account(),
        to=[CUSTOMER],
        subject="发票",
        text="请查收发票。",
        html='<p>请查收发票。<img src="cid:logo"></p>',
        attachments=[
            Attachment("logo.png", "image/png", b"\x89PNG", content_id="logo"),
            Attachment("发票.pdf", "application/pdf", b"%PDF-1.7"),
            Attachment("odd.bin", "not a type", b"\x00\x01"),
        ],
    )
    parsed = parse_mail(mail.as_bytes())
    assert parsed.text == "请查收发票。" and parsed.html is not None
    assert 'src="cid:logo"' in parsed.html
    assert [(p.filename, p.content_type, p.inline, p.content_id, p.data) for p in parsed.parts] == [
        ("logo.png", "image/png", True, "logo", b"\x89PNG"),
        ("发票.pdf", "application/pdf", False, None, b"%PDF-1.7"),
        ("odd.bin", "application/octet-stream", False, None, b"\x00\x01"),
    ]
    # Seven-bit transfer encodings only: the mail needs no 8BITMIME on the way.
    assert mail.as_bytes().isascii()


def test_html_only_gets_a_text_part() -> None:
    mail = compose_mail(account(), to=[CUSTOMER], text="", html="<p>Hello <b>there</b></p>")
    assert parse_mail(mail.as_bytes()).text == "Hello there"


def test_automatic_mail_is_marked() -> None:
    mail = compose_mail(account(), to=[CUSTOMER], text="We got your mail.", automatic=True)
    parsed = parse_mail(mail.as_bytes())
    assert parsed.automatic == "Auto-Submitted: auto-generated"


def test_line_breaks_in_the_subject_and_names_are_neutralised() -> None:
    # The config refuses such a name; compose neutralises it wherever it comes from.
    mail = compose_mail(
        replace(account(), from_name="Support\r\nBcc: boss@example.net"),
        to=[MailAddress("zhang@qq.com", "Zhang\nBcc: spy@example.net")],
        cc=[MailAddress("li@163.com", "Li\u2028X-Evil: 1")],
        subject="Refund\r\nBcc: attacker@example.net\r\n\r\nfake body\x00\x1b",
        text="x",
    )
    raw = mail.as_bytes()
    names = [name.lower() for name, _ in headers(raw)]
    assert "bcc" not in names and "x-evil" not in names
    assert names.count("subject") == 1
    parsed = parse_mail(raw)
    assert parsed.subject == "Refund Bcc: attacker@example.net fake body"
    assert parsed.sender.name == "Support Bcc: boss@example.net"
    assert parsed.to[0].name == "Zhang Bcc: spy@example.net"
    assert parsed.cc[0].name == "Li X-Evil: 1"
    assert mail.recipients == ("zhang@qq.com", "li@163.com")


@pytest.mark.parametrize(
    ("to", "cc", "field"),
    [
        ([MailAddress("zhang@qq.com\r\nBcc: spy@example.net")], [], "to"),
        ([CUSTOMER], [MailAddress("li@163.com\nRCPT TO:<spy@example.net>")], "cc"),
        ([CUSTOMER], [MailAddress("li@163.com, spy@example.net")], "cc"),
        ([CUSTOMER], [MailAddress("li@163.com>\x00")], "cc"),
        ([MailAddress("not-an-address")], [], "to"),
        ([], [], "to"),
    ],
)
def test_bad_addresses_are_refused(
    to: list[MailAddress], cc: list[MailAddress], field: str
) -> None:
    with pytest.raises(ComposeError) as raised:
        compose_mail(account(), to=to, cc=cc, text="x")
    assert raised.value.field == field


def test_cc_is_bounded_and_deduplicated() -> None:
    many = [MailAddress(f"p{n}@example.org") for n in range(MAX_RECIPIENTS)]
    with pytest.raises(ComposeError) as raised:
        compose_mail(account(), to=[CUSTOMER], cc=many, text="x")
    assert raised.value.field == "cc"
    mail = compose_mail(
        account(),
        to=[CUSTOMER],
        cc=[MailAddress("Zhang@QQ.com"), MailAddress("li@163.com")],
        text="x",
    )
    assert mail.recipients == ("zhang@qq.com", "li@163.com")


def test_attachments_are_bounded() -> None:
    with pytest.raises(ComposeError) as raised:
        compose_mail(
            account(),
            to=[CUSTOMER],
            text="x",
            attachments=[Attachment("big.bin", "application/octet-stream", bytes(26 * 2**20))],
        )
    assert raised.value.field == "attachments"
