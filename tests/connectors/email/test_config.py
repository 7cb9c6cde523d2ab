"""The email account config: contract keys, defaults, errors that name the key, secrets."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.email.config import SECRET_KEYS, InvalidConfig, masked, parse_config

VALID: dict[str, Any] = {
    "imap_host": "imap.example.com",
    "imap_port": 993,
    "imap_security": "ssl",
    "imap_user": "support@example.com",
    "imap_password": "imap-secret",
    "smtp_host": "smtp.example.com",
    "smtp_port": 587,
    "smtp_security": "starttls",
    "smtp_user": "support@example.com",
    "smtp_password": "smtp-secret",
    "from_address": "support@example.com",
    "from_name": "客服中心",
}


def test_valid_config_and_defaults() -> None:
    config = parse_config(VALID)
    assert (config.imap_folder, config.imap_processed, config.imap_idle) == ("INBOX", "seen", True)
    assert (config.tls_verify, config.reply_plus_address, config.subject_tag) == (True, False, True)
    assert config.from_name == "客服中心"
    minimal = {k: v for k, v in VALID.items() if k not in ("smtp_user", "smtp_password")}
    assert parse_config(minimal).smtp_user is None


def test_secrets_are_known_masked_and_not_in_repr() -> None:
    assert SECRET_KEYS == {"imap_password", "smtp_password"}
    shown = masked(VALID)
    assert shown["imap_password"] == shown["smtp_password"] == "***"
    assert shown["imap_host"] == "imap.example.com"
    assert "secret" not in repr(parse_config(VALID))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"imap_host": None}, "imap_host"),
        ({"imap_host": ""}, "imap_host"),
        ({"imap_host": "imap example.com"}, "imap_host"),
        ({"imap_port": "993"}, "imap_port"),
        ({"imap_port": True}, "imap_port"),
        ({"smtp_port": 70000}, "smtp_port"),
        ({"imap_security": "tls"}, "imap_security"),
        ({"smtp_security": None}, "smtp_security"),
        ({"imap_user": 5}, "imap_user"),
        ({"imap_password": "a\r\nb"}, "imap_password"),
        ({"imap_folder": "INBOX\r\nA1 DELETE INBOX"}, "imap_folder"),
        ({"smtp_password": None}, "smtp_password"),
        ({"from_address": "not an address"}, "from_address"),
        ({"from_address": "a@b.com\r\nBcc: x@y.com"}, "from_address"),
        ({"from_name": "Support\r\nBcc: x@y.com"}, "from_name"),
        ({"imap_processed": "delete"}, "imap_processed"),
        ({"imap_processed": "move"}, "imap_processed_folder"),
        ({"imap_processed": "move", "imap_processed_folder": "INBOX"}, "imap_processed_folder"),
        ({"imap_poll_seconds": 0}, "imap_poll_seconds"),
        ({"imap_idle": "yes"}, "imap_idle"),
        ({"imap_hots": "typo.example.com"}, "imap_hots"),
    ],
)
def test_bad_values_name_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidConfig) as raised:
        parse_config({**VALID, **changes})
    assert raised.value.key == key
    assert key in str(raised.value)


def test_config_must_be_an_object() -> None:
    with pytest.raises(InvalidConfig):
        parse_config(["imap_host"])  # type: ignore[arg-type]
