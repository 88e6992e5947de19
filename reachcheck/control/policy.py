"""Which addresses the control server agrees to connect to (its SSRF guard).

A control server on the internet measures URLs chosen by its clients. Without a guard, a client
could make it connect into the server's own network (loopback admin ports, a cloud metadata
service, the LAN) and read the answers back in the measurement. So by default only globally
routable unicast addresses are measured; `--allow-private` lifts this for labs and tests.

Pure: no IO. Addresses that embed an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged
by the embedded address too, since the kernel or a gateway would deliver them there.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Special-purpose blocks (RFC 6890 and successors) that Python's `is_global` still calls global.
_EXTRA_DENIED: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("192.88.99.0/24"),  # deprecated 6to4 relay anycast
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches whatever IPv4 it embeds
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)


def parse_ip(text: str) -> IPAddress | None:
    """The address in `text` (no zone ids, no brackets), or None if it is not one."""
    if "%" in text:  # scoped IPv6 (fe80::1%eth0) is link-local anyway; refuse to parse it
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _EXTRA_DENIED[2]:  # NAT64 well-known prefix: the last 32 bits
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why the control server must not connect to `address`, or None when it may.

    Refused: anything not a valid IP, private, loopback, link-local, multicast, reserved,
    unspecified, shared (CGN), documentation/benchmark ranges and other special-purpose blocks.
    """
    ip = parse_ip(address) if isinstance(address, str) else address
    if ip is None:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = refusal_reason(inner)
            if why is not None:
                return f"{ip} embeds {inner}: {why}"
    for label, flag in (
        ("a loopback", ip.is_loopback),
        ("the unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
    ):
        if flag:
            return f"{ip} is {label} address"
    if not ip.is_global or any(ip.version == n.version and ip in n for n in _EXTRA_DENIED):
        return f"{ip} is a special-purpose address"
    return None


def is_public(address: str | IPAddress) -> bool:
    """True when the address is globally routable unicast (safe for the server to contact)."""
    return refusal_reason(address) is None
