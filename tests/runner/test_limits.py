"""Run-wide limits: per-resolver rate, per-address connections, the residual tracker,
and the per-site deadline/failure isolation of Session.check."""

from __future__ import annotations

import asyncio
import functools
import resource

import pytest

from reachcheck.model import TlsHandshake
from reachcheck.runner import run
from reachcheck.runner.limits import (
    AddressLimiter,
    RateLimiter,
    ResidualTracker,
    raise_nofile_limit,
)
from reachcheck.runner.session import Session
from reachcheck.runner.site import check
from reachcheck.targets import parse_target
from tests.runner.fakenet import SYSTEM, FakeNet, loopback_config, stub_judge


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        j = i
        while j < len(times) and times[j] < t + window:
            j += 1
        best = max(best, j - i)
    return best


async def test_rate_cap_per_resolver_is_honoured(net: FakeNet) -> None:
    rate = 40.0
    names = [f"s{i}.test" for i in range(50)]
    config = loopback_config(rate=rate, resolvers=(), doh=(), injection_probe=None,
                             stages=frozenset({"dns"}), concurrency=64)  # fmt: skip
    async with Session(config, net.probes(), judge=stub_judge) as session:
        summary = await run([parse_target(n) for n in names], config, on_result=lambda r: None,
                            check=functools.partial(check, session))  # fmt: skip
    assert summary.total == 50
    times = net.times[f"udp:{SYSTEM[0]}:{SYSTEM[1]}"]
    assert len(times) == 50
    # Burst is rate/10 = 4: in any half second at most 20 + 4, with a margin for timer jitter.
    assert max_in_window(times, 0.5) <= rate * 0.5 + 4 + 3


async def test_rate_limiter_without_rate_never_waits() -> None:
    limiter = RateLimiter(None)
    assert all(limiter.reserve("r") == 0.0 for _ in range(1000))


def test_rate_limiter_spaces_reservations_after_the_burst() -> None:
    now = [100.0]
    limiter = RateLimiter(10.0, burst=3, clock=lambda: now[0])
    waits = [limiter.reserve("r") for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.1, 0.2, 0.3])
    assert limiter.reserve("other") == 0.0  # buckets are per resolver


async def test_per_address_limit_is_shared_across_sites(net: FakeNet) -> None:
    net.delay = 0.02
    names = [f"s{i}.test" for i in range(12)]
    for name in names:
        net.local[name] = net.control[name] = ("127.0.0.10",)
    config = loopback_config(per_address=2, concurrency=12)
    async with Session(config, net.probes(), judge=stub_judge) as session:
        results = []
        await run([parse_target(n) for n in names], config, on_result=results.append,
                  check=functools.partial(check, session))  # fmt: skip
    assert [r.verdict for r in results] == ["accessible"] * 12
    assert net.peak["127.0.0.10"] == 2


async def test_address_limiter_forgets_idle_addresses() -> None:
    limiter = AddressLimiter(1)
    async with limiter.hold("127.0.0.10"):
        assert len(limiter) == 1
    assert len(limiter) == 0


def _hs(ok: bool, error: str | None, started: float, address: str = "127.0.0.10") -> TlsHandshake:
    return TlsHandshake(address, 443, "x.test", "target", ok, 1.0, error, started_ms=started)


def test_residual_tracker_window_and_concurrency() -> None:
    tracker = ResidualTracker(window_s=10)
    first = tracker.note(_hs(False, "reset", 0.0), end_ms=5.0)
    assert not first.possibly_residual
    # A concurrent handshake that ends after the trigger may have been hit by the penalty
    # (the CDN-neighbour case the lab reproduces): suspect, not evidence.
    assert tracker.note(_hs(False, "timeout", 4.0), end_ms=2000.0).possibly_residual
    # Later failure within the window: possibly the penalty.
    assert tracker.note(_hs(False, "timeout", 100.0), end_ms=200.0).possibly_residual
    # Success is never flagged; another address is not affected.
    assert not tracker.note(_hs(True, None, 300.0), end_ms=301.0).possibly_residual
    assert not tracker.note(_hs(False, "reset", 300.0, "127.0.0.11"), 301.0).possibly_residual
    # Past the window (10 s after the last trigger at 200 ms).
    assert not tracker.note(_hs(False, "reset", 20_300.0), end_ms=20_301.0).possibly_residual


def test_residual_tracker_ignores_non_trigger_errors() -> None:
    tracker = ResidualTracker()
    tracker.note(_hs(False, "cert_hostname", 0.0), end_ms=1.0)
    assert not tracker.recent_failure("127.0.0.10", 443, 10.0)


def test_nofile_limit_is_raised_towards_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = raise_nofile_limit(target=soft)  # never lowers; returns the soft limit in force
    assert new is not None and new >= soft
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[1] == hard


async def test_site_deadline_gives_inconclusive_with_partial_observations(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.delay = 60.0  # every connection hangs
    async with Session(loopback_config(), net.probes(), judge=stub_judge) as session:
        session.deadline = 0.2
        result = await check(session, parse_target("a.test"))
    assert result.verdict == "inconclusive" and "did not finish" in result.reason
    assert result.dns  # what was measured before the deadline is kept as evidence


async def test_probe_bug_gives_internal_error_result(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.fetch_raises = True
    async with Session(loopback_config(), net.probes(), judge=stub_judge) as session:
        result = await check(session, parse_target("a.test"))
    assert result.verdict == "inconclusive"
    assert result.reason.startswith("internal error:") and "prober bug" in result.reason
    assert result.dns and result.tcp


async def test_judge_bug_gives_internal_error_result(net: FakeNet) -> None:
    def broken(obs):  # noqa: ANN001, ANN202
        raise KeyError("rule")

    async with Session(loopback_config(), net.probes(), judge=broken) as session:
        result = await check(session, parse_target("gone.test"))
    assert result.verdict == "inconclusive" and "internal error" in result.reason


async def test_cancelled_site_does_not_cancel_a_shared_benign_handshake(net: FakeNet) -> None:
    net.delay = 0.05
    for name in ("a.test", "b.test"):
        net.local[name] = net.control[name] = ("127.0.0.10",)
    async with Session(loopback_config(), net.probes(), judge=stub_judge) as session:
        first = asyncio.ensure_future(check(session, parse_target("a.test")))
        await asyncio.sleep(0.02)  # a.test is inside the benign handshake
        second = asyncio.ensure_future(check(session, parse_target("b.test")))
        await asyncio.sleep(0)
        first.cancel()
        result = await second
    assert result.verdict == "accessible"
    assert len([c for c in net.calls if c[0] == "tls" and c[3] == "benign"]) == 1
