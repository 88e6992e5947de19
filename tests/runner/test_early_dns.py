"""Connections start on the accepted DNS answers; hold-on windows and the injection probe run
on in the background, are recorded in full before the site is judged, and free the site's
active slot (its tail) without holding back the next sites."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from reachcheck.model import SiteResult
from reachcheck.runner import run
from reachcheck.runner.recorder import Recorder
from reachcheck.runner.session import Session
from reachcheck.runner.site import measure
from reachcheck.targets import parse_target
from tests.runner.fakenet import FakeNet, loopback_config, stub_judge


async def test_connections_start_before_hold_on_and_injection_end(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.injection_wait = 0.4
    started: list[float] = []
    orig = net.tls_handshake

    async def timed(*args: Any, **kw: Any) -> Any:
        started.append(time.monotonic())
        return await orig(*args, **kw)

    net.tls_handshake = timed  # type: ignore[method-assign]
    async with Session(loopback_config(hold_on=0.3), net.probes(), judge=stub_judge) as session:
        rec = Recorder(parse_target("a.test"))
        t0 = time.monotonic()
        await measure(session, rec.target, rec)
        elapsed = time.monotonic() - t0
    assert started and started[0] - t0 < 0.1  # did not wait for the 0.3 s window nor 0.4 s
    assert elapsed >= 0.4  # ...but the site waited for every query before returning
    roles = [q.role for q in rec.dns]
    assert sorted(roles) == ["control", "injection", "probe", "system"]
    assert [f.ok for f in rec.http] == [True]


async def test_late_responses_are_recorded_and_the_accepted_forged_answer_is_used(
    net: FakeNet,
) -> None:
    # On-path injection: the system resolver's accepted answer is forged, the real one comes
    # within the hold-on window. The browser would use the forged one: it is connected to.
    net.local["a.test"] = ("127.0.0.66",)
    net.late["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.10",)
    async with Session(loopback_config(hold_on=0.2), net.probes(), judge=stub_judge) as session:
        rec = Recorder(parse_target("a.test"))
        await measure(session, rec.target, rec)
    system = next(q for q in rec.dns if q.role == "system")
    assert [r.addresses for r in system.responses] == [("127.0.0.66",), ("127.0.0.10",)]
    assert system.accepted == 0
    by_addr = {t.address: t.sources for t in rec.tcp}
    assert by_addr == {"127.0.0.66": ("system", "probe"), "127.0.0.10": ("control",)}


async def test_dns_is_recorded_in_job_order_as_before(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.injection_wait = 0.05
    async with Session(loopback_config(ipv6=True, hold_on=0.02), net.probes(),
                       judge=stub_judge) as session:  # fmt: skip
        rec = Recorder(parse_target("a.test"))
        await measure(session, rec.target, rec)
    assert [(q.qtype, q.role) for q in rec.dns] == [
        (t, r) for t in ("A", "AAAA") for r in ("system", "probe", "injection", "control")
    ]


async def test_cut_off_site_keeps_completed_queries_and_cancels_the_rest(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.injection_wait = 30.0
    async with Session(loopback_config(), net.probes(), judge=stub_judge) as session:
        rec = Recorder(parse_target("a.test"))
        try:
            async with asyncio.timeout(0.2):
                await measure(session, rec.target, rec)
        except TimeoutError:
            pass
        else:  # pragma: no cover
            raise AssertionError("the injection probe should have held the site")
        await asyncio.sleep(0)
        assert sorted(q.role for q in rec.dns) == ["control", "probe", "system"]
        assert [f.ok for f in rec.http] == [True]
        pending = [t for t in asyncio.all_tasks() if "query_udp" in repr(t.get_coro())]
        assert not [t for t in pending if not t.done()]


async def test_tails_do_not_hold_active_slots(net: FakeNet) -> None:
    # Every site waits 0.3 s for its injection probe. With 2 active slots, 10 sites would take
    # 5 x 0.3 s if the wait held the slot; as a tail it overlaps.
    names = [f"s{i}.test" for i in range(10)]
    for name in names:
        net.local[name] = net.control[name] = (f"127.0.1.{len(net.local)}",)
    net.injection_wait = 0.3
    net.delay = 0.01
    results: list[SiteResult] = []
    t0 = time.monotonic()
    await run([parse_target(n) for n in names], loopback_config(concurrency=2),
              on_result=results.append, probes=net.probes())  # fmt: skip
    elapsed = time.monotonic() - t0
    assert len(results) == 10 and elapsed < 0.9
    assert all(any(q.role == "injection" for q in r.dns) for r in results)
    # Connections stay bounded by the active slots: at most 2 sites connect at once.
    assert sum(net.peak.values()) <= 10 and max(net.active.values()) == 0


async def test_tail_cap_bounds_sites_in_flight(net: FakeNet) -> None:
    from reachcheck.runner import tail_cap

    cfg = loopback_config(concurrency=4)
    assert tail_cap(cfg, True, None) == 32
    assert tail_cap(cfg, False, 256) == 16  # a socket per query: bounded by the files limit


async def test_dns_only_injection_probe_has_its_own_mux(net: FakeNet) -> None:
    made: list[tuple[int, Any]] = []

    class Mux:
        def __init__(self, outstanding: int) -> None:
            self.outstanding = outstanding
            self.roles: list[str] = []

        async def query(self, server: Any, qname: str, qtype: str, role: Any,
                        **kw: Any) -> Any:  # fmt: skip
            self.roles.append(role)
            return await net.query_udp(server, qname, qtype, role, **kw)

        def submit(self, *args: Any, **kw: Any) -> None:
            return None  # no task-free path: every query goes through `query`

        async def open(self, servers: Any) -> None:
            pass

        async def aclose(self) -> None:
            pass

    def make_mux(config: Any, outstanding: int) -> Mux:
        mux = Mux(outstanding)
        made.append((outstanding, mux))
        return mux

    import dataclasses

    probes = dataclasses.replace(net.probes(), make_mux=make_mux)
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    cfg = loopback_config(stages=frozenset({"dns"}))
    async with Session(cfg, probes, judge=stub_judge) as session:
        rec = Recorder(parse_target("a.test"))
        await measure(session, rec.target, rec)
    (main, main_mux), (inj, inj_mux) = made
    assert main < inj and sorted(main_mux.roles) == ["probe", "system"]
    assert inj_mux.roles == ["injection"]
    assert len(rec.dns) == 4
