"""The probes the runner calls, gathered in one replaceable object.

This is the runner's test seam: tests hand `run()` a `ProbeSet` of fakes and check scheduling,
limits and the measurement plan without a socket; `default_probes()` binds the real modules
(imported lazily, so the runner imports cleanly even where a probe cannot be loaded). The
outside views (a control server's client, the user's proxy) are probes like the others: the
runner reaches them only through `make_control` / `make_proxy_view`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from reachcheck.config import Config, DohServer
from reachcheck.model import (
    ControlMeasurement,
    DnsQuery,
    DnsRole,
    HttpFetch,
    Target,
    TcpConnect,
    TlsHandshake,
)

if TYPE_CHECKING:  # the real contexts; fakes pass any object through (the runner never looks)
    from reachcheck.probes.tls import TlsContexts

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
    """`probes.dns.udp.query_udp`, or a mux's `query`."""

    async def __call__(
        self,
        server: Server,
        qname: str,
        qtype: str,
        role: DnsRole,
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
        kind: Literal["benign", "target"],
        contexts: TlsContexts,
        *,
        timeout: float,
        clock_ms: Callable[[], float] | None = None,
    ) -> tuple[TcpConnect, TlsHandshake]: ...


class SubmittedQuery(Protocol):
    """A query a mux started without a task (`probes.dns.mux.MuxQuery`)."""

    role: DnsRole
    on_answer: AnswerHook | None  # called once with the accepted answer (hold-on running)
    on_done: Callable[[], None] | None  # called once when the query is over

    @property
    def done(self) -> asyncio.Future[None]: ...

    def result(self) -> DnsQuery: ...

    def cancel(self) -> None: ...


class Mux(Protocol):
    """A shared-socket UDP multiplexer for DNS-only scans (`probes.dns.mux.UdpDnsMux`)."""

    async def open(self, servers: Iterable[Server]) -> None: ...

    async def query(
        self,
        server: Server,
        qname: str,
        qtype: str,
        role: DnsRole,
        *,
        timeout: float,
        hold_on: float,
        query_wire: bytes | None = None,
        on_answer: AnswerHook | None = None,
    ) -> DnsQuery: ...

    def submit(
        self,
        server: Server,
        qname: str,
        qtype: str,
        role: DnsRole,
        *,
        timeout: float,
        hold_on: float,
        query_wire: bytes | None = None,
    ) -> SubmittedQuery | None: ...

    async def aclose(self) -> None: ...


class OutsideView(Protocol):
    """A view of the site from outside the censor's reach: the control server's client
    (`control.client.ControlClient`, `--control`) or the user's proxy
    (`vantage.proxy.ProxyVantage`, `--via`). `measure` never raises for network failures."""

    @property
    def measures_control_addresses(self) -> bool:
        """Whether it wants the DoH controls' answers too, besides the probe's own."""
        ...

    async def measure(self, target: Target, addresses: list[str]) -> ControlMeasurement: ...

    async def aclose(self) -> None: ...


# (config, contexts, timeout of one site's measurement) -> the outside view of the run.
OutsideViewFactory = Callable[[Config, "TlsContexts", float], OutsideView]


@dataclass(frozen=True, slots=True)
class ProbeSet:
    """Every probe entry point the runner uses; fields mirror ARCHITECTURE.md's contracts."""

    query_udp: QueryUdp
    tcp_connect: TcpConnectFn
    tls_handshake: TlsHandshakeFn
    system_nameservers: Callable[[], tuple[Server, ...]]
    make_contexts: Callable[[str | None], TlsContexts]
    make_doh: Callable[[DohServer, TlsContexts, Config], DohLike]
    make_http: Callable[[TlsContexts, Config], HttpLike]
    # Builds a query's wire form once per (name, type); None = let query_udp build it.
    build_query: Callable[[str, str], bytes] | None = None
    # Optional shared-socket UDP multiplexer for DNS-only scans: make_mux(config, outstanding)
    # returns a `Mux` (or None when unavailable); `outstanding` caps its queries awaiting a
    # first answer.
    make_mux: Callable[[Config, int], Mux | None] | None = None
    # default_route_tun(towards_ip) -> the tun device carrying the route there, or None
    # (probes/route.py); None = not looked at (tests).
    default_route_tun: Callable[[str | None], str | None] | None = None
    # The outside views: the control server's client (config.control) and the user's proxy
    # (config.via). None = this probe set has none (fakes).
    make_control: OutsideViewFactory | None = None
    make_proxy_view: OutsideViewFactory | None = None


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

    def make_doh(server: DohServer, contexts: TlsContexts, config: Config) -> DohLike:
        from reachcheck.probes.dns import doh  # h11/h2: loaded only by runs with a DoH control

        return doh.DohClient(server.url, server.bootstrap, contexts.verified, config.timeout)

    def make_http(contexts: TlsContexts, config: Config) -> HttpLike:
        from reachcheck.probes import http  # httpx: loaded only by runs that fetch pages

        return http.HttpProber(
            contexts,
            timeout=config.timeout,
            body_cap=config.body_cap,
            max_redirects=config.max_redirects,
        )

    def make_control(config: Config, contexts: TlsContexts, timeout: float) -> OutsideView:
        from reachcheck.control.client import ControlClient  # httpx: only with --control

        assert config.control is not None
        return ControlClient(config.control, config.control_token, ca_bundle=config.ca_bundle,
                             timeout=timeout)

    def make_proxy_view(config: Config, contexts: TlsContexts, timeout: float) -> OutsideView:
        from reachcheck.vantage.proxy import ProxyVantage  # python-socks: only with --via

        assert config.via is not None
        return ProxyVantage(config.via, contexts, config)  # paced by config.timeout itself

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
        make_control=make_control,
        make_proxy_view=make_proxy_view,
    )
