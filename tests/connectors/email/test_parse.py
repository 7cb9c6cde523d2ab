"""parse_mail: charsets, structure, quotes, robots and bounces, limits, and never raising."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.email.parse import (
    MAX_LISTED_RECIPIENTS,
    MAX_REFERENCES,
    parse_mail,
)
from connectors.email.safe_html import sanitize_html
from tests.connectors.email import mails
from tests.connectors.email.mails import encoded_word

# Characters that GB2312 lacks and GBK has: mail labelled gb2312 carries them all the time.
GBK_ONLY = "朱镕基、陶喆、王堃"


def test_gbk_text_labelled_gb2312_decodes_in_body_subject_and_name() -> None:
    raw = mails.plain(
        f"您好，{GBK_ONLY}的订单。",
        subject=encoded_word(f"关于{GBK_ONLY}", "gbk", label="gb2312"),
        sender=f"{encoded_word('张三', 'gbk', label='GB2312')} <ZhangSan@QQ.com>",
        charset="gbk",
        label="gb2312",
    )
    mail = parse_mail(raw)
    assert mail.subject == f"关于{GBK_ONLY}"
    assert mail.text == f"您好，{GBK_ONLY}的订单。"
    assert (mail.sender.email, mail.sender.name) == ("zhangsan@qq.com", "张三")
    assert "\ufffd" not in mail.subject + mail.text


def test_gb18030_four_byte_characters() -> None:
    text = "生僻字：𠀀𠮷䶮"  # outside GBK: GB18030 encodes them in four bytes
    raw = mails.plain(text, subject=encoded_word(text, "gb18030"), charset="gb18030")
    mail = parse_mail(raw)
    assert (mail.subject, mail.text) == (text, text)


def test_big5_with_hong_kong_characters() -> None:
    text = "查詢訂單：香港增補字符 㗎 嘅"  # 㗎 and 嘅 are HKSCS, not plain Big5
    raw = mails.plain(
        text, subject=encoded_word("繁體主旨", "big5"), charset="big5hkscs", label="big5"
    )
    mail = parse_mail(raw)
    assert (mail.subject, mail.text) == ("繁體主旨", text)


def test_rfc2047_words_split_inside_a_character_and_mixed_with_plain_text() -> None:
    data = "退款申请".encode("gbk")
    first = base64.b64encode(data[:3]).decode()
    second = base64.b64encode(data[3:]).decode()
    subject = f"Re: =?GBK?B?{first}?=\r\n =?GBK?B?{second}?= =?utf-8?Q?=E2=9C=93?= done"
    mail = parse_mail(mails.plain(subject=subject))
    assert mail.subject == "Re: 退款申请✓ done"


def test_raw_eight_bit_headers_take_the_body_charset() -> None:
    raw = (
        "From: 王五 <wangwu@163.com>\r\nSubject: 无编码的主题\r\n"
        "Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n正文\r\n"
    ).encode("gbk")
    mail = parse_mail(raw)
    assert (mail.subject, mail.sender.name, mail.text) == ("无编码的主题", "王五", "正文")


def test_utf8_labelled_as_gb2312_is_still_read_as_utf8() -> None:
    mail = parse_mail(mails.plain("标签错了", charset="utf-8", label="gb2312"))
    assert mail.text == "标签错了"


def test_threading_headers_and_addresses() -> None:
    raw = mails.plain(
        message_id="<reply@example.org>",
        sender='"Doe, John" <John.Doe@Example.ORG>',
        to="Support <support@example.com>, other@example.net",
        headers={
            "In-Reply-To": "<ours-2@example.com> (sent by us)",
            "References": "<root@example.com>\r\n <ours-1@example.com> <ours-2@example.com>",
            "Cc": "a@example.net, Team: b@example.net, c@example.net;",
            "Reply-To": "john@home.example",
        },
    )
    mail = parse_mail(raw)
    assert mail.message_id == "<reply@example.org>"
    assert mail.in_reply_to == "<ours-2@example.com>"
    assert mail.thread_ids == ["<ours-2@example.com>", "<ours-1@example.com>", "<root@example.com>"]
    assert (mail.sender.email, mail.sender.name) == ("john.doe@example.org", "Doe, John")
    assert [a.email for a in mail.to] == ["support@example.com", "other@example.net"]
    assert [a.email for a in mail.cc] == ["a@example.net", "b@example.net", "c@example.net"]
    assert mail.reply_to[0].email == "john@home.example"
    assert mail.date is not None and mail.date.utcoffset().total_seconds() == 8 * 3600
    assert mail.meta() == {
        "subject": "Question",
        "from": {"email": "john.doe@example.org", "name": "Doe, John"},
        "to": [
            {"email": "support@example.com", "name": "Support"},
            {"email": "other@example.net", "name": ""},
        ],
        "cc": [
            {"email": a, "name": ""} for a in ("a@example.net", "b@example.net", "c@example.net")
        ],
        "message_id": "<reply@example.org>",
    }


def test_plain_text_is_preferred_and_html_is_sanitised() -> None:
    message = EmailMessage()
    message["From"] = "customer@example.org"
    message["Subject"] = "Both"
    message.set_content("The plain words.")
    message.add_alternative(
        '<p onclick="steal()">The <b>rich</b> words.<script>steal()</script>'
        '<a href="javascript:steal()">x</a><img src="cid:logo@x" onerror="steal()"></p>',
        subtype="html",
    )
    mail = parse_mail(message.as_bytes())
    assert mail.text == "The plain words."
    assert mail.html is not None
    assert "<b>rich</b>" in mail.html and 'src="cid:logo@x"' in mail.html
    for unsafe in ("script", "onclick", "onerror", "javascript:", "steal"):
        assert unsafe not in mail.html


def test_html_only_mail_gets_its_text_and_its_quote_separated() -> None:
    message = EmailMessage()
    message["From"] = "customer@example.org"
    message.set_content(
        "<div>Yes, please refund.</div><div class='gmail_quote'>On Mon, 1 Jan 2024, Support "
        "&lt;support@example.com&gt; wrote:<blockquote>Do you want a refund?</blockquote></div>",
        subtype="html",
    )
    mail = parse_mail(message.as_bytes())
    assert mail.text == "Yes, please refund."
    assert "Do you want a refund?" in mail.quoted


def test_quoted_history_is_separated() -> None:
    text = (
        "好的，谢谢！\n\n在 2024年1月1日周一 10:00，客服 <support@example.com> 写道：\n> 请重试\n"
    )
    mail = parse_mail(mails.plain(text))
    assert mail.text == "好的，谢谢！"
    assert mail.quoted.startswith("在 2024年1月1日") and "> 请重试" in mail.quoted


def test_inline_images_and_attachments_are_parts() -> None:
    message = EmailMessage()
    message["From"] = "customer@example.org"
    message.set_content("See the picture.")
    message.add_alternative('<p>See <img src="cid:pic1@x"></p>', subtype="html")
    message.get_payload()[1].add_related(b"\x89PNG-data", "image", "png", cid="<pic1@x>")
    message.add_attachment(b"%PDF-1.7", "application", "pdf", filename="报价单 2024.pdf")
    mail = parse_mail(message.as_bytes())
    inline, attachment = mail.parts
    assert (inline.content_type, inline.content_id, inline.inline, inline.data) == (
        "image/png",
        "pic1@x",
        True,
        b"\x89PNG-data",
    )
    assert (attachment.filename, attachment.inline, attachment.data) == (
        "报价单 2024.pdf",
        False,
        b"%PDF-1.7",
    )


def test_encoded_word_filenames_and_unsafe_names() -> None:
    # Foxmail and Outlook put encoded words inside the quoted filename (not RFC 2231).
    name = encoded_word("合同.docx", "gbk", label="GBK")
    raw = (
        'From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"'
        "\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        f'Content-Type: application/msword; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nZG9j\r\n--b\r\n"
        "Content-Type: application/octet-stream\r\n"
        'Content-Disposition: attachment; filename="../../=?utf-8?Q?a=0D=0AX-Evil:_1?="\r\n\r\n'
        "x\r\n--b--\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert [part.filename for part in mail.parts] == ["合同.docx", "a X-Evil: 1"]
    assert mail.parts[0].data == b"doc"


@pytest.mark.parametrize(
    ("headers", "sender", "subject"),
    [
        ({"Auto-Submitted": "auto-replied"}, "customer@example.org", "Re: Question"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@example.org"}, None, "Hi"),
        ({"Precedence": "bulk"}, None, "Newsletter"),
        ({"Precedence": "auto_reply"}, None, "Re: Question"),
        ({"X-Autoreply": "yes"}, None, "Re: Question"),
        ({"List-Id": "<news.example.org>"}, None, "News"),
        ({"Return-Path": "<>"}, None, "Re: Question"),
        ({}, "MAILER-DAEMON@mx.example.org", "Failure"),
        ({}, "postmaster@example.org", "Failure"),
        ({}, None, "自动回复: 我已休假"),
        ({}, None, "Automatic reply: Out of office"),
    ],
)
def test_auto_replies_are_recognised(
    headers: dict[str, str], sender: str | None, subject: str
) -> None:
    raw = mails.plain(
        subject=encoded_word(subject, "utf-8"),
        sender=sender or "customer@example.org",
        headers=headers,
    )
    assert parse_mail(raw).automatic is not None


def test_a_person_is_not_a_robot() -> None:
    raw = mails.plain(subject="Re: Auto parts order", headers={"Auto-Submitted": "no"})
    mail = parse_mail(raw)
    assert mail.automatic is None and mail.bounce is None


def test_dsn_bounce_names_the_original_and_the_reason() -> None:
    mail = parse_mail(mails.dsn("<ours-7@example.com>"))
    assert mail.bounce is not None
    assert mail.bounce.original_message_id == "<ours-7@example.com>"
    assert mail.bounce.recipients == ("gone@example.org",)
    assert mail.bounce.status == "5.1.1"
    assert mail.bounce.permanent
    assert "User unknown" in mail.bounce.reason and mail.bounce.reason.startswith("550 5.1.1")
    assert mail.automatic is not None
    assert mail.parts == []  # the report's machine parts are not attachments


def test_delayed_dsn_is_not_permanent() -> None:
    raw = mails.dsn("<ours-8@example.com>").replace(b"Action: failed", b"Action: delayed")
    raw = raw.replace(b"Status: 5.1.1", b"Status: 4.4.1")
    bounce = parse_mail(raw).bounce
    assert bounce is not None and not bounce.permanent


def test_plain_text_bounce_from_mailer_daemon() -> None:
    text = (
        "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your "
        "message.\n\n<gone@example.org>:\nSorry, no mailbox here by that name.\n\n"
        "--- Below this line is a copy of the message.\n\nMessage-ID: <ours-9@example.com>\n"
    )
    mail = parse_mail(mails.plain(text, sender="MAILER-DAEMON@mx.example.org", subject="failure"))
    assert mail.bounce is not None
    assert mail.bounce.original_message_id == "<ours-9@example.com>"
    assert "no mailbox here" in mail.bounce.reason


def test_reply_token_from_the_mailbox_plus_address_and_the_subject_tag() -> None:
    raw = mails.plain(
        subject="Re: Question [#Conv-42]",
        to="Support <Support+K3x9@Example.com>, friend+news@example.com",
    )
    mail = parse_mail(raw, mailbox="support@example.com")
    assert (mail.reply_token, mail.subject_tag) == ("k3x9", "conv-42")
    other = parse_mail(mails.plain(to="friend+news@example.com"), mailbox="support@example.com")
    assert other.reply_token is None and other.subject_tag is None


def test_ten_thousand_cc_are_counted_and_a_bounded_number_kept() -> None:
    mail = parse_mail(mails.with_cc(10_000))
    assert mail.cc_count == 10_000
    assert len(mail.cc) == MAX_LISTED_RECIPIENTS
    assert mail.cc[0].email == "person0@example.org" and mail.cc[0].name == "Person 0"
    assert mail.meta()["cc_count"] == 10_000


def test_references_are_bounded_keeping_the_root() -> None:
    references = " ".join(f"<r{n}@example.com>" for n in range(500))
    mail = parse_mail(mails.plain(headers={"References": references}))
    assert len(mail.references) == MAX_REFERENCES
    assert mail.references[0] == "<r0@example.com>" and mail.references[-1] == "<r499@example.com>"


@pytest.mark.slow
def test_a_25_mb_attachment_arrives_whole() -> None:
    raw, data = mails.with_attachment(25 * 1024 * 1024)
    mail = parse_mail(raw)
    assert mail.unreadable is None
    assert mail.text == "The file, attached."
    assert [(part.filename, part.data == data) for part in mail.parts] == [("data.bin", True)]


def test_a_mail_over_the_limit_is_reported_with_its_headers() -> None:
    raw, _ = mails.with_attachment(2 * 1024 * 1024, subject="Too big")
    mail = parse_mail(raw, max_bytes=1024 * 1024)
    assert mail.unreadable is not None and "too large" in mail.unreadable
    assert (mail.subject, mail.message_id, mail.parts) == ("Too big", "<big@example.org>", [])


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00\x01\x02\xff\xfe binary rubbish",
        b"just text, no headers",
        b"Content-Type: multipart/mixed\r\n\r\nbody with no boundary",
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n'
        b"\r\nnever closed",
        b"From: <<<>>>@@\r\nTo: ,,,;;;:::\r\nDate: yesterday\r\nSubject: =?x-unknown?B?AAAA?=\r\n"
        b"Message-ID: <a@b\r\n\r\nbody",
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xc4\xe3\xba\xc3",
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n'
        + b'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n' * 200,
    ],
)
def test_malformed_mail_parses_as_well_as_it_can(raw: bytes) -> None:
    mail = parse_mail(raw)
    assert mail.unreadable is not None or isinstance(mail.text, str)


def test_malformed_headers_still_give_the_body() -> None:
    raw = b"From: <<<>>>@@\r\nDate: yesterday\r\nSubject: ok\r\n\r\nthe body"
    mail = parse_mail(raw)
    assert (mail.subject, mail.text, mail.sender, mail.date) == ("ok", "the body", None, None)
    assert any(defect.startswith("Date") for defect in mail.defects)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_random_bytes(raw: bytes) -> None:
    parse_mail(raw)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_never_raises_on_damaged_real_mail(data: st.DataObject) -> None:
    raw = bytearray(mails.dsn("<x@example.com>"))
    for _ in range(data.draw(st.integers(1, 20))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    parse_mail(bytes(raw))


def test_inline_images_are_linked_to_their_stored_urls() -> None:
    safe = sanitize_html(
        '<p><img src="cid:pic1@x"><img src="CID:gone@x"><a href="cid:pic1@x">a</a>'
    )
    assert safe.count("cid:") == 1  # only an image may point at a part
    linked = sanitize_html(safe, {"pic1@x": "/uploads/abc.png"})
    assert '<img src="/uploads/abc.png">' in linked and "cid:" not in linked.lower()
