"""The user's own proxy as an outside view (`check --via URL`, design section 9).

Through the proxy, per site, the same measurements a control server makes: DoH queries to the
run's control resolvers, a TCP connect and a verified target-SNI handshake (certificate facts
kept) to each address (the proxy's DoH answers and the addresses measured directly), and the
pinned HTTP fetch. The result is a `ControlMeasurement` with `kind="proxy"`, so the analysis
applies the very rules it applies to a control server's view.

Rules:
1. The probes are the direct path's own, given a connector (`probes/connector.py`): nothing is
   measured differently through the proxy except the path.
2. The proxy failing is not the site failing. When this site's measurements could not get
   through the proxy itself (it stopped answering, refused our credentials) or no DoH query got
   an answer through it, the measurement is `ok=False` with the reason, and the analysis judges
   the site from the direct path alone (as with a control server that failed).
3. The user's proxy is theirs: at most MAX_SITES_IN_FLIGHT sites are measured through it at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from reachcheck.config import Config
from reachcheck.model import (
    ControlMeasurement,
    DnsQuery,
    HttpFetch,
    Target,
    TcpConnect,
    TlsHandshake,
)
from reachcheck.probes.dns.doh import DohClient
from reachcheck.probes.http import HttpProber
from reachcheck.probes.proxy import (
    ProxyAuthFailed,
    ProxySpec,
    ProxyUnreachable,
    make_connector,
    parse_proxy_url,
)
from reachcheck.probes.reach import connect_plan, fetch_address
from reachcheck.probes.tls import TlsContexts

MAX_SITES_IN_FLIGHT = 32
ADDRESS_CAP = 8  # addresses measured through the proxy per site
# Errors that are the proxy's, not the site's (probes/errors.py, rule 4).
PROXY_FAILURES = frozenset({"proxy_unreachable", "proxy_auth"})


class ProxyCheckFailed(Exception):
    """The proxy cannot be used at all (checked before the run): one line for the user."""


async def check_proxy(spec: ProxySpec, destination: tuple[str, int], timeout: float) -> None:
    """Open one connection through the proxy to `destination`; raise ProxyCheckFailed if the
    proxy cannot be reached or refuses our credentials. The destination's own failure (the
    proxy reports it cannot connect there) is not the proxy's: that passes."""
    connect = make_connector(spec, timeout=timeout)
    try:
        async with asyncio.timeout(timeout + 1.0):
            sock = await connect(*destination)
    except ProxyAuthFailed as exc:
        raise ProxyCheckFailed(f"proxy {spec.display}: {exc}") from None
    except ProxyUnreachable as exc:
        raise ProxyCheckFailed(f"proxy {spec.display}: {exc.strerror or exc}") from None
    except TimeoutError:
        raise ProxyCheckFailed(
            f"proxy {spec.display}: no answer within {timeout:g} s (is it running?)"
        ) from None
    except Exception:  # noqa: BLE001 - the proxy answered: it reported on the destination
        return
    sock.close()


def check_destination(config: Config) -> tuple[str, int]:
    """Where the preflight connects through the proxy: the first DoH control (the proxy view
    needs it first), else the benign SNI's host."""
    if not config.doh:
        return config.benign_sni, 443
    server = config.doh[0]
    parts = urlsplit(server.url)
    host = server.bootstrap[0] if server.bootstrap else (parts.hostname or "")
    return host, parts.port or 443


class ProxyVantage:
    """Measures sites through the user's proxy; one per run. An outside view like the control
    server's client (`runner.probeset.OutsideView`: `measure(target, addresses)`, `aclose()`),
    built by the probe set's `make_proxy_view`."""

    # The runner sends the addresses every resolver gave, the direct DoH answers included:
    # the proxy's DoH may answer other CDN addresses, and the comparisons need the same ones.
    measures_control_addresses = True

    def __init__(self, via: str, contexts: TlsContexts, config: Config) -> None:
        self.spec = parse_proxy_url(via)
        self.url = self.spec.display  # what results show: never the password
        self._config = config
        self._contexts = contexts
        self._timeout = config.timeout
        connector = make_connector(self.spec, timeout=config.timeout)
        self._connector = connector
        self._doh = [
            DohClient(s.url, s.bootstrap, contexts.verified, config.timeout, connector=connector)
            for s in config.doh
        ]
        self._http = HttpProber(
            contexts, timeout=config.timeout, body_cap=config.body_cap,
            max_redirects=config.max_redirects, connector=connector,
        )
        self._slots = asyncio.Semaphore(MAX_SITES_IN_FLIGHT)

    async def aclose(self) -> None:
        await asyncio.gather(
            *(c.aclose() for c in self._doh), self._http.aclose(), return_exceptions=True
        )

    def _failed(self, error: str, dns: tuple[DnsQuery, ...] = ()) -> ControlMeasurement:
        return ControlMeasurement(self.url, ok=False, error=error, dns=dns, kind="proxy")

    async def measure(self, target: Target, addresses: Sequence[str]) -> ControlMeasurement:
        """The site through the proxy; never raises for network failures."""
        try:
            # Waiting for a slot, DNS, the handshakes (a failed verification costs a second
            # one), the fetch: within the site's own deadline (runner/session.py).
            async with asyncio.timeout(10 * self._timeout):
                async with self._slots:
                    return await self._measure(target, addresses)
        except TimeoutError:
            return self._failed("timeout: the measurement through the proxy did not finish")

    async def _measure(self, target: Target, addresses: Sequence[str]) -> ControlMeasurement:
        dns: tuple[DnsQuery, ...] = ()
        own: list[str] = []
        if target.is_ip:
            own = [target.domain]
        elif self._doh:
            dns = await self._resolve(target.domain)
            if not any(q.responses for q in dns):
                return self._failed(_dns_failure(dns), dns)
            own = _answers(dns)
        own = [a for a in own if self._usable(a)][:ADDRESS_CAP]
        given = [a for a in addresses if a not in own and self._usable(a)]
        plan: list[tuple[str, tuple[str, ...]]] = [
            (a, ("literal" if target.is_ip else "control",)) for a in own
        ]
        plan += [(a, ("probe",)) for a in given][: max(0, ADDRESS_CAP - len(plan))]
        tcp, tls = await self._connect(target, plan)
        broken = _proxy_broken(tcp)
        if broken is not None:
            return self._failed(broken, dns)
        http = await self._fetch(target, own, tcp, tls)
        if http is not None and http.error in PROXY_FAILURES:
            return self._failed(f"{http.error}: the proxy failed during the fetch", dns)
        return ControlMeasurement(self.url, True, None, dns, tcp, tls, http, kind="proxy")

    def _usable(self, address: str) -> bool:
        try:
            version = ipaddress.ip_address(address).version
        except ValueError:
            return False
        return version == 4 or self._config.ipv6

    async def _resolve(self, host: str) -> tuple[DnsQuery, ...]:
        qtypes: tuple[Any, ...] = ("A", "AAAA") if self._config.ipv6 else ("A",)
        return tuple(await asyncio.gather(*(c.query(host, t) for c in self._doh for t in qtypes)))

    async def _resolve_hop(self, host: str) -> list[str]:
        """Addresses for a redirect hop to another host: the proxy's DoH answers."""
        return _answers(await self._resolve(host)) if self._doh else []

    async def _connect(
        self, target: Target, plan: list[tuple[str, tuple[str, ...]]]
    ) -> tuple[tuple[TcpConnect, ...], tuple[TlsHandshake, ...]]:
        return await connect_plan(plan, target.domain, target.port, target.scheme,
                                  self._contexts, timeout=self._timeout,
                                  connector=self._connector)

    async def _fetch(
        self,
        target: Target,
        own: list[str],
        tcp: tuple[TcpConnect, ...],
        tls: tuple[TlsHandshake, ...],
    ) -> HttpFetch | None:
        """One GET pinned to the best address (the proxy's own DoH answers first), or None when
        no address could carry it (for https: no verified handshake)."""
        address = fetch_address(target.scheme, own, tcp, tls)
        if address is None:
            return None
        return await self._http.fetch(target.url, target.domain, address,
                                      resolve=self._resolve_hop)


def _answers(queries: Sequence[DnsQuery]) -> list[str]:
    seen: dict[str, None] = {}
    for q in queries:
        if q.answer is not None:
            for a in q.answer.addresses:
                seen.setdefault(ipaddress.ip_address(a).compressed, None)
    return list(seen)


def _dns_failure(queries: Sequence[DnsQuery]) -> str:
    errors = sorted({q.error for q in queries if q.error})
    broken = [e for e in errors if e in PROXY_FAILURES]
    if broken:
        return f"{broken[0]}: the proxy failed"
    shown = ", ".join(errors) or "no answer"
    return f"proxy_no_dns: no DoH control answered through the proxy ({shown})"


def _proxy_broken(tcp: Sequence[TcpConnect]) -> str | None:
    """The proxy's own failure when it is why every connect failed, else None."""
    if not tcp or any(c.ok for c in tcp):
        return None
    errors = {c.error or "error" for c in tcp}
    broken = errors & PROXY_FAILURES
    if broken and errors <= PROXY_FAILURES:
        return f"{sorted(broken)[0]}: the proxy failed"
    return None
