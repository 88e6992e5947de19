"""Residual memory across runs (runner/memory.py): our own recent triggers, on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reachcheck.model import TlsHandshake
from reachcheck.runner import memory
from reachcheck.runner.memory import ResidualMemory

ADDR = "192.0.2.10"


def _hs(ok: bool, error: str | None, kind: str = "target", residual: bool = False
        ) -> TlsHandshake:
    return TlsHandshake(ADDR, 443, "okx.test" if kind == "target" else "benign.test",
                        kind, ok, 5.0, error, possibly_residual=residual)  # type: ignore[arg-type]


def test_state_dir_follows_xdg_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert memory.state_dir() == tmp_path / "reachcheck"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")  # not absolute: ignored (XDG spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert memory.state_dir() == tmp_path / "home" / ".local" / "state" / "reachcheck"


def test_a_trigger_is_remembered_by_the_next_run_within_the_window() -> None:
    first = ResidualMemory(180.0)
    first.note([_hs(False, "reset")], {(ADDR, 443)}, at=1000.0)
    first.save(now=1000.0)
    second = ResidualMemory(180.0)
    second.load(now=1040.0)
    trig = second.recall(ADDR, 443, 1040.0, active=True)
    assert trig is not None and trig.age_s == 40.0 and trig.sni == "okx.test"
    assert trig.error == "reset" and trig.active and trig.at.endswith("Z")
    assert second.recall(ADDR, 80, 1040.0, active=True) is None  # ports matter
    late = ResidualMemory(180.0)
    late.load(now=1181.0)
    assert late.recall(ADDR, 443, 1181.0, active=True) is None  # the window is over


def test_only_sni_style_triggers_are_remembered() -> None:
    mem = ResidualMemory(180.0)
    mem.note([_hs(False, "reset")], set(), at=1.0)  # the benign SNI did not pass: no contrast
    mem.note([_hs(False, "cert_hostname")], {(ADDR, 443)}, at=1.0)  # not a censor trigger
    mem.note([_hs(False, "reset", residual=True)], {(ADDR, 443)}, at=1.0)  # a penalty, not one
    mem.note([_hs(True, None), _hs(False, "reset", kind="benign")], {(ADDR, 443)}, at=1.0)
    mem.save(now=1.0)
    assert not mem.path.exists()


def test_runs_merge_and_the_file_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "MAX_ENTRIES", 3)
    for i in range(5):
        mem = ResidualMemory(180.0)
        hs = TlsHandshake(f"192.0.2.{i}", 443, "x.test", "target", False, 1.0, "timeout")
        mem.note([hs], {(f"192.0.2.{i}", 443)}, at=100.0 + i)
        mem.save(now=100.0 + i)
    rows = json.loads(mem.path.read_text())["triggers"]
    assert [r["address"] for r in rows] == ["192.0.2.2", "192.0.2.3", "192.0.2.4"]


def test_a_broken_or_unwritable_state_file_is_no_memory_and_no_error(tmp_path: Path) -> None:
    bad = tmp_path / "triggers.json"
    bad.write_text("{not json")
    mem = ResidualMemory(180.0, path=bad)
    mem.load(now=5.0)
    assert list(mem.earlier()) == []
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    mem = ResidualMemory(180.0, path=blocked / "triggers.json")
    mem.note([_hs(False, "reset")], {(ADDR, 443)}, at=5.0)
    mem.save(now=5.0)  # cannot create the directory: silently no memory
