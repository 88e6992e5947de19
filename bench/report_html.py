"""Cost of runs over time (issue 13): the HTML report at 10,000 sites and over a week of hourly
runs, and the history store's cost per result. No network: synthetic results on disk.

    python bench/report_html.py            # 10,000 sites x 1 run, 3 sites x 168 runs, store
    python bench/report_html.py --sites 2000 --runs 1

Targets (issue 13): the HTML report of 10,000 sites in under 5 s and under 20 MB. The report is
produced through the CLI (`reachcheck report FILE --format html -o OUT`, a child process, so
Python start-up and loading the JSONL count), timed end to end.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reachcheck.history.store import HistoryStore  # noqa: E402
from reachcheck.model import Vantage  # noqa: E402
from reachcheck.output import JsonlWriter  # noqa: E402
from tests.output.samples import make_result  # noqa: E402

VERDICT_CYCLE = ["accessible"] * 6 + ["dns_blocked", "tls_blocked", "inconclusive", "site_down"]


def write_runs(path: Path, sites: int, runs: int) -> int:
    """JSONL of `runs` runs over `sites` sites (each blocked result with two anomalies)."""
    n = 0
    with JsonlWriter(str(path)) as out:
        for run in range(runs):
            for i in range(sites):
                verdict = VERDICT_CYCLE[(i + (run if i % 3 == 0 else 0)) % len(VERDICT_CYCLE)]
                result = make_result(f"s{i:05d}.bench.test", verdict)
                out.write(dataclasses.replace(
                    result, run_id=f"run-{run:04d}",
                    measured_at=f"2026-03-{1 + run // 24:02d}T{run % 24:02d}:00:01.000Z",
                    vantage=Vantage(label="bench")))
                n += 1
    return n


def report(jsonl: Path, html: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the CLI producing the HTML report."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reachcheck", "report", str(jsonl), "--format",
                    "html", "-o", str(html), "-q"], env=env, check=False,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def store_cost(tmp: Path, n: int) -> float:
    """Seconds per result committed to the history store (one transaction each)."""
    results = [make_result(f"s{i}.bench.test", VERDICT_CYCLE[i % 10]) for i in range(n)]
    with HistoryStore(str(tmp / "history.sqlite3")) as store:
        run = store.begin_run("bench", "2026-03-01T00:00:00Z", {}, label=None, vantage=None,
                              tool_version="bench")
        t0 = time.perf_counter()
        for seq, result in enumerate(results, 1):
            store.add_result(run, seq, result)
        elapsed = time.perf_counter() - t0
        store.end_run(run, "2026-03-01T00:00:01Z", interrupted=False)
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cases = [(args.sites, args.runs), (3, 168)]
        for sites, runs in cases:
            jsonl, html = tmp / f"in-{sites}-{runs}.jsonl", tmp / f"out-{sites}-{runs}.html"
            n = write_runs(jsonl, sites, runs)
            wall, cpu = report(jsonl, html)
            print(f"report html: {sites} sites x {runs} runs ({n} results, "
                  f"{jsonl.stat().st_size / 1e6:.1f} MB JSONL): {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU, "
                  f"{html.stat().st_size / 1e6:.2f} MB HTML")
        per = store_cost(tmp, 2000)
        print(f"history store: {per * 1e3:.2f} ms per result committed (2,000 results)")


if __name__ == "__main__":
    main()
