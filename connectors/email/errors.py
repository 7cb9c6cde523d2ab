"""What went wrong talking to a mail server, sorted by what the caller should do about it.

* `TransientError`: the network, a timeout, a dropped connection, an SMTP 4xx. Reconnect or
  retry with back-off; nothing needs fixing.
* `AuthenticationError`: the server refused the credentials. Show it to the administrator and
  do not retry fast (servers lock accounts out after repeated failures). Outbound mail waits:
  it is the account that is broken, not the message.
* `ConfigurationError`: the account cannot work as configured (no such folder, the server
  does not offer STARTTLS, an untrusted certificate, an unknown host). Like authentication:
  show it, retry slowly; `key` names the config key to look at when one is to blame.
* `PermanentError`: the server refused this message for good (SMTP 5xx); `message` is the
  server's own words. Mark the message failed; retrying the same message cannot help.

Messages never contain a password: they quote the server and name the host.
"""

from __future__ import annotations

import socket
import ssl
from typing import ClassVar


class MailError(Exception):
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, *, key: str | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.code = code  # the SMTP reply code, when a server reply caused it


class TransientError(MailError):
    kind = "transient"


class AuthenticationError(MailError):
    kind = "authentication"


class ConfigurationError(MailError):
    kind = "configuration"


class PermanentError(MailError):
    kind = "permanent"


def network_error(error: BaseException, host: str, service: str) -> MailError | None:
    """The class of a network or TLS failure talking to `host`, or None if it is not one.
    `service` ("imap" or "smtp") prefixes the config key named."""
    cause = _find(error, ssl.SSLError)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ConfigurationError(
            f"the TLS certificate of {host} is not trusted: {cause.verify_message}",
            key="tls_verify",
        )
    if isinstance(cause, ssl.SSLError) and cause.reason in _TLS_MISMATCH:
        return ConfigurationError(
            f"TLS with {host} failed ({cause.reason}): is {service}_security right for this port?",
            key=f"{service}_security",
        )
    resolve = _find(error, socket.gaierror)
    if isinstance(resolve, socket.gaierror):
        if resolve.errno == socket.EAI_NONAME:
            return ConfigurationError(f"unknown host {host}", key=f"{service}_host")
        return TransientError(f"cannot resolve {host}: {resolve}")
    if isinstance(error, OSError | TimeoutError | EOFError):
        return TransientError(f"{host}: {type(error).__name__}: {error}")
    return None


# TLS failures that mean the two sides cannot agree at all, however often they try.
_TLS_MISMATCH = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "HTTP_REQUEST",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }
)


def _find(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = error
    for _ in range(6):  # the exception, its cause, theirs …
        if seen is None or isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
