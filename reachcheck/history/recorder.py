"""Recording one `check` run into the history store as its results arrive.

History is a convenience beside the outputs the user asked for: a store that cannot be opened
or written (disk full, a read-only home, a store from a newer reachcheck) costs a one-line
warning and the rest of the run's history, never the run or its exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reachcheck import __version__
from reachcheck.history.schema import StoreVersionError
from reachcheck.history.store import HistoryStore, StoreError
from reachcheck.model import SiteResult
from reachcheck.runinfo import RunStamp, now_utc, rfc3339


class HistoryRecorder:
    """Writes one run's results to the store; `warn` gets a line when history is lost."""

    def __init__(self, store: HistoryStore, run: int, warn: Callable[[str], None]) -> None:
        self.store, self.run, self.warn = store, run, warn
        self.seq = 0
        self.failed = False

    @classmethod
    def start(cls, stamp: RunStamp, settings: Mapping[str, Any],
              warn: Callable[[str], None], path: str | None = None) -> HistoryRecorder | None:
        """Open the store and record the run as started; None (after a warning) if it cannot."""
        try:
            store = HistoryStore(path)
        except (StoreError, StoreVersionError) as exc:
            warn(f"history not kept: {exc}")
            return None
        try:
            run = store.begin_run(stamp.run_id, stamp.started_at, settings,
                                  label=stamp.vantage.label, vantage=stamp.vantage,
                                  tool_version=__version__)
        except StoreError as exc:
            store.close()
            warn(f"history not kept: {exc}")
            return None
        return cls(store, run, warn)

    def add(self, result: SiteResult) -> None:
        if self.failed:
            return
        self.seq += 1
        try:
            self.store.add_result(self.run, self.seq, result)
        except StoreError as exc:
            self.failed = True
            self.warn(f"history incomplete from site {self.seq} on: {exc}")

    def finish(self, *, interrupted: bool) -> None:
        """Mark the run finished or interrupted (its committed results stay) and close."""
        try:
            self.store.end_run(self.run, rfc3339(now_utc()),
                               interrupted=interrupted or self.failed)
        except StoreError as exc:
            self.warn(f"history: cannot mark the run finished: {exc}")
        finally:
            self.store.close()
