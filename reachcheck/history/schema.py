"""The history store's SQLite layout and its upgrades, one function per schema version.

Rules:
1. `schema_version` holds one row: the layout version of the file. `upgrade()` runs on every
   open and brings an older file to `CURRENT` in place, inside one transaction: a failed
   upgrade leaves the file as it was.
2. A file from a newer reachcheck (version above `CURRENT`) is refused, never written.
3. Each result is kept whole as its JSON object (`results.result`, the `reachcheck/1` result
   object), so the store loses nothing the JSON output has; the other columns are copies for
   indexes and listings.

Version 1 (reachcheck before per-run status): runs(id, run_id, started_at, finished_at,
settings) and results(run, target, verdict, result). A run killed mid-way had no marker.
Version 2 (current): runs gain status (running | finished | interrupted), label, vantage, tool
version and the writer's host and pid (to tell a killed run from a live one); results gain
their order in the run (seq), url, domain and measured_at, with indexes by run and by url.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

CURRENT = 2


class StoreVersionError(RuntimeError):
    """The store was written by a newer reachcheck; upgrading it would lose data."""


V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    settings TEXT NOT NULL
);
CREATE TABLE results (
    run INTEGER NOT NULL REFERENCES runs(id),
    target TEXT NOT NULL,
    verdict TEXT NOT NULL,
    result TEXT NOT NULL
);
INSERT INTO schema_version (version) VALUES (1);
"""


def _create_v1(db: sqlite3.Connection) -> None:
    for statement in V1.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1_to_v2(db: sqlite3.Connection) -> None:
    for ddl in (
        "ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished'",
        "ALTER TABLE runs ADD COLUMN label TEXT",
        "ALTER TABLE runs ADD COLUMN vantage TEXT",
        "ALTER TABLE runs ADD COLUMN tool_version TEXT",
        "ALTER TABLE runs ADD COLUMN host TEXT",
        "ALTER TABLE runs ADD COLUMN pid INTEGER",
        "ALTER TABLE results ADD COLUMN seq INTEGER",
        "ALTER TABLE results ADD COLUMN url TEXT",
        "ALTER TABLE results ADD COLUMN domain TEXT",
        "ALTER TABLE results ADD COLUMN measured_at TEXT",
    ):
        db.execute(ddl)
    # Version 1 wrote finished_at only at the end: a run without it never finished.
    db.execute("UPDATE runs SET status = 'interrupted' WHERE finished_at IS NULL")
    # Fill the new copies from each result's JSON (done here, not with SQLite's JSON
    # functions, which older SQLite builds lack); seq follows the insertion order.
    rows = db.execute("SELECT rowid, run, result FROM results ORDER BY run, rowid").fetchall()
    seq: dict[int, int] = {}
    for rowid, run, text in rows:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = {}
        data = data if isinstance(data, dict) else {}
        seq[run] = seq.get(run, 0) + 1
        db.execute("UPDATE results SET seq = ?, url = ?, domain = ?, measured_at = ? "
                   "WHERE rowid = ?",
                   (seq[run], data.get("url"), data.get("domain"), data.get("measured_at"),
                    rowid))
    db.execute("CREATE INDEX results_by_run ON results (run, seq)")
    db.execute("CREATE INDEX results_by_url ON results (url)")


# UPGRADES[n] turns a version-n store into version n+1.
UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2}


def version_of(db: sqlite3.Connection) -> int:
    """The file's layout version; 0 for an empty file."""
    has_table = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def upgrade(db: sqlite3.Connection, path: str) -> int:
    """Create or upgrade the layout to CURRENT in one transaction; returns the version found.

    `db` must be in autocommit mode (isolation_level None): the transaction is explicit."""
    if version_of(db) == CURRENT:  # the usual case: no write lock taken just to read
        return CURRENT
    db.execute("BEGIN IMMEDIATE")  # one upgrader at a time; readers wait for the result
    try:
        found = version_of(db)
        if found > CURRENT:
            raise StoreVersionError(
                f"{path}: history store version {found} was written by a newer reachcheck "
                f"(this one reads up to {CURRENT})")
        if found == 0:
            _create_v1(db)
        version = max(found, 1)
        while version < CURRENT:
            UPGRADES[version](db)
            version += 1
        db.execute("UPDATE schema_version SET version = ?", (CURRENT,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return found
