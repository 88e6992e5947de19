"""DNS over UDP with hold-on, one *connected* socket per query (see `exchange` for hold-on).

`query_udp` is the simple default path: an ICMP port-unreachable arrives at once as
ConnectionRefusedError (error "refused"). `mux.UdpDnsMux` shares a few sockets among thousands
of queries for large DNS-only scans, with the same helpers from here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from reachcheck.model import DnsQuery, DnsRole
from reachcheck.probes.dns.exchange import DNS_ATTEMPTS, Exchange, random_id, udp_error_name
from reachcheck.probes.dns.wire import build_query


def resolver_label(server: tuple[str, int]) -> str:
    """`udp:IP:PORT`, with IPv6 in brackets: `udp:[::1]:53`."""
    host, port = server
    return f"udp:[{host}]:{port}" if ":" in host else f"udp:{host}:{port}"


@lru_cache(maxsize=1024)
def sockaddr(server: tuple[str, int]) -> tuple[int, tuple[Any, ...]]:
    """(family, sockaddr) of a numeric server address; never does a DNS lookup (cached: a
    scan asks the same few servers thousands of times)."""
    host, port = server
    family, _, _, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST
    )[0]
    return family, addr


class _Connected(asyncio.DatagramProtocol):
    """Feeds one Exchange from a connected socket (only the server's datagrams arrive)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.exchange.feed(data)

    def error_received(self, exc: Exception) -> None:
        self.exchange.fail(exc)


def failed_query(resolver: str, role: DnsRole, qname: str, qtype: str, exc: OSError) -> DnsQuery:
    """The query could not even be sent (bad address, no route, no socket)."""
    error = udp_error_name(exc)
    return DnsQuery(resolver, role, "udp", qname, qtype, 0.0, error=error)  # type: ignore[arg-type]


def check_qtype(qtype: str) -> None:
    """The probes ask A and AAAA only; anything else is a programming error (ValueError)."""
    if qtype not in ("A", "AAAA"):
        raise ValueError(f"unsupported query type {qtype!r}")


async def query_udp(
    server: tuple[str, int],
    qname: str,
    qtype: str,
    role: DnsRole,
    *,
    timeout: float,
    hold_on: float,
    query_wire: bytes | None = None,
    on_answer: Callable[[DnsQuery], None] | None = None,
    attempts: int = DNS_ATTEMPTS,
) -> DnsQuery:
    """Ask `server` (numeric IP, port) for (qname, qtype) over UDP and record every response.

    Never raises for network failures: `error` is "timeout", "refused" (ICMP port unreachable,
    seen at once thanks to the connected socket), "unreachable", "dns_malformed" (only garbage
    came) or "error". `query_wire` is a prebuilt `build_query(qname, qtype)` (its id is
    replaced), so big runs build each query once. `on_answer`, if given, is called once with
    the query as it stands when the first well-formed response is accepted (the hold-on
    window still running), or when the first attempt expired silent (nothing to act on; the
    retry goes on): callers can act early, while the returned DnsQuery (after the window)
    holds every response. A timeout is retried (up to `attempts` exchanges in all, with a
    pause between them) before it counts.
    """
    check_qtype(qtype)
    wire = query_wire if query_wire is not None else build_query(qname, qtype)
    loop = asyncio.get_running_loop()
    resolver = resolver_label(server)
    sock: socket.socket | None = None
    transport: asyncio.DatagramTransport | None = None
    exchange = Exchange(
        wire,
        qname,
        qtype,
        timeout=timeout,
        hold_on=hold_on,
        alloc_id=random_id,
        send=lambda data: transport.sendto(data) if transport is not None else None,
        retransmit=role != "injection",
        # The injection probe runs no DNS service: its silence is the normal case.
        attempts=attempts if role != "injection" else 1,
    )
    try:
        family, addr = sockaddr(server)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(addr)  # UDP connect only sets the peer: no packet, no wait
        transport, _ = await loop.create_datagram_endpoint(lambda: _Connected(exchange), sock=sock)
        sock = None  # the transport owns it now
    except OSError as exc:
        if sock is not None:
            sock.close()
        return failed_query(resolver, role, qname, qtype, exc)
    if on_answer is not None:
        told = False

        def tell() -> None:
            # Once: at the accepted answer, or when the first attempt expired (the retry goes
            # on; its answer is in the returned DnsQuery, but no caller waits for it).
            nonlocal told
            if not told:
                told = True
                on_answer(exchange.result(resolver, role))

        exchange.on_answer = tell
        exchange.on_retry = tell
    try:
        exchange.start()
        await exchange.done
    finally:
        exchange.finish()  # cancels the timers when we are cancelled
        transport.close()
    return exchange.result(resolver, role)
