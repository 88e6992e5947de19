"""`reachcheck report`: re-render saved runs, re-judge them, re-export them."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reachcheck.cli import cli
from reachcheck.model import Observations, SiteResult
from reachcheck.output import JsonlWriter, JsonWriter, load_run, load_schema
from tests.output.samples import make_result


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "saved.json"
    with JsonWriter(str(path), {"timeout": 3.0}, started_at="2026-01-02T03:04:05Z") as w:
        w.write(make_result("a.test"))
        w.write(make_result("b.test", "tls_blocked"))
        w.close({"accessible": 1, "tls_blocked": 1})
    return path


def test_report_renders_table_and_exit_code(saved: Path) -> None:
    result = invoke("report", str(saved))
    assert result.exit_code == 1
    assert "b.test" in result.stdout and "tls_blocked" in result.stdout
    assert "2 sites: 1 accessible, 1 tls_blocked" in result.stdout


def test_report_merges_json_and_jsonl(saved: Path, tmp_path: Path) -> None:
    lines = tmp_path / "more.jsonl"
    with JsonlWriter(str(lines)) as w:
        w.write(make_result("c.test", "inconclusive"))
    result = invoke("report", str(saved), str(lines))
    assert result.exit_code == 1 and "3 sites" in result.stdout


def test_report_reexports(saved: Path, tmp_path: Path) -> None:
    out_json, out_jsonl = tmp_path / "again.json", tmp_path / "again.jsonl"
    result = invoke("report", str(saved), "--json", str(out_json), "--jsonl", str(out_jsonl))
    assert result.exit_code == 1
    doc = json.loads(out_json.read_text())
    jsonschema.validate(doc, load_schema())
    assert doc["settings"] == {"timeout": 3.0} and doc["started_at"] == "2026-01-02T03:04:05Z"
    assert load_run(str(out_jsonl))[1] == load_run(str(saved))[1]


def test_report_rejudge(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Observations] = []

    def judge(obs: Observations) -> SiteResult:
        seen.append(obs)
        return make_result(obs.target.given, "site_down")

    # The analysis package is written elsewhere; stand in for its judge().
    monkeypatch.setitem(sys.modules, "reachcheck.analysis",
                        types.SimpleNamespace(judge=judge))
    result = invoke("report", "--rejudge", str(saved))
    assert result.exit_code == 0
    assert [o.target.domain for o in seen] == ["a.test", "b.test"]
    assert seen[1].tls == make_result("b.test", "tls_blocked").tls  # the saved observations
    assert "2 sites: 2 site_down" in result.stdout


def test_report_bad_file_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "reachcheck/1", "results": [{"verdict": "blocked"}]}')
    result = invoke("report", str(bad))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown verdict" in result.stderr


def test_report_missing_file(tmp_path: Path) -> None:
    result = invoke("report", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_report_interrupted_run_is_noted(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    with JsonWriter(str(path), {}) as w:
        w.write(make_result("a.test"))
        w.close({"accessible": 1}, interrupted=True)
    result = invoke("report", str(path))
    assert result.exit_code == 0 and "interrupted" in result.stderr


# ------------------------------------------------------------------------- --public-range


def _lab_run(tmp_path: Path, settings: dict) -> Path:  # type: ignore[type-arg]
    """A saved run whose only site resolved to a benchmark-range (198.18.0.0/15) address."""
    from reachcheck.analysis import judge
    from tests.analysis.builders import obs, system

    path = tmp_path / "lab.json"
    result = judge(obs(system("198.18.0.7")))
    assert result.verdict == "dns_blocked"  # a bogon for a public name, by default
    with JsonWriter(str(path), settings) as w:
        w.write(result)
        w.close({result.verdict: 1})
    return path


def test_rejudge_uses_saved_public_ranges(tmp_path: Path) -> None:
    path = _lab_run(tmp_path, {"public_ranges": ["198.18.0.0/15"]})
    assert invoke("report", str(path)).exit_code == 1  # the saved verdict
    result = invoke("report", "--rejudge", str(path))
    assert result.exit_code == 3, result.output  # inconclusive: nothing else to go on
    assert "dns_blocked" not in result.stdout


def test_rejudge_option_overrides_saved_public_ranges(tmp_path: Path) -> None:
    path = _lab_run(tmp_path, {"public_ranges": []})
    assert invoke("report", "--rejudge", str(path)).exit_code == 1
    out = tmp_path / "again.json"
    result = invoke("report", "--rejudge", "--public-range", "198.18.0.0/15", str(path),
                    "--json", str(out))
    assert result.exit_code == 3, result.output
    assert json.loads(out.read_text())["settings"]["public_ranges"] == ["198.18.0.0/15"]


def test_rejudge_passes_ranges_to_judge(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, ...]] = []

    def judge(obs: Observations, *, public_ranges: tuple[str, ...] = ()) -> SiteResult:
        seen.append(public_ranges)
        return make_result(obs.target.given)

    monkeypatch.setitem(sys.modules, "reachcheck.analysis", types.SimpleNamespace(judge=judge))
    assert invoke("report", "--rejudge", "--public-range", "10.9.8.7/8", str(saved)).exit_code == 0
    assert seen == [("10.0.0.0/8",), ("10.0.0.0/8",)]


def test_public_range_needs_rejudge(saved: Path) -> None:
    result = invoke("report", "--public-range", "198.18.0.0/15", str(saved))
    assert result.exit_code == 2 and "--rejudge" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("bad", [["300.0.0.0/8"], "198.18.0.0/15", [15]])
def test_rejudge_bad_saved_public_ranges(tmp_path: Path, bad: object) -> None:
    path = _lab_run(tmp_path, {"public_ranges": bad})
    result = invoke("report", "--rejudge", str(path))
    assert result.exit_code == 2 and "public_ranges" in result.stderr
    assert result.stderr.count("\n") == 1


def test_report_bad_public_range_option(saved: Path) -> None:
    result = invoke("report", "--rejudge", "--public-range", "nope", str(saved))
    assert result.exit_code == 2 and "--public-range" in result.stderr
    assert result.stderr.count("\n") == 1
