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


# Every special-purpose range, by its first and last address and the neighbours just outside
# (written out by hand: deriving them from bogons.py would test the table against itself).
# (inside: first, last; outside: just below, just above; None where the neighbour is in
# another special-purpose range or does not exist. IPv6 outside 2000::/3 is special-purpose
# whatever the table says, so only the ranges inside it have outside neighbours to test.)
V4_EDGES = [
    ("0.0.0.0", "0.255.255.255", None, "1.0.0.0"),
    ("10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"),
    ("100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"),  # CGN /10
    ("127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"),
    ("169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"),
    ("172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"),
    ("192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"),
    ("192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0"),
    ("192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.100.0"),
    ("192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"),
    ("198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0"),
    ("198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0"),
    ("203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.114.0"),
    ("224.0.0.0", "239.255.255.255", "223.255.255.255", None),  # 240/4 follows
    ("240.0.0.0", "255.255.255.255", None, None),
]
V6_EDGES = [
    ("::", "::ffff:ffff", None, None),  # ::/96 (then IPv4-mapped, judged by what it embeds)
    ("100::", "100::ffff:ffff:ffff:ffff", None, None),
    ("2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "2001:1::"),  # Teredo /32
    ("2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:1:ffff:ffff:ffff:ffff:ffff:ffff",
     "2001:2:1::"),
    ("2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:f:ffff:ffff:ffff:ffff:ffff:ffff",
     None),  # ORCHID /28, ORCHIDv2 right after
    ("2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", None,
     "2001:30::"),
    ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
     "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"),
    ("3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "3fff:1000::"),
    ("5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None, None),  # outside 2000::/3 anyway
    ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None, None),
    ("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None, None),
    ("ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None, None),
]


@pytest.mark.parametrize(("first", "last", "below", "above"), V4_EDGES + V6_EDGES,
                         ids=[e[0] for e in V4_EDGES + V6_EDGES])  # fmt: skip
def test_range_edges(first: str, last: str, below: str | None, above: str | None) -> None:
    assert is_bogon(first) and is_bogon(last)
    for outside in (below, above):
        if outside is not None:
            assert not is_bogon(outside), outside


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("2000::1", False),  # first global unicast /3
        ("3fff:1000::1", False),
        ("1fff:ffff::1", True),  # below 2000::/3: unassigned, no public host
        ("4000::", True),
        ("64:ff9b::a40:1", True),  # DNS64 of 10.64.0.1
        ("64:ff9b::c0a8:101", True),  # DNS64 of 192.168.1.1: the low 32 bits, exactly
        ("64:ff9b:1::ac10:504", True),  # local-use NAT64 of 172.16.5.4
        ("64:ff9b:1::9765:410a", False),  # local-use NAT64 /48 of a public address
        ("64:ff9b:1::7f00:1", True),
        ("64:ff9b:2::9765:410a", True),  # outside both NAT64 prefixes, and 2000::/3
        ("::ffff:100.64.0.1", True),
        ("::ffff:100.128.0.1", False),
        ("2002:6440:0001::1", True),  # 6to4 around 100.64.0.1
        ("fe80::1%eth0", True),  # a zone index is ignored
        ("151.101.65.10%eth0", False),
        ("10.1.2.3%eth0", True),  # IPv4 takes no zone index: the suffix is cut off first
    ],
)
def test_embedded_and_global_unicast_edges(addr: str, expected: bool) -> None:
    assert is_bogon(addr) is expected


def test_public_ranges_exempt_only_their_own_family_and_range() -> None:
    assert not is_bogon("100.100.0.1", ("100.64.0.0/10",))
    assert is_bogon("100.100.0.1", ("100.64.0.0/16",))
    assert is_bogon("fd00::1", ("10.0.0.0/8",))  # an IPv4 range never exempts IPv6
    assert is_bogon("fd00::a01:203", ("10.0.0.0/8",))  # not even one ending in 10.1.2.3
    assert is_bogon("10.1.2.3", ("::/64",))  # nor an IPv6 range IPv4
    assert not is_bogon("::ffff:10.1.2.3", ("10.0.0.0/8",))
    assert not is_bogon("10.1.2.3", (" 10.1.2.99/8 ",))  # host bits and blanks allowed
    with pytest.raises(ValueError, match="not-a-cidr"):
        is_bogon("10.1.2.3", ("not-a-cidr",))
