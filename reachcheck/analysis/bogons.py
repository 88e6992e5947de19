"""Special-purpose address ranges (RFC 6890 and the IANA registries): answers no public name has.

A DNS answer in one of these ranges for a public name is a classic forged reply (Iran's 10.10.34.34,
GFW's Teredo AAAA answers, 127.0.0.1 sinkholes). Addresses that embed an IPv4 address (6to4,
NAT64, IPv4-mapped) are judged by the embedded address: a DNS64 resolver legitimately returns
64:ff9b::/96 answers for public hosts.

Labs and test networks use special-purpose space for "public" hosts (198.18.0.0/15, 10.0.0.0/8):
`public_ranges` (from `--public-range`) exempts such ranges. It is an argument, never global
state, so the analysis stays a pure function of its inputs.
"""

from __future__ import annotations

import functools
import ipaddress

_V4 = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link local
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # TEST-NET-1
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",  # TEST-NET-3
    "224.0.0.0/4",  # multicast: never a web server
    "240.0.0.0/4",  # reserved, includes 255.255.255.255
)
_V6 = (
    "::/96",  # unspecified, loopback, deprecated IPv4-compatible
    "100::/64",  # discard-only
    "2001::/32",  # Teredo: every forged AAAA GFWatch saw was here
    "2001:2::/48",  # benchmarking
    "2001:10::/28",  # ORCHID
    "2001:20::/28",  # ORCHIDv2
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 SIDs
    "fc00::/7",  # unique local
    "fe80::/10",  # link local
    "ff00::/8",  # multicast
)
_V4_NETS = tuple(ipaddress.IPv4Network(n) for n in _V4)
_V6_NETS = tuple(ipaddress.IPv6Network(n) for n in _V6)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@functools.lru_cache(maxsize=64)
def public_networks(public_ranges: tuple[str, ...]) -> Networks:
    """The parsed `public_ranges` (CIDR, host bits allowed); ValueError names a bad one."""
    nets = []
    for text in public_ranges:
        try:
            nets.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP network (CIDR)") from None
    return tuple(nets)


def _exempt(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
            public_ranges: tuple[str, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in public_networks(public_ranges))


@functools.lru_cache(maxsize=4096)
def is_bogon(addr: str, public_ranges: tuple[str, ...] = ()) -> bool:
    """True if `addr` is in a special-purpose range no public host uses; False if unparsable
    or inside one of `public_ranges` (CIDR strings treated as public: labs, test networks)."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if public_ranges and _exempt(ip, public_ranges):
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in _V4_NETS)
    if ip.ipv4_mapped is not None:
        return is_bogon(str(ip.ipv4_mapped), public_ranges)
    if ip.sixtofour is not None:
        # 6to4 is a working (if deprecated) transition mechanism: bogus only around a bogus IPv4.
        return is_bogon(str(ip.sixtofour), public_ranges)
    if any(ip in net for net in _NAT64):
        return is_bogon(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)), public_ranges)
    if any(ip in net for net in _V6_NETS):
        return True
    return ip not in _GLOBAL_UNICAST
