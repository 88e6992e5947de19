"""What the control server does for one request: the probe's own measurements, from here.

It reuses the probe modules so both vantage points measure the same way: UDP DNS to the
server's resolvers (A and AAAA), a TCP connect plus a verified target-SNI TLS handshake to every
address (the probe's and its own), and one pinned HTTP fetch with redirects re-resolved here,
repeated once on the same address (the page's own variance: `ControlMeasurement.http_repeat`).

SSRF guard (unless `allow_private`): the URL's host must not be, or resolve to, a special-purpose
address (403), and neither may a redirect's. Special-purpose addresses *given by the probe* are
skipped rather than refused: a probe whose resolver returns a bogon is exactly the case where
the control's own view is needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from reachcheck.control.policy import refusal_reason
from reachcheck.control.protocol import MeasureRequest, RequestError
from reachcheck.model import ControlMeasurement, DnsQuery, HttpFetch, TcpConnect, TlsHandshake
from reachcheck.probes.dns.udp import query_udp
from reachcheck.probes.http import HttpProber, allow_every_address
from reachcheck.probes.reach import connect_plan, fetch_address
from reachcheck.probes.timing import ms
from reachcheck.probes.tls import TlsContexts

MAX_OWN_ADDRESSES = 16  # of the server's own DNS answers measured (DNS may return many)


@dataclass(frozen=True, slots=True)
class MeasureSettings:
    """How the server measures; built from the `control serve` options."""

    resolvers: tuple[tuple[str, int], ...]
    allow_private: bool = False
    timeout: float = 5.0  # per stage, as in the probe
    body_cap: int = 256 * 1024
    max_redirects: int = 10
    ca_bundle: str | None = None  # trust store for the targets; None = the default one


@dataclass(frozen=True, slots=True)
class Outcome:
    """A measurement plus the probe addresses the SSRF guard skipped (reported, not measured)."""

    measurement: ControlMeasurement
    skipped: tuple[str, ...] = ()


def forbidden(reason: str) -> RequestError:
    """A 403 naming why the server will not measure this target."""
    return RequestError(403, "forbidden", reason)


class Measurer:
    """Measures targets for the control API; build once per server (TLS contexts are reused)."""

    def __init__(self, settings: MeasureSettings) -> None:
        self.settings = settings
        self._contexts = TlsContexts.create(settings.ca_bundle)
        # One client for the server's life; HttpProber turns keep-alive off, so requests for
        # different clients never share a connection.
        # The SSRF guard is the prober's address policy: it sees every address a request
        # would go to, redirect hops to IP-literal Locations included (they skip `resolve`).
        self._prober = HttpProber(
            self._contexts,
            timeout=settings.timeout,
            body_cap=settings.body_cap,
            max_redirects=settings.max_redirects,
            address_policy=allow_every_address if settings.allow_private else refusal_reason,
        )

    def _check(self, address: str, why: str) -> None:
        if not self.settings.allow_private:
            reason = refusal_reason(address)
            if reason is not None:
                raise forbidden(f"{why}: {reason}")

    async def resolve(self, host: str) -> tuple[tuple[DnsQuery, ...], list[str]]:
        """Ask every configured resolver for A and AAAA; the queries and the answers' union."""
        s = self.settings
        jobs = [
            query_udp(server, host, qtype, "control", timeout=s.timeout, hold_on=0.0)
            for server in s.resolvers
            for qtype in ("A", "AAAA")
        ]
        queries = tuple(await asyncio.gather(*jobs))
        addresses: list[str] = []
        for query in queries:
            answer = query.answer
            for address in answer.addresses if answer else ():
                if address not in addresses:
                    addresses.append(address)
        return queries, addresses

    async def _resolve(self, host: str) -> list[str]:
        # For redirect hops to another host. No guard here: the prober's address policy checks
        # every address actually requested, IP-literal Locations included (they skip this call).
        _, addresses = await self.resolve(host)
        return addresses

    async def measure(self, request: MeasureRequest) -> Outcome:
        """Measure `request.target`; raises RequestError(403) when the guard refuses it."""
        target = request.target
        dns: tuple[DnsQuery, ...] = ()
        if target.is_ip:
            self._check(target.domain, f"{target.domain}")
            own = [target.domain]
        else:
            dns, own = await self.resolve(target.domain)
            for address in own:
                self._check(address, f"{target.domain} resolves to {address}")
            own = own[:MAX_OWN_ADDRESSES]
        given = [a for a in request.addresses if a not in own]
        skipped = tuple(
            a for a in given if not self.settings.allow_private and refusal_reason(a) is not None
        )
        given = [a for a in given if a not in skipped]
        own_source = "literal" if target.is_ip else "control"
        tcp, tls = await self._connect(
            target.domain, target.port, target.scheme, own, given, own_source
        )
        http = await self._fetch(request, own, tcp, tls)
        # A second fetch of the same page on the same address: dynamic and parked pages differ
        # from fetch to fetch, and the analysis must know this page's own variance before it
        # calls the probe's copy "different" (design §5.1).
        repeat = await self._get(request, http.address) if http is not None and http.ok else None
        # `server` is filled in by the client with the URL it used.
        measurement = ControlMeasurement(server="", ok=True, dns=dns, tcp=tcp, tls=tls, http=http,
                                         http_repeat=repeat)
        return Outcome(measurement, skipped)

    async def _connect(
        self,
        domain: str,
        port: int,
        scheme: str,
        own: Sequence[str],
        given: Sequence[str],
        own_source: str,
    ) -> tuple[tuple[TcpConnect, ...], tuple[TlsHandshake, ...]]:
        plan = [(a, (own_source,)) for a in own] + [(a, ("probe",)) for a in given]
        return await connect_plan(plan, domain, port, scheme, self._contexts,
                                  timeout=self.settings.timeout)

    async def _fetch(
        self,
        request: MeasureRequest,
        own: Sequence[str],
        tcp: tuple[TcpConnect, ...],
        tls: tuple[TlsHandshake, ...],
    ) -> HttpFetch | None:
        """One GET pinned to the best address; None when no address could carry it.

        For https that means a verified handshake: where every handshake failed, a fetch would
        only repeat the handshake's failure (after another timeout).
        """
        # The server's own answers first: the probe's may be forged.
        address = fetch_address(request.target.scheme, own, tcp, tls)
        if address is None:
            return None
        return await self._get(request, address)

    async def _get(self, request: MeasureRequest, address: str) -> HttpFetch:
        """The GET of the target's URL pinned to `address`, under a whole-chain deadline."""
        started = time.monotonic()
        try:
            # The prober bounds each hop; this bounds a whole chain of slow redirects.
            async with asyncio.timeout(self.settings.timeout * 4):
                return await self._prober.fetch(
                    request.target.url, request.target.domain, address, resolve=self._resolve
                )
        except TimeoutError:
            elapsed = ms(time.monotonic() - started)
            return HttpFetch(request.target.url, address, False, elapsed, error="timeout")

    async def aclose(self) -> None:
        """Close the HTTP client (server shutdown)."""
        await self._prober.aclose()
