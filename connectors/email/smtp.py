"""Sending composed mail over SMTP (aiosmtplib), with every failure classified (errors.py).

Transient: refused or dropped connections, timeouts, 4xx replies: the outbox retries with
back-off. Permanent: 5xx replies to the message or to all its recipients, with the server's
own words: the message is failed. Authentication (535, or 530 when the account has no login)
and configuration problems (TLS, STARTTLS not offered, a 5xx to the greeting, the sender
address refused): the account is broken, not the message; it waits and the account shows the
error.

Double sends. SMTP has no idempotency key: once the server has answered 250 to the end of
DATA the mail is its responsibility, and nothing in the protocol lets a client ask "did you
get this one?" afterwards (RFC 1047 describes exactly this window). A crash after that 250
and before the outbox records "sent" therefore means a second copy on retry, and no protocol
step can prevent it; closing the window is what the outbox can do (record the outcome right
after the reply). What the protocol does allow is making a resend recognisable: the Message-ID
is fixed when the mail is composed, stored before the first attempt, and reused for every
retry (`compose_mail(message_id=…)`), so a second copy carries the same Message-ID and the
same threading headers. Gmail and several other providers drop a second delivery with a
Message-ID they already hold; other clients at least thread it with the first.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import aiosmtplib

from connectors.email.compose import OutgoingMail
from connectors.email.config import EmailConfig
from connectors.email.errors import (
    AuthenticationError,
    ConfigurationError,
    MailError,
    PermanentError,
    TransientError,
    network_error,
)

DEFAULT_TIMEOUT = 60.0
# RFC 4954: authentication required (530), a stronger mechanism (534) or TLS (538) needed.
_LOGIN_NEEDED = frozenset({530, 534, 538})


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    reply: str  # the server's answer to the mail, e.g. "2.0.0 Ok: queued as 4BqJ…"
    refused: dict[str, str] = field(default_factory=dict)  # recipients refused, and why


async def send_mail(
    config: EmailConfig,
    mail: OutgoingMail,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """Deliver `mail` to the account's SMTP server. Some recipients refused while others
    were taken is a success with `refused` filled in. `ssl_context` is for a private CA."""
    client = _client(config, timeout, ssl_context)
    try:
        async with client:
            refused, reply = await client.sendmail(
                mail.sender, list(mail.recipients), mail.as_bytes()
            )
    except Exception as error:
        raise classify(error, config.smtp_host) from error
    return SendResult(
        message_id=mail.message_id,
        reply=reply,
        refused={address: f"{r.code} {r.message}" for address, r in refused.items()},
    )


async def check_smtp(
    config: EmailConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Connect, secure and log in as `send_mail` would, send nothing (a settings test)."""
    client = _client(config, timeout, ssl_context)
    try:
        async with client:
            await client.noop()
    except Exception as error:
        raise classify(error, config.smtp_host) from error


def _client(
    config: EmailConfig, timeout: float, ssl_context: ssl.SSLContext | None
) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=config.smtp_host,
        port=config.smtp_port,
        use_tls=config.smtp_security == "ssl",
        # False, not None, for "none": None would mean "STARTTLS if offered".
        start_tls=config.smtp_security == "starttls",
        username=config.smtp_user,
        password=config.smtp_password,
        timeout=timeout,
        validate_certs=config.tls_verify,
        tls_context=ssl_context,
    )


def classify(error: BaseException, host: str) -> MailError:
    """The `MailError` for something aiosmtplib or the network raised."""
    if isinstance(error, MailError):
        return error
    network = network_error(error, host, "smtp")
    if network is not None and not isinstance(network, TransientError):
        return network  # TLS and host problems hide inside connect errors
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return AuthenticationError(
            f"{host} refused the login: {error.code} {error.message}", key="smtp_password"
        )
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        reasons = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
        if all(r.code >= 500 for r in error.recipients):
            return PermanentError(f"all recipients refused: {reasons}", code=_first_code(error))
        return TransientError(f"recipients refused for now: {reasons}", code=_first_code(error))
    if isinstance(error, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPHeloError):
        if error.code >= 500:
            return ConfigurationError(
                f"{host} does not take mail from us: {error.code} {error.message}",
                key="smtp_host",
                code=error.code,
            )
        return TransientError(f"{host}: {error.code} {error.message}", code=error.code)
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code in _LOGIN_NEEDED:
        return AuthenticationError(
            f"{host} wants a login first: {error.code} {error.message}",
            key="smtp_user",
            code=error.code,
        )
    if isinstance(error, aiosmtplib.SMTPSenderRefused) and error.code >= 500:
        # Our sender is always from_address: refusing it refuses every mail of the account.
        return ConfigurationError(
            f"{host} refuses the sender {error.sender}: {error.code} {error.message}",
            key="from_address",
            code=error.code,
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 400 <= error.code < 500:
            return TransientError(f"{host}: {error.code} {error.message}", code=error.code)
        if error.code >= 500:
            return PermanentError(f"{error.code} {error.message}", code=error.code)
        return TransientError(f"{host}: unexpected reply {error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return ConfigurationError(f"{host}: {error}")  # e.g. AUTH asked for, not offered
    if network is not None:
        return network
    if isinstance(error, aiosmtplib.SMTPException):
        # What remains is the client refusing to go on: STARTTLS asked for and not offered.
        return ConfigurationError(f"{host}: {error}", key="smtp_security")
    return TransientError(f"{host}: {type(error).__name__}: {error}")


def _first_code(error: aiosmtplib.SMTPRecipientsRefused) -> int | None:
    return error.recipients[0].code if error.recipients else None
