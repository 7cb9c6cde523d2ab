"""Mail addresses: checking the ones we send to, and the reply token carried in a plus address.

A reply token ties an answer to its conversation when the threading headers are lost: the
outbound mail's Reply-To is the mailbox's own address with `+<token>` added to the local part
(`support+k3x9@example.com`), which most providers deliver to `support@example.com`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ADDRESS_LENGTH = 254  # RFC 5321 section 4.5.3.1.3 (a path of 256 with the brackets)
MAX_LOCAL_LENGTH = 64

# The dot-atom form of RFC 5322 in ASCII. Quoted local parts and internationalised addresses
# (SMTPUTF8) are refused for sending: many servers on the way do not take them.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = rf"{_ATEXT}(?:\.{_ATEXT})*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)*{_LABEL}|\[[0-9.]+\]"
ADDRESS_RE = re.compile(rf"(?P<local>{_LOCAL})@(?P<domain>{_DOMAIN})")

# Lower case only: servers on the way may change the case of a local part.
TOKEN_RE = re.compile(r"[a-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class MailAddress:
    email: str  # lower-cased when read from a mail
    name: str = ""

    def public(self) -> dict[str, str]:
        return {"email": self.email, "name": self.name}


def address_problem(address: str) -> str | None:
    """Why `address` cannot be sent to, or None when it can."""
    if not isinstance(address, str) or not address:
        return "an address is required"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in address):
        return "an address may not contain line breaks or control characters"
    if len(address) > MAX_ADDRESS_LENGTH:
        return f"an address is at most {MAX_ADDRESS_LENGTH} characters"
    match = ADDRESS_RE.fullmatch(address)
    if match is None:
        return f"{address!r} is not a mail address (name@domain, ASCII only)"
    if len(match["local"]) > MAX_LOCAL_LENGTH:
        return f"the part before @ is at most {MAX_LOCAL_LENGTH} characters"
    return None


def plus_address(address: str, token: str) -> str:
    """`address` with `+token` added to its local part."""
    if TOKEN_RE.fullmatch(token) is None:
        raise ValueError("a reply token is 1-64 lower-case letters, digits, '_' or '-'")
    local, _, domain = address.rpartition("@")
    return f"{local}+{token}@{domain}"


def reply_token(address: str, mailbox: str) -> str | None:
    """The token in `address` when it is `mailbox` plus a token (case-insensitive), else None."""
    local, _, domain = address.lower().rpartition("@")
    own_local, _, own_domain = mailbox.lower().rpartition("@")
    if domain != own_domain or not local.startswith(own_local + "+"):
        return None
    token = local[len(own_local) + 1 :]
    return token if TOKEN_RE.fullmatch(token) else None
