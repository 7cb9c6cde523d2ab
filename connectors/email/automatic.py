"""Mail that no person wrote: auto-replies, lists, robots, and bounces (delivery reports).

Such mail is never answered automatically (RFC 3834 section 2: answering it makes loops).
A bounce also says which of our messages failed: the report's copy of the original carries
its Message-ID, and the per-recipient fields say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from connectors.email.charsets import decode_bytes, decode_header_text, single_line

ROBOT_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
)
BOUNCE_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|autoreply|out of (the )?office|自动回复|自动答复"
    r"|自動回覆|自動回复)",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(r"delay|warning|延迟|延遲", re.IGNORECASE)
_MESSAGE_ID_LINE = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*(<[^<>\s]+>)")
MAX_REASON_LENGTH = 500

Header = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Bounce:
    original_message_id: str | None
    recipients: tuple[str, ...]
    status: str | None  # the enhanced status code, "5.1.1"
    reason: str  # the remote server's diagnostic, or the report's own words
    permanent: bool  # False for a "delayed" report: the mail may still arrive


def automatic_reason(header: Header, sender: str | None, subject: str) -> str | None:
    """Why the mail looks machine-written, or None. `header(name)` gives a raw header."""
    submitted = (header("Auto-Submitted") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = (header("Precedence") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "List-Id", "List-Unsubscribe"):
        if header(name) is not None:
            return f"{name} header"
    if (header("Return-Path") or "").strip() == "<>":
        return "empty Return-Path (a delivery report or an auto-reply)"
    if sender is not None and sender.partition("@")[0] in ROBOT_LOCAL_PARTS:
        return f"sent by {sender}"
    if (header("Content-Type") or "").lower().startswith("multipart/report"):
        return "a delivery report"
    if _AUTO_SUBJECT.match(subject):
        return "an auto-reply subject"
    return None


def find_bounce(
    leaves: Iterable[Message], sender: str | None, subject: str, text: str
) -> Bounce | None:
    """A delivery failure report: a DSN (RFC 3464) or, from mailer-daemon or postmaster, a
    plain-text bounce quoting the original's Message-ID."""
    status_blocks: list[Message] = []
    original_id: str | None = None
    for part in leaves:
        content_type = part.get_content_type()
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                status_blocks.extend(block for block in payload if isinstance(block, Message))
        elif original_id is None and content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                original_id = _first_id(payload[0].get("Message-ID"))
        elif original_id is None and content_type in (
            "text/rfc822-headers",
            "message/global-headers",
        ):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                headers = HeaderParser().parsestr(decode_bytes(data, "utf-8"), headersonly=True)
                original_id = _first_id(headers.get("Message-ID"))

    if status_blocks:
        return _from_report(status_blocks, original_id)
    if sender is None or sender.partition("@")[0] not in BOUNCE_LOCAL_PARTS:
        return None
    if original_id is None:
        match = _MESSAGE_ID_LINE.search(text)
        original_id = match[1] if match else None
    if original_id is None:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return Bounce(
        original_message_id=original_id,
        recipients=(),
        status=None,
        reason=_bounded(" ".join(lines[:3]) or subject),
        permanent=_DELAY_SUBJECT.search(subject) is None,
    )


def _from_report(blocks: list[Message], original_id: str | None) -> Bounce:
    # The first block describes the message, the others one recipient each.
    recipients = [block for block in blocks if block.get("Final-Recipient") or block.get("Action")]
    failed = [block for block in recipients if _field(block, "Action").lower() == "failed"]
    chosen = failed or recipients
    status = _field(chosen[0], "Status") if chosen else ""
    diagnostic = _field(chosen[0], "Diagnostic-Code") if chosen else ""
    if ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    addresses = tuple(
        _field(block, "Final-Recipient").split(";", 1)[-1].strip().lower() for block in chosen
    )
    return Bounce(
        original_message_id=original_id,
        recipients=tuple(address for address in addresses if address),
        status=status or None,
        reason=_bounded(diagnostic or (f"status {status}" if status else "delivery failed")),
        permanent=bool(failed) or status.startswith("5"),
    )


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return single_line(decode_header_text(str(value))) if value is not None else ""


def _first_id(value: object) -> str | None:
    if value is None:
        return None
    match = re.search(r"<[^<>\s]+>", str(value))
    return match[0] if match else None


def _bounded(text: str) -> str:
    text = single_line(text)
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"
