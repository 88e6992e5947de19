"""The result of a site whose check could not finish (its deadline, an internal error)."""

from __future__ import annotations

from reachcheck.analysis import judge
from reachcheck.model import Observations, SiteResult, Target


def inconclusive(target: Target, reason: str, obs: Observations | None = None) -> SiteResult:
    """`inconclusive` with `reason` and whatever was measured (`obs`): never a verdict by
    accident. Built by the analysis, the one place that turns observations into a result."""
    return judge(obs if obs is not None else Observations(target), unfinished=reason)
