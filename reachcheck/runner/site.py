"""The measurement plan of one site (design §3): DNS, then TCP/TLS per address, then HTTP.

Handshakes dominate the cost, so the plan avoids redundant ones:
- the benign-SNI handshake belongs to an address, not a site: measured once per run (cached in
  the session) and its connect is the site's TcpConnect observation for that address;
- the pinned HTTP fetch *is* the verified target-SNI handshake of the address it uses: its
  `HttpFetch.tls` (which the analysis reads as a target handshake) stands for it; separate
  target handshakes go only to the other addresses (at most ADDRESS_CAP per family).
Order matters for residual blocking: every benign handshake of a site completes before any of
its target-SNI handshakes starts, so a trigger cannot poison the benign baseline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Callable, Sequence

from reachcheck.model import DnsQuery, HttpFetch, Target, TcpConnect, TlsHandshake
from reachcheck.runner import extra
from reachcheck.runner.dns import SiteDns, candidate_addresses, select_addresses
from reachcheck.runner.probeset import ResolveFn
from reachcheck.runner.session import Recorder, Session

Sources = dict[str, tuple[str, ...]]


async def measure(
    session: Session, target: Target, rec: Recorder, on_tail: Callable[[], None] | None = None
) -> None:
    """Run the whole plan for `target`, appending observations to `rec` as they arrive.

    TCP/TLS/HTTP start as soon as the resolvers that pick addresses have answered; the DNS
    hold-on windows and the injection probe finish meanwhile and land in `rec.dns` (in full,
    every response) before this returns, so the site is judged on every response. `on_tail` is
    called when only those remain to wait for (the site no longer needs an active slot).
    """
    dns = None if target.is_ip else SiteDns(session, target.domain)
    try:
        early = await dns.answers() if dns is not None else []
        if not session.dns_only:
            await _connections(session, target, rec, early)
        if on_tail is not None:
            on_tail()
        if dns is not None:
            rec.dns.extend(await dns.finish())
            dns = None  # recorded in full: a cut-off from here on must not add it again
            if not session.dns_only:
                sources = extra.survivor_sources(session, rec)
                if sources:
                    await _local(session, target, rec, sources)
    except BaseException:
        if dns is not None:  # cut off (deadline, interrupt) or a bug: keep what completed
            rec.dns.extend(dns.abort())
        raise


async def _connections(
    session: Session, target: Target, rec: Recorder, early: list[DnsQuery]
) -> None:
    sources = candidate_addresses(target, early, session.config.ipv6)
    if session.control is None:
        await _local(session, target, rec, sources)
        return
    # The control server measures from outside while the local checks run; it is sent the
    # addresses the probe's own resolvers gave (the control's DoH answers it finds itself;
    # the proxy view wants those too: its own DoH may answer other CDN addresses).
    every = getattr(session.control, "measures_control_addresses", False)
    probe = [a for a, s in sources.items() if every or s != ("control",)][:16]
    rec.control, _ = await asyncio.gather(
        session.control.measure(target, probe), _local(session, target, rec, sources)
    )


async def _local(session: Session, target: Target, rec: Recorder, sources: Sources) -> None:
    """TCP, TLS and HTTP from here, on the addresses DNS gave."""
    addresses = select_addresses(sources)
    if not addresses:
        return
    stages = session.config.stages
    if target.scheme == "https" and ({"tls", "http"} & stages):
        await _https(session, target, rec, addresses, sources)
        if "http" in stages and session.http is not None:
            await extra.cleartext_checks(session, target, rec, addresses, sources,
                                         _resolver(session))
    else:
        await _cleartext(session, target, rec, addresses, sources)


# --------------------------------------------------------------------------- https


async def _https(
    session: Session, target: Target, rec: Recorder, addresses: list[str], sources: Sources
) -> None:
    port = target.port
    if len(addresses) == 1:  # the common case: no gather (and no task) for one address
        benign = [await _benign(session, addresses[0], port)]
    else:
        benign = await asyncio.gather(*(_benign(session, a, port) for a in addresses))
    ok_benign: set[str] = set()
    live: list[str] = []
    for address, (tcp, hs) in zip(addresses, benign, strict=True):
        if session.memory is not None and extra.boxed(session, rec, address, port, tcp, hs):
            # Still punished for an earlier run's trigger: recorded (flagged), left alone.
            rec.tcp.append(dataclasses.replace(tcp, sources=sources[address],
                                               possibly_residual=not tcp.ok))
            if tcp.ok:
                rec.tls.append(dataclasses.replace(hs, possibly_residual=True))
            continue
        rec.tcp.append(dataclasses.replace(tcp, sources=sources[address]))
        if tcp.ok:  # a handshake whose connect failed never happened: the TcpConnect says it
            rec.tls.append(hs)
            live.append(address)
            if hs.ok:
                ok_benign.add(address)
    if not live:
        return
    do_http = "http" in session.config.stages and session.http is not None
    now = session.clock_ms()
    residual = {a for a in live if session.residual.recent_failure(a, port, now)}
    # Best address first: not under a residual penalty, a TLS server answered, then DNS order
    # (system answers first, control answers last).
    primary = min(live, key=lambda a: (a in residual, a not in ok_benign, live.index(a)))
    control_only = [a for a in live if sources[a] == ("control",) and a != primary]
    fallback = control_only[0] if (do_http and control_only) else None
    # Retrying an address under a residual penalty would only extend the penalty.
    others = [a for a in live if a not in (primary, fallback) and a not in residual]

    async def first() -> HttpFetch | None:
        if do_http:
            return await _fetch(session, target, rec, primary)
        await _target_handshake(session, target, rec, primary)
        return None

    if not others and fallback is None:  # the common case: one job, run it in this task
        await first()
        return
    first_task = asyncio.ensure_future(first())

    async def second(address: str) -> None:
        # A fetch that failed on the browser's address is retried on an address only the
        # control gave: that is what tells DNS blocking from IP blocking. Otherwise a plain
        # target handshake there is enough.
        fetched = await asyncio.shield(first_task)
        if fetched is not None and not fetched.ok:
            await _fetch(session, target, rec, address)
        else:
            await _target_handshake(session, target, rec, address)

    jobs = [first_task, *(_target_handshake(session, target, rec, a) for a in others)]
    if fallback is not None:
        jobs.append(second(fallback))
    try:
        await asyncio.gather(*jobs)
    finally:
        first_task.cancel()  # no-op when done; stops it when the site is cut off


async def _benign(session: Session, address: str, port: int) -> tuple[TcpConnect, TlsHandshake]:
    """The (shared, once-per-run) benign-SNI handshake of (address, port)."""
    cfg = session.config

    async def run() -> tuple[TcpConnect, TlsHandshake]:
        started = session.clock_ms()
        async with session.addresses.hold(address):
            try:
                async with asyncio.timeout(2 * cfg.timeout + 1.0):
                    return await session.probes.tls_handshake(
                        address, port, cfg.benign_sni, "benign", session.contexts,
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


async def _target_handshake(session: Session, target: Target, rec: Recorder, address: str) -> None:
    """A verified handshake with the target's own SNI; noted in the residual tracker."""
    cfg = session.config
    started = session.clock_ms()
    async with session.addresses.hold(address):
        try:
            # A failed verification costs a second (unverified) handshake to capture the cert.
            async with asyncio.timeout(4 * cfg.timeout + 1.0):
                tcp, hs = await session.probes.tls_handshake(
                    address, target.port, target.domain, "target", session.contexts,
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


async def _fetch(session: Session, target: Target, rec: Recorder, address: str) -> HttpFetch:
    """The pinned GET on `address`; its own handshake (`HttpFetch.tls`) is stamped with its
    start and passed through the residual tracker like any target handshake."""
    assert session.http is not None
    cfg = session.config
    started = session.clock_ms()
    async with session.addresses.hold(address):
        try:
            async with asyncio.timeout(4 * cfg.timeout + 1.0):
                fetched = await session.http.fetch(
                    target.url, target.domain, address, resolve=_resolver(session)
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


def _resolver(session: Session) -> ResolveFn:
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
                dns = SiteDns(session, host, roles=roles)
                try:
                    found = _answers(await dns.answers())
                finally:
                    dns.abort()
                if found:
                    break
            cache[host] = found
        return cache[host]

    return resolve


def _answers(queries: Sequence[DnsQuery]) -> list[str]:
    seen: dict[str, None] = {}
    for q in queries:
        if q.answer is not None:
            for a in q.answer.addresses:
                seen.setdefault(a, None)
    return list(seen)


# ------------------------------------------------------------------------ cleartext


async def _cleartext(
    session: Session, target: Target, rec: Recorder, addresses: list[str], sources: Sources
) -> None:
    """http:// targets (or https without the TLS stages): TCP connects, then the fetch."""
    cfg = session.config
    connects = await asyncio.gather(
        *(_connect(session, a, target.port, sources[a]) for a in addresses)
    )
    rec.tcp.extend(connects)
    live = [c.address for c in connects if c.ok]
    if not live or target.scheme != "http" or "http" not in cfg.stages or session.http is None:
        return
    fetched = await _fetch(session, target, rec, live[0])
    # Cleartext cannot prove an address genuine; when the browser's address is not one the
    # control gave, the fetch on a control address is the evidence for trusted DNS.
    control_only = [a for a in live if sources[a] == ("control",) and a != live[0]]
    if control_only and (not fetched.ok or "control" not in sources[live[0]]):
        await _fetch(session, target, rec, control_only[0])


async def _connect(
    session: Session, address: str, port: int, sources: tuple[str, ...]
) -> TcpConnect:
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
