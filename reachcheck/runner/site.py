"""The check of one site (design §3): its whole measurement plan, then its judgement.

The plan: DNS (`dns.py`), then TCP/TLS per address, then HTTP (the single measurements are in
`steps.py`), with the outside view (control server or proxy) measuring meanwhile, then the
second looks (`extra.py`); the observations go to the session's judge, and a site that cannot
finish is inconclusive (`fallback.py`).

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
import time
from collections.abc import Callable

from reachcheck.model import DnsQuery, HttpFetch, SiteResult, Target
from reachcheck.runner.dns import SiteDns, candidate_addresses, select_addresses
from reachcheck.runner.extra import boxed, cleartext_checks, survivor_sources
from reachcheck.runner.fallback import inconclusive
from reachcheck.runner.recorder import Recorder
from reachcheck.runner.session import Session
from reachcheck.runner.steps import benign, connect, fetch, redirect_resolver, target_handshake

Sources = dict[str, tuple[str, ...]]


async def check(
    session: Session, target: Target, on_tail: Callable[[], None] | None = None
) -> SiteResult:
    """Measure one target and judge it; never raises for a failure of this site.
    `on_tail` is called once the site's connections are done (see `measure`)."""
    rec = Recorder(target)
    start = session.clock_ms()
    try:
        async with asyncio.timeout(session.deadline):
            await measure(session, target, rec, on_tail)
    except TimeoutError:
        obs = rec.observations(session.clock_ms() - start)
        return inconclusive(target, "the check of this site did not finish in time", obs)
    except Exception as exc:  # a bug here must cost one site, not the run
        obs = rec.observations(session.clock_ms() - start)
        return inconclusive(target, f"internal error: {exc!r}", obs)
    obs = rec.observations(session.clock_ms() - start)
    # Which stages this run measures, so the verdict says what was (not) judged (--only).
    stages = tuple(x for x in ("dns", "tcp", "tls", "http") if x in session.config.stages)
    obs = dataclasses.replace(obs, stages_checked=stages)
    if session.default_route_tun is not None:
        obs = dataclasses.replace(obs, default_route_tun=session.default_route_tun)
    obs = session.clusters.attach(obs)  # the same page for unrelated sites in this run
    if session.memory is not None:
        benign_ok = {(t.address, t.port) for t in obs.tls if t.kind == "benign" and t.ok}
        shakes = [*obs.tls, *(f.tls for f in obs.http if f.tls is not None)]
        session.memory.note(shakes, benign_ok, time.time())
    try:
        return session.judge(obs)
    except Exception as exc:
        return inconclusive(target, f"internal error in the analysis: {exc!r}", obs)


async def measure(
    session: Session, target: Target, rec: Recorder, on_tail: Callable[[], None] | None = None
) -> None:
    """Run the whole plan for `target`, appending observations to `rec` as they arrive.

    TCP/TLS/HTTP start as soon as the resolvers that pick addresses have answered; the DNS
    hold-on windows and the injection probe finish meanwhile and land in `rec.dns` (in full,
    every response) before this returns, so the site is judged on every response. `on_tail` is
    called when only those remain to wait for (the site no longer needs an active slot).
    """
    dns = None if target.is_ip else SiteDns(session.resolvers, target.domain)
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
                sources = survivor_sources(session, rec)
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
    view = session.control
    if view is None:
        await _local(session, target, rec, sources)
        return
    # The outside view measures while the local checks run; it is sent the addresses the
    # probe's own resolvers gave (the control server finds the DoH answers itself; the proxy
    # view wants those too: its own DoH may answer other CDN addresses).
    every = view.measures_control_addresses
    probe = [a for a, s in sources.items() if every or s != ("control",)][:16]
    rec.control, _ = await asyncio.gather(
        view.measure(target, probe), _local(session, target, rec, sources)
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
            await cleartext_checks(session, target, rec, addresses, sources,
                                   redirect_resolver(session))
    else:
        await _cleartext(session, target, rec, addresses, sources)


# --------------------------------------------------------------------------- https


async def _https(
    session: Session, target: Target, rec: Recorder, addresses: list[str], sources: Sources
) -> None:
    port = target.port
    if len(addresses) == 1:  # the common case: no gather (and no task) for one address
        shared = [await benign(session, addresses[0], port)]
    else:
        shared = await asyncio.gather(*(benign(session, a, port) for a in addresses))
    ok_benign: set[str] = set()
    live: list[str] = []
    for address, (tcp, hs) in zip(addresses, shared, strict=True):
        if session.memory is not None and boxed(session, rec, address, port, tcp, hs):
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
            return await fetch(session, target, rec, primary)
        await target_handshake(session, target, rec, primary)
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
            await fetch(session, target, rec, address)
        else:
            await target_handshake(session, target, rec, address)

    jobs = [first_task, *(target_handshake(session, target, rec, a) for a in others)]
    if fallback is not None:
        jobs.append(second(fallback))
    try:
        await asyncio.gather(*jobs)
    finally:
        first_task.cancel()  # no-op when done; stops it when the site is cut off


# ------------------------------------------------------------------------ cleartext


async def _cleartext(
    session: Session, target: Target, rec: Recorder, addresses: list[str], sources: Sources
) -> None:
    """http:// targets (or https without the TLS stages): TCP connects, then the fetch."""
    cfg = session.config
    connects = await asyncio.gather(
        *(connect(session, a, target.port, sources[a]) for a in addresses)
    )
    rec.tcp.extend(connects)
    live = [c.address for c in connects if c.ok]
    if not live or target.scheme != "http" or "http" not in cfg.stages or session.http is None:
        return
    fetched = await fetch(session, target, rec, live[0])
    # Cleartext cannot prove an address genuine; when the browser's address is not one the
    # control gave, the fetch on a control address is the evidence for trusted DNS.
    control_only = [a for a in live if sources[a] == ("control",) and a != live[0]]
    if control_only and (not fetched.ok or "control" not in sources[live[0]]):
        await fetch(session, target, rec, control_only[0])
