"""OONI's verdict next to ours: the agreement matrix of an import.

OONI's Web Connectivity says `blocking` (false, null, "dns", "tcp_ip", "http-failure",
"http-diff") and `accessible` (true, false, null). Rows are those verdicts in a few words:
`ok` (blocking false, accessible true), `down` (blocking false, accessible not true: OONI's
"expected failure"), the four blocking strings, and `undetermined` (blocking null). Columns
are reachcheck's verdicts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from reachcheck.model import VERDICTS

OONI_ROWS = ("ok", "down", "dns", "tcp_ip", "http-failure", "http-diff", "undetermined")


def ooni_verdict(blocking: Any, accessible: Any) -> str:
    """One row name for OONI's (blocking, accessible) pair."""
    if blocking is False:
        return "ok" if accessible is True else "down"
    if isinstance(blocking, str) and blocking in OONI_ROWS:
        return blocking
    if isinstance(blocking, str) and blocking.lower() == "false":  # very old probes
        return "ok" if accessible is True else "down"
    return "undetermined"


class Agreement:
    """Counts of (OONI verdict, reachcheck verdict)."""

    def __init__(self) -> None:
        self.cells: Counter[tuple[str, str]] = Counter()

    def add(self, source: dict[str, Any], verdict: str) -> None:
        """Count one result."""
        self.cells[ooni_verdict(source.get("ooni_blocking"), source.get("ooni_accessible")),
                   verdict] += 1

    def as_json(self) -> dict[str, dict[str, int]]:
        """{ooni verdict: {our verdict: count}}, rows and columns in canonical order."""
        out: dict[str, dict[str, int]] = {}
        for row in OONI_ROWS:
            cells = {v: self.cells[row, v] for v in VERDICTS if self.cells[row, v]}
            if cells:
                out[row] = cells
        return out

    def table(self) -> Table:
        """The matrix as a rich Table (only the columns that occur)."""
        columns = [v for v in VERDICTS if any(self.cells[r, v] for r in OONI_ROWS)]
        table = Table(title="Agreement: OONI's verdict (rows) x reachcheck's (columns)",
                      header_style="bold", title_justify="left")
        table.add_column("OONI")
        for v in columns:
            table.add_column(v, justify="right")
        table.add_column("total", justify="right")
        for row in OONI_ROWS:
            counts = [self.cells[row, v] for v in columns]
            if any(counts):
                table.add_row(row, *(str(n) if n else "." for n in counts), str(sum(counts)))
        return table
