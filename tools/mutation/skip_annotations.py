"""Mark as skipped the cosmic-ray mutants that sit inside a type annotation.

Every module of `reachcheck/analysis/` starts with `from __future__ import annotations`, so its
annotations are never evaluated: replacing the `|` of `str | None` by `-` or `&` changes nothing
the program does. These mutants are equivalent by construction; counting them as survivors would
only hide the real ones. Run after `cosmic-ray init`: `python skip_annotations.py SESSION`.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

Span = tuple[tuple[int, int], tuple[int, int]]


@functools.cache
def annotation_spans(path: Path) -> tuple[Span, ...]:
    """(start, end) positions, (line, column), of every annotation in a module that defers them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defers = any(
        isinstance(n, ast.ImportFrom) and n.module == "__future__"
        and any(a.name == "annotations" for a in n.names)
        for n in tree.body
    )  # fmt: skip
    if not defers:
        return ()
    spans: list[Span] = []
    for node in ast.walk(tree):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for ann in found:
            if ann is not None and ann.end_lineno is not None and ann.end_col_offset is not None:
                spans.append(((ann.lineno, ann.col_offset), (ann.end_lineno, ann.end_col_offset)))
    return tuple(spans)


def inside(start: tuple[int, int], end: tuple[int, int], spans: tuple[Span, ...]) -> bool:
    """The mutated code [start, end) lies within one annotation."""
    return any(s <= tuple(start) and tuple(end) <= e for s, e in spans)


def main(session: str) -> int:
    skipped = 0
    with use_db(session, WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            if all(
                inside(m.start_pos, m.end_pos, annotation_spans(Path(m.module_path)))
                for m in item.mutations
            ):
                db.set_result(
                    item.job_id,
                    WorkResult(output="in an annotation (never evaluated)",
                               worker_outcome=WorkerOutcome.SKIPPED),
                )  # fmt: skip
                skipped += 1
    print(f"skipped {skipped} mutants inside annotations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
