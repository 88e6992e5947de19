"""The runner: checks many targets concurrently and streams each result as it completes.

Rules:
1. The targets iterable is consumed lazily, one target per free slot: at most
   `config.concurrency` sites are in flight, and neither all tasks nor all results ever exist
   at once. Only per-verdict counts are kept, so memory stays flat for any list length.
2. A site never takes the run down: an exception or a hang in one site becomes an
   `inconclusive` result with an "internal error: ..." reason (and a whole-site deadline).
3. `stop` (set by the CLI on SIGINT/SIGTERM) launches nothing new, cancels the sites in flight
   within about a second, and returns with `interrupted=True`; results already delivered
   through `on_result` are the partial output.
Per-site measurement lives in `site.py`, shared state and limits in `session.py`/`limits.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sized
from dataclasses import dataclass
from typing import cast

from reachcheck.config import Config
from reachcheck.model import VERDICTS, SiteResult, Target
from reachcheck.runner.limits import raise_nofile_limit
from reachcheck.runner.probeset import ProbeSet, default_probes
from reachcheck.runner.session import Session, inconclusive, site_deadline

__all__ = ["CheckFn", "ProbeSet", "RunSummary", "default_probes", "looks_down", "run"]

CheckFn = Callable[[Target], Awaitable[SiteResult]]
ProgressFn = Callable[[int, "int | None", dict[str, int]], None]

CANCEL_GRACE = 1.0  # seconds given to cancelled sites (and the session) to clean up on stop


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What remains of a run once every result was delivered."""

    counts: dict[str, int]  # results per verdict (every verdict present, zeros included)
    total: int  # results delivered
    interrupted: bool  # `stop` cut the run short
    network_down: bool  # every result says the local network looks down


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
    raise_nofile_limit()
    total = len(targets) if isinstance(targets, Sized) else None
    backstop = site_deadline(config) + 5.0  # the session has its own, tighter deadline
    if check is not None:
        return await _schedule(
            targets, check, config, backstop, total, on_result, on_progress, stop
        )
    session = Session(config, probes if probes is not None else default_probes())
    try:
        await session.__aenter__()
        return await _schedule(
            targets, session.check, config, backstop, total, on_result, on_progress, stop
        )
    finally:
        # Closing DoH/HTTP clients must not hold up an interrupted run.
        try:
            async with asyncio.timeout(CANCEL_GRACE):
                await session.__aexit__(None, None, None)
        except TimeoutError:
            pass


async def _guarded(check: CheckFn, target: Target, backstop: float) -> SiteResult:
    """`check(target)`, but an exception or a hang becomes an inconclusive result."""
    try:
        async with asyncio.timeout(backstop):
            return await check(target)
    except TimeoutError:
        return inconclusive(target, "internal error: the check of this site did not finish")
    except Exception as exc:
        return inconclusive(target, f"internal error: {exc!r}")


async def _schedule(
    targets: Iterable[Target],
    check: CheckFn,
    config: Config,
    backstop: float,
    total: int | None,
    on_result: Callable[[SiteResult], None],
    on_progress: ProgressFn | None,
    stop: asyncio.Event | None,
) -> RunSummary:
    """The bounded producer: pull a target only when a slot is free."""
    limit = max(1, config.concurrency)
    counts = {v: 0 for v in VERDICTS}
    done = down = 0
    source = iter(targets)
    exhausted = interrupted = False
    inflight: set[asyncio.Task[SiteResult]] = set()
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while True:
            while not exhausted and len(inflight) < limit and not (stop and stop.is_set()):
                try:
                    target = next(source)
                except StopIteration:
                    exhausted = True
                    break
                inflight.add(asyncio.create_task(_guarded(check, target, backstop)))
            if stop is not None and stop.is_set():
                interrupted = bool(inflight) or not exhausted
                break
            if not inflight:
                break
            waiting = inflight | {stopper} if stopper is not None else inflight
            finished, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if task is stopper:
                    continue
                inflight.discard(task)
                # Not the stopper, so one of the inflight checks.
                result = cast(SiteResult, task.result())
                counts[result.verdict] = counts.get(result.verdict, 0) + 1
                done += 1
                down += looks_down(result)
                on_result(result)
                if on_progress is not None:
                    on_progress(done, total, dict(counts))
    finally:
        if stopper is not None:
            stopper.cancel()
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
