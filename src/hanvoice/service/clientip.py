"""The client's address, trusting ``X-Forwarded-For`` only from configured proxies.

Why: anyone can send ``X-Forwarded-For: 1.2.3.4``. Only when the peer that connected is one
of our own proxies (the edge nginx, the cloud load balancer) do we read the header, and then
from the right: each trusted hop appended the address it saw, so the first address from the
right that is *not* a trusted proxy is the real client.

    >>> client_ip("10.0.0.5", "203.0.113.9, 10.0.0.7", parse_networks(["10.0.0.0/8"]))
    '203.0.113.9'
    >>> client_ip("198.51.100.1", "203.0.113.9", parse_networks(["10.0.0.0/8"]))
    '198.51.100.1'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from hanvoice.errors import InvalidParameter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise InvalidParameter(
                f"trusted_proxies: {item!r} is not an IP address or CIDR network"
            ) from None
    return tuple(out)


def _trusted(addr: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    peer = peer or "unknown"
    if not forwarded_for or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to what we know
    return hops[0] if hops else peer
