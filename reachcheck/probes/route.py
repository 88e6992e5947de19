"""Is the default route a tun device? (a VPN, or a proxy's TUN mode: Clash/Mihomo, sing-box)

Two looks, neither sends a packet:
1. the main routing table (`/proc/net/route`): the interface of the default route;
2. the kernel's route lookup towards the address the run measures against (connecting a UDP
   socket sends nothing): proxies in TUN mode often route through a table of their own (policy
   routing), which the main table does not show. The source address the kernel picks names
   the interface.
An interface is a tun device when sysfs says so (`/sys/class/net/IF/tun_flags`, present for
tun/tap devices only). Linux only; anywhere else (or on any error) the answer is None.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

PROC_ROUTE = "/proc/net/route"
SYS_NET = "/sys/class/net"
_SIOCGIFADDR = 0x8915


def default_route_interfaces(route_table: str) -> list[str]:
    """Interfaces of the default routes in `/proc/net/route` text (destination and mask 0)."""
    out: list[str] = []
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            out.append(fields[0])
    return out


def is_tun(interface: str, sys_net: str = SYS_NET) -> bool:
    """The interface is a tun/tap device."""
    return os.path.exists(os.path.join(sys_net, interface, "tun_flags"))


def default_route_tun(towards: str | None = None) -> str | None:
    """The tun device the default route (or the route towards `towards`, an IP) goes
    through, or None."""
    try:
        with open(PROC_ROUTE) as fh:
            table = fh.read()
    except OSError:
        table = ""
    candidates = default_route_interfaces(table)
    if towards is not None:
        via = _interface_towards(towards)
        if via is not None:
            candidates.insert(0, via)
    return next((i for i in candidates if is_tun(i)), None)


def _interface_towards(address: str) -> str | None:
    """The interface whose IPv4 address the kernel picks as source towards `address`."""
    if ":" in address:
        return None  # IPv4 lookups only: SIOCGIFADDR has no IPv6 form
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((address, 53))  # UDP: a route lookup, no packet
            source = s.getsockname()[0]
            for _, name in socket.if_nameindex():
                packed = struct.pack("256s", name.encode()[:15])
                try:
                    raw = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, packed)
                except OSError:
                    continue
                if socket.inet_ntoa(raw[20:24]) == source:
                    return name
    except OSError:
        return None
    return None
