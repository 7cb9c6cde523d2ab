"""The client's address, as the hub may believe it: the TCP peer, or what our own proxies
say they forwarded (settings.trusted_proxies)."""

from __future__ import annotations

import functools
import ipaddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str, trusted_proxies: tuple[str, ...]) -> str:
    """X-Forwarded-For is believed only when the peer is one of our trusted proxies, and read
    from the right: each trusted hop appends the address it saw, so the first untrusted one
    from the right is the client; anything to its left is whatever the client chose to send."""
    trusted = networks(trusted_proxies)
    if not trusted or not forwarded_for or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: keep the address we know is real
        if not is_trusted(hop, trusted):
            return hop
    return hops[0]  # every hop is one of ours: the client is inside the trusted network


def environ_address(environ: dict[str, object], trusted_proxies: tuple[str, ...]) -> str:
    """The address of a socket handshake (python-engineio's environ)."""
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    peer = str(remote) if remote else str(environ.get("REMOTE_ADDR", ""))
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    return client_address(peer, forwarded if isinstance(forwarded, str) else "", trusted_proxies)
