"""Progress on stderr (rich), shown only when stderr is a terminal and not in quiet mode.

stdout carries the data (`--jsonl - | jq` must always work), so progress never touches it.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from reachcheck.i18n import _
from reachcheck.terminal import sanitize

# Shown in this order; verdicts with a zero count are left out to keep the line short.
_SHORT = {
    "accessible": "ok",
    "dns_blocked": "dns",
    "tcp_blocked": "tcp",
    "tls_blocked": "tls",
    "http_blocked": "http",
    "site_down": "down",
    "inconclusive": "?",
}


def format_counts(counts: dict[str, int]) -> str:
    """'ok 12 · dns 3 · ? 1': the non-zero verdict counts, in a fixed order."""
    order = [*_SHORT, *(v for v in counts if v not in _SHORT)]
    parts = [f"{_SHORT.get(v, v)} {counts[v]}" for v in order if counts.get(v)]
    return sanitize(" · ".join(parts))


class ProgressDisplay:
    """Sites done/total, rate, verdict counts so far and ETA; a no-op when disabled.

    Use as a context manager and call `update(done, total, counts)` (the runner's on_progress
    signature). `enabled` should be `not quiet`; the display also stays off unless stderr is a
    terminal, so pipes and CI logs get no control codes.
    """

    def __init__(self, total: int | None, enabled: bool, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn(_("checking")),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,  # leave the terminal clean for the results table
            )
            self._task = self._progress.add_task("sites", total=total, rate="", counts="")

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, total: int | None, counts: dict[str, int]) -> None:
        """Show `done` of `total` sites (None = unknown) and the verdict counts so far."""
        if self._progress is None or self._task is None:
            return
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = f"{done / elapsed:.1f}/s" if elapsed > 0 and done else ""
        self._progress.update(
            self._task,
            completed=done,
            total=total if total is not None else self._total,
            rate=rate,
            counts=format_counts(counts),
        )

