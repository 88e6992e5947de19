"""Scheduling across sites: bounded, lazy, streaming, interruptible, failure-isolated.

The per-site pipeline is replaced by small `check` coroutines, so these tests exercise only
run()'s producer loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from reachcheck.model import DnsQuery, SiteResult, Target
from reachcheck.runner import run
from reachcheck.targets import parse_target
from tests.runner.fakenet import loopback_config


def result_for(t: Target, verdict: str = "accessible", **extra) -> SiteResult:
    return SiteResult(target=t.given, domain=t.domain, url=t.url, verdict=verdict,
                      confidence="none", anomalies=(), reason="test", **extra)  # fmt: skip


def targets(n: int, prefix: str = "site") -> list[Target]:
    return [parse_target(f"{prefix}{i}.test") for i in range(n)]


async def test_concurrency_bound_is_honoured() -> None:
    active = peak = 0

    async def check(t: Target) -> SiteResult:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.005)
        active -= 1
        return result_for(t)

    results: list[SiteResult] = []
    summary = await run(targets(30), loopback_config(concurrency=4), on_result=results.append,
                        check=check)  # fmt: skip
    assert peak == 4
    assert sorted(r.domain for r in results) == sorted(t.domain for t in targets(30))
    assert summary.total == 30 and summary.counts["accessible"] == 30
    assert summary.counts["dns_blocked"] == 0 and not summary.interrupted


async def test_slow_site_does_not_hold_back_others_and_results_stream() -> None:
    # The slow site is released only by the 9th on_result call: if run() buffered results
    # until the end, this would never finish (the outer timeout turns that into a failure).
    release = asyncio.Event()
    fast = targets(9, "fast")
    slow = parse_target("slow.test")

    async def check(t: Target) -> SiteResult:
        if t is slow:
            await release.wait()
        else:
            # Later in the input = finishes sooner: completion order differs from input order.
            await asyncio.sleep(0.02 * (9 - fast.index(t)))
        return result_for(t)

    seen: list[str] = []

    def on_result(r: SiteResult) -> None:
        seen.append(r.domain)
        if len(seen) == 9:
            release.set()

    async with asyncio.timeout(10):
        await run([slow, *fast], loopback_config(concurrency=10), on_result=on_result,
                  check=check)  # fmt: skip
    assert seen[:9] == [t.domain for t in reversed(fast)]
    assert seen[9] == "slow.test"


async def test_targets_are_pulled_lazily() -> None:
    pulled = 0

    def source() -> Iterator[Target]:
        nonlocal pulled
        for t in targets(50):
            pulled += 1
            yield t

    pulled_at_result: list[int] = []

    async def check(t: Target) -> SiteResult:
        await asyncio.sleep(0.001)
        return result_for(t)

    summary = await run(source(), loopback_config(concurrency=3),
                        on_result=lambda r: pulled_at_result.append(pulled), check=check)
    assert summary.total == 50
    # Never more than `concurrency` targets ahead of the results delivered.
    assert all(p <= k + 3 for k, p in enumerate(pulled_at_result))
    assert pulled_at_result[0] == 3


async def test_exception_in_one_site_becomes_inconclusive() -> None:
    async def check(t: Target) -> SiteResult:
        if t.domain == "site3.test":
            raise ValueError("boom")
        return result_for(t)

    results: dict[str, SiteResult] = {}
    summary = await run(targets(6), loopback_config(),
                        on_result=lambda r: results.update({r.domain: r}),
                        check=check)  # fmt: skip
    assert len(results) == 6
    bad = results["site3.test"]
    assert bad.verdict == "inconclusive" and bad.reason.startswith("internal error:")
    assert "boom" in bad.reason
    assert summary.counts == {**summary.counts, "accessible": 5, "inconclusive": 1}


async def test_stop_cancels_in_flight_sites_promptly() -> None:
    stop = asyncio.Event()
    cancelled = 0

    async def check(t: Target) -> SiteResult:
        nonlocal cancelled
        if t.domain in ("site0.test", "site1.test"):
            return result_for(t)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return result_for(t)

    delivered: list[str] = []

    def on_result(r: SiteResult) -> None:
        delivered.append(r.domain)
        if len(delivered) == 2:
            stop.set()

    t0 = time.monotonic()
    summary = await run(targets(100), loopback_config(concurrency=10), on_result=on_result,
                        stop=stop, check=check)  # fmt: skip
    assert time.monotonic() - t0 < 3.0  # generous: the contract is "about a second"
    assert summary.interrupted and summary.total == 2
    assert sorted(delivered) == ["site0.test", "site1.test"]
    assert cancelled >= 8  # everything in flight was cancelled, not awaited


async def test_stop_set_before_start_launches_nothing() -> None:
    stop = asyncio.Event()
    stop.set()
    launched: list[str] = []

    async def check(t: Target) -> SiteResult:
        launched.append(t.domain)
        return result_for(t)

    summary = await run(targets(5), loopback_config(), on_result=lambda r: None, stop=stop,
                        check=check)  # fmt: skip
    assert launched == [] and summary.interrupted and summary.total == 0


async def test_progress_callback_reports_done_total_and_counts() -> None:
    async def check(t: Target) -> SiteResult:
        return result_for(t, "site_down" if t.domain == "site0.test" else "accessible")

    calls: list[tuple[int, int | None, dict[str, int]]] = []
    await run(targets(4), loopback_config(), on_result=lambda r: None,
              on_progress=lambda d, n, c: calls.append((d, n, c)), check=check)  # fmt: skip
    assert [d for d, _, _ in calls] == [1, 2, 3, 4]
    assert all(n == 4 for _, n, _ in calls)
    assert calls[-1][2]["accessible"] == 3 and calls[-1][2]["site_down"] == 1
    # Unknown length (a generator): total is None.
    gen_calls: list[int | None] = []
    await run(iter(targets(2)), loopback_config(), on_result=lambda r: None,
              on_progress=lambda d, n, c: gen_calls.append(n), check=check)  # fmt: skip
    assert gen_calls == [None, None]


def _silent_dns(t: Target) -> tuple[DnsQuery, ...]:
    return (DnsQuery("udp:127.0.0.1:5300", "system", "udp", t.domain, "A", 1000.0, error="timeout"),
            DnsQuery("https://127.0.0.1:8443/dns-query", "control", "doh", t.domain, "A", 1.0,
                     error="unreachable"))  # fmt: skip


async def test_network_down_when_every_result_heard_nothing() -> None:
    async def down(t: Target) -> SiteResult:
        return result_for(t, "inconclusive", dns=_silent_dns(t))

    summary = await run(targets(3), loopback_config(), on_result=lambda r: None, check=down)
    assert summary.network_down and summary.counts["inconclusive"] == 3

    async def one_up(t: Target) -> SiteResult:
        if t.domain == "site0.test":
            return result_for(t)
        return await down(t)

    summary = await run(targets(3), loopback_config(), on_result=lambda r: None, check=one_up)
    assert not summary.network_down


async def test_on_result_error_propagates_and_cancels_the_rest() -> None:
    started: list[str] = []

    async def check(t: Target) -> SiteResult:
        started.append(t.domain)
        if t.domain != "site0.test":
            await asyncio.sleep(3600)
        return result_for(t)

    def on_result(r: SiteResult) -> None:
        raise BrokenPipeError("stdout closed")

    try:
        async with asyncio.timeout(5):
            await run(targets(5), loopback_config(), on_result=on_result, check=check)
    except BrokenPipeError:
        pass
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("on_result's error was swallowed")
    assert len(started) == 5
