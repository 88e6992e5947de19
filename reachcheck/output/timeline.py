"""Several runs folded into one view per site: its latest result and its verdict in each run.

Input is streamed: each run's results are read once and only a compact row per site is kept
(a few strings, and one small integer per run coding the verdict and the mechanism), so a
report over many runs or 10,000 sites stays small in memory. Runs are told apart by the
results' `run_id` (one JSONL file appended to from cron holds many runs) and otherwise by the
input they came from; they are shown in the order they started.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reachcheck.model import VERDICTS, SiteResult

MAX_EVIDENCE = 20  # anomalies kept per site for the report (the JSON has them all)
MISSING = -1  # the site was not measured in that run
_NV = len(VERDICTS)


@dataclass
class RunInput:
    """One input of a report: a saved file or a history run."""

    source: str  # a path or "history:ID", for messages
    meta: dict[str, Any]
    results: Iterable[SiteResult]


@dataclass
class RunColumn:
    """One run as a column of the timeline."""

    key: str
    source: str
    started_at: str | None
    label: str | None
    interrupted: bool
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class SiteRow:
    """What the report shows of one site."""

    target: str
    url: str
    verdict: str
    confidence: str
    summary: str
    reason: str
    measured_at: str | None
    evidence: list[tuple[str, str, str, bool]]  # (stage, kind, detail, confirmed)
    more_evidence: int
    reachable_with_trusted_dns: bool | None
    order: tuple[str, int]  # (run start, run index) of the result shown
    cells: array[int] = field(default_factory=lambda: array("i"))  # per run index


@dataclass
class Transition:
    """A site's verdict changing from one run to the next it was measured in."""

    at: str | None  # the run's start (or the result's time)
    target: str
    old: str
    new: str
    summary: str  # the mechanism in the newer run


class Timeline:
    """Runs (columns) and sites (rows), built by `add_run`; then `runs()` and `sites()`."""

    def __init__(self) -> None:
        self._runs: list[RunColumn] = []
        self._run_index: dict[str, int] = {}
        self._sites: dict[str, SiteRow] = {}
        self.summaries: list[str] = []  # interned mechanism texts, coded in cells
        self._summary_index: dict[str, int] = {}
        self.tool_versions: set[str] = set()

    def _column(self, key: str, run: RunInput, first: SiteResult, first_of_input: bool) -> int:
        index = self._run_index.get(key)
        if index is None:
            meta = run.meta
            # A document's start time belongs to its (first) run; a JSONL file of many runs
            # has none, so a run starts when its first result there was measured.
            if meta.get("run_id") == key or (first_of_input and meta.get("started_at")):
                started = meta.get("started_at")
            else:
                started = first.measured_at
            label = meta.get("label") or (first.vantage.label if first.vantage else None)
            self._runs.append(RunColumn(key, run.source, started, label,
                                        bool(meta.get("interrupted"))))
            index = self._run_index[key] = len(self._runs) - 1
        return index

    def _code(self, result: SiteResult) -> int:
        index = self._summary_index.get(result.summary)
        if index is None:
            index = self._summary_index[result.summary] = len(self.summaries)
            self.summaries.append(result.summary)
        return index * _NV + VERDICTS.index(result.verdict)

    def add_run(self, run: RunInput, input_index: int) -> None:
        """Read one input's results (streamed)."""
        version = (run.meta.get("tool") or {}).get("version") if isinstance(
            run.meta.get("tool"), dict) else None
        if version:
            self.tool_versions.add(str(version))
        first_of_input = True
        for result in run.results:
            key = result.run_id or run.meta.get("run_id") or f"input-{input_index}"
            column = self._column(key, run, result, first_of_input)
            first_of_input = False
            run_col = self._runs[column]
            run_col.counts[result.verdict] += 1
            self._add_site(result, column, (run_col.started_at or "", column))

    def _add_site(self, result: SiteResult, column: int, order: tuple[str, int]) -> None:
        row = self._sites.get(result.url)
        if row is None or order >= row.order:
            evidence: list[tuple[str, str, str, bool]] = [
                (a.stage, a.kind, a.detail, a.confirmed) for a in result.anomalies[:MAX_EVIDENCE]]
            fresh = SiteRow(result.target, result.url, result.verdict, result.confidence,
                            result.summary, result.reason, result.measured_at, evidence,
                            max(0, len(result.anomalies) - MAX_EVIDENCE),
                            result.reachable_with_trusted_dns, order,
                            row.cells if row else array("i"))
            row = self._sites[result.url] = fresh
        cells = row.cells
        if len(cells) <= column:
            cells.extend([MISSING] * (column + 1 - len(cells)))
        cells[column] = self._code(result)

    # ------------------------------------------------------------------------ reading

    def _run_order(self) -> list[int]:
        """Run indexes in start order (runs without a start keep their input order)."""
        return sorted(range(len(self._runs)),
                      key=lambda i: (self._runs[i].started_at or "", i))

    def runs(self) -> list[RunColumn]:
        return [self._runs[i] for i in self._run_order()]

    def cells(self, row: SiteRow) -> list[int]:
        """The site's coded cells in run start order (MISSING where not measured)."""
        n = len(row.cells)
        return [row.cells[i] if i < n else MISSING for i in self._run_order()]

    def sites(self) -> Iterator[SiteRow]:
        yield from self._sites.values()

    def __len__(self) -> int:
        return len(self._sites)

    def verdict_of(self, code: int) -> str:
        return VERDICTS[code % _NV]

    def summary_of(self, code: int) -> str:
        return self.summaries[code // _NV]

    def transitions(self) -> Iterator[Transition]:
        """Every verdict change of every site, site by site, oldest first."""
        runs = self.runs()
        for row in self._sites.values():
            previous: str | None = None
            for run, code in zip(runs, self.cells(row), strict=True):
                if code == MISSING:
                    continue
                verdict = self.verdict_of(code)
                if previous is not None and verdict != previous:
                    yield Transition(run.started_at, row.target, previous, verdict,
                                     self.summary_of(code))
                previous = verdict


def collect(runs: Iterable[RunInput]) -> Timeline:
    """Fold the inputs into a Timeline."""
    timeline = Timeline()
    for index, run in enumerate(runs):
        timeline.add_run(run, index)
    return timeline
