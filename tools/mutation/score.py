"""The mutation score of a finished cosmic-ray session, with the surviving mutants listed.

`python score.py SESSION [--equivalent FILE] [--fail-under PERCENT]`

Score = killed / (killed + survived); mutants skipped before the run (inside annotations) are
not counted. `--equivalent` names a Markdown file whose lines of the form
``- `reachcheck/analysis/x.py:LINE:COL` `core/Operator`: reason`` mark survivors shown to be
equivalent: they are reported apart, and a second score leaves them out. Line numbers move when
the code changes, so a stale entry simply stops matching and its mutant shows as unexplained.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome

_ENTRY = re.compile(r"^\s*-\s*`([^`:]+):(\d+):(\d+)`\s*`([^`]+)`")


def equivalents(path: Path | None) -> set[tuple[str, int, int, str]]:
    """(module path, line, column, operator) of every listed equivalent mutant."""
    if path is None or not path.exists():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ENTRY.match(line)
        if m:
            out.add((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("session")
    ap.add_argument("--equivalent", type=Path)
    ap.add_argument("--fail-under", type=float)
    args = ap.parse_args()
    listed = equivalents(args.equivalent)
    killed = skipped = 0
    survivors: list[tuple[str, int, int, str, str]] = []
    with use_db(args.session, WorkDB.Mode.open) as db:
        pending = db.num_work_items - db.num_results
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                skipped += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                m = item.mutations[0]
                survivors.append((str(m.module_path), m.start_pos[0], m.start_pos[1],
                                  m.operator_name, result.diff or ""))  # fmt: skip
            else:
                killed += 1
    survivors.sort()
    equivalent = [s for s in survivors if s[:4] in listed]
    unexplained = [s for s in survivors if s[:4] not in listed]
    for title, group in (("equivalent (listed)", equivalent), ("SURVIVED", unexplained)):
        for path, line, col, op, diff in group:
            added = [d[1:].strip() for d in diff.splitlines()
                     if d.startswith("+") and not d.startswith("+++")]  # fmt: skip
            print(f"{title}: {path}:{line}:{col} {op}  {added[0] if added else ''}")
    total = killed + len(survivors)
    score = 100.0 * killed / total if total else 0.0
    real = killed + len(unexplained)
    score_eq = 100.0 * killed / real if real else 0.0
    print(f"mutants: {total + skipped + pending} ({skipped} skipped in annotations, "
          f"{pending} not run); killed {killed}, survived {len(survivors)} "
          f"({len(equivalent)} listed as equivalent)")  # fmt: skip
    print(f"mutation score: {score:.1f} %  (equivalent mutants excluded: {score_eq:.1f} %)")
    if pending:
        print("the session is incomplete: the run was interrupted")
        return 1
    if args.fail_under is not None and score < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
