"""An email channel account's configuration: the contract's keys, checked, with defaults.

Contract keys (docs/protocol.md, channel accounts): `imap_host, imap_port, imap_security,
imap_user, imap_password, imap_folder, smtp_host, smtp_port, smtp_security, smtp_user?,
smtp_password?, from_address, from_name?`. Keys of our own, all optional:

* `imap_processed`: what happens to a mail once the hub has stored it: `"seen"` (default)
  flags it `\\Seen`; `"move"` moves it to `imap_processed_folder`, which must exist.
* `imap_idle` (default true): use IDLE where the server offers it; false polls every
  `imap_poll_seconds` (default 60), for servers whose IDLE misbehaves.
* `tls_verify` (default true): check the servers' certificates. Turning it off is for a
  private server with a self-signed certificate, and makes TLS open to interception.
* `reply_plus_address` (default false): outbound mail gets `Reply-To: local+token@domain` so
  answers find their conversation without headers. Off by default: not every provider
  delivers plus addresses (QQ and 163 mailboxes do not).
* `subject_tag` (default true): outbound subjects carry `[#token]` for the same purpose.

`parse_config` raises `InvalidConfig` naming the first bad key; unknown keys are refused so a
misspelt key is not silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from connectors.email.addresses import address_problem

Security = Literal["none", "starttls", "ssl"]
Processed = Literal["seen", "move"]

SECURITY_VALUES: tuple[Security, ...] = ("none", "starttls", "ssl")
PROCESSED_VALUES: tuple[Processed, ...] = ("seen", "move")
SECRET_KEYS = frozenset({"imap_password", "smtp_password"})
MIN_POLL_SECONDS = 5
MAX_POLL_SECONDS = 3600
MAX_TEXT_LENGTH = 255  # hosts, users, folder names: far above any real one
MAX_SECRET_LENGTH = 4096  # an OAuth-sized password still fits


class InvalidConfig(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class EmailConfig:
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_user: str
    imap_password: str = field(repr=False)
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    from_address: str
    imap_folder: str = "INBOX"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    from_name: str = ""
    imap_processed: Processed = "seen"
    imap_processed_folder: str | None = None
    imap_idle: bool = True
    imap_poll_seconds: int = 60
    tls_verify: bool = True
    reply_plus_address: bool = False
    subject_tag: bool = True


REQUIRED_KEYS = (
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_user",
    "imap_password",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "from_address",
)
KNOWN_KEYS = frozenset(
    {
        *REQUIRED_KEYS,
        "imap_folder",
        "smtp_user",
        "smtp_password",
        "from_name",
        "imap_processed",
        "imap_processed_folder",
        "imap_idle",
        "imap_poll_seconds",
        "tls_verify",
        "reply_plus_address",
        "subject_tag",
    }
)


def parse_config(raw: Mapping[str, Any]) -> EmailConfig:
    if not isinstance(raw, Mapping):
        raise InvalidConfig("config", "must be an object")
    for key in raw:
        if key not in KNOWN_KEYS:
            raise InvalidConfig(str(key), "unknown key for an email account")
    for key in REQUIRED_KEYS:
        if raw.get(key) is None:
            raise InvalidConfig(key, "is required")

    smtp_user = _optional_text(raw, "smtp_user")
    smtp_password = _optional_secret(raw, "smtp_password")
    if (smtp_user is None) != (smtp_password is None):
        missing = "smtp_password" if smtp_password is None else "smtp_user"
        raise InvalidConfig(missing, "smtp_user and smtp_password go together")

    processed = _choice(raw, "imap_processed", PROCESSED_VALUES, "seen")
    processed_folder = _optional_text(raw, "imap_processed_folder")
    if processed == "move" and processed_folder is None:
        raise InvalidConfig("imap_processed_folder", 'is required when imap_processed is "move"')
    folder = _optional_text(raw, "imap_folder") or "INBOX"
    if processed_folder is not None and processed_folder == folder:
        raise InvalidConfig("imap_processed_folder", "must differ from imap_folder")

    from_address = _text(raw, "from_address")
    problem = address_problem(from_address)
    if problem is not None:
        raise InvalidConfig("from_address", problem)

    return EmailConfig(
        imap_host=_host(raw, "imap_host"),
        imap_port=_port(raw, "imap_port"),
        imap_security=_choice(raw, "imap_security", SECURITY_VALUES, None),
        imap_user=_text(raw, "imap_user"),
        imap_password=_secret(raw, "imap_password"),
        imap_folder=folder,
        smtp_host=_host(raw, "smtp_host"),
        smtp_port=_port(raw, "smtp_port"),
        smtp_security=_choice(raw, "smtp_security", SECURITY_VALUES, None),
        smtp_user=smtp_user,
        smtp_password=smtp_password,
        from_address=from_address,
        from_name=_optional_text(raw, "from_name") or "",
        imap_processed=processed,
        imap_processed_folder=processed_folder,
        imap_idle=_flag(raw, "imap_idle", True),
        imap_poll_seconds=_poll_seconds(raw),
        tls_verify=_flag(raw, "tls_verify", True),
        reply_plus_address=_flag(raw, "reply_plus_address", False),
        subject_tag=_flag(raw, "subject_tag", True),
    )


def masked(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The config as it may be shown or logged: secrets set are `"***"`."""
    return {key: "***" if key in SECRET_KEYS and value else value for key, value in raw.items()}


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfig(key, "must be a non-empty string")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidConfig(key, f"is at most {MAX_TEXT_LENGTH} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise InvalidConfig(key, "may not contain line breaks or control characters")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    if raw.get(key) in (None, ""):
        return None
    return _text(raw, key)


def _secret(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise InvalidConfig(key, "must be a non-empty string")
    if len(value) > MAX_SECRET_LENGTH:
        raise InvalidConfig(key, f"is at most {MAX_SECRET_LENGTH} characters")
    if any(char in value for char in "\r\n\0"):
        # Sent on a protocol line: a line break would end the command there.
        raise InvalidConfig(key, "may not contain line breaks or NUL")
    return value


def _optional_secret(raw: Mapping[str, Any], key: str) -> str | None:
    if raw.get(key) in (None, ""):
        return None
    return _secret(raw, key)


def _host(raw: Mapping[str, Any], key: str) -> str:
    value = _text(raw, key).strip()
    if any(char.isspace() for char in value) or "/" in value:
        raise InvalidConfig(key, "must be a host name or an IP address")
    return value


def _port(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidConfig(key, "must be an integer from 1 to 65535")
    return value


def _flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise InvalidConfig(key, "must be true or false")
    return value


def _choice(raw: Mapping[str, Any], key: str, values: tuple[str, ...], default: str | None) -> Any:
    value = raw.get(key, default)
    if value not in values:
        raise InvalidConfig(key, "must be one of " + ", ".join(values))
    return cast(str, value)


def _poll_seconds(raw: Mapping[str, Any]) -> int:
    value = raw.get("imap_poll_seconds", 60)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfig("imap_poll_seconds", "must be an integer")
    if not MIN_POLL_SECONDS <= value <= MAX_POLL_SECONDS:
        raise InvalidConfig(
            "imap_poll_seconds", f"must be from {MIN_POLL_SECONDS} to {MAX_POLL_SECONDS}"
        )
    return value
