"""A fake runner for CLI tests: the real one does network IO; this one builds results by hand."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

import reachcheck.runner
from reachcheck.config import Config
from reachcheck.model import SiteResult, Target
from reachcheck.runner import RunSummary
from tests.output.samples import make_result


@dataclass
class FakeRunner:
    """Stands in for `reachcheck.runner.run`: one result per target, verdict from `plan`
    (by domain; default accessible). `stop_after` ends the run early like a Ctrl-C would."""

    plan: dict[str, str] = field(default_factory=dict)
    network_down: bool = False
    stop_after: int | None = None
    before: Callable[[asyncio.Event | None], Any] | None = None
    calls: list[tuple[list[Target], Config]] = field(default_factory=list)
    stop_seen: bool = False
    reverse: bool = False  # finish the sites last-first, as a slow first site would

    async def __call__(self, targets: Iterable[Target], config: Config, *,
                       on_result: Callable[[SiteResult], None], on_progress: Any = None,
                       stop: asyncio.Event | None = None) -> RunSummary:
        targets = list(targets)
        self.calls.append((targets, config))
        if self.reverse:
            targets = targets[::-1]
        if self.before is not None:
            await self.before(stop)
        counts: Counter[str] = Counter()
        interrupted = False
        for i, target in enumerate(targets):
            if (stop is not None and stop.is_set()) or i == self.stop_after:
                interrupted = True
                break
            verdict = self.plan.get(target.domain, "accessible")
            on_result(make_result(target.given, verdict))
            counts[verdict] += 1
        self.stop_seen = stop is not None and stop.is_set()
        return RunSummary(dict(counts), sum(counts.values()), interrupted, self.network_down)

    @property
    def config(self) -> Config:
        return self.calls[-1][1]

    @property
    def targets(self) -> list[Target]:
        return self.calls[-1][0]


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeRunner]:
    """Install a FakeRunner (built with the given arguments) as reachcheck.runner.run."""

    def install(**kwargs: Any) -> FakeRunner:
        fake = FakeRunner(**kwargs)
        monkeypatch.setattr(reachcheck.runner, "run", fake, raising=False)
        return fake

    install()  # even tests that expect no run must never reach the real, networked runner
    return install


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No colour variables leaking in, and a working directory without a sites.txt."""
    for name in ("NO_COLOR", "FORCE_COLOR", "SSL_CERT_FILE", "REACHCHECK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
