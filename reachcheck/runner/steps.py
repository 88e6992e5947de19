"""The single measurements of one site's plan (`site.py`), each under the run's limits: the
benign-SNI handshake (shared by the run), a target-SNI handshake, the pinned fetch, a TCP
connect, and the resolver of redirect hops. Each returns or records its observation and never
raises for a network failure (a hang becomes "timeout").
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reachcheck.model import DnsQuery, HttpFetch, Target, TcpConnect, TlsHandshake
from reachcheck.runner.dns import SiteDns
from reachcheck.runner.probeset import ResolveFn
from reachcheck.runner.recorder import Recorder
from reachcheck.runner.session import Session

if TYPE_CHECKING:
    from reachcheck.probes.tls import TlsContexts


async def benign(session: Session, address: str, port: int) -> tuple[TcpConnect, TlsHandshake]:
    """The (shared, once-per-run) benign-SNI handshake of (address, port)."""
    cfg = session.config

    async def run() -> tuple[TcpConnect, TlsHandshake]:
        started = session.clock_ms()
        async with session.addresses.hold(address):
            try:
                async with asyncio.timeout(2 * cfg.timeout + 1.0):
                    return await session.probes.tls_handshake(
                        address, port, cfg.benign_sni, "benign", _contexts(session),
                        timeout=cfg.timeout, clock_ms=session.clock_ms,
                    )
            except Exception as exc:  # never poison the cache for every site on the address
                error = "timeout" if isinstance(exc, TimeoutError) else "error"
                elapsed = session.clock_ms() - started
                return (
                    TcpConnect(address, port, ok=False, elapsed_ms=elapsed, error=error),
                    TlsHandshake(address, port, cfg.benign_sni, "benign", ok=False,
                                 elapsed_ms=elapsed, error=error, started_ms=started),
                )

    tcp, hs = await asyncio.shield(session.benign(address, port, run))
    # A connect that failed right after another site's trigger on this tuple may be the
    # censor's residual penalty for that site (the cached result is shared, so flag a copy).
    if not tcp.ok and session.residual.recent_failure(address, port, session.clock_ms()):
        tcp = dataclasses.replace(tcp, possibly_residual=True)
    return tcp, hs


async def target_handshake(session: Session, target: Target, rec: Recorder, address: str) -> None:
    """A verified handshake with the target's own SNI; noted in the residual tracker."""
    cfg = session.config
    started = session.clock_ms()
    async with session.addresses.hold(address):
        try:
            # A failed verification costs a second (unverified) handshake to capture the cert.
            async with asyncio.timeout(4 * cfg.timeout + 1.0):
                tcp, hs = await session.probes.tls_handshake(
                    address, target.port, target.domain, "target", _contexts(session),
                    timeout=cfg.timeout, clock_ms=session.clock_ms,
                )
            if not tcp.ok:
                # The connect failed although the benign one to this address just worked: the
                # SNI was never sent, so this cannot be SNI filtering; it is a tuple-level
                # penalty (residual blocking) or a glitch. Kept as evidence, never against
                # the site. (A second TcpConnect would read as TCP blocking of a connect that
                # worked.)
                hs = dataclasses.replace(hs, possibly_residual=True)
        except TimeoutError:
            hs = TlsHandshake(address, target.port, target.domain, "target", ok=False,
                              elapsed_ms=session.clock_ms() - started, error="timeout",
                              started_ms=started)
    rec.tls.append(session.residual.note(hs, session.clock_ms()))


async def fetch(session: Session, target: Target, rec: Recorder, address: str) -> HttpFetch:
    """The pinned GET on `address`; its own handshake (`HttpFetch.tls`) is stamped with its
    start and passed through the residual tracker like any target handshake."""
    assert session.http is not None
    cfg = session.config
    started = session.clock_ms()
    async with session.addresses.hold(address):
        try:
            async with asyncio.timeout(4 * cfg.timeout + 1.0):
                fetched = await session.http.fetch(
                    target.url, target.domain, address, resolve=redirect_resolver(session)
                )
        except TimeoutError:
            fetched = HttpFetch(target.url, address, ok=False,
                                elapsed_ms=session.clock_ms() - started, error="timeout")
    hs = fetched.tls
    if hs is not None:
        if hs.started_ms is None:
            hs = dataclasses.replace(hs, started_ms=started)
        hs = session.residual.note(hs, session.clock_ms())
        fetched = dataclasses.replace(fetched, tls=hs)
    # Not copied into rec.tls: the analysis reads target handshakes from HttpFetch.tls too.
    rec.http.append(fetched)
    return fetched


def redirect_resolver(session: Session) -> ResolveFn:
    """Addresses for redirect hops: the control's answers (they cannot be forged on the path),
    falling back to the system resolver when no control answers."""
    cache: dict[str, list[str]] = {}

    async def resolve(host: str) -> list[str]:
        host = host.strip("[]").rstrip(".").lower()
        try:
            return [ipaddress.ip_address(host).compressed]
        except ValueError:
            pass
        if host not in cache:
            found: list[str] = []
            # Only the accepted answers count: no need to sit out the hold-on windows.
            for roles in (("control",), ("system",)):
                dns = SiteDns(session.resolvers, host, roles=roles)
                try:
                    found = _answers(await dns.answers())
                finally:
                    dns.abort()
                if found:
                    break
            cache[host] = found
        return cache[host]

    return resolve


def _contexts(session: Session) -> TlsContexts:
    contexts = session.contexts
    assert contexts is not None  # built on entry whenever a TLS stage runs
    return contexts


def _answers(queries: Sequence[DnsQuery]) -> list[str]:
    seen: dict[str, None] = {}
    for q in queries:
        if q.answer is not None:
            for a in q.answer.addresses:
                seen.setdefault(a, None)
    return list(seen)


async def connect(
    session: Session, address: str, port: int, sources: tuple[str, ...]
) -> TcpConnect:
    """A plain TCP connect (http:// targets, or https without the TLS stages)."""
    cfg = session.config
    started = session.clock_ms()
    async with session.addresses.hold(address):
        try:
            async with asyncio.timeout(cfg.timeout + 1.0):
                tcp = await session.probes.tcp_connect(
                    address, port, timeout=cfg.timeout, sources=sources
                )
        except TimeoutError:
            tcp = TcpConnect(address, port, ok=False,
                             elapsed_ms=session.clock_ms() - started, error="timeout")
    return dataclasses.replace(tcp, sources=sources)
