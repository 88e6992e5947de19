"""Fixtures of the censorship lab: one lab for the session, one reachcheck run over all sites.

The lab needs root plus `ip` and `iptables`; without them the lab tests are skipped with the
reason, unless REACHCHECK_LAB_REQUIRED=1 (CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.lab import netns
from tests.lab.scenarios import SCENARIOS


def _require_lab() -> None:
    why = netns.missing_tools()
    if why:
        msg = "censorship lab unavailable: " + "; ".join(why)
        if os.environ.get("REACHCHECK_LAB_REQUIRED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@dataclass(frozen=True)
class Run:
    """One `reachcheck check` run: exit code, JSON document, stderr, results by domain."""

    code: int
    doc: dict[str, Any]
    stderr: str

    @property
    def by_domain(self) -> dict[str, dict[str, Any]]:
        return {r["domain"]: r for r in self.doc["results"]}


def run_reachcheck(lab: netns.Lab, targets: list[str] | None, *extra: str, **kw: Any) -> Run:
    """Run reachcheck in the client namespace; fail the test with its stderr if no JSON came."""
    code, doc, stderr = lab.reachcheck(targets, *extra, **kw)
    if doc is None:
        pytest.fail(f"reachcheck produced no JSON (exit {code}); stderr:\n{stderr[-3000:]}")
    return Run(code, doc, stderr)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[netns.Lab]:
    """The running lab (namespaces, servers, censor), torn down at the end even on failure."""
    _require_lab()
    running = netns.Lab.up(tmp_path_factory.mktemp("rclab"))
    try:
        yield running
    finally:
        running.down()


@pytest.fixture(scope="session")
def main_run(lab: netns.Lab) -> Run:
    """One reachcheck run over every scenario site at once (each on its own address)."""
    lab.reset_residual()
    return run_reachcheck(lab, None)


@pytest.fixture(scope="session")
def scenario_results(main_run: Run) -> dict[str, dict[str, Any]]:
    """Scenario name -> its result in the shared run."""
    by_domain = main_run.by_domain
    return {s.name: by_domain[s.domain] for s in SCENARIOS if s.domain in by_domain}
