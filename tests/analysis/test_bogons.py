"""Special-purpose ranges, IPv4 and IPv6, with embedded-IPv4 forms judged by what they embed."""

from __future__ import annotations

import pytest

from reachcheck.analysis.bogons import is_bogon

CASES = [
    ("10.10.34.35", True),  # Iran's blockpage address
    ("127.0.0.1", True),
    ("0.0.0.0", True),
    ("100.64.1.1", True),  # carrier-grade NAT
    ("169.254.1.1", True),
    ("172.31.255.255", True),
    ("172.32.0.1", False),  # just outside 172.16.0.0/12
    ("192.0.2.7", True),
    ("198.18.0.1", True),
    ("198.20.0.1", False),  # just outside 198.18.0.0/15
    ("203.0.113.9", True),
    ("224.0.0.251", True),
    ("255.255.255.255", True),
    ("151.101.65.10", False),
    ("31.13.95.2", False),  # forged GFW answers are often public: not a bogon
    ("::1", True),
    ("::", True),
    ("fe80::1", True),
    ("fd00::1", True),
    ("ff02::1", True),
    ("2001::53:1", True),  # Teredo: the GFW's forged AAAA range
    ("2001:db8::1", True),
    ("3fff::1", True),
    ("2a04:4e42::10", False),
    ("::ffff:10.0.0.1", True),  # IPv4-mapped private
    ("::ffff:151.101.65.10", False),
    ("2002:c0a8:0101::1", True),  # 6to4 around 192.168.1.1
    ("2002:9765:410a::1", False),  # 6to4 around a public address
    ("64:ff9b::9765:410a", False),  # DNS64 synthesis of a public address
    ("64:ff9b::7f00:1", True),  # DNS64 of loopback
    ("4000::1", True),  # outside global unicast 2000::/3
    ("not-an-ip", False),
]


@pytest.mark.parametrize(("addr", "expected"), CASES)
def test_is_bogon(addr: str, expected: bool) -> None:
    assert is_bogon(addr) is expected
