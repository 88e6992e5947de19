"""system_nameservers: dnspython reads the configuration, our rules decide what is kept.

Where dnspython's own resolv.conf reader would give up on the whole file (a byte that is not
UTF-8, an address it cannot parse, a bad `search` name, no nameserver at all) we keep every good
line, as the C library does. The addresses below are only parsed, never contacted.
"""

from __future__ import annotations

import io
from pathlib import Path

import dns.nameserver
import dns.resolver
import pytest

from reachcheck.probes.dns.resolvconf import MAXNS, nameserver_addresses, system_nameservers


def _conf(tmp_path: Path, text: bytes) -> str:
    path = tmp_path / "resolv.conf"
    path.write_bytes(text)
    return str(path)


def test_system_nameservers_tolerates_junk(tmp_path: Path) -> None:
    conf = _conf(tmp_path,
        b"# generated\n"
        b"search lab.test\n"
        b"nameserver 10.0.0.53 # the router\n"
        b"nameserver not-an-ip\n"
        b"nameserver\n"
        b"; nameserver 10.0.0.99\n"
        b"nameserver fe80::1%eth0\n"
        b"nameserver 10.0.0.53\n"
        b"\xff\xfe garbage line\n"
        b"nameserver 10.0.0.54\n"
        b"nameserver 10.0.0.55\n"
        b"options ndots:2\n"
    )
    assert system_nameservers(conf) == (
        ("10.0.0.53", 53), ("fe80::1%eth0", 53), ("10.0.0.54", 53)
    )
    assert system_nameservers(str(tmp_path / "missing")) == ()
    assert system_nameservers(str(tmp_path)) == ()  # a directory: unreadable, not an error


@pytest.mark.parametrize("text", [b"", b"# nothing here\n", b"search lab.test\noptions rotate\n",
                                  b"nameserver localhost\n"])
def test_no_usable_nameserver_is_empty_not_an_error(tmp_path: Path, text: bytes) -> None:
    conf = _conf(tmp_path, text)
    # What dnspython alone does: no nameserver, or one that is not an address.
    with pytest.raises((dns.resolver.NoResolverConfiguration, ValueError)):
        dns.resolver.Resolver(filename=conf)
    assert system_nameservers(conf) == ()


def test_lines_dnspython_would_reject_do_not_lose_the_others(tmp_path: Path) -> None:
    bad_search = b"search " + b"x" * 64 + b".test\n"  # a label over 63 bytes
    conf = _conf(tmp_path, bad_search + b"nameserver 10.0.0.1\nnameserver 10.0.0.2;cut here\n"
                 b"nameserver 10.0.0.3#cut here\nnameserver bogus\n")
    with pytest.raises(Exception):  # noqa: B017 - any failure: dnspython rejects the file whole
        dns.resolver.Resolver(filename=conf)
    assert system_nameservers(conf) == (("10.0.0.1", 53), ("10.0.0.2", 53), ("10.0.0.3", 53))


def test_options_do_not_reorder_or_add(tmp_path: Path) -> None:
    # `options rotate` makes dnspython's resolver rotate; the run asks in file order.
    conf = _conf(tmp_path, b"options rotate timeout:1 ndots:3 edns0\n"
                 b"nameserver 10.0.0.9\nnameserver ::1\n")
    assert system_nameservers(conf) == (("10.0.0.9", 53), ("::1", 53))


def test_first_three_distinct_in_order(tmp_path: Path) -> None:
    lines = [f"nameserver 10.0.0.{n}\n" for n in (1, 1, 2, 1, 3, 4)]
    conf = _conf(tmp_path, "".join(lines).encode())
    assert system_nameservers(conf) == (("10.0.0.1", 53), ("10.0.0.2", 53), ("10.0.0.3", 53))
    assert MAXNS == 3


def test_what_dnspython_read_keeps_ports_and_skips_doh() -> None:
    # The path the Windows registry takes: whatever dnspython configured, as (address, port).
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameserver_ports = {"10.0.0.7": 5353}
    resolver.nameservers = [
        "https://doh.test/dns-query",
        "10.0.0.7",
        dns.nameserver.Do53Nameserver("10.0.0.8", 54),
        "10.0.0.7",
        "::1",
        "10.0.0.9",
    ]
    assert nameserver_addresses(resolver) == (("10.0.0.7", 5353), ("10.0.0.8", 54), ("::1", 53))
    resolver.read_resolv_conf(io.StringIO("nameserver 10.0.0.1\n"))
    assert nameserver_addresses(resolver) == (("10.0.0.1", 53),)
