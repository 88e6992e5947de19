"""What one run shares across its sites: probes, TLS contexts, DoH clients, the HTTP prober,
the outside view, the per-address and per-resolver limits, the benign-handshake cache, the
residual tracker and memory, the page clusters and the judge.

Rules: everything expensive to build (contexts, DoH connections) is built once per run; every
per-address fact (the benign handshake) is measured once per run; nothing here keeps per-site
results, so memory stays flat however long the list is. One site's check is `site.py`.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from reachcheck import analysis
from reachcheck.config import Config
from reachcheck.model import Observations, SiteResult, TcpConnect, TlsHandshake
from reachcheck.runner.clusters import PageClusters
from reachcheck.runner.dns import Resolvers
from reachcheck.runner.limits import AddressLimiter, RateLimiter, ResidualTracker
from reachcheck.runner.memory import ResidualMemory
from reachcheck.runner.probeset import (
    DohLike,
    HttpLike,
    Mux,
    OutsideView,
    ProbeSet,
    Server,
)

if TYPE_CHECKING:  # the probes load lazily (probeset.default_probes)
    from reachcheck.probes.tls import TlsContexts

# Addresses whose benign handshake is remembered (LRU). Bounded because an entry holds a
# certificate (CDN certificates list hundreds of names, tens of KB each): CDN addresses repeat
# within a short stretch of a list (and an LRU keeps the hot ones), so a thousand recent
# addresses cover long lists while the cache stays small next to the sites in flight.
BENIGN_CACHE_SIZE = 1024
# Queries awaiting a first answer in the DNS-only resolvers' mux, and in the injection
# probe's (those normally never answer: 2 s each at thousands of names/s).
MUX_OUTSTANDING = 256
INJECTION_MUX_OUTSTANDING = 65536


def site_deadline(config: Config) -> float:
    """Backstop for one whole site: DNS, benign and target handshakes (a failed verification
    costs a second one), a fetch and a fallback fetch, each under config.timeout, plus slack."""
    return 12 * config.timeout + config.hold_on + 5.0


class Session:
    """Shared state of one run. Use as `async with Session(config, probes) as s:`; `__aexit__`
    also cleans up after a failed `__aenter__`."""

    def __init__(
        self,
        config: Config,
        probes: ProbeSet,
        *,
        judge: Callable[[Observations], SiteResult] | None = None,
    ) -> None:
        self.config = config
        self.probes = probes
        # The analysis, bound to the run's ranges (tests inject a stub).
        self.judge: Callable[[Observations], SiteResult] = judge or functools.partial(
            analysis.judge, public_ranges=config.public_ranges,
            fake_ip_pools=config.fake_ip_pools,
        )
        self.deadline = site_deadline(config)
        self.addresses = AddressLimiter(config.per_address)
        self.rate = RateLimiter(config.rate)
        self.residual = ResidualTracker(config.residual_window)
        self.memory: ResidualMemory | None = None  # triggers of earlier runs (memory.py)
        self.clusters = PageClusters()  # page key -> domains that served it (clusters.py)
        self._wall0 = 0.0
        self.contexts: TlsContexts | None = None
        self.doh: tuple[tuple[str, DohLike], ...] = ()
        self.http: HttpLike | None = None
        self.mux: Mux | None = None
        self.injection_mux: Mux | None = None
        self.control: OutsideView | None = None  # --control's server or --via's proxy
        self.default_route_tun: str | None = None  # the tun device carrying the default route
        self.system: tuple[Server, ...] = ()
        self._resolvers: Resolvers | None = None
        self._benign: collections.OrderedDict[
            tuple[str, int], asyncio.Future[tuple[TcpConnect, TlsHandshake]]
        ] = collections.OrderedDict()
        self._t0 = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Session:
        cfg, probes = self.config, self.probes
        self._t0 = asyncio.get_running_loop().time()
        self._wall0 = time.time()
        if cfg.residual_memory and not self.dns_only:
            self.memory = ResidualMemory(cfg.residual_window)
            # Only recalled where the benign handshake shows the penalty still on (site.py):
            # a fresh reset after the penalty ended is fresh evidence, not a leftover.
            self.memory.load(self._wall0)
        if cfg.system_nameservers is not None:
            self.system = tuple(cfg.system_nameservers)
        elif cfg.system_resolver:
            self.system = tuple(probes.system_nameservers())
        if probes.default_route_tun is not None:
            # Towards what the run measures against: a resolver's address (no packet sent).
            towards = next(iter([*cfg.resolvers, *self.system]), None)
            self.default_route_tun = probes.default_route_tun(towards[0] if towards else None)
        if self.dns_only and probes.make_mux is not None:
            # Big DNS-only scans: shared sockets instead of a socket per query. The injection
            # probe gets its own mux: its queries normally never answer, so in the resolvers'
            # mux they would fill the cap on queries awaiting an answer (2 s each) and hold
            # back the real resolvers' queries; they load no resolver, so their cap is loose.
            self.mux = probes.make_mux(cfg, MUX_OUTSTANDING)
            if cfg.injection_probe is not None:
                self.injection_mux = probes.make_mux(cfg, INJECTION_MUX_OUTSTANDING)
            # Open the shared sockets now: `submit` (no task per query) needs them.
            if self.mux is not None:
                await self.mux.open([*self.system, *cfg.resolvers])
            if self.injection_mux is not None and cfg.injection_probe is not None:
                await self.injection_mux.open([cfg.injection_probe])
        if cfg.doh or not self.dns_only:  # else nothing here speaks TLS
            self._enter_tls(probes.make_contexts(cfg.ca_bundle))
        self._resolvers = self._dns_resolvers()
        return self

    def _enter_tls(self, contexts: TlsContexts) -> None:
        cfg, probes = self.config, self.probes
        self.contexts = contexts
        # One DoH client (one connection) per server for the whole run. Built one by one so
        # that __aexit__ closes those already made if a later one fails.
        for server in cfg.doh:
            self.doh += ((server.url, probes.make_doh(server, contexts, cfg)),)
        if "http" in cfg.stages:
            self.http = probes.make_http(contexts, cfg)
        if self.dns_only:
            return
        # The outside view: the user's proxy (--via), else a control server (--control). Its
        # measurement of a site must end within the site's deadline.
        make = probes.make_proxy_view if cfg.via else probes.make_control if cfg.control else None
        if make is not None:
            self.control = make(cfg, contexts, max(10.0, self.deadline - 2.0))

    async def __aexit__(self, *exc: object) -> None:
        if self.memory is not None:
            self.memory.save()
        for fut in self._benign.values():
            fut.cancel()
        self._benign.clear()
        closers = [c.aclose() for _, c in self.doh]
        if self.http is not None:
            closers.append(self.http.aclose())
        for mux in (self.mux, self.injection_mux):
            if mux is not None:
                closers.append(mux.aclose())
        if self.control is not None:
            closers.append(self.control.aclose())
        await asyncio.gather(*closers, return_exceptions=True)

    # ------------------------------------------------------------------ helpers

    @property
    def dns_only(self) -> bool:
        return not ({"tcp", "tls", "http"} & set(self.config.stages))

    @property
    def resolvers(self) -> Resolvers:
        """What the DNS stage needs of the run (once the session is entered)."""
        if self._resolvers is None:
            raise RuntimeError("the session is not entered")
        return self._resolvers

    def _dns_resolvers(self) -> Resolvers:
        """What the DNS stage needs: the resolvers and how to ask them (a mux's `query`, and
        its task-free `submit` where no per-resolver rate applies, in DNS-only runs)."""
        cfg = self.config
        injection_mux = self.injection_mux if self.injection_mux is not None else self.mux
        unlimited = self.rate.unlimited
        return Resolvers(
            system=self.system,
            probe=tuple(cfg.resolvers),
            injection_probe=cfg.injection_probe,
            doh=self.doh,
            timeout=cfg.timeout,
            hold_on=cfg.hold_on,
            ipv6=cfg.ipv6,
            rate=self.rate,
            clock_ms=self.clock_ms,
            udp=self.mux.query if self.mux is not None else self.probes.query_udp,
            injection_udp=(injection_mux.query if injection_mux is not None
                           else self.probes.query_udp),
            submit=self.mux.submit if self.mux is not None and unlimited else None,
            injection_submit=(injection_mux.submit if injection_mux is not None and unlimited
                              else None),
            build_query=self.probes.build_query,
        )

    def clock_ms(self) -> float:
        """Milliseconds since the run started (the `started_ms` clock of handshakes)."""
        return (asyncio.get_running_loop().time() - self._t0) * 1000.0

    def benign(
        self,
        address: str,
        port: int,
        measure: Callable[[], Awaitable[tuple[TcpConnect, TlsHandshake]]],
    ) -> asyncio.Future[tuple[TcpConnect, TlsHandshake]]:
        """The benign-SNI handshake of (address, port), measured once per run.

        The measurement runs as its own task so that a site cancelled while waiting (deadline,
        interrupt) does not cancel it for the other sites sharing the address; callers await it
        through `asyncio.shield`.
        """
        key = (address, port)
        fut = self._benign.get(key)
        if fut is not None and not fut.cancelled():
            self._benign.move_to_end(key)
            return fut
        fut = asyncio.ensure_future(measure())
        self._benign[key] = fut
        while len(self._benign) > BENIGN_CACHE_SIZE:
            old_key, old = self._benign.popitem(last=False)
            if not old.done():
                # Still being measured for someone: keep it (re-insert at the young end).
                self._benign[old_key] = old
                break
        return fut
