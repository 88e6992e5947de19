"""The probes the runner calls, gathered in one replaceable object.

This is the runner's test seam: tests hand `run()` a `ProbeSet` of fakes and check scheduling,
limits and the measurement plan without a socket; `default_probes()` binds the real modules
(imported lazily, so the runner imports cleanly even where a probe cannot be loaded).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from reachcheck.config import Config, DohServer
from reachcheck.model import DnsQuery, HttpFetch, TcpConnect, TlsHandshake

Server = tuple[str, int]
QType = Literal["A", "AAAA"]
ResolveFn = Callable[[str], Awaitable[list[str]]]
# Called once with a UDP query as it stands when its first answer is accepted (hold-on running).
AnswerHook = Callable[[DnsQuery], None]


class DohLike(Protocol):
    """What the runner needs of a DoH client (`probes.dns.doh.DohClient`)."""

    async def query(self, qname: str, qtype: QType) -> DnsQuery: ...

    async def aclose(self) -> None: ...


class HttpLike(Protocol):
    """What the runner needs of an HTTP prober (`probes.http.HttpProber`)."""

    async def fetch(
        self, url: str, domain: str, address: str, *, resolve: ResolveFn
    ) -> HttpFetch: ...

    async def aclose(self) -> None: ...


class QueryUdp(Protocol):
    async def __call__(
        self,
        server: Server,
        qname: str,
        qtype: str,
        role: Any,
        *,
        timeout: float,
        hold_on: float,
        query_wire: bytes | None = None,
        on_answer: AnswerHook | None = None,
    ) -> DnsQuery: ...


class TcpConnectFn(Protocol):
    async def __call__(
        self, address: str, port: int, *, timeout: float, sources: tuple[str, ...] = ()
    ) -> TcpConnect: ...


class TlsHandshakeFn(Protocol):
    async def __call__(
        self,
        address: str,
        port: int,
        sni: str | None,
        kind: Any,
        contexts: Any,
        *,
        timeout: float,
        clock_ms: Callable[[], float] | None = None,
    ) -> tuple[TcpConnect, TlsHandshake]: ...


@dataclass(frozen=True, slots=True)
class ProbeSet:
    """Every probe entry point the runner uses; fields mirror ARCHITECTURE.md's contracts."""

    query_udp: QueryUdp
    tcp_connect: TcpConnectFn
    tls_handshake: TlsHandshakeFn
    system_nameservers: Callable[[], tuple[Server, ...]]
    make_contexts: Callable[[str | None], Any]
    make_doh: Callable[[DohServer, Any, Config], DohLike]
    make_http: Callable[[Any, Config], HttpLike]
    # Builds a query's wire form once per (name, type); None = let query_udp build it.
    build_query: Callable[[str, str], bytes] | None = None
    # Optional shared-socket UDP multiplexer for DNS-only scans: make_mux(config, outstanding)
    # returns an object with `async query(server, qname, qtype, role, *, timeout, hold_on,
    # query_wire, on_answer)` and `async aclose()` (or None when unavailable); `outstanding`
    # caps its queries awaiting a first answer.
    make_mux: Callable[[Config, int], Any] | None = None
    # default_route_tun(towards_ip) -> the tun device carrying the route there, or None
    # (probes/route.py); None = not looked at (tests).
    default_route_tun: Callable[[str | None], str | None] | None = None


def default_probes() -> ProbeSet:
    """The real probes (reachcheck.probes.*)."""
    from reachcheck.probes import route, tcp, tls
    from reachcheck.probes.dns import mux, resolvconf, udp

    build_query: Callable[[str, str], bytes] | None = None
    try:
        from reachcheck.probes.dns import wire

        build_query = wire.build_query
    except ImportError:
        pass

    def make_doh(server: DohServer, contexts: Any, config: Config) -> DohLike:
        from reachcheck.probes.dns import doh  # h11/h2: loaded only by runs with a DoH control

        return doh.DohClient(server.url, server.bootstrap, contexts.verified, config.timeout)

    def make_http(contexts: Any, config: Config) -> HttpLike:
        from reachcheck.probes import http  # httpx: loaded only by runs that fetch pages

        return http.HttpProber(
            contexts,
            timeout=config.timeout,
            body_cap=config.body_cap,
            max_redirects=config.max_redirects,
        )

    return ProbeSet(
        query_udp=udp.query_udp,
        tcp_connect=tcp.tcp_connect,
        tls_handshake=tls.tls_handshake,
        system_nameservers=resolvconf.system_nameservers,
        make_contexts=tls.TlsContexts.create,
        make_doh=make_doh,
        make_http=make_http,
        build_query=build_query,
        # The runner paces queries per resolver itself (config.rate), so the mux does not.
        make_mux=lambda config, outstanding: mux.UdpDnsMux(
            rate=None, max_outstanding=outstanding
        ),
        default_route_tun=route.default_route_tun,
    )
