"""Judging a saved run again: the current analysis on the observations a run file holds.

A result carries every observation behind its verdict (the JSON is the record), so the same
analysis gives the same verdict from a file; a newer analysis, or other `--public-range`
settings, may give another. Run-level facts the judgement does not decide (run id, time,
vantage, origin) are kept as saved. `report --rejudge` uses it; so can any caller with saved
`SiteResult`s (no click here). A problem with the saved run raises `RejudgeError`, one line
naming what is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from reachcheck.config import public_network
from reachcheck.i18n import _
from reachcheck.model import Observations, SiteResult
from reachcheck.targets import TargetError, parse_target


class RejudgeError(ValueError):
    """A saved run that cannot be judged again (bad saved settings, an unparsable target)."""


def saved_public_ranges(meta: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The --public-range values a saved run was judged with (none in a JSONL file)."""
    settings = meta.get("settings") or {}
    saved = settings.get("public_ranges") if isinstance(settings, Mapping) else None
    if saved is None:
        return ()
    if not isinstance(saved, list) or not all(isinstance(v, str) for v in saved):
        raise RejudgeError(f"{path}: settings.public_ranges is not a list of CIDR strings")
    try:
        return tuple(dict.fromkeys(public_network(v) for v in saved))
    except ValueError as exc:
        # Worded as click words a bad option value, as this message always was.
        raise RejudgeError(f"{path}: settings.public_ranges: "
                           + _("Invalid value: {message}").format(message=exc)) from None


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
    """Judge a saved run again. Its observations are held in memory: a page served for
    unrelated sites anywhere in the file is a cluster, so every site is seen before any is
    judged (unlike a live run, earlier members learn of later ones)."""
    from reachcheck.analysis import judge  # lazy: only --rejudge needs it
    from reachcheck.runner.clusters import whole_run  # same page for unrelated sites

    saved = []
    kept = []  # what the judgement does not decide: run, time, vantage, origin
    for r in results:
        try:
            saved.append(observations_of(r))
        except TargetError as exc:
            raise RejudgeError(f"saved target {r.target!r} cannot be re-judged: {exc}") from None
        kept.append((r.run_id, r.measured_at, r.vantage, r.source))
    for observations, (run_id, measured_at, vantage, source) in zip(whole_run(saved), kept,
                                                                    strict=True):
        # Without ranges, call judge(obs) exactly as before (stand-ins take one argument).
        judged = (judge(observations, public_ranges=public_ranges) if public_ranges
                  else judge(observations))
        yield dataclasses.replace(judged, run_id=run_id, measured_at=measured_at,
                                  vantage=vantage, source=source)
