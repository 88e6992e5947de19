"""A bounded list of table rows, for commands that stream more results than a table can show."""

from __future__ import annotations

from reachcheck.model import SiteResult
from reachcheck.output.table import Row


class TableRows:
    """The first `limit` results as table `Row`s (a few strings each); the rest only counted,
    so memory stays flat however many results stream past."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows: list[Row] = []
        self.dropped = 0

    def add(self, result: SiteResult) -> None:
        """Keep `result`'s row while there is room, else count it."""
        if len(self.rows) < self.limit:
            self.rows.append(Row.of(result))
        else:
            self.dropped += 1
