"""The censor's user-space half: an on-path DNS injector and the ISP's (lying) resolver.

Run inside the censor namespace: `python -m tests.lab.censor CONFIG.json`; prints `READY`.
(The kernel half, resets/drops/DNAT/residual blocking, is iptables, set by `tests.lab.netns`.)

Injector: an AF_PACKET socket on the client-facing veth sees each UDP query *before* the kernel
forwards it. For a listed name it sends a forged answer at once from a raw socket, with the
queried server's address as source, no EDNS and a fixed odd IP TTL, GFW-style. The query itself
goes on (unless an iptables rule drops it), so the real answer arrives later: the race that
hold-on detects. Queries to an address without DNS (the injection probe) get answered too.

Config: {"iface", "isp": {"address", "port", "zone"}, "inject": {name: [A...]}, "skip_dst": [ip]}
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import struct
import sys
from typing import Any

import dns.message

from tests.lab.dnsproto import answer, norm, serve_udp

log = logging.getLogger("rclab.censor")
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
FORGED_IP_TTL = 41  # unlike the real path's 62-63: the kind of fingerprint papers report


class Injector:
    """Sniffs DNS queries on one interface and races forged answers for listed names."""

    def __init__(self, iface: str, inject: dict[str, list[str]], skip_dst: set[str]) -> None:
        self.inject = {norm(k): v for k, v in inject.items()}
        self.skip_dst = skip_dst
        self.sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.sniff.bind((iface, ETH_P_IP))
        self.sniff.setblocking(False)
        # IPPROTO_RAW implies IP_HDRINCL: we write the (spoofed) IP header ourselves.
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.forged = 0

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self.sniff.fileno(), self._readable)

    def _readable(self) -> None:
        while True:
            try:
                frame, meta = self.sniff.recvfrom(65535)
            except BlockingIOError:
                return
            if meta[2] == PACKET_OUTGOING:
                continue
            try:
                self._packet(frame[14:])  # strip the Ethernet header (veth)
            except Exception as exc:  # never let one odd packet stop the injector
                log.debug("skipped packet: %s", exc)

    def _packet(self, ip: bytes) -> None:
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            return
        ihl = (ip[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        sport, dport = struct.unpack("!HH", ip[ihl : ihl + 4])
        if dport != 53 or dst in self.skip_dst:
            return
        query = dns.message.from_wire(ip[ihl + 8 :])
        if len(query.question) != 1:
            return
        name = norm(query.question[0].name.to_text())
        if name not in self.inject:
            return
        forged = self.inject[name]
        # Empty list = forged NXDOMAIN; otherwise the forged A records.
        wire = answer(query, {name: forged or None}, ttl=60, edns=False)
        udp = struct.pack("!HHHH", 53, sport, 8 + len(wire), 0) + wire  # checksum 0 = none
        hdr = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.randrange(65536), 0,
            FORGED_IP_TTL, socket.IPPROTO_UDP, 0, socket.inet_aton(dst), socket.inet_aton(src),
        )  # total length and header checksum are filled in by the kernel
        self.raw.sendto(hdr + udp, (src, 0))
        self.forged += 1


async def serve(config: dict[str, Any]) -> None:
    """Start the ISP resolver and the injector, announce READY, serve forever."""
    isp = config["isp"]
    await serve_udp(isp["address"], isp["port"], {norm(k): v for k, v in isp["zone"].items()})
    Injector(config["iface"], config["inject"], set(config.get("skip_dst", []))).start()
    print("READY", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str]) -> None:
    with open(argv[0]) as f:
        config = json.load(f)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main(sys.argv[1:])
