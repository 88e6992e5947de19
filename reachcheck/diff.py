"""What changed between two runs, site by site. Pure: results in, changes out.

Sites are matched by their normalised URL (`coingecko.com` and `https://coingecko.com/` are
one site); when a run holds a site twice, its last result counts. Each site that differs lands
in exactly one category, the first that applies:

- `newly_blocked`: blocked now (a `*_blocked` verdict), not blocked before (or not measured).
- `unblocked`: blocked before, not now (the new verdict says whether it is now accessible,
  down, or merely inconclusive: "no longer shown blocked" is not "reachable").
- `mechanism_changed`: blocked in both runs, by a different verdict (dns -> tls).
- `new_evidence`: same verdict, but anomaly kinds appeared that the old run did not have
  (a second layer of a double block showing up).
- `verdict_changed`: any other verdict change (accessible -> inconclusive, -> site_down).
- `removed`: measured before, not in the new run.

Exit status for scripts (`exit_status`): 1 when anything is newly blocked, 3 when something
else changed, 0 when nothing did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reachcheck.model import BLOCKED_VERDICTS, SiteResult

CATEGORIES = ("newly_blocked", "unblocked", "mechanism_changed", "new_evidence",
              "verdict_changed", "removed")
EXIT_UNCHANGED, EXIT_NEWLY_BLOCKED, EXIT_CHANGED = 0, 1, 3


@dataclass(frozen=True, slots=True)
class SiteChange:
    """One site that differs between the runs."""

    category: str
    url: str
    target: str
    old_verdict: str | None  # None: not in the old run
    new_verdict: str | None  # None: not in the new run
    new_kinds: tuple[str, ...] = ()  # anomaly kinds seen now and not before
    gone_kinds: tuple[str, ...] = ()  # anomaly kinds seen before and not now
    summary: str = ""  # the mechanism in words (new run; old one for `removed`)
    measured_at: str | None = None  # of the new result (old for `removed`)

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "url": self.url, "target": self.target,
                "old_verdict": self.old_verdict, "new_verdict": self.new_verdict,
                "new_kinds": list(self.new_kinds), "gone_kinds": list(self.gone_kinds),
                "summary": self.summary, "measured_at": self.measured_at}


@dataclass(frozen=True, slots=True)
class RunDiff:
    """Every change, in category order, then in the new run's site order."""

    changes: tuple[SiteChange, ...]
    unchanged: int  # sites in both runs with the same verdict and no new anomaly kind
    compared: int  # sites in both runs
    added_unblocked: int = 0  # sites only in the new run, not blocked (not listed)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def exit_status(self) -> int:
        if self.by_category.get("newly_blocked"):
            return EXIT_NEWLY_BLOCKED
        return EXIT_CHANGED if self.changes else EXIT_UNCHANGED

    def to_json(self) -> dict[str, Any]:
        return {"compared": self.compared, "unchanged": self.unchanged,
                "added_not_blocked": self.added_unblocked,
                "counts": {c: self.by_category.get(c, 0) for c in CATEGORIES},
                "changes": [c.to_json() for c in self.changes]}


def _by_url(results: Iterable[SiteResult]) -> dict[str, SiteResult]:
    out: dict[str, SiteResult] = {}
    for result in results:
        out.pop(result.url, None)  # the last result wins, in its own position
        out[result.url] = result
    return out


def _kinds(result: SiteResult) -> set[str]:
    return {anomaly.kind for anomaly in result.anomalies}


def _category(old: SiteResult | None, new: SiteResult) -> str | None:
    blocked_now = new.verdict in BLOCKED_VERDICTS
    if old is None:
        return "newly_blocked" if blocked_now else None
    blocked_before = old.verdict in BLOCKED_VERDICTS
    if blocked_now and not blocked_before:
        return "newly_blocked"
    if blocked_before and not blocked_now:
        return "unblocked"
    if old.verdict != new.verdict:
        return "mechanism_changed" if blocked_now else "verdict_changed"
    if _kinds(new) - _kinds(old):
        return "new_evidence"
    return None


def diff_runs(old_results: Iterable[SiteResult], new_results: Iterable[SiteResult]) -> RunDiff:
    """Compare two runs (see the module docstring for the categories)."""
    old = _by_url(old_results)
    new = _by_url(new_results)
    changes: list[SiteChange] = []
    unchanged = compared = added_unblocked = 0
    for url, result in new.items():
        before = old.get(url)
        compared += before is not None
        category = _category(before, result)
        if category is None:
            if before is None:
                added_unblocked += 1
            else:
                unchanged += 1
            continue
        old_kinds = _kinds(before) if before else set()
        changes.append(SiteChange(
            category=category, url=url, target=result.target,
            old_verdict=before.verdict if before else None, new_verdict=result.verdict,
            new_kinds=tuple(sorted(_kinds(result) - old_kinds)),
            gone_kinds=tuple(sorted(old_kinds - _kinds(result))),
            summary=result.summary, measured_at=result.measured_at))
    for url, result in old.items():
        if url not in new:
            changes.append(SiteChange(
                category="removed", url=url, target=result.target,
                old_verdict=result.verdict, new_verdict=None, summary=result.summary,
                measured_at=result.measured_at))
    order = {c: i for i, c in enumerate(CATEGORIES)}
    changes.sort(key=lambda c: order[c.category])  # stable: site order kept within one
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.category] = counts.get(change.category, 0) + 1
    return RunDiff(tuple(changes), unchanged, compared, added_unblocked, counts)
