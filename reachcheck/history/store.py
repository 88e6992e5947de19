"""The history store: every `check` run and its results, in one SQLite file.

Where: `$XDG_DATA_HOME/reachcheck/history.sqlite3` (default `~/.local/share/reachcheck/`).
Writes are transactional: a run's row is committed when it starts, each result is committed
as it arrives, and the run is marked finished or interrupted at the end. A run killed before
that (SIGKILL, power loss) keeps every committed result; the next writer to open the store
marks it interrupted once its process is gone. WAL mode lets `history list` read while a cron
run writes.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reachcheck.history.schema import upgrade
from reachcheck.model import SiteResult, to_json
from reachcheck.output.jsonout import result_from_dict

FILE_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # another run committing; cron runs may overlap

RUNNING, FINISHED, INTERRUPTED = "running", "finished", "interrupted"


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message is one line."""


def default_path() -> str:
    """The store's path under $XDG_DATA_HOME (a relative value is ignored, per the spec)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "reachcheck", FILE_NAME)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as `history list` shows it."""

    id: int
    run_id: str
    started_at: str
    finished_at: str | None
    status: str
    label: str | None
    counts: dict[str, int]
    settings: dict[str, Any]
    vantage: dict[str, Any] | None
    tool_version: str | None

    @property
    def sites(self) -> int:
        return sum(self.counts.values())

    def meta(self) -> dict[str, Any]:
        """The run as a saved document's meta (what `load_run` returns beside results)."""
        return {"started_at": self.started_at, "finished_at": self.finished_at,
                "settings": self.settings, "interrupted": self.status != FINISHED,
                "run_id": self.run_id, "label": self.label, "history_id": self.id}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


class HistoryStore:
    """An open store. Use as a context manager, or call close()."""

    def __init__(self, path: str | None = None, *, create: bool = True) -> None:
        self.path = path or default_path()
        if not create and not os.path.exists(self.path):
            raise StoreError(f"no history yet ({self.path} does not exist)")
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None,
                                      timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open history store {self.path}: {exc}") from None
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a commit survives a crash of the process (not of the OS
            # before the next checkpoint), at a fraction of FULL's cost per result.
            self.db.execute("PRAGMA synchronous = NORMAL")
            upgrade(self.db, self.path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"cannot use history store {self.path}: {exc}") from None
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- writing

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self.db.execute(sql, params)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, ValueError) as exc:  # ValueError: text SQLite cannot encode
            raise StoreError(f"cannot write history store {self.path}: {exc}") from None
        return cursor

    def begin_run(self, run_id: str, started_at: str, settings: Mapping[str, Any], *,
                  label: str | None, vantage: Any, tool_version: str) -> int:
        """Record a run as running; returns its history id."""
        self.mark_dead_runs()
        cursor = self._write(
            "INSERT INTO runs (run_id, started_at, settings, status, label, vantage, "
            "tool_version, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, started_at, json.dumps(settings), RUNNING, label,
             json.dumps(to_json(vantage)) if vantage is not None else None, tool_version,
             socket.gethostname(), os.getpid()))
        return int(cursor.lastrowid or 0)

    def add_result(self, run: int, seq: int, result: SiteResult) -> None:
        """Commit one result of run `run`."""
        self._write(
            "INSERT INTO results (run, seq, target, url, domain, verdict, measured_at, result) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run, seq, result.target, result.url, result.domain, result.verdict,
             result.measured_at,
             json.dumps(to_json(result), ensure_ascii=False, separators=(",", ":"))))

    def end_run(self, run: int, finished_at: str, *, interrupted: bool) -> None:
        """Mark the run finished (or interrupted: its results are partial)."""
        self._write("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                    (INTERRUPTED if interrupted else FINISHED, finished_at, run))

    def mark_dead_runs(self) -> int:
        """Mark runs still 'running' whose writer on this host is gone as interrupted."""
        host = socket.gethostname()
        rows = self.db.execute("SELECT id, pid FROM runs WHERE status = ? AND host = ?",
                               (RUNNING, host)).fetchall()
        dead = [run for run, pid in rows if pid is None or not _pid_alive(int(pid))]
        for run in dead:
            self._write("UPDATE runs SET status = ? WHERE id = ? AND status = ?",
                        (INTERRUPTED, run, RUNNING))
        return len(dead)

    def delete_runs(self, ids: list[int]) -> None:
        """Delete runs and their results in one transaction."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for run in ids:
                    self.db.execute("DELETE FROM results WHERE run = ?", (run,))
                    self.db.execute("DELETE FROM runs WHERE id = ?", (run,))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write history store {self.path}: {exc}") from None

    # ------------------------------------------------------------------------- reading

    _RUN_COLUMNS = ("id, run_id, started_at, finished_at, status, label, settings, vantage, "
                    "tool_version")

    def _info(self, row: tuple[Any, ...]) -> RunInfo:
        run, run_id, started, finished, status, label, settings, vantage, version = row
        counts = dict(self.db.execute(
            "SELECT verdict, count(*) FROM results WHERE run = ? GROUP BY verdict", (run,)))
        return RunInfo(id=run, run_id=run_id, started_at=started, finished_at=finished,
                       status=status, label=label, counts=counts,
                       settings=_loads(settings) or {}, vantage=_loads(vantage),
                       tool_version=version)

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        try:
            rows = self.db.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY started_at, id").fetchall()
            return [self._info(row) for row in rows]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read history store {self.path}: {exc}") from None

    def run(self, run: int) -> RunInfo | None:
        row = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?",
                              (run,)).fetchone()
        return self._info(row) if row else None

    def find(self, run_id_prefix: str) -> list[RunInfo]:
        """Runs whose run_id starts with the prefix."""
        escaped = run_id_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE run_id LIKE ? "
                               "ESCAPE '\\' ORDER BY started_at, id", (escaped + "%",))
        return [self._info(row) for row in rows.fetchall()]

    def results(self, run: int) -> Iterator[SiteResult]:
        """The run's results in the order they arrived, streamed from the file."""
        cursor = self.db.execute("SELECT result FROM results WHERE run = ? ORDER BY seq, rowid",
                                 (run,))
        for (text,) in cursor:
            try:
                yield result_from_dict(json.loads(text))
            except (ValueError, TypeError) as exc:
                raise StoreError(f"{self.path}: run {run}: unreadable result: {exc}") from None


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
