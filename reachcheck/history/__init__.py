"""Runs over time: the SQLite history store, recording a run into it, and reading runs back."""

from reachcheck.history.store import HistoryStore, RunInfo, StoreError, default_path

__all__ = ["HistoryStore", "RunInfo", "StoreError", "default_path"]
