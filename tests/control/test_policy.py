"""The SSRF guard's address policy."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reachcheck.control.policy import is_public, parse_ip, refusal_reason

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata service
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("100.64.0.1", "special-purpose"),  # carrier-grade NAT
    ("192.0.0.8", "special-purpose"),
    ("192.0.2.1", "private"),  # documentation
    ("198.18.0.1", ""),  # benchmarking
    ("240.0.0.1", ""),
    ("255.255.255.255", ""),
    ("::ffff:127.0.0.1", "embeds 127.0.0.1"),
    ("::ffff:10.0.0.1", "embeds 10.0.0.1"),
    ("2002:7f00:1::", "embeds 127.0.0.1"),  # 6to4 of loopback
    ("64:ff9b::a00:1", ""),  # NAT64 of 10.0.0.1
    ("2001:db8::1", ""),
]


@pytest.mark.parametrize(("address", "word"), REFUSED)
def test_special_addresses_are_refused_with_a_reason(address: str, word: str) -> None:
    reason = refusal_reason(address)
    assert reason is not None
    assert word in reason
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "1.2.3.4"])
def test_global_unicast_is_allowed(address: str) -> None:
    assert refusal_reason(address) is None


@pytest.mark.parametrize("text", ["example.com", "", "1.2.3", "fe80::1%eth0", "[::1]"])
def test_non_addresses_are_refused(text: str) -> None:
    assert parse_ip(text) is None
    assert refusal_reason(text) is not None


@given(st.ip_addresses())
def test_allowed_addresses_are_global_and_not_multicast(ip: ipaddress._BaseAddress) -> None:
    if is_public(str(ip)):
        assert ip.is_global and not ip.is_multicast and not ip.is_loopback
        assert not ip.is_private and not ip.is_link_local
