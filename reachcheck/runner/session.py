"""What one run shares across its sites: probes, TLS contexts, DoH clients, the HTTP prober,
the per-address and per-resolver limits, the benign-handshake cache and the residual tracker.

Rules: everything expensive to build (contexts, DoH connections) is built once per run; every
per-address fact (the benign handshake) is measured once per run; nothing here keeps per-site
results, so memory stays flat however long the list is.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from reachcheck.config import Config
from reachcheck.model import (
    ControlMeasurement,
    DnsQuery,
    HttpFetch,
    Observations,
    OwnTrigger,
    SiteResult,
    Target,
    TcpConnect,
    TlsHandshake,
)
from reachcheck.runner.clusters import PageClusters
from reachcheck.runner.limits import AddressLimiter, RateLimiter, ResidualTracker
from reachcheck.runner.memory import ResidualMemory
from reachcheck.runner.probeset import DohLike, HttpLike, ProbeSet, QueryUdp

DEFAULT_RESIDUAL_WINDOW = 180.0
# Addresses whose benign handshake is remembered (LRU). Bounded because an entry holds a
# certificate (CDN certificates list hundreds of names, tens of KB each): CDN addresses repeat
# within a short stretch of a list (and an LRU keeps the hot ones), so a thousand recent
# addresses cover long lists while the cache stays small next to the sites in flight.
BENIGN_CACHE_SIZE = 1024
# Queries awaiting a first answer in the DNS-only resolvers' mux, and in the injection
# probe's (those normally never answer: 2 s each at thousands of names/s).
MUX_OUTSTANDING = 256
INJECTION_MUX_OUTSTANDING = 65536


@dataclasses.dataclass(slots=True)
class Recorder:
    """The observations of one site as they arrive, so a site cut off by its deadline still
    reports what was measured."""

    target: Target
    dns: list[DnsQuery] = dataclasses.field(default_factory=list)
    tcp: list[TcpConnect] = dataclasses.field(default_factory=list)
    tls: list[TlsHandshake] = dataclasses.field(default_factory=list)
    http: list[HttpFetch] = dataclasses.field(default_factory=list)
    control: ControlMeasurement | None = None
    cleartext: list[HttpFetch] = dataclasses.field(default_factory=list)
    own_triggers: list[OwnTrigger] = dataclasses.field(default_factory=list)

    def observations(self, elapsed_ms: float) -> Observations:
        return Observations(
            target=self.target,
            dns=tuple(self.dns),
            tcp=tuple(self.tcp),
            tls=tuple(self.tls),
            http=tuple(self.http),
            control=self.control,
            elapsed_ms=elapsed_ms,
            cleartext_fetches=tuple(self.cleartext),
            own_triggers=tuple(self.own_triggers),
        )


def inconclusive(target: Target, reason: str, obs: Observations | None = None) -> SiteResult:
    """A result for a site whose check could not finish: never a verdict by accident."""
    return SiteResult(
        target=target.given,
        domain=target.domain,
        url=target.url,
        verdict="inconclusive",
        confidence="none",
        anomalies=(),
        reason=reason,
        dns=obs.dns if obs else (),
        tcp=obs.tcp if obs else (),
        tls=obs.tls if obs else (),
        http=obs.http if obs else (),
        control=obs.control if obs else None,
        elapsed_ms=obs.elapsed_ms if obs else 0.0,
        summary="The check could not be completed.",
        cleartext_fetches=obs.cleartext_fetches if obs else (),
        own_triggers=obs.own_triggers if obs else (),
        page_clusters=obs.page_clusters if obs else (),
    )


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
        self.judge = judge  # None = reachcheck.analysis.judge (tests inject a stub)
        self.deadline = site_deadline(config)
        self.addresses = AddressLimiter(config.per_address)
        self.rate = RateLimiter(config.rate)
        window = getattr(config, "residual_window", DEFAULT_RESIDUAL_WINDOW)
        self.residual = ResidualTracker(window)
        self.memory: ResidualMemory | None = None  # triggers of earlier runs (memory.py)
        self.clusters = PageClusters()  # page key -> domains that served it (clusters.py)
        self._wall0 = 0.0
        self.contexts: Any = None
        self.doh: tuple[tuple[str, DohLike], ...] = ()
        self.http: HttpLike | None = None
        self.mux: Any = None
        self.injection_mux: Any = None
        self.control: Any = None  # ControlClient (--control) or ProxyVantage (--via)
        self.default_route_tun: str | None = None  # the tun device carrying the default route
        self.system: tuple[tuple[str, int], ...] = ()
        self._benign: collections.OrderedDict[
            tuple[str, int], asyncio.Future[tuple[TcpConnect, TlsHandshake]]
        ] = collections.OrderedDict()
        self._t0 = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Session:
        cfg, probes = self.config, self.probes
        self._t0 = asyncio.get_running_loop().time()
        self._wall0 = time.time()
        if getattr(cfg, "residual_memory", False) and not self.dns_only:
            self.memory = ResidualMemory(getattr(cfg, "residual_window", DEFAULT_RESIDUAL_WINDOW))
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
            if self.mux is not None and hasattr(self.mux, "open"):
                await self.mux.open([*self.system, *cfg.resolvers])
            if self.injection_mux is not None and hasattr(self.injection_mux, "open"):
                await self.injection_mux.open([cfg.injection_probe])
        needs_tls = bool(cfg.doh) or not self.dns_only
        if needs_tls:
            self.contexts = probes.make_contexts(cfg.ca_bundle)
        # One DoH client (one connection) per server for the whole run. Built one by one so
        # that __aexit__ closes those already made if a later one fails.
        for server in cfg.doh:
            self.doh += ((server.url, probes.make_doh(server, self.contexts, cfg)),)
        if "http" in cfg.stages:
            self.http = probes.make_http(self.contexts, cfg)
        if cfg.via and not self.dns_only:
            from reachcheck.vantage.proxy import ProxyVantage  # python-socks: only with --via

            self.control = ProxyVantage(cfg.via, self.contexts, cfg)
        elif cfg.control and not self.dns_only:
            from reachcheck.control.client import ControlClient

            self.control = ControlClient(
                cfg.control, cfg.control_token, ca_bundle=cfg.ca_bundle,
                timeout=max(10.0, self.deadline - 2.0),
            )
        return self

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
            if mux is not None and hasattr(mux, "aclose"):
                closers.append(mux.aclose())
        if self.control is not None:
            closers.append(self.control.aclose())
        await asyncio.gather(*closers, return_exceptions=True)

    # ------------------------------------------------------------------ helpers

    @property
    def dns_only(self) -> bool:
        return not ({"tcp", "tls", "http"} & set(self.config.stages))

    def udp_for(self, role: str) -> QueryUdp:
        """The UDP query function for a resolver of `role` (a mux's in DNS-only runs)."""
        mux = self.injection_mux if role == "injection" else None
        mux = mux if mux is not None else self.mux
        return cast(QueryUdp, mux.query) if mux is not None else self.probes.query_udp

    def submit_for(self, role: str) -> Any:
        """The mux's `submit` for a resolver of `role` (a query without a task of its own), or
        None where queries must go through `udp_for` (no mux, or a per-resolver rate)."""
        if not self.rate.unlimited:
            return None
        mux = self.injection_mux if role == "injection" else None
        mux = mux if mux is not None else self.mux
        return getattr(mux, "submit", None)

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

    async def check(
        self, target: Target, on_tail: Callable[[], None] | None = None
    ) -> SiteResult:
        """Measure one target and judge it; never raises for a failure of this site.
        `on_tail` is called once the site's connections are done (see `site.measure`)."""
        from reachcheck.runner.site import measure

        judge = self.judge
        if judge is None:
            from reachcheck.analysis import judge as analysis_judge

            ranges = tuple(getattr(self.config, "public_ranges", ()))
            pools = tuple(getattr(self.config, "fake_ip_pools", ()))
            judge = functools.partial(
                analysis_judge, public_ranges=ranges, fake_ip_pools=pools
            )
        rec = Recorder(target)
        start = self.clock_ms()
        try:
            async with asyncio.timeout(self.deadline):
                await measure(self, target, rec, on_tail)
        except TimeoutError:
            obs = rec.observations(self.clock_ms() - start)
            return inconclusive(target, "the check of this site did not finish in time", obs)
        except Exception as exc:  # a bug here must cost one site, not the run
            obs = rec.observations(self.clock_ms() - start)
            return inconclusive(target, f"internal error: {exc!r}", obs)
        obs = rec.observations(self.clock_ms() - start)
        # Which stages this run measures, so the verdict says what was (not) judged (--only).
        stages = tuple(x for x in ("dns", "tcp", "tls", "http") if x in self.config.stages)
        obs = dataclasses.replace(obs, stages_checked=stages)
        if self.default_route_tun is not None:
            obs = dataclasses.replace(obs, default_route_tun=self.default_route_tun)
        obs = self.clusters.attach(obs)  # the same page for unrelated sites in this run
        if self.memory is not None:
            benign_ok = {(t.address, t.port) for t in obs.tls if t.kind == "benign" and t.ok}
            shakes = [*obs.tls, *(f.tls for f in obs.http if f.tls is not None)]
            self.memory.note(shakes, benign_ok, time.time())
        try:
            return judge(obs)
        except Exception as exc:
            return inconclusive(target, f"internal error in the analysis: {exc!r}", obs)
