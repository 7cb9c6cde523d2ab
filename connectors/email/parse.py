"""A raw RFC 5322 mail into what the hub stores and shows. Never raises.

The MIME structure comes from the standard library (`email`, the default policy). Headers are
read raw and decoded here (charsets.py), because the library decodes mislabelled Chinese
charsets lossily, and because its address-list parser is quadratic: a Cc of 10,000 addresses
takes it seconds. Address lists are cut into items by a linear scan and only the first
`MAX_LISTED_RECIPIENTS` are parsed; the count of all is kept.

A mail that cannot be read at all still gives a `ParsedMail`, with `unreadable` saying why;
what could be read (often the headers) is filled in. Smaller problems are listed in `defects`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from connectors.email.addresses import MailAddress, reply_token
from connectors.email.automatic import Bounce, automatic_reason, find_bounce
from connectors.email.charsets import decode_bytes, decode_header_text, single_line, unfold
from connectors.email.quotes import split_quoted
from connectors.email.safe_html import html_to_text, sanitize_html

MAX_MAIL_BYTES = 40 * 1024 * 1024  # a 25 MB attachment is ~34 MB once base64-encoded
MAX_LISTED_RECIPIENTS = 100
MAX_REFERENCES = 50
MAX_PARTS = 500
MAX_DEPTH = 20
MAX_TEXT_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_FILENAME_CHARS = 200
MAX_DEFECTS = 20

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,995}>")
_SUBJECT_TAG = re.compile(r"\[#([A-Za-z0-9_-]{1,64})\]")
# The tokens of an address list that matter for cutting it into items.
_LIST_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|\((?:[^()\\]|\\.)*\)?|<[^<>]*>?|[,;:]')
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STRUCTURAL = frozenset(
    {"content-type", "content-disposition", "content-transfer-encoding", "mime-version"}
)


class _RawHeaders(EmailPolicy):
    """The default policy, except that headers other than the MIME structure ones are handed
    out as the raw strings the parser stored (folded, with 8-bit bytes as surrogate escapes),
    for this module to decode. The policy API documents `header_fetch_parse` as the place to
    decide what reading a header returns."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if name.lower() in _STRUCTURAL or hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        return value


RAW_HEADERS = _RawHeaders()


@dataclass(frozen=True, slots=True)
class MailPart:
    """An attachment, or an inline image when `inline` (`content_id` is what `cid:` names)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None
    inline: bool = False


@dataclass(slots=True)
class ParsedMail:
    message_id: str | None = None  # with its angle brackets, as it appears in References
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)  # oldest first, as in the header
    subject: str = ""
    sender: MailAddress | None = None  # the From address
    reply_to: list[MailAddress] = field(default_factory=list)
    to: list[MailAddress] = field(default_factory=list)
    to_count: int = 0  # all of them; `to` keeps the first MAX_LISTED_RECIPIENTS
    cc: list[MailAddress] = field(default_factory=list)
    cc_count: int = 0
    date: datetime | None = None
    text: str = ""  # the new text, without the quoted history
    quoted: str = ""  # the quoted history below it, for the inbox to collapse
    html: str | None = None  # sanitised: safe to show; `cid:` images not yet linked
    parts: list[MailPart] = field(default_factory=list)
    automatic: str | None = None  # why it looks machine-written: never answer it automatically
    bounce: Bounce | None = None
    reply_token: str | None = None  # from a plus address of the mailbox (addresses.py)
    subject_tag: str | None = None  # from `[#token]` in the subject
    defects: list[str] = field(default_factory=list)
    unreadable: str | None = None  # set when the mail could not be read: why

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs to look for an existing conversation by, best first: In-Reply-To,
        then References newest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids.extend(reversed(self.references))
        return list(dict.fromkeys(ids))

    def meta(self) -> dict[str, Any]:
        """The message `meta` of the contract: subject, from, to, cc, message_id; with
        `to_count` / `cc_count` when the lists were cut."""
        meta: dict[str, Any] = {
            "subject": self.subject,
            "from": self.sender.public() if self.sender else None,
            "to": [address.public() for address in self.to],
            "cc": [address.public() for address in self.cc],
            "message_id": self.message_id,
        }
        if self.to_count > len(self.to):
            meta["to_count"] = self.to_count
        if self.cc_count > len(self.cc):
            meta["cc_count"] = self.cc_count
        return meta


def parse_mail(
    raw: bytes,
    *,
    mailbox: str | None = None,
    max_bytes: int = MAX_MAIL_BYTES,
    header_of_size: int | None = None,
) -> ParsedMail:
    """`mailbox` is the account's own address (for the reply token). A mail of more than
    `max_bytes` is not taken apart: only its header is read, and `unreadable` says why.
    `header_of_size`: `raw` is only the header of a mail of that many bytes (the IMAP reader
    fetches no more of a mail above its limit)."""
    mail = ParsedMail()
    try:
        if not isinstance(raw, bytes | bytearray) or not raw.strip():
            mail.unreadable = "the mail is empty"
            return mail
        if header_of_size is not None or len(raw) > max_bytes:
            size = header_of_size if header_of_size is not None else len(raw)
            mail.unreadable = f"the mail has {size} bytes, too large to read whole"
            message = BytesHeaderParser(policy=RAW_HEADERS).parsebytes(bytes(raw[:1_000_000]))
            _read_headers(mail, message, mailbox, body_charset=None)
            return mail
        message = BytesParser(policy=RAW_HEADERS).parsebytes(bytes(raw))
        _read(mail, message, mailbox)
    except Exception as error:  # a mail must never stop the mailbox
        mail.unreadable = f"the mail could not be read: {type(error).__name__}: {error}"[:500]
    return mail


def _read(mail: ParsedMail, message: Message, mailbox: str | None) -> None:
    leaves = list(_leaves(message, mail))
    body_charset = next(
        (part.get_content_charset() for part in leaves if part.get_content_maintype() == "text"),
        None,
    )
    _guarded(mail, "headers", lambda: _read_headers(mail, message, mailbox, body_charset))
    _guarded(mail, "body", lambda: _read_body(mail, leaves))
    sender = mail.sender.email if mail.sender else None
    body = f"{mail.text}\n{mail.quoted}"
    _guarded(
        mail,
        "delivery report",
        lambda: setattr(mail, "bounce", find_bounce(leaves, sender, mail.subject, body)),
    )
    if mail.bounce is not None and mail.automatic is None:
        mail.automatic = "a delivery report"
    for defect in message.defects[:MAX_DEFECTS]:
        mail.defects.append(type(defect).__name__)


def _read_headers(
    mail: ParsedMail, message: Message, mailbox: str | None, body_charset: str | None
) -> None:
    def header(name: str) -> str | None:
        value = message.get(name)
        return None if value is None else str(value)

    def text(name: str) -> str:
        value = header(name)
        return single_line(decode_header_text(value, body_charset)) if value else ""

    def addresses(name: str) -> tuple[list[MailAddress], int]:
        value = header(name)
        if not value:
            return [], 0
        items, count = _split_address_list(unfold(value), MAX_LISTED_RECIPIENTS)
        parsed = [_address(item, body_charset) for item in items]
        return [address for address in parsed if address is not None], count

    mail.message_id = _first_id(header("Message-ID"))
    mail.in_reply_to = _first_id(header("In-Reply-To"))
    mail.references = _bounded_ids(header("References"))
    subject = text("Subject")
    mail.subject = subject[:MAX_SUBJECT_CHARS]
    senders, _ = addresses("From")
    mail.sender = senders[0] if senders else None
    mail.reply_to, _ = addresses("Reply-To")
    mail.to, mail.to_count = addresses("To")
    mail.cc, mail.cc_count = addresses("Cc")
    _guarded(mail, "Date", lambda: setattr(mail, "date", _date(header("Date"))))
    mail.automatic = automatic_reason(header, mail.sender.email if mail.sender else None, subject)
    tags = _SUBJECT_TAG.findall(subject)
    mail.subject_tag = tags[-1].lower() if tags else None
    if mailbox:
        delivered = [header(name) or "" for name in ("Delivered-To", "X-Original-To")]
        candidates = [a.email for a in mail.to + mail.cc] + [d.strip("<> ") for d in delivered]
        mail.reply_token = next(
            (token for token in (reply_token(c, mailbox) for c in candidates) if token), None
        )


def _read_body(mail: ParsedMail, leaves: list[Message]) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    bodies: set[int] = set()
    for index, part in enumerate(leaves):
        kind = _body_kind(part)
        if kind is None:
            continue
        content = decode_bytes(_payload(part), part.get_content_charset())
        (texts if kind == "plain" else htmls).append(content)
        bodies.add(index)
    html = "\n".join(htmls)
    text = "\n\n".join(texts) if texts else (html_to_text(html) if html else "")
    text = _TEXT_CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    if len(text) > MAX_TEXT_CHARS:
        mail.defects.append(f"text cut at {MAX_TEXT_CHARS} characters")
        text = text[:MAX_TEXT_CHARS]
    mail.text, mail.quoted = split_quoted(text)
    mail.html = sanitize_html(html) if html else None
    report = any(part.get_content_type() == "message/delivery-status" for part in leaves)
    for index, part in enumerate(leaves):
        if index in bodies or (report and part.get_content_type() in _REPORT_PARTS):
            continue
        _guarded(mail, f"part {index}", lambda part=part, index=index: _add_part(mail, part, index))


def _body_kind(part: Message) -> str | None:
    """ "plain" or "html" for a part that is the mail's text, None for the others."""
    try:
        if part.get_filename() or part.is_attachment():
            return None
    except Exception:  # a broken Content-Disposition: an attachment then
        return None
    if part.get_content_maintype() == "multipart":
        return "plain"  # a multipart without a boundary: its body is all there is
    if part.get_content_maintype() == "text" and part.get_content_subtype() in ("plain", "html"):
        return part.get_content_subtype()
    return None


_REPORT_PARTS = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/rfc822-headers"}
)


def _add_part(mail: ParsedMail, part: Message, index: int) -> None:
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        data = inner[0].as_bytes(policy=RAW_HEADERS.clone(refold_source="none")) if inner else b""
    else:
        data = _payload(part)
    content_id = _first_id(part.get("Content-ID")) or _bare_id(part.get("Content-ID"))
    disposition = part.get_content_disposition()
    mail.parts.append(
        MailPart(
            filename=_filename(part, index, content_type),
            content_type=content_type,
            data=data,
            content_id=content_id.strip("<>") if content_id else None,
            inline=disposition == "inline" or (disposition is None and content_id is not None),
        )
    )


def _leaves(message: Message, mail: ParsedMail) -> Iterator[Message]:
    """The non-multipart parts, depth first, without recursion, bounded in number and depth.
    An attached mail (message/rfc822) is one part: it is not taken apart."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            if depth >= MAX_DEPTH:
                mail.defects.append(f"parts nested deeper than {MAX_DEPTH} skipped")
                continue
            children = part.get_payload()
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        count += 1
        if count > MAX_PARTS:
            mail.defects.append(f"parts after the first {MAX_PARTS} skipped")
            return
        yield part


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _filename(part: Message, index: int, content_type: str) -> str:
    name = part.get_filename() or part.get_param("name", header="content-type") or ""
    if not isinstance(name, str):
        name = str(name)
    name = single_line(decode_header_text(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip(". ")
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"part-{index + 1}{extension}"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_FILENAME_CHARS - len(extension) - 1
        name = f"{stem[:keep]}.{extension}" if dot and 0 < len(extension) < 10 else name[:200]
    return name


def _split_address_list(value: str, limit: int) -> tuple[list[str], int]:
    """The first `limit` items of an address list, and how many there are. Commas inside
    quotes, comments and angle brackets do not separate; group names (`team: …;`) drop."""
    items: list[str] = []
    count = 0
    start = 0

    def close(end: int) -> None:
        nonlocal count
        item = value[start:end].strip()
        if item:
            count += 1
            if len(items) < limit:
                items.append(item)

    for token in _LIST_TOKENS.finditer(value):
        separator = token[0]
        if separator in (",", ";"):
            close(token.start())
            start = token.end()
        elif separator == ":":
            start = token.end()  # what came before was a group's name
    close(len(value))
    return items, count


def _address(item: str, charset: str | None) -> MailAddress | None:
    parsed = getaddresses([item])
    if not parsed:
        return None
    name, address = parsed[0]
    if "@" not in address:
        return None
    name = single_line(decode_header_text(name, charset))[:MAX_NAME_CHARS]
    return MailAddress(email=address.strip().lower(), name=name)


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    return match[0] if match else None


def _bare_id(value: str | None) -> str | None:
    """A Content-ID written without its angle brackets, as some mailers do."""
    if not value:
        return None
    value = unfold(str(value)).strip()
    return f"<{value}>" if value and not any(char.isspace() for char in value) else None


def _bounded_ids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _MESSAGE_ID.findall(value)
    if len(ids) <= MAX_REFERENCES:
        return ids
    # The first is the thread's root; the last ones are the nearest parents.
    return [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    date = parsedate_to_datetime(unfold(value).strip())
    return date if date.tzinfo else date.replace(tzinfo=UTC)


def _guarded(mail: ParsedMail, what: str, step: Any) -> None:
    try:
        step()
    except Exception as error:  # one bad piece does not lose the rest
        if len(mail.defects) < MAX_DEFECTS:
            mail.defects.append(f"{what}: {type(error).__name__}: {error}"[:300])
