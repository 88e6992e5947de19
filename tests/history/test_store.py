"""The SQLite history store: round trips, upgrades from the previous layout, killed writers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reachcheck.history.refs import RefError, resolve
from reachcheck.history.schema import CURRENT, StoreVersionError
from reachcheck.history.store import HistoryStore, StoreError, default_path
from reachcheck.model import Vantage, to_json
from reachcheck.output import result_to_dict
from tests.output.samples import make_result

REPO = Path(__file__).resolve().parents[2]


def _stamped(given: str, verdict: str, run_id: str, at: str):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(make_result(given, verdict), run_id=run_id, measured_at=at,
                               vantage=Vantage(label="lab", resolvers=("udp:127.0.0.1:53",)))


def test_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "h.sqlite3")
    results = [_stamped("a.test", "accessible", "r1", "2026-01-01T00:00:01.000Z"),
               _stamped("b.test", "dns_blocked", "r1", "2026-01-01T00:00:02.000Z")]
    with HistoryStore(path) as store:
        run = store.begin_run("r1", "2026-01-01T00:00:00.000Z", {"timeout": 2.0}, label="lab",
                              vantage=results[0].vantage, tool_version="0.1.0")
        for seq, result in enumerate(results, 1):
            store.add_result(run, seq, result)
        store.end_run(run, "2026-01-01T00:00:03.000Z", interrupted=False)
    with HistoryStore(path, create=False) as store:
        (info,) = store.runs()
        back = list(store.results(info.id))
    assert back == results  # nothing lost: the whole result is kept
    assert info.status == "finished" and info.settings == {"timeout": 2.0}
    assert info.counts == {"accessible": 1, "dns_blocked": 1}
    assert info.vantage == to_json(results[0].vantage)


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == str(tmp_path / "reachcheck" / "history.sqlite3")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # the spec says: ignore it
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == str(tmp_path / "home" / ".local/share/reachcheck/history.sqlite3")


def _write_v1_store(path: Path) -> None:
    """A store as the previous layout (version 1) wrote it, built by hand, not by our code."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE,
                           started_at TEXT NOT NULL, finished_at TEXT, settings TEXT NOT NULL);
        CREATE TABLE results (run INTEGER NOT NULL REFERENCES runs(id), target TEXT NOT NULL,
                              verdict TEXT NOT NULL, result TEXT NOT NULL);
    """)
    db.execute("INSERT INTO runs VALUES (1, 'old-finished', '2026-01-01T00:00:00Z', "
               "'2026-01-01T00:01:00Z', '{\"timeout\": 5.0}')")
    db.execute("INSERT INTO runs VALUES (2, 'old-killed', '2026-01-02T00:00:00Z', NULL, '{}')")
    for run, given, verdict in ((1, "a.test", "accessible"), (1, "b.test", "tls_blocked"),
                                (2, "a.test", "dns_blocked")):
        # Version-1 results predate run_id/measured_at/vantage in the JSON.
        data = result_to_dict(make_result(given, verdict))
        for key in ("run_id", "measured_at", "vantage"):
            data.pop(key)
        db.execute("INSERT INTO results VALUES (?, ?, ?, ?)",
                   (run, given, verdict, json.dumps(data)))
    db.commit()
    db.close()


def test_upgrades_a_version_1_store_in_place(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _write_v1_store(path)
    with HistoryStore(str(path), create=False) as store:
        runs = store.runs()
        assert [(r.run_id, r.status) for r in runs] == [("old-finished", "finished"),
                                                        ("old-killed", "interrupted")]
        assert runs[0].counts == {"accessible": 1, "tls_blocked": 1}
        assert [r.target for r in store.results(1)] == ["a.test", "b.test"]
        assert next(iter(store.results(2))).verdict == "dns_blocked"
        # the upgraded store takes new runs
        run = store.begin_run("new", "2026-02-01T00:00:00Z", {}, label=None, vantage=None,
                              tool_version="x")
        store.add_result(run, 1, make_result("c.test"))
        store.end_run(run, "2026-02-01T00:00:01Z", interrupted=False)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(CURRENT,)]
    assert db.execute("SELECT seq, url, domain FROM results WHERE run = 1 ORDER BY seq"
                      ).fetchall() == [(1, "https://a.test/", "a.test"),
                                       (2, "https://b.test/", "b.test")]
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"results_by_run", "results_by_url"} <= indexes
    db.close()
    with HistoryStore(str(path)) as store:  # opening again is a no-op
        assert len(store.runs()) == 3


def test_failed_upgrade_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _write_v1_store(path)
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE runs ADD COLUMN label TEXT")  # the upgrade will collide with this
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="duplicate column"):
        HistoryStore(str(path))
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone() == (1,)
    assert "status" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    db.close()
    assert len(before) > 0


def test_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(str(path)).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (CURRENT + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreVersionError, match="newer reachcheck"):
        HistoryStore(str(path))


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use history store"):
        HistoryStore(str(path))


def test_a_killed_writer_leaves_a_partial_run(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite3")
    writer = f"""
import os, sys
sys.path.insert(0, {str(REPO)!r})
from reachcheck.history.store import HistoryStore
from tests.output.samples import make_result
store = HistoryStore({path!r})
run = store.begin_run("killed", "2026-01-01T00:00:00Z", {{}}, label=None, vantage=None,
                      tool_version="x")
store.add_result(run, 1, make_result("a.test"))
store.add_result(run, 2, make_result("b.test", "dns_blocked"))
os._exit(9)  # no end_run, no close: as SIGKILL would leave it
"""
    assert subprocess.run([sys.executable, "-c", writer]).returncode == 9
    with HistoryStore(path) as store:
        (run,) = store.runs()
        assert run.status == "running" and run.finished_at is None
        assert store.mark_dead_runs() == 1  # its process is gone
        (run,) = store.runs()
        assert run.status == "interrupted" and run.counts == {"accessible": 1, "dns_blocked": 1}
        live = store.begin_run("live", "2026-01-02T00:00:00Z", {}, label=None, vantage=None,
                               tool_version="x")
        assert store.mark_dead_runs() == 0  # our own run is alive
        assert store.run(live) is not None and store.run(live).status == "running"  # type: ignore[union-attr]
    assert os.path.exists(path)


def test_resolve_refs(tmp_path: Path) -> None:
    with HistoryStore(str(tmp_path / "h.sqlite3")) as store:
        for run_id, start in (("20260101T000000Z-aaaa1111", "2026-01-01T00:00:00Z"),
                              ("20260101T000000Z-aaaa2222", "2026-01-01T00:00:01Z"),
                              ("20260102T000000Z-bbbb3333", "2026-01-02T00:00:00Z")):
            store.begin_run(run_id, start, {}, label=None, vantage=None, tool_version="x")
        assert resolve(store, "last").run_id.endswith("bbbb3333")
        assert resolve(store, "last~2").run_id.endswith("aaaa1111")
        assert resolve(store, "2").run_id.endswith("aaaa2222")
        assert resolve(store, "20260102").id == 3
        assert resolve(store, "20260101T000000Z-aaaa1").id == 1
        with pytest.raises(RefError, match="names 2 history runs"):
            resolve(store, "20260101T")
        for bad in ("last~3", "4", "2027", "a_b%", "9" * 30, "²"):
            with pytest.raises(RefError):
                resolve(store, bad)


def test_unencodable_text_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    import dataclasses

    with HistoryStore(str(tmp_path / "h.sqlite3")) as store:
        run = store.begin_run("r", "2026-01-01T00:00:00Z", {}, label=None, vantage=None,
                              tool_version="x")
        odd = dataclasses.replace(make_result("a.test"), reason="lone surrogate \ud800")
        with pytest.raises(StoreError, match="cannot write"):
            store.add_result(run, 1, odd)
        store.add_result(run, 1, make_result("b.test"))  # the store still works
        assert [r.target for r in store.results(run)] == ["b.test"]
