"""The DNS stage of one site, and the choice of addresses to connect to.

All resolvers are asked in parallel: the system nameservers (what the browser would get), the
probe resolvers, the injection probe (no DNS service runs there: any answer is forged) and the
DoH controls (an on-path injector cannot forge them). Each query's wire form is built once per
(name, type) and shared by every UDP resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Literal

from reachcheck.model import DnsQuery, DnsRole, Target
from reachcheck.runner.probeset import DohLike, QType, Server
from reachcheck.runner.session import Recorder, Session

INJECTION_TIMEOUT = 2.0  # the injection probe runs no DNS service: forged answers come fast
ADDRESS_CAP = 4  # addresses per family measured per site (handshakes dominate the cost)
_ROLE_ORDER: tuple[DnsRole, ...] = ("system", "probe", "control")


def _failed(resolver: str, role: DnsRole, transport: Literal["udp", "doh"], qname: str,
            qtype: QType, elapsed_ms: float, error: str) -> DnsQuery:
    return DnsQuery(resolver=resolver, role=role, transport=transport,
                    qname=qname, qtype=qtype, elapsed_ms=elapsed_ms, error=error)


async def _guard(
    session: Session, key: object, call: Callable[[], Awaitable[DnsQuery]], backstop: float,
    failed: Callable[[float, str], DnsQuery],
) -> DnsQuery:
    """Rate-limit per resolver, then run one query under a backstop timeout (the probe has its
    own; this one only catches a probe that hangs), mapping surprises to a failed query."""
    await session.rate.acquire(key)
    t0 = session.clock_ms()
    try:
        async with asyncio.timeout(backstop):
            return await call()
    except TimeoutError:
        return failed(session.clock_ms() - t0, "timeout")
    except Exception:  # a probe bug must not look like a DNS answer or kill the site
        return failed(session.clock_ms() - t0, "error")


def dns_jobs(
    session: Session, qname: str, roles: Collection[str] | None = None
) -> list[Awaitable[DnsQuery]]:
    """One awaitable per (resolver, type) for `qname`, ready to gather; `roles` limits which
    resolvers are asked (None = all)."""
    cfg, probes = session.config, session.probes
    timeout, hold_on = cfg.timeout, min(cfg.hold_on, cfg.timeout)
    udp = session.mux.query if session.mux is not None else probes.query_udp
    system = set(session.system)
    # A --resolver equal to a system nameserver would only repeat the system query.
    servers: list[tuple[tuple[str, int], DnsRole, float]] = [
        *((s, "system", timeout) for s in session.system),
        *((s, "probe", timeout) for s in cfg.resolvers if s not in system),
    ]
    if cfg.injection_probe is not None:
        servers.append((cfg.injection_probe, "injection", min(timeout, INJECTION_TIMEOUT)))
    servers = [s for s in servers if roles is None or s[1] in roles]
    doh = session.doh if roles is None or "control" in roles else ()
    jobs: list[Awaitable[DnsQuery]] = []
    qtypes: tuple[QType, ...] = ("A", "AAAA") if cfg.ipv6 else ("A",)
    for qtype in qtypes:
        wire = probes.build_query(qname, qtype) if probes.build_query and servers else None
        for server, role, t in servers:
            resolver = f"udp:{server[0]}:{server[1]}"

            def call(
                server: Server = server, role: DnsRole = role, t: float = t,
                qtype: QType = qtype, wire: bytes | None = wire,
            ) -> Awaitable[DnsQuery]:
                return udp(server, qname, qtype, role, timeout=t, hold_on=min(hold_on, t),
                           query_wire=wire)

            def failed(
                ms: float, err: str, resolver: str = resolver, role: DnsRole = role,
                qtype: QType = qtype,
            ) -> DnsQuery:
                return _failed(resolver, role, "udp", qname, qtype, ms, err)

            jobs.append(_guard(session, server, call, t + hold_on + 1.0, failed))
        for url, client in doh:

            def dcall(client: DohLike = client, qtype: QType = qtype) -> Awaitable[DnsQuery]:
                return client.query(qname, qtype)

            def dfailed(ms: float, err: str, url: str = url, qtype: QType = qtype) -> DnsQuery:
                return _failed(url, "control", "doh", qname, qtype, ms, err)

            jobs.append(_guard(session, url, dcall, timeout * 2 + 1.0, dfailed))
    return jobs


async def resolve_site(session: Session, target: Target, rec: Recorder) -> None:
    """Ask every resolver about the target's name; the queries land in `rec.dns`."""
    if target.is_ip:
        return
    rec.dns.extend(await asyncio.gather(*dns_jobs(session, target.domain)))


def _usable(address: str, ipv6: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # 0.0.0.0 / :: connect to this very machine: a result there says nothing about the path.
    return not ip.is_unspecified and (ipv6 or ip.version == 4)


def candidate_addresses(
    target: Target, queries: Iterable[DnsQuery], ipv6: bool
) -> dict[str, tuple[str, ...]]:
    """Every distinct address worth connecting to, with its sources, in preference order:
    system answers, then probe answers, then control answers.

    Only the answer a stub resolver accepted counts for UDP resolvers (forged or not: it is
    what the browser would use); the injection probe's answers are never connected to.
    """
    if target.is_ip:
        return {target.domain: ("literal",)}
    sources: dict[str, list[str]] = {}
    queries = list(queries)
    for role in _ROLE_ORDER:
        for q in queries:
            if q.role != role or q.answer is None:
                continue
            for address in q.answer.addresses:
                if not _usable(address, ipv6):
                    continue
                roles = sources.setdefault(ipaddress.ip_address(address).compressed, [])
                if role not in roles:
                    roles.append(role)
    return {a: tuple(r) for a, r in sources.items()}


def select_addresses(
    candidates: dict[str, tuple[str, ...]], cap: int = ADDRESS_CAP
) -> list[str]:
    """At most `cap` addresses per family, in preference order, always keeping one address
    that only the control returned when there is one (it tells DNS blocking from IP
    blocking and is where reachable_with_trusted_dns gets its evidence)."""
    chosen: list[str] = []
    for version in (4, 6):
        family = [a for a in candidates if ipaddress.ip_address(a).version == version]
        picked = family[:cap]
        control_only = [a for a in family if candidates[a] == ("control",)]
        if control_only and not any(a in control_only for a in picked):
            picked[-1] = control_only[0]
        chosen.extend(picked)
    return chosen
