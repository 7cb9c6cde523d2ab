"""Raw mails as real mailers send them, built byte by byte where the bytes matter."""

from __future__ import annotations

import base64
import itertools

_numbers = itertools.count(1)


def encoded_word(text: str, charset: str, label: str | None = None) -> str:
    """An RFC 2047 B-encoded word of `text` in `charset`, labelled `label` (a lie, maybe)."""
    data = base64.b64encode(text.encode(charset)).decode("ascii")
    return f"=?{label or charset}?B?{data}?="


def plain(
    text: str = "Hello",
    *,
    subject: str = "Question",
    sender: str = "Customer <customer@example.org>",
    to: str = "support@example.com",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    charset: str = "utf-8",
    label: str | None = None,
) -> bytes:
    """A text/plain mail; the body encoded in `charset` and labelled `label` (default: the
    same). Header values must already be ASCII (use `encoded_word`)."""
    message_id = message_id or f"<m{next(_numbers)}@example.org>"
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Mon, 01 Jan 2024 10:00:00 +0800",
        "MIME-Version: 1.0",
        f"Content-Type: text/plain; charset={label or charset}",
        "Content-Transfer-Encoding: base64",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    body = base64.encodebytes(text.encode(charset)).decode("ascii").replace("\n", "\r\n")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("ascii")


def dsn(original_message_id: str, recipient: str = "gone@example.org") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.example.org>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n"
        "Arrival-Date: Mon, 1 Jan 2024 10:00:00 +0800\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; mx2.example.org\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:\r\n"
        "    User unknown in virtual mailbox table\r\n"
        "\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: support@example.com\r\n"
        f"To: {recipient}\r\n"
        "Subject: Re: Question\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "\r\n"
        "--B--\r\n"
    ).encode("ascii")


def with_cc(count: int) -> bytes:
    names = ",\r\n ".join(f'"Person {n}" <person{n}@example.org>' for n in range(count))
    return (
        "From: Customer <customer@example.org>\r\n"
        "To: support@example.com\r\n"
        f"Cc: {names}\r\n"
        "Subject: Everyone\r\n"
        "Message-ID: <manycc@example.org>\r\n"
        "\r\n"
        "Hello all\r\n"
    ).encode("ascii")


def with_attachment(size: int, *, subject: str = "Big file") -> tuple[bytes, bytes]:
    """A mail with an attachment of `size` bytes, and those bytes."""
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    raw = (
        (
            "From: Customer <customer@example.org>\r\n"
            "To: support@example.com\r\n"
            f"Subject: {subject}\r\n"
            "Message-ID: <big@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="XX"\r\n'
            "\r\n"
            "--XX\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "The file, attached.\r\n"
            "--XX\r\n"
            "Content-Type: application/octet-stream\r\n"
            'Content-Disposition: attachment; filename="data.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
        ).encode("ascii")
        + encoded
        + b"--XX--\r\n"
    )
    return raw, data
