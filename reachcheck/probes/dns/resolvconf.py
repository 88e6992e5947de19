"""The system's nameservers, read by dnspython (resolv.conf, or the registry on Windows).

dnspython's resolv.conf reader gives up on the whole file for one undecodable byte, one address
it cannot parse or one bad `search` name, and raises when no nameserver is named; the C library
skips just the bad line. So the file is cleaned first (comments cut anywhere in a line, only the
`nameserver` lines whose address parses) and dnspython reads what is left; either way the
result is our rule: in order, deduplicated, the first three (glibc's MAXNS), port 53.
"""

from __future__ import annotations

import io
import ipaddress
import sys

import dns.exception
import dns.nameserver
import dns.resolver

RESOLV_CONF = "/etc/resolv.conf"
MAXNS = 3  # glibc uses the first three nameservers only (resolv.h MAXNS)


def system_nameservers(path: str = RESOLV_CONF) -> tuple[tuple[str, int], ...]:
    """The nameservers of resolv.conf (`path`) as (address, 53), in order, first three,
    deduplicated; on Windows those of the registry (`path` is not read there).

    Tolerates junk: comments (`#`, `;`), unknown keywords and invalid addresses are skipped;
    a missing or unreadable file, or one that names no usable nameserver, gives ().
    IPv6 link-local addresses keep their `%scope` (getaddrinfo understands it).
    """
    try:
        resolver = dns.resolver.Resolver(configure=False)
        if sys.platform == "win32":  # pragma: no cover - no resolv.conf there
            resolver.read_registry()
        else:
            cleaned = _nameserver_lines(path)
            if not cleaned:
                return ()  # dnspython would raise NoResolverConfiguration
            resolver.read_resolv_conf(io.StringIO(cleaned))
    except (dns.exception.DNSException, ValueError, OSError, NotImplementedError):
        return ()
    return nameserver_addresses(resolver)


def nameserver_addresses(resolver: dns.resolver.BaseResolver) -> tuple[tuple[str, int], ...]:
    """(address, port) of a dnspython resolver's plain-DNS nameservers, in order, deduplicated,
    the first `MAXNS`; DoH or other nameservers and anything not an IP address are skipped."""
    found: list[tuple[str, int]] = []
    for server in resolver.nameservers:
        if isinstance(server, str):
            address, port = server, resolver.nameserver_ports.get(server, resolver.port)
        elif isinstance(server, dns.nameserver.Do53Nameserver):
            address, port = server.address, server.port
        else:
            continue
        if not _is_ip(address) or (address, port) in found:
            continue
        found.append((address, port))
        if len(found) == MAXNS:
            break
    return tuple(found)


def _nameserver_lines(path: str) -> str:
    """The `nameserver` lines of the file whose address parses, comments cut ("" if none or
    the file cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return ""
    kept: list[str] = []
    for line in lines:
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver" and _is_ip(words[1]):
            kept.append(f"nameserver {words[1]}\n")
    return "".join(kept)


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)  # accepts IPv6 "%scope", rejects junk
    except ValueError:
        return False
    return True
