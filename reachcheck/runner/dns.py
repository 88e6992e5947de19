"""The DNS stage of one site, and the choice of addresses to connect to.

All resolvers are asked in parallel: the system nameservers (what the browser would get), the
probe resolvers, the injection probe (no DNS service runs there: any answer is forged) and the
DoH controls (an on-path injector cannot forge them). Each query's wire form is built once per
(name, type) and shared by every UDP resolver.

The connections need only the *accepted* answers (`SiteDns.answers()`): the hold-on windows and
the injection probe run on in the background and are collected (`SiteDns.finish()`) before the
site is judged, so the analysis still sees every response.

What this stage needs of the run is `Resolvers` (built once per run by the session), nothing more.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Literal, Protocol

from reachcheck.model import DnsQuery, DnsRole, Target
from reachcheck.probes.dns.exchange import DNS_ATTEMPTS, RETRY_BACKOFF
from reachcheck.runner.limits import RateLimiter
from reachcheck.runner.probeset import (
    AnswerHook,
    DohLike,
    QType,
    QueryUdp,
    Server,
    SubmittedQuery,
)

INJECTION_TIMEOUT = 2.0  # the injection probe runs no DNS service: forged answers come fast
ADDRESS_CAP = 4  # addresses per family measured per site (handshakes dominate the cost)
_ROLE_ORDER: tuple[DnsRole, ...] = ("system", "probe", "control")

# (role, start): `start(on_answer)` returns the query's awaitable.
Job = tuple[DnsRole, Callable[[AnswerHook | None], Awaitable[DnsQuery]]]


class Submit(Protocol):
    """A mux's `submit`: starts a UDP query without a task, or returns None (then the query
    goes through a `QueryUdp`)."""

    def __call__(
        self, server: Server, qname: str, qtype: str, role: DnsRole, *, timeout: float,
        hold_on: float, query_wire: bytes | None = None,
    ) -> SubmittedQuery | None: ...


# (index, role, server, timeout, qtype, wire) -> the started query, or None (see dns_jobs).
Starter = Callable[[int, DnsRole, Server, float, QType, bytes | None], SubmittedQuery | None]


@dataclasses.dataclass(frozen=True, slots=True)
class Resolvers:
    """Everything the DNS stage needs of the run: the resolvers by role, how to ask them, the
    per-resolver pacing and the run's clock."""

    system: tuple[Server, ...]  # the system nameservers (what the browser would get)
    probe: tuple[Server, ...]  # --resolver
    injection_probe: Server | None
    doh: tuple[tuple[str, DohLike], ...]  # (URL, client): the DoH controls
    timeout: float
    hold_on: float
    ipv6: bool  # AAAA too
    rate: RateLimiter  # per resolver
    clock_ms: Callable[[], float]  # the run's clock
    udp: QueryUdp  # system and probe resolvers (a mux's `query` in DNS-only runs)
    injection_udp: QueryUdp
    # A mux's `submit` (DNS-only runs without a per-resolver rate), else None.
    submit: Submit | None = None
    injection_submit: Submit | None = None
    # Builds a query's wire form once per (name, type); None = let the query function do it.
    build_query: Callable[[str, str], bytes] | None = None

    def udp_for(self, role: DnsRole) -> QueryUdp:
        """The UDP query function for a resolver of `role`."""
        return self.injection_udp if role == "injection" else self.udp

    def submit_for(self, role: DnsRole) -> Submit | None:
        """The task-free `submit` for a resolver of `role`, or None (queries go through
        `udp_for`)."""
        return self.injection_submit if role == "injection" else self.submit


def _failed(resolver: str, role: DnsRole, transport: Literal["udp", "doh"], qname: str,
            qtype: QType, elapsed_ms: float, error: str) -> DnsQuery:
    return DnsQuery(resolver=resolver, role=role, transport=transport,
                    qname=qname, qtype=qtype, elapsed_ms=elapsed_ms, error=error)


async def _guard(
    resolvers: Resolvers, key: object, call: Callable[[AnswerHook | None], Awaitable[DnsQuery]],
    backstop: float, failed: Callable[[float, str], DnsQuery], on_answer: AnswerHook | None,
) -> DnsQuery:
    """Rate-limit per resolver, then run one query under a backstop timeout (the probe has its
    own; this one only catches a probe that hangs), mapping surprises to a failed query."""
    delay = resolvers.rate.reserve(key)  # not `await acquire()`: no coroutine when unlimited
    if delay > 0:
        await asyncio.sleep(delay)
    t0 = resolvers.clock_ms()
    try:
        async with asyncio.timeout(backstop):
            return await call(on_answer)
    except TimeoutError:
        return failed(resolvers.clock_ms() - t0, "timeout")
    except Exception:  # a probe bug must not look like a DNS answer or kill the site
        return failed(resolvers.clock_ms() - t0, "error")


def dns_jobs(
    resolvers: Resolvers, qname: str, roles: Collection[str] | None = None, *,
    submit: Starter | None = None,
) -> list[Job | SubmittedQuery]:
    """One (role, start) per (resolver, type) for `qname`; `start(on_answer)` returns the
    query's awaitable (`on_answer` gets a UDP query's accepted answer before its hold-on window
    ends). `roles` limits which resolvers are asked (None = all).

    `submit(index, role, server, timeout, qtype, wire)`, when given, may start a UDP query
    itself (a mux's task-free path) and return its handle, which then stands in the list
    instead of the (role, start) pair; it returns None to leave the query to `start`."""
    timeout, hold_on = resolvers.timeout, min(resolvers.hold_on, resolvers.timeout)
    system = set(resolvers.system)
    # A --resolver equal to a system nameserver would only repeat the system query.
    servers: list[tuple[tuple[str, int], DnsRole, float]] = [
        *((s, "system", timeout) for s in resolvers.system),
        *((s, "probe", timeout) for s in resolvers.probe if s not in system),
    ]
    if resolvers.injection_probe is not None:
        servers.append((resolvers.injection_probe, "injection", min(timeout, INJECTION_TIMEOUT)))
    servers = [s for s in servers if roles is None or s[1] in roles]
    doh = resolvers.doh if roles is None or "control" in roles else ()
    jobs: list[Job | SubmittedQuery] = []
    qtypes: tuple[QType, ...] = ("A", "AAAA") if resolvers.ipv6 else ("A",)
    build_query = resolvers.build_query
    for qtype in qtypes:
        wire = build_query(qname, qtype) if build_query and servers else None
        for server, role, t in servers:
            if submit is not None:
                handle = submit(len(jobs), role, server, t, qtype, wire)
                if handle is not None:
                    jobs.append(handle)
                    continue
            resolver = f"udp:{server[0]}:{server[1]}"
            udp = resolvers.udp_for(role)

            def call(
                on_answer: AnswerHook | None, udp: QueryUdp = udp, server: Server = server,
                role: DnsRole = role, t: float = t, qtype: QType = qtype,
                wire: bytes | None = wire,
            ) -> Awaitable[DnsQuery]:
                return udp(server, qname, qtype, role, timeout=t, hold_on=min(hold_on, t),
                           query_wire=wire, on_answer=on_answer)

            def failed(
                ms: float, err: str, resolver: str = resolver, role: DnsRole = role,
                qtype: QType = qtype,
            ) -> DnsQuery:
                return _failed(resolver, role, "udp", qname, qtype, ms, err)

            # Every attempt may run its full timeout (see exchange.DNS_ATTEMPTS), plus pauses.
            attempts = 1 if role == "injection" else DNS_ATTEMPTS
            backstop = attempts * t + (attempts - 1) * RETRY_BACKOFF * 2 + hold_on + 1.0
            jobs.append((role, functools.partial(_guard, resolvers, server, call, backstop,
                                                 failed)))
        for url, client in doh:

            def dcall(
                on_answer: AnswerHook | None, client: DohLike = client, qtype: QType = qtype
            ) -> Awaitable[DnsQuery]:
                return client.query(qname, qtype)

            def dfailed(ms: float, err: str, url: str = url, qtype: QType = qtype) -> DnsQuery:
                return _failed(url, "control", "doh", qname, qtype, ms, err)

            backstop = timeout * 2 + 1.0
            jobs.append(("control", functools.partial(_guard, resolvers, url, dcall, backstop,
                                                      dfailed)))
    return jobs


class SiteDns:
    """Every DNS query of one name, all started at once.

    `answers()` returns as soon as each query that picks the addresses to connect to (system,
    probe and control resolvers) has its accepted answer or has failed: TCP/TLS/HTTP need not
    wait for the hold-on windows nor for the injection probe (which normally never answers).
    Only the accepted answer picks addresses, and it is final once it arrived (a forged answer
    a stub resolver would accept is connected to, as before). `finish()` then waits for the
    rest and returns every query in full, in job order; `abort()` (the site was cut off)
    cancels what still runs and returns the queries that completed.

    UDP queries of a DNS-only scan go through the mux's `submit` (no task, no coroutine, no
    backstop timer per query: the mux's own timers end every query); the rest run as tasks.
    """

    __slots__ = ("_tasks", "_early", "_left", "_ready", "_open", "_all_done")

    def __init__(
        self, resolvers: Resolvers, qname: str, roles: Collection[str] | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = loop.create_future()
        self._all_done: asyncio.Future[None] | None = None
        self._open = 0  # submitted queries not yet over
        self._left = 0
        submit = None
        hold_on = min(resolvers.hold_on, resolvers.timeout)
        if resolvers.submit is not None or resolvers.injection_submit is not None:

            def submit(
                index: int, role: DnsRole, server: Server, t: float, qtype: QType,
                wire: bytes | None,
            ) -> SubmittedQuery | None:
                start = resolvers.submit_for(role)
                if start is None:
                    return None
                handle = start(server, qname, qtype, role, timeout=t,
                               hold_on=min(hold_on, t), query_wire=wire)
                if handle is None:
                    return None
                self._open += 1
                if role != "injection":  # never picks an address: nobody waits for it early
                    self._left += 1
                    handle.on_answer = functools.partial(self._answered, index)
                handle.on_done = functools.partial(self._submitted_done, index, handle)
                if handle.done.done():  # failed at once (the send): report it once set up
                    loop.call_soon(handle.on_done)
                return handle

        jobs = dns_jobs(resolvers, qname, roles, submit=submit)
        self._early: list[DnsQuery | None] = [None] * len(jobs)
        self._tasks: list[asyncio.Future[DnsQuery] | SubmittedQuery] = []
        for i, job in enumerate(jobs):
            if not isinstance(job, tuple):  # a submitted query
                self._tasks.append(job)
                continue
            role, start = job
            if role == "injection":
                self._tasks.append(asyncio.ensure_future(start(None)))
                continue
            self._left += 1
            task = asyncio.ensure_future(start(functools.partial(self._answered, i)))
            task.add_done_callback(functools.partial(self._done, i))
            self._tasks.append(task)
        if not self._left:
            self._ready.set_result(None)

    def _answered(self, index: int, query: DnsQuery | None) -> None:
        if self._ready.done() or self._early[index] is not None:
            return
        self._early[index] = query
        self._left -= 1
        if not self._left:
            self._ready.set_result(None)

    def _done(self, index: int, task: asyncio.Task[DnsQuery]) -> None:
        # A failed query, or one without an early answer (DoH): its end is its answer.
        if self._early[index] is None:
            ok = not task.cancelled() and task.exception() is None
            self._answered(index, task.result() if ok else None)

    def _submitted_done(self, index: int, handle: SubmittedQuery) -> None:
        if self._early[index] is None and handle.role != "injection":
            self._answered(index, handle.result())
        self._open -= 1
        if not self._open and self._all_done is not None and not self._all_done.done():
            self._all_done.set_result(None)

    async def answers(self) -> list[DnsQuery]:
        """The queries that pick addresses, as they stood when their answer was accepted."""
        await asyncio.shield(self._ready)
        return [q for q in self._early if q is not None]

    async def finish(self) -> list[DnsQuery]:
        """Every query in full (hold-on windows and the injection probe done), in job order."""
        if self._open:
            self._all_done = asyncio.get_running_loop().create_future()
            await self._all_done
        tasks = [t for t in self._tasks if isinstance(t, asyncio.Future)]
        if tasks:
            await asyncio.gather(*tasks)
        return [t.result() for t in self._tasks]

    def abort(self) -> list[DnsQuery]:
        """Cancel what still runs; the queries that completed, in job order."""
        done: list[DnsQuery] = []
        for task in self._tasks:
            if not isinstance(task, asyncio.Future):  # a submitted query
                if task.done.done():
                    done.append(task.result())
                else:
                    task.cancel()
            elif not task.done():
                task.cancel()
            elif not task.cancelled() and task.exception() is None:
                done.append(task.result())
        return done


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
