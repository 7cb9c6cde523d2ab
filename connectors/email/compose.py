"""An agent's reply (or a first mail) as an RFC 5322 message ready for SMTP.

Threading: the mail gets its own Message-ID (returned: store it, and pass it again to compose
a retry of the same message), `In-Reply-To` the parent's, `References` the parent's References
plus the parent's Message-ID, cut to `MAX_REFERENCES` keeping the thread's root. A reply token
goes into `[#token]` in the subject and, where the account allows it, `Reply-To:
local+token@domain`, so the customer's answer finds its conversation even through a client
that drops the threading headers.

What an agent types cannot inject headers:
* addresses (`to`, `cc`) with line breaks, control characters or anything that is not one
  plain address are REFUSED: `ComposeError` naming the field;
* the subject, display names and attachment file names are NEUTRALISED: line breaks and other
  control characters become spaces. An agent who pastes two lines into the subject still
  sends the reply, and nothing of the paste becomes a header.
The email package refuses line breaks in header values on its own too (a second lock).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from connectors.email.addresses import (
    TOKEN_RE,
    MailAddress,
    address_problem,
    plus_address,
)
from connectors.email.charsets import single_line
from connectors.email.config import EmailConfig
from connectors.email.safe_html import html_to_text

MAX_RECIPIENTS = 100  # to and cc together
MAX_SUBJECT_LENGTH = 500
MAX_REFERENCES = 20
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024  # all attachments together
MAX_TEXT_LENGTH = 1_000_000

# Seven-bit transfer encodings (base64 / quoted-printable) for every part: the mail passes
# servers without 8BITMIME unchanged.
SEND_POLICY = policy.SMTP.clone(cte_type="7bit")

_MESSAGE_ID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|antw|回复|回覆|答复|答覆)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE
)
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


class ComposeError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Parent:
    """The mail being answered, as stored when it came in."""

    message_id: str
    references: Sequence[str] = ()
    subject: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None  # set: an inline image the HTML shows as `cid:<content_id>`


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    message: EmailMessage
    message_id: str
    sender: str  # the envelope sender (MAIL FROM)
    recipients: tuple[str, ...]  # the envelope recipients (RCPT TO): to and cc
    subject: str

    def as_bytes(self) -> bytes:
        return self.message.as_bytes(policy=SEND_POLICY)


def new_message_id(from_address: str) -> str:
    """A fresh Message-ID in the sender's domain: unguessable, unique without coordination."""
    return f"<{secrets.token_hex(16)}@{from_address.rpartition('@')[2]}>"


def reply_subject(subject: str) -> str:
    """`Re: ` once before the subject, whatever reply prefixes it had (`Re: Re:`, `RE[2]:`,
    `回复：`, `AW:` …)."""
    return "Re: " + _REPLY_PREFIX.sub("", single_line(subject))


def compose_mail(
    config: EmailConfig,
    *,
    to: Sequence[MailAddress],
    text: str,
    subject: str | None = None,
    cc: Sequence[MailAddress] = (),
    html: str | None = None,
    parent: Parent | None = None,
    token: str | None = None,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
    automatic: bool = False,
    date: datetime | None = None,
) -> OutgoingMail:
    """`subject` None on a reply: `Re:` and the parent's subject. `token`: the conversation's
    reply token (addresses.TOKEN_RE). `automatic`: a mail no person wrote (an acknowledgement),
    marked `Auto-Submitted` so that the other side's robots do not answer it."""
    recipients = _recipients(to, cc)
    if token is not None and TOKEN_RE.fullmatch(token) is None:
        raise ComposeError("token", "1-64 lower-case letters, digits, '_' or '-'")
    if message_id is None:
        message_id = new_message_id(config.from_address)
    elif _MESSAGE_ID.fullmatch(message_id) is None:
        raise ComposeError("message_id", "must look like <unique@domain>")
    if len(text) > MAX_TEXT_LENGTH:
        raise ComposeError("text", f"is at most {MAX_TEXT_LENGTH} characters")

    message = EmailMessage(policy=SEND_POLICY)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["From"] = _header_address(config.from_address, config.from_name)
    message["To"] = [_header_address(a.email, a.name) for a in to]
    if cc:
        message["Cc"] = [_header_address(a.email, a.name) for a in cc]
    if token is not None and config.reply_plus_address:
        message["Reply-To"] = _header_address(
            plus_address(config.from_address, token), config.from_name
        )
    final_subject = _subject(subject, parent, token if config.subject_tag else None)
    message["Subject"] = final_subject
    if parent is not None:
        if _MESSAGE_ID.fullmatch(parent.message_id) is None:
            raise ComposeError("parent", "the parent's Message-ID is not valid")
        message["In-Reply-To"] = parent.message_id
        message["References"] = " ".join(_references(parent))
    if automatic:
        message["Auto-Submitted"] = "auto-replied" if parent is not None else "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers

    _body(message, text, html, attachments)
    return OutgoingMail(
        message=message,
        message_id=message_id,
        sender=config.from_address,
        recipients=recipients,
        subject=final_subject,
    )


def _recipients(to: Sequence[MailAddress], cc: Sequence[MailAddress]) -> tuple[str, ...]:
    if not to:
        raise ComposeError("to", "at least one recipient is required")
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise ComposeError("cc", f"at most {MAX_RECIPIENTS} recipients in to and cc together")
    seen: dict[str, None] = {}
    for field_name, addresses in (("to", to), ("cc", cc)):
        for address in addresses:
            problem = address_problem(address.email)
            if problem is not None:
                raise ComposeError(field_name, problem)
            seen.setdefault(address.email.lower(), None)
    return tuple(seen)


def _header_address(address: str, name: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=single_line(name)[:200], username=local, domain=domain)


def _subject(subject: str | None, parent: Parent | None, tag: str | None) -> str:
    if subject is None or not single_line(subject):
        subject = reply_subject(parent.subject) if parent is not None else ""
    else:
        subject = single_line(subject)
        if parent is not None and _REPLY_PREFIX.match(subject):
            subject = reply_subject(subject)
    if tag is not None and f"[#{tag}]" not in subject.lower():
        subject = f"{subject} [#{tag}]".strip()
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ComposeError("subject", f"is at most {MAX_SUBJECT_LENGTH} characters")
    return subject


def _references(parent: Parent) -> list[str]:
    ids = [i for i in parent.references if _MESSAGE_ID.fullmatch(i)] + [parent.message_id]
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _body(
    message: EmailMessage, text: str, html: str | None, attachments: Sequence[Attachment]
) -> None:
    total = sum(len(attachment.data) for attachment in attachments)
    if total > MAX_ATTACHMENT_BYTES:
        raise ComposeError("attachments", f"at most {MAX_ATTACHMENT_BYTES} bytes together")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text and html:
        text = html_to_text(html)
    message.set_content(text)
    inline = {index for index, a in enumerate(attachments) if a.content_id is not None and html}
    if html:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for attachment in (attachments[index] for index in sorted(inline)):
            maintype, subtype = _content_type(attachment.content_type)
            html_part.add_related(
                attachment.data,
                maintype,
                subtype,
                cid=f"<{_content_id(attachment.content_id or '')}>",
                filename=_filename(attachment.filename),
                disposition="inline",
            )
    for index, attachment in enumerate(attachments):
        if index in inline:
            continue
        maintype, subtype = _content_type(attachment.content_type)
        message.add_attachment(
            attachment.data, maintype, subtype, filename=_filename(attachment.filename)
        )


def _content_type(value: str) -> tuple[str, str]:
    value = value.strip().lower()
    if _CONTENT_TYPE.fullmatch(value) is None:
        value = "application/octet-stream"
    maintype, _, subtype = value.partition("/")
    return maintype, subtype


def _content_id(value: str) -> str:
    value = value.strip("<>")
    if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,200}", value) is None:
        raise ComposeError("attachments", f"content id {value!r} is not valid")
    return value


def _filename(name: str) -> str:
    name = single_line(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:200] or "attachment"
