"""Runs over time: the SQLite history store, recording a run into it, and reading runs back.

May import: reachcheck.model, reachcheck.output, reachcheck.runinfo. (Enforced by
tests/test_layering.py.)
"""

from reachcheck.history.store import HistoryStore, RunInfo, StoreError, default_path

__all__ = ["HistoryStore", "RunInfo", "StoreError", "default_path"]
