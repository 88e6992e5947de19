"""An in-memory network for runner tests: fake probes with the real probes' signatures.

No sockets at all: DNS answers, handshake outcomes and fetch outcomes come from tables, and
every call is recorded (with its time) so tests can check what the runner did and when.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from reachcheck.config import Config, DohServer
from reachcheck.model import (
    DnsQuery,
    DnsResponse,
    HttpFetch,
    Observations,
    SiteResult,
    TcpConnect,
    TlsHandshake,
)
from reachcheck.runner.probeset import ProbeSet

SYSTEM = ("127.0.0.1", 5300)
PROBE = ("127.0.0.1", 5301)
INJECTION = ("127.0.0.2", 5302)
DOH_URL = "https://127.0.0.1:8443/dns-query"


def loopback_config(**changes: Any) -> Config:
    """A Config naming only loopback servers (the fakes never open sockets anyway)."""
    base: dict[str, Any] = dict(
        resolvers=(PROBE,),
        system_nameservers=(SYSTEM,),
        doh=(DohServer(DOH_URL, ("127.0.0.1",)),),
        injection_probe=INJECTION,
        benign_sni="benign.test",
        timeout=1.0,
        hold_on=0.0,
        ipv6=False,
        concurrency=8,
    )
    base.update(changes)
    return Config(**base)


@dataclass
class FakeNet:
    """Tables of outcomes plus a log of calls."""

    # name -> addresses; a name missing from `local` is NXDOMAIN for system/probe resolvers.
    local: dict[str, tuple[str, ...]] = field(default_factory=dict)
    control: dict[str, tuple[str, ...]] = field(default_factory=dict)
    injected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tls_errors: dict[tuple[str, str | None], str] = field(default_factory=dict)  # (addr, sni)
    tcp_errors: dict[str, str] = field(default_factory=dict)
    fetch_errors: dict[str, str] = field(default_factory=dict)  # address -> error
    fetch_raises: bool = False  # simulate a bug in the HTTP prober
    redirect_to: str | None = None  # a host every fetch "redirects" to (resolved via callback)
    resolved: dict[str, list[str]] = field(default_factory=dict)
    delay: float = 0.0  # seconds each TCP/TLS/HTTP call takes
    injection_wait: float = 0.0  # seconds before the injection probe's query gives up
    # name -> addresses of a second, later response to system/probe queries (hold-on sees it)
    late: dict[str, tuple[str, ...]] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    active: collections.Counter[str] = field(default_factory=collections.Counter)
    peak: collections.Counter[str] = field(default_factory=collections.Counter)
    built: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    closed: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ DNS

    async def query_udp(self, server, qname, qtype, role, *, timeout, hold_on, query_wire=None,
                        on_answer=None):
        resolver = f"udp:{server[0]}:{server[1]}"
        self.calls.append(("udp", role, qname, qtype, query_wire))
        self.times[resolver].append(time.monotonic())
        await asyncio.sleep(0)
        if role == "injection":
            await asyncio.sleep(self.injection_wait)  # a dropped query: it never answers
            if qname in self.injected:
                return _answer(resolver, role, "udp", qname, qtype, self.injected[qname])
            return DnsQuery(resolver, role, "udp", qname, qtype, timeout * 1000, error="timeout")
        if qname in self.local:
            query = _answer(resolver, role, "udp", qname, qtype, self.local[qname])
        else:
            query = _nx(resolver, role, "udp", qname, qtype)
        if on_answer is not None:
            on_answer(query)
        await asyncio.sleep(hold_on)  # the hold-on window after the first answer
        if qname in self.late:  # a second response within the window (the real answer)
            late = DnsResponse(arrived_ms=hold_on * 500, rcode="NOERROR",
                               addresses=self.late[qname])
            query = dataclasses.replace(query, responses=(*query.responses, late))
        return query

    def build_query(self, qname: str, qtype: str) -> bytes:
        self.built[(qname, qtype)] += 1
        return f"{qname}/{qtype}".encode()

    # ------------------------------------------------------------------ TCP / TLS

    async def _busy(self, address: str) -> None:
        self.active[address] += 1
        self.peak[address] = max(self.peak[address], self.active[address])
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active[address] -= 1

    async def tcp_connect(self, address, port, *, timeout, sources=()):
        self.calls.append(("tcp", address))
        await self._busy(address)
        error = self.tcp_errors.get(address)
        return TcpConnect(address, port, error is None, 1.0, error, sources)

    async def tls_handshake(self, address, port, sni, kind, contexts, *, timeout, clock_ms=None):
        self.calls.append(("tls", address, sni, kind))
        started = clock_ms() if clock_ms else None
        await self._busy(address)
        tcp_error = self.tcp_errors.get(address)
        tcp = TcpConnect(address, port, tcp_error is None, 1.0, tcp_error)
        error = tcp_error or self.tls_errors.get((address, sni))
        hs = TlsHandshake(address, port, sni, kind, error is None, 2.0, error, started_ms=started)
        return tcp, hs

    # ------------------------------------------------------------------ factories

    def probes(self) -> ProbeSet:
        return ProbeSet(
            query_udp=self.query_udp,
            tcp_connect=self.tcp_connect,
            tls_handshake=self.tls_handshake,
            system_nameservers=lambda: (),
            make_contexts=lambda ca: object(),
            make_doh=lambda server, contexts, config: FakeDoh(self, server),
            make_http=lambda contexts, config: FakeHttp(self),
            build_query=self.build_query,
        )


class FakeDoh:
    def __init__(self, net: FakeNet, server: DohServer) -> None:
        self.net, self.url = net, server.url

    async def query(self, qname: str, qtype: str) -> DnsQuery:
        self.net.calls.append(("doh", qname, qtype))
        self.net.times[self.url].append(time.monotonic())
        await asyncio.sleep(0)
        if qname in self.net.control:
            return _answer(self.url, "control", "doh", qname, qtype, self.net.control[qname])
        return _nx(self.url, "control", "doh", qname, qtype)

    async def aclose(self) -> None:
        self.net.closed.append(self.url)


class FakeHttp:
    def __init__(self, net: FakeNet) -> None:
        self.net = net

    async def fetch(self, url, domain, address, *, resolve):
        self.net.calls.append(("fetch", address, domain))
        await self.net._busy(address)
        if self.net.fetch_raises:
            raise RuntimeError("prober bug")
        if self.net.redirect_to is not None:
            self.net.resolved[self.net.redirect_to] = await resolve(self.net.redirect_to)
        error = self.net.tcp_errors.get(address) or self.net.fetch_errors.get(address)
        tls = None
        if url.startswith("https:") and address not in self.net.tcp_errors:
            tls_error = self.net.tls_errors.get((address, domain))
            tls = TlsHandshake(address, 443, domain, "target", tls_error is None, 2.0, tls_error)
            error = error or tls_error
        if error:
            return HttpFetch(url, address, ok=False, elapsed_ms=3.0, error=error, tls=tls)
        return HttpFetch(url, address, ok=True, elapsed_ms=3.0, status=200, tls=tls)

    async def aclose(self) -> None:
        self.net.closed.append("http")


def _answer(resolver, role, transport, qname, qtype, addresses) -> DnsQuery:
    response = DnsResponse(arrived_ms=1.0, rcode="NOERROR", addresses=tuple(addresses))
    return DnsQuery(resolver, role, transport, qname, qtype, 1.0, (response,), accepted=0)


def _nx(resolver, role, transport, qname, qtype) -> DnsQuery:
    response = DnsResponse(arrived_ms=1.0, rcode="NXDOMAIN")
    return DnsQuery(resolver, role, transport, qname, qtype, 1.0, (response,), accepted=0)


def stub_judge(obs: Observations) -> SiteResult:
    """Stands in for reachcheck.analysis.judge: 'accessible' when a fetch worked."""
    verdict = "accessible" if any(f.ok for f in obs.http) else "inconclusive"
    t = obs.target
    return SiteResult(
        target=t.given, domain=t.domain, url=t.url, verdict=verdict, confidence="none",
        anomalies=(), reason="stub", dns=obs.dns, tcp=obs.tcp, tls=obs.tls, http=obs.http,
        elapsed_ms=obs.elapsed_ms,
    )  # fmt: skip
