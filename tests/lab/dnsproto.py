"""DNS answering shared by the lab's world resolvers, DoH server and the censor's ISP resolver."""

from __future__ import annotations

import asyncio
import logging

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# name -> A records; a name mapped to None (or absent) does not exist (NXDOMAIN).
Zone = dict[str, list[str] | None]

log = logging.getLogger("rclab.dns")


def norm(name: str) -> str:
    """Lower case, no trailing dot: the zone's key form."""
    return name.lower().rstrip(".")


def answer(query: dns.message.Message, zone: Zone, *, ttl: int = 300, edns: bool = True) -> bytes:
    """The wire response to `query` from `zone` (A records only; AAAA is NOERROR/empty: the lab
    is IPv4-only). `edns=False` drops the OPT record, as on-path forgers typically do."""
    resp = dns.message.make_response(query)
    resp.flags |= dns.flags.RA
    if not edns:
        resp.use_edns(False)
    q = query.question[0]
    addrs = zone.get(norm(q.name.to_text()))
    if addrs is None:
        resp.set_rcode(dns.rcode.NXDOMAIN)
    elif q.rdtype == dns.rdatatype.A and addrs:
        resp.answer.append(dns.rrset.from_text_list(q.name, ttl, "IN", "A", addrs))
    return resp.to_wire()


class UdpDnsServer(asyncio.DatagramProtocol):
    """A tiny authoritative-ish resolver answering from a zone, optionally after a delay (a
    resolver far away), so on-path forgeries reliably win the race as they do in the field."""

    def __init__(self, zone: Zone, delay_ms: float = 0.0) -> None:
        self.zone = zone
        self.delay = delay_ms / 1000.0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
            if len(query.question) != 1:
                return
            wire = answer(query, self.zone)
        except Exception as exc:  # a malformed query must not kill the server
            log.debug("bad query from %s: %s", addr, exc)
            return
        assert self.transport is not None
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, wire, addr)
        else:
            self.transport.sendto(wire, addr)


async def serve_udp(address: str, port: int, zone: Zone, delay_ms: float = 0.0) -> None:
    """Bind a `UdpDnsServer` (returns once bound; it serves until the loop stops)."""
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: UdpDnsServer(zone, delay_ms), local_addr=(address, port)
    )
