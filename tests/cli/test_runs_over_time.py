"""`check` stamps run_id/measured_at/vantage and keeps runs in the history store; `history`,
`diff` and `report ID` read them back (the runner is the fake one of tests/cli/conftest.py)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

import reachcheck.runner
from reachcheck.cli import cli
from reachcheck.history.store import HistoryStore, default_path
from reachcheck.output import load_run, load_schema
from tests.cli.conftest import FakeRunner

LOOPBACK = ["--resolver", "127.0.0.1:5353", "--nameserver", "127.0.0.1:5354",
            "--doh", "https://127.0.0.1:8443/dns-query", "--injection-probe", "127.0.0.9"]
SCHEMA = load_schema()
RESULT_SCHEMA = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/result"}
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_results_carry_run_time_and_vantage(fake_runner: Callable[..., FakeRunner],
                                            tmp_path: Path) -> None:
    fake_runner(plan={"b.test": "dns_blocked"})
    out_json, out_jsonl = tmp_path / "run.json", tmp_path / "run.jsonl"
    result = invoke("check", *LOOPBACK, "--label", "Shanghai, Telecom", "a.test", "b.test",
                    "--json", str(out_json), "--jsonl", str(out_jsonl), "-q")
    assert result.exit_code == 1, result.output
    doc = json.loads(out_json.read_text())
    jsonschema.validate(doc, SCHEMA)
    lines = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert len(lines) == 2 and lines == doc["results"]
    run_ids = {line["run_id"] for line in lines}
    assert len(run_ids) == 1 and RUN_ID.match(run_ids.pop())
    for line in lines:
        jsonschema.validate(line, RESULT_SCHEMA)
        assert line["measured_at"] >= doc["started_at"]
        assert line["vantage"] == {
            "label": "Shanghai, Telecom", "system_resolvers": ["udp:127.0.0.1:5354"],
            "resolvers": ["udp:127.0.0.1:5353"], "doh": ["https://127.0.0.1:8443/dns-query"],
            "control": None, "public_address": None, "network": None}


@pytest.mark.parametrize(("label", "needle"), [("", "empty"), ("a\nb", "control"),
                                                 ("x" * 201, "longer")])
def test_bad_label_is_a_usage_error(fake_runner: Callable[..., FakeRunner], label: str,
                                    needle: str) -> None:
    result = invoke("check", *LOOPBACK, "--label", label, "a.test")
    assert result.exit_code == 2 and needle in result.stderr
    assert not fake_runner().calls


def test_check_keeps_the_run_in_history(fake_runner: Callable[..., FakeRunner],
                                        data_home: Path) -> None:
    fake_runner(plan={"b.test": "tls_blocked"})
    assert invoke("check", *LOOPBACK, "--label", "home", "a.test", "b.test", "-q").exit_code == 1
    assert default_path() == str(data_home / "reachcheck" / "history.sqlite3")
    with HistoryStore(create=False) as store:
        (run,) = store.runs()
        results = list(store.results(run.id))
    assert run.status == "finished" and run.label == "home" and run.finished_at
    assert run.counts == {"accessible": 1, "tls_blocked": 1}
    assert [r.target for r in results] == ["a.test", "b.test"]
    assert all(r.run_id == run.run_id for r in results)
    listed = invoke("history", "list", "--json")
    assert json.loads(listed.stdout)["run_id"] == run.run_id


def test_no_history_writes_nothing(fake_runner: Callable[..., FakeRunner],
                                   data_home: Path) -> None:
    assert invoke("check", *LOOPBACK, "--no-history", "a.test", "-q").exit_code == 0
    assert not (data_home / "reachcheck").exists()


def test_interrupted_run_is_kept_as_partial(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(stop_after=2)  # as a Ctrl-C after two sites
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "c.test", "d.test", "-q")
    assert result.exit_code == 130
    with HistoryStore(create=False) as store:
        (run,) = store.runs()
        assert run.status == "interrupted" and run.finished_at
        assert [r.target for r in store.results(run.id)] == ["a.test", "b.test"]
    shown = invoke("history", "list")
    assert "interrupted" in shown.stdout


def test_crash_mid_run_keeps_results_committed_so_far(
        fake_runner: Callable[..., FakeRunner], monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_runner()
    seen: list[int] = []

    async def crashing(targets: Any, config: Any, *, on_result: Callable[[Any], None],
                       on_progress: Any = None, stop: Any = None) -> Any:
        def counting(result: Any) -> None:
            on_result(result)
            # Committed as it arrives: another connection sees it before the run ends.
            with sqlite3.connect(default_path()) as other:
                seen.append(other.execute("SELECT count(*) FROM results").fetchone()[0])
            if len(seen) == 2:
                raise RuntimeError("simulated bug")

        return await fake(targets, config, on_result=counting, stop=stop)

    monkeypatch.setattr(reachcheck.runner, "run", crashing, raising=False)
    result = CliRunner().invoke(cli, ["check", *LOOPBACK, "a.test", "b.test", "c.test", "-q"])
    assert result.exit_code == 70  # the internal-error line, not a traceback
    assert seen == [1, 2]
    with HistoryStore(create=False) as store:
        (run,) = store.runs()
        assert run.status == "interrupted"
        assert run.counts == {"accessible": 2}


def test_store_failure_warns_and_keeps_the_exit_code(fake_runner: Callable[..., FakeRunner],
                                                     data_home: Path) -> None:
    (data_home / "reachcheck").write_text("a file where the store's directory should be")
    fake_runner(plan={"a.test": "dns_blocked"})
    result = invoke("check", *LOOPBACK, "a.test", "-q")
    assert result.exit_code == 1
    assert "warning: history not kept" in result.stderr


def _two_runs(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(plan={"b.test": "tls_blocked"})
    invoke("check", *LOOPBACK, "a.test", "b.test", "c.test", "-q")
    fake_runner(plan={"a.test": "dns_blocked", "b.test": "tls_blocked",
                      "c.test": "inconclusive"})
    invoke("check", *LOOPBACK, "a.test", "b.test", "c.test", "-q")


def test_diff_history_ids_and_files(fake_runner: Callable[..., FakeRunner],
                                    tmp_path: Path) -> None:
    _two_runs(fake_runner)
    result = invoke("diff", "last~1", "last")
    assert result.exit_code == 1, result.output
    assert "Newly blocked (1):\n  a.test: accessible -> dns_blocked" in result.stdout
    assert "c.test: accessible -> inconclusive" in result.stdout
    as_json = json.loads(invoke("diff", "1", "2", "--format", "json").stdout)
    assert as_json["counts"]["newly_blocked"] == 1 and as_json["unchanged"] == 1
    # the same runs as files give the same answer
    invoke("history", "show", "1", "--format", "json", "-o", str(tmp_path / "old.json"))
    invoke("report", "2", "--format", "jsonl", "-o", str(tmp_path / "new.jsonl"))
    again = invoke("diff", str(tmp_path / "old.json"), str(tmp_path / "new.jsonl"),
                   "--format", "json")
    assert {k: v for k, v in json.loads(again.stdout).items() if k not in ("old", "new")} == {
        k: v for k, v in as_json.items() if k not in ("old", "new")}
    assert invoke("diff", "2", "2").exit_code == 0
    assert "vantage" not in invoke("diff", "1", "2").stderr  # same (no) label


def test_diff_notes_different_vantage_points(fake_runner: Callable[..., FakeRunner]) -> None:
    invoke("check", *LOOPBACK, "--label", "Beijing", "a.test", "-q")
    invoke("check", *LOOPBACK, "--label", "Hong Kong", "a.test", "-q")
    result = invoke("diff", "1", "2")
    assert result.exit_code == 0
    assert "different vantage points (Beijing vs Hong Kong)" in result.stderr


@pytest.mark.parametrize("ref", ["9", "last~5", "zzzz-not-a-run", "ab", "missing.json"])
def test_unknown_runs_are_one_line_errors(fake_runner: Callable[..., FakeRunner],
                                          ref: str) -> None:
    _two_runs(fake_runner)
    for args in (("diff", ref, "last"), ("report", ref), ("history", "show", ref)):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_report_over_history_runs(fake_runner: Callable[..., FakeRunner],
                                  tmp_path: Path) -> None:
    _two_runs(fake_runner)
    page = tmp_path / "week.html"
    assert invoke("report", "1", "2", "--format", "html", "-o", str(page)).exit_code == 1
    text = page.read_text()
    assert "When each site changed" in text and "a.test" in text
    exported = tmp_path / "all.jsonl"
    assert invoke("history", "export", "-o", str(exported)).exit_code == 0
    _, results = load_run(str(exported))
    assert len(results) == 6 and len({r.run_id for r in results}) == 2
    # the cron recipe: export a week, one page from it (the JSONL splits back into runs)
    recent = invoke("history", "export", "--since", "7")
    assert recent.stdout == exported.read_text()
    assert invoke("history", "export", "--since", "0").stdout == ""
    week = tmp_path / "week.jsonl"
    week.write_text(recent.stdout)
    from_export = tmp_path / "from-export.html"
    invoke("report", str(week), "--format", "html", "-o", str(from_export))
    assert "When each site changed" in from_export.read_text()


def test_prune(fake_runner: Callable[..., FakeRunner]) -> None:
    _two_runs(fake_runner)
    invoke("check", *LOOPBACK, "a.test", "-q")
    dry = invoke("history", "prune", "--keep", "1", "--dry-run")
    assert "would delete 2 of 3 runs" in dry.stderr
    assert invoke("history", "prune", "--older-than", "1").stderr.strip() == "deleted 0 of 3 runs"
    assert invoke("history", "prune", "--keep", "1").exit_code == 0
    with HistoryStore(create=False) as store:
        (run,) = store.runs()
        assert run.id == 3 and run.sites == 1
        assert store.db.execute("SELECT count(*) FROM results").fetchone()[0] == 1
    assert invoke("history", "prune").exit_code == 2


def test_history_without_a_store(data_home: Path) -> None:
    result = invoke("history", "list")
    assert result.exit_code == 0 and "no runs yet" in result.stderr
    assert invoke("history", "show", "last").exit_code == 2
    assert not (data_home / "reachcheck").exists()  # reading never creates the store
