from __future__ import annotations

import pytest

from hanvoice.errors import InvalidParameter
from hanvoice.service.clientip import client_ip, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("198.51.100.1", None, "198.51.100.1"),
        ("198.51.100.1", "1.2.3.4", "198.51.100.1"),  # untrusted peer: header ignored
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # spoofed left part
        ("127.0.0.1", "10.1.1.1, 10.2.2.2", "10.1.1.1"),  # all trusted: leftmost
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        (None, None, "unknown"),
    ],
)
def test_client_ip(peer: str | None, xff: str | None, expected: str) -> None:
    assert client_ip(peer, xff, TRUSTED) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_ip("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"


def test_bad_network() -> None:
    with pytest.raises(InvalidParameter, match="trusted_proxies"):
        parse_networks(["10.0.0.0/33"])
