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

from rich import box
from rich.table import Table

from reachcheck.model import VERDICTS

OONI_ROWS = ("ok", "down", "dns", "tcp_ip", "http-failure", "http-diff", "undetermined")
# Our verdicts that say the same as each OONI verdict ("http-failure" covers OONI's TLS
# failures too; "undetermined" agrees with nothing, not even our "inconclusive").
SAME: dict[str, frozenset[str]] = {
    "ok": frozenset({"accessible"}),
    "down": frozenset({"site_down"}),
    "dns": frozenset({"dns_blocked"}),
    "tcp_ip": frozenset({"tcp_blocked"}),
    "http-failure": frozenset({"tls_blocked", "http_blocked"}),
    "http-diff": frozenset({"http_blocked"}),
}

# Two-line column headers ("dns_blocked" -> "dns" over "blocked"): the matrix fits 80 columns.
_HEADERS = {"accessible": "acces-\nsible", "inconclusive": "incon-\nclusive"}


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

    def agreeing(self) -> int:
        """How many results got the same verdict from OONI and from us."""
        return sum(n for (row, v), n in self.cells.items() if v in SAME.get(row, ()))

    def headline(self) -> str:
        """One line above the matrix: what it is and how often the two agree."""
        total = sum(self.cells.values())
        return f"OONI (rows) x reachcheck (columns): {self.agreeing()} of {total} agree"

    def table(self) -> Table:
        """The matrix as a rich Table (only the columns that occur)."""
        columns = [v for v in VERDICTS if any(self.cells[r, v] for r in OONI_ROWS)]
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0),
                      pad_edge=False)
        table.add_column("OONI", no_wrap=True)
        for v in columns:
            table.add_column(_HEADERS.get(v, v.replace("_", "\n")), justify="right",
                             no_wrap=True)
        table.add_column("total", justify="right")
        for row in OONI_ROWS:
            counts = [self.cells[row, v] for v in columns]
            if any(counts):
                table.add_row(row, *(str(n) if n else "." for n in counts), str(sum(counts)))
        return table
