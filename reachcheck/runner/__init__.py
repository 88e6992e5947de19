"""The runner: checks many targets concurrently and streams each result as it completes.

Rules:
1. The targets iterable is consumed lazily, one target per free slot: at most
   `config.concurrency` sites are active (measuring), plus a bounded number in their tail
   (connections done, only waiting for DNS hold-on windows and the injection probe before
   being judged), and neither all tasks nor all results ever exist at once. Only per-verdict
   counts are kept, so memory stays flat for any list length.
2. A site never takes the run down: an exception or a hang in one site becomes an
   `inconclusive` result with an "internal error: ..." reason (and a whole-site deadline).
3. `stop` (set by the CLI on SIGINT/SIGTERM) launches nothing new, cancels the sites in flight
   within about a second, and returns with `interrupted=True`; results already delivered
   through `on_result` are the partial output.
One site's check lives in `site.py`, run-wide resources and limits in `session.py`/`limits.py`.

May import: reachcheck.analysis, reachcheck.config, reachcheck.model, reachcheck.probes,
reachcheck.control.client, reachcheck.vantage.proxy (the two outside views, built by
`probeset.py` only). (Enforced by tests/test_layering.py.)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import gc
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass

from reachcheck.config import Config
from reachcheck.model import VERDICTS, SiteResult, Target
from reachcheck.runner.fallback import inconclusive
from reachcheck.runner.limits import raise_nofile_limit
from reachcheck.runner.probeset import ProbeSet, default_probes
from reachcheck.runner.session import Session, site_deadline
from reachcheck.runner.site import check as check_site

__all__ = ["CheckFn", "ProbeSet", "RunSummary", "default_probes", "looks_down", "run"]

CheckFn = Callable[[Target], Awaitable[SiteResult]]
# A check that may call its second argument once its connections are done (its tail).
_TailCheck = Callable[[Target, Callable[[], None]], Awaitable[SiteResult]]
ProgressFn = Callable[[int, "int | None", dict[str, int]], None]

CANCEL_GRACE = 1.0  # seconds given to cancelled sites (and the session) to clean up on stop
# Sites in their tail (connections done, waiting only for DNS hold-on windows and the injection
# probe) allowed per active slot: they hold a few UDP queries each, no connection.
TAIL_FACTOR = 8
GC_THRESHOLD = 20000  # allocations between young-generation collections (default 700)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What remains of a run once every result was delivered."""

    counts: dict[str, int]  # results per verdict (every verdict present, zeros included)
    total: int  # results delivered
    interrupted: bool  # `stop` cut the run short
    network_down: bool  # every result says the local network looks down

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], *, interrupted: bool = False) -> RunSummary:
        """A summary from verdict counts alone, for what has no runner to sum it up: a report
        of saved runs, an import, a run that a second Ctrl-C cut short."""
        every = {v: 0 for v in VERDICTS} | dict(counts)
        return cls(every, sum(counts.values()), interrupted, network_down=False)


def looks_down(result: SiteResult) -> bool:
    """An inconclusive result that saw nothing of the network: no DNS response from any
    resolver (control included) and no TCP connect completed, or the analysis said so."""
    if result.verdict != "inconclusive":
        return False
    reason = result.reason.lower()
    if "network" in reason and "down" in reason:
        return True
    asked = bool(result.dns) or bool(result.tcp)
    heard = any(q.responses for q in result.dns) or any(c.ok for c in result.tcp)
    return asked and not heard


async def run(
    targets: Iterable[Target],
    config: Config,
    *,
    on_result: Callable[[SiteResult], None],
    on_progress: ProgressFn | None = None,
    stop: asyncio.Event | None = None,
    probes: ProbeSet | None = None,
    check: CheckFn | None = None,
) -> RunSummary:
    """Check every target; call `on_result` as each finishes (completion order).

    `probes` replaces the real probes (tests); `check` replaces the whole per-site pipeline
    (scheduling tests). Public addresses come only from `config`: pass loopback ones in tests.
    """
    nofile = raise_nofile_limit()
    with _gc_tuned():
        return await _run(targets, config, on_result, on_progress, stop, probes, check, nofile)


@contextlib.contextmanager
def _gc_tuned() -> Iterator[None]:
    """Cheaper garbage collection for the run: a run allocates many short-lived objects (a few
    hundred per site), and with the default thresholds the collector rescans every long-lived
    object (the imported modules) over and over. Frozen, those are never scanned again; a
    larger young generation collects less often. Restored afterwards."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _run(
    targets: Iterable[Target],
    config: Config,
    on_result: Callable[[SiteResult], None],
    on_progress: ProgressFn | None,
    stop: asyncio.Event | None,
    probes: ProbeSet | None,
    check: CheckFn | None,
    nofile: int | None,
) -> RunSummary:
    total = len(targets) if isinstance(targets, Sized) else None
    backstop = site_deadline(config) + 5.0  # the session has its own, tighter deadline
    if check is not None:
        plain = check

        def checker(target: Target, on_tail: Callable[[], None]) -> Awaitable[SiteResult]:
            return plain(target)

        return await _schedule(
            targets, checker, config, backstop, total, on_result, on_progress, stop, tails=0
        )
    session = Session(config, probes if probes is not None else default_probes())
    try:
        await session.__aenter__()
        return await _schedule(
            targets, functools.partial(check_site, session), config, backstop, total, on_result,
            on_progress, stop,
            tails=tail_cap(config, session.dns_only, nofile),
        )
    finally:
        # Closing DoH/HTTP clients must not hold up an interrupted run.
        try:
            async with asyncio.timeout(CANCEL_GRACE):
                await session.__aexit__(None, None, None)
        except TimeoutError:
            pass


def tail_cap(config: Config, dns_only: bool, nofile: int | None) -> int:
    """How many sites may be in their tail (only waiting for hold-on windows and the injection
    probe) besides the `concurrency` active ones. A tail holds no connection, only its open
    DNS queries: with one socket per query (full checks) it is also bounded by the open-files
    limit; the shared-socket mux of DNS-only runs needs no descriptor per query."""
    cap = TAIL_FACTOR * max(1, config.concurrency)
    if not dns_only and nofile is not None:
        cap = min(cap, max(0, nofile // 16))
    return cap


async def _guarded(
    check: _TailCheck, target: Target, on_tail: Callable[[], None], backstop: float
) -> SiteResult:
    """`check(target)`, but an exception or a hang becomes an inconclusive result."""
    try:
        async with asyncio.timeout(backstop):
            return await check(target, on_tail)
    except TimeoutError:
        return inconclusive(target, "internal error: the check of this site did not finish")
    except Exception as exc:
        return inconclusive(target, f"internal error: {exc!r}")


async def _schedule(
    targets: Iterable[Target],
    check: _TailCheck,
    config: Config,
    backstop: float,
    total: int | None,
    on_result: Callable[[SiteResult], None],
    on_progress: ProgressFn | None,
    stop: asyncio.Event | None,
    *,
    tails: int,
) -> RunSummary:
    """The bounded producer: pull a target only when a slot is free.

    At most `concurrency` sites are *active*; a site that calls its `on_tail` callback (its
    connections are done, it only waits for DNS hold-on windows and the injection probe before
    being judged) frees its slot for the next target, with at most `tails` such sites at once.
    Finished tasks are collected by a done callback, not by `asyncio.wait` over every task in
    flight (that would cost O(sites in flight) per result).
    """
    limit = max(1, config.concurrency)
    loop = asyncio.get_running_loop()
    counts = {v: 0 for v in VERDICTS}
    done = down = 0
    source = iter(targets)
    exhausted = interrupted = False
    inflight: set[asyncio.Task[SiteResult]] = set()
    finished: collections.deque[asyncio.Task[SiteResult]] = collections.deque()
    active = 0
    wake: asyncio.Future[None] = loop.create_future()

    def poke() -> None:
        if not wake.done():
            wake.set_result(None)

    def launch(target: Target) -> None:
        nonlocal active
        slot = [True]  # still active (holding one of the `limit` slots)

        def on_tail() -> None:
            nonlocal active
            if slot[0] and tails > 0:
                slot[0] = False
                active -= 1
                poke()

        def on_done(task: asyncio.Task[SiteResult]) -> None:
            nonlocal active
            if slot[0]:
                slot[0] = False
                active -= 1
            finished.append(task)
            poke()

        active += 1
        task = asyncio.create_task(_guarded(check, target, on_tail, backstop))
        task.add_done_callback(on_done)
        inflight.add(task)

    if stop is not None:
        stop_waiter = asyncio.ensure_future(stop.wait())
        stop_waiter.add_done_callback(lambda _: poke())
    else:
        stop_waiter = None
    try:
        while True:
            while (
                not exhausted
                and active < limit
                and len(inflight) < limit + tails
                and not (stop and stop.is_set())
            ):
                try:
                    target = next(source)
                except StopIteration:
                    exhausted = True
                    break
                launch(target)
            if stop is not None and stop.is_set():
                interrupted = bool(inflight) or not exhausted
                break
            if not inflight:
                break
            if not finished:
                if wake.done():
                    wake = loop.create_future()
                await wake
            while finished:
                task = finished.popleft()
                inflight.discard(task)
                result = task.result()
                counts[result.verdict] = counts.get(result.verdict, 0) + 1
                done += 1
                down += looks_down(result)
                on_result(result)
                if on_progress is not None:
                    on_progress(done, total, dict(counts))
    finally:
        if stop_waiter is not None:
            stop_waiter.cancel()
        for task in inflight:
            task.cancel()
        if inflight:
            await asyncio.wait(inflight, timeout=CANCEL_GRACE)
    return RunSummary(
        counts=counts,
        total=done,
        interrupted=interrupted,
        network_down=done > 0 and down == done,
    )
