"""Where a webhook may send: http(s) URLs whose host is on the public internet.

Loopback, link-local (cloud metadata at 169.254.169.254), private, shared, multicast and
reserved addresses, and this machine's own addresses, are refused unless
settings.webhook_allow_private, so an administrator cannot make the hub call itself or the
network it runs in. The check runs when the webhook
is saved and again on every delivery, on the addresses the connection really uses
(GuardedResolver): a name that resolved to a public address at save time and to a private
one later (DNS rebinding) is refused then."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hub.errors import Invalid

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenTarget(OSError):
    """A delivery's host resolved to an address webhooks may not reach."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EACCES, message)


def is_own_address(ip: IPAddress) -> bool:
    """Whether the address is one of this machine's: only those can be bound to."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:  # not ours (or no IPv6 here at all)
        return False
    return True


def forbidden_address(address: str) -> bool:
    """Not on the public internet, or this machine itself (the hub calling itself, even on
    a public address)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or is_own_address(ip)


def _invalid(message: str) -> Invalid:
    return Invalid(message, code="invalid_webhook_url")


def parse_target(url: str) -> tuple[str, int]:
    """(host, port) of a webhook URL, or invalid_webhook_url saying what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"the URL is not valid: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise _invalid("the URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise _invalid("the URL has no host")
    if any(ch.isspace() for ch in url):
        raise _invalid("the URL must not contain spaces")
    return host, port or (443 if parts.scheme == "https" else 80)


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuses a URL that is not http(s), or whose host is (or resolves to) an address
    webhooks may not reach."""
    host, port = parse_target(url)
    if allow_private:
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if forbidden_address(host):
            raise _invalid(
                f"{host} is a loopback, link-local or private address: webhooks go to "
                "public addresses (set HUB_WEBHOOK_ALLOW_PRIVATE=true to allow it)"
            )
        return
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _invalid(f"the host {host} cannot be resolved") from exc
    if any(forbidden_address(str(info[4][0])) for info in found):
        raise _invalid(
            f"{host} resolves to a loopback, link-local or private address: webhooks go to "
            "public addresses (set HUB_WEBHOOK_ALLOW_PRIVATE=true to allow it)"
        )


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a host any of whose addresses is forbidden."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if any(forbidden_address(result["host"]) for result in results):
            raise ForbiddenTarget(f"{host} resolves to a loopback, link-local or private address")
        return results

    async def close(self) -> None:
        await self._resolver.close()
