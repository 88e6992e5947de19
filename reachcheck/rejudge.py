"""Judge a saved run again: the observations a `SiteResult` holds, through today's analysis.

A result carries every observation behind its verdict (the JSON is the record), so the same
analysis gives the same verdict from a file; a newer analysis, or other `--public-range`
settings, may give another. Run-level facts the judgement does not decide (run id, time,
vantage, origin) are kept as saved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from reachcheck.analysis import judge
from reachcheck.model import Observations, SiteResult
from reachcheck.runner.clusters import whole_run
from reachcheck.targets import parse_target


def observations_of(result: SiteResult) -> Observations:
    """The observations `result` was judged from. A saved target that no longer parses raises
    `targets.TargetError`."""
    return Observations(
        target=parse_target(result.target),
        dns=result.dns,
        tcp=result.tcp,
        tls=result.tls,
        http=result.http,
        control=result.control,
        elapsed_ms=result.elapsed_ms,
        stages_checked=result.stages_checked,
        default_route_tun=result.default_route_tun,
        cleartext_fetches=result.cleartext_fetches,
        own_triggers=result.own_triggers,
        page_clusters=result.page_clusters,
    )


def rejudge(results: Iterable[SiteResult], public_ranges: tuple[str, ...] = ()
            ) -> Iterator[SiteResult]:
    """Judge saved results again. Their observations are held in memory: a page served for
    unrelated sites anywhere in the run is a cluster, so every site is seen before any is
    judged (unlike a live run, where earlier members do not learn of later ones)."""
    saved = []
    kept = []  # what the judgement does not decide: run, time, vantage, origin
    for r in results:
        saved.append(observations_of(r))
        kept.append((r.run_id, r.measured_at, r.vantage, r.source))
    for observations, (run_id, measured_at, vantage, source) in zip(whole_run(saved), kept,
                                                                    strict=True):
        judged = judge(observations, public_ranges=public_ranges)
        yield dataclasses.replace(judged, run_id=run_id, measured_at=measured_at,
                                  vantage=vantage, source=source)
