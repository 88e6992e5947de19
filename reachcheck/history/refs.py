"""Naming saved runs on the command line: a JSON/JSONL file, or a run in the history store.

An argument that names an existing file is that file. Otherwise it is a history reference:
a history id (`12`), `last` (the newest run), `last~N` (N runs before it), or a run id or a
unique prefix of one (`20261129T1015`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from reachcheck.history.store import HistoryStore, RunInfo, StoreError
from reachcheck.output.runfile import open_run
from reachcheck.output.timeline import RunInput

_LAST = re.compile(r"^last(?:~(\d{1,6}))?$")
MIN_PREFIX = 4
MAX_ID_DIGITS = 18  # SQLite integers are 64-bit
_FILE_SUFFIXES = (".json", ".jsonl", ".gz", ".txt")


class RefError(ValueError):
    """An argument that is neither a readable run file nor a run in the history."""


def is_history_ref(text: str) -> bool:
    """Whether `text` would be read as a history reference rather than a file."""
    return not os.path.exists(text)


def resolve(store: HistoryStore, ref: str) -> RunInfo:
    """The run `ref` names in `store`; RefError when none or several do."""
    runs: list[RunInfo]
    match = _LAST.match(ref)
    numeric = ref.isascii() and ref.isdigit() and len(ref) <= MAX_ID_DIGITS
    found = store.run(int(ref)) if numeric else None
    if found is not None:
        runs = [found]
    elif match:
        back = int(match.group(1) or 0)
        every = store.runs()
        runs = [every[-1 - back]] if back < len(every) else []
    elif len(ref) >= MIN_PREFIX:  # a run id starts with its date: 20261129...
        runs = store.find(ref)
    elif numeric:
        runs = []
    else:
        raise RefError(f"{ref}: no such file, and too short for a run id (history ids are "
                       "numbers; see 'reachcheck history list')")
    if not runs:
        raise RefError(f"{ref}: no such file or history run (see 'reachcheck history list')")
    if len(runs) > 1:
        raise RefError(f"{ref}: names {len(runs)} history runs; give more of the run id")
    return runs[0]


class RunLoader:
    """Loads files and history runs named on a command line (the store opened once)."""

    def __init__(self, store_path: str | None = None) -> None:
        self.store_path = store_path
        self._store: HistoryStore | None = None

    @contextmanager
    def stream(self, ref: str) -> Iterator[RunInput]:
        """The run `ref` names, its results read one at a time while the context is open.
        Raises RefError, StoreError, RunFileError or OSError (one line each)."""
        if not is_history_ref(ref):
            with open_run(ref) as saved:  # validated and streamed (output/runfile.py)
                yield RunInput(ref, saved.meta, saved)
            return
        store, info = self._history_run(ref)
        yield RunInput(f"history:{info.id}", info.meta(), store.results(info.id))

    def load(self, ref: str) -> RunInput:
        """The run `ref` names, read whole (formats that fold every run per site need it)."""
        with self.stream(ref) as run:
            return RunInput(run.source, run.meta, list(run.results))

    def _history_run(self, ref: str) -> tuple[HistoryStore, RunInfo]:
        if os.sep in ref or ref.endswith(_FILE_SUFFIXES):
            raise RefError(f"{ref}: file does not exist")
        if self._store is None:
            try:
                self._store = HistoryStore(self.store_path, create=False)
            except StoreError as exc:
                raise RefError(f"{ref}: no such file, and {exc}") from None
        return self._store, resolve(self._store, ref)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> RunLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load(refs: Iterable[str], store_path: str | None = None) -> list[RunInput]:
    """Load each file or history run, in order."""
    with RunLoader(store_path) as loader:
        return [loader.load(ref) for ref in refs]
