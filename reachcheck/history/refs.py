"""Naming saved runs on the command line: a JSON/JSONL file, or a run in the history store.

An argument that names an existing file is that file. Otherwise it is a history reference:
a history id (`12`), `last` (the newest run), `last~N` (N runs before it), or a run id or a
unique prefix of one (`20261129T1015`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reachcheck.history.store import HistoryStore, RunInfo, StoreError
from reachcheck.model import SiteResult
from reachcheck.output.jsonout import load_run

_LAST = re.compile(r"^last(?:~(\d{1,6}))?$")
MIN_PREFIX = 4


class RefError(ValueError):
    """An argument that is neither a readable run file nor a run in the history."""


@dataclass
class LoadedRun:
    """One saved run: its meta (settings, times, run_id when known), its results, and where
    it came from (a path or `history:ID`) for messages."""

    source: str
    meta: dict[str, Any]
    results: Iterable[SiteResult]


def is_history_ref(text: str) -> bool:
    """Whether `text` would be read as a history reference rather than a file."""
    return not os.path.exists(text)


def resolve(store: HistoryStore, ref: str) -> RunInfo:
    """The run `ref` names in `store`; RefError when none or several do."""
    runs: list[RunInfo]
    match = _LAST.match(ref)
    if ref.isdigit():
        run = store.run(int(ref))
        runs = [run] if run else []
    elif match:
        back = int(match.group(1) or 0)
        every = store.runs()
        runs = [every[-1 - back]] if back < len(every) else []
    elif len(ref) >= MIN_PREFIX:
        runs = store.find(ref)
    else:
        raise RefError(f"{ref}: no such file, and too short for a run id (history ids are "
                       "numbers; see 'reachcheck history list')")
    if not runs:
        raise RefError(f"{ref}: no such file or history run (see 'reachcheck history list')")
    if len(runs) > 1:
        raise RefError(f"{ref}: names {len(runs)} history runs; give more of the run id")
    return runs[0]


def load(refs: Iterable[str], store_path: str | None = None) -> list[LoadedRun]:
    """Load each file or history run; raises RefError/StoreError/RunFileError/OSError."""
    out: list[LoadedRun] = []
    store: HistoryStore | None = None
    try:
        for ref in refs:
            if not is_history_ref(ref):
                meta, results = load_run(ref)
                out.append(LoadedRun(ref, meta, results))
                continue
            if store is None:
                try:
                    store = HistoryStore(store_path, create=False)
                except StoreError as exc:
                    raise RefError(f"{ref}: no such file, and {exc}") from None
            info = resolve(store, ref)
            # Read now: the store closes before the caller renders.
            out.append(LoadedRun(f"history:{info.id}", info.meta(), list(store.results(info.id))))
    finally:
        if store is not None:
            store.close()
    return out
