"""`reachcheck import ooni` on every input shape: a document (pretty-printed), the API's
answer, JSONL, .gz, a directory, stdin, other tests, malformed items, --strict, signals."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from reachcheck.cli import cli
from reachcheck.ingest.ooni.failures import dns_outcome, error_name
from reachcheck.output import load_schema
from tests.ingest import fixtures

SCHEMA = load_schema()
RESULT_SCHEMA = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/result"}


def run(*args: str, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(cli, ["import", "ooni", *args], input=stdin)


def line(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def write(path: Path, *docs: Any, extra: tuple[str, ...] = ()) -> Path:
    """JSONL of `docs`, then the `extra` raw lines."""
    path.write_text("\n".join([*(line(d) for d in docs), *extra]) + "\n", encoding="utf-8")
    return path


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_single_pretty_document(tmp_path: Path) -> None:
    doc = tmp_path / "m.json"
    doc.write_text(json.dumps(fixtures.accessible(), indent=2), encoding="utf-8")
    out = tmp_path / "r.json"
    res = run(str(doc), "--json", str(out), "-q")
    assert res.exit_code == 0, res.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(saved, SCHEMA)
    (result,) = saved["results"]
    assert result["verdict"] == "accessible"
    assert result["source"] == {
        "kind": "ooni", "measurement_uid": None,
        "report_id": "20240105T101010Z_webconnectivity_XY_64500_n1_AbCdEfGhIjKlMnOp",
        "input": "https://www.example.org/", "probe_cc": "XY", "probe_asn": "AS64500",
        "measured_at": "2024-01-05T10:10:10Z", "test_version": "0.4.3",
        "ooni_blocking": False, "ooni_accessible": True}
    assert saved["agreement"] == {"ok": {"accessible": 1}}
    assert saved["ingest"] == {"judged": 1, "malformed": 0, "skipped_tests": {}}


def test_api_answer_with_raw_measurement_string(tmp_path: Path) -> None:
    doc = write(tmp_path / "api.json", fixtures.api_answer(fixtures.dns_blocked(), "uid-1"))
    out = tmp_path / "r.jsonl"
    res = run(str(doc), "--jsonl", str(out), "-q")
    assert res.exit_code == 1  # blocked
    (result,) = results(out)
    jsonschema.validate(result, RESULT_SCHEMA)
    assert result["verdict"] == "dns_blocked"
    assert result["source"]["measurement_uid"] == "uid-1"
    assert result["source"]["ooni_blocking"] == "dns"


def test_jsonl_gz_other_tests_and_the_matrix(tmp_path: Path) -> None:
    plain = write(tmp_path / "in.jsonl", fixtures.accessible(), fixtures.other_test(),
                  fixtures.dns_blocked())
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / "r.json"
    res = run(str(packed), "--json", str(out))
    assert res.exit_code == 1, res.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(saved, SCHEMA)
    assert [r["verdict"] for r in saved["results"]] == ["accessible", "dns_blocked"]
    assert saved["ingest"]["skipped_tests"] == {"tor": 1}
    assert saved["agreement"] == {"ok": {"accessible": 1}, "dns": {"dns_blocked": 1}}
    assert "skipped 1 measurements of other tests (tor: 1)" in res.output
    assert "OONI (rows) x reachcheck (columns): 2 of 2 agree" in res.output
    assert "AS64500" in res.output  # the table names the vantage point


def test_directory_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    write(folder / "b.json", fixtures.accessible())
    write(folder / "sub" / "c.jsonl", fixtures.dns_blocked())
    write(folder / "a.json.gz.txt", fixtures.dns_blocked())  # another suffix: skipped
    (folder / "notes.txt").write_text("not a measurement")
    out = tmp_path / "r.jsonl"
    assert run(str(folder), "--jsonl", str(out), "-q").exit_code == 1
    assert [r["verdict"] for r in results(out)] == ["accessible", "dns_blocked"]


def test_stdin_plain_and_gzipped(tmp_path: Path) -> None:
    res = run("-", "--jsonl", "-", "-q", stdin=(line(fixtures.dns_blocked()) + "\n").encode())
    assert res.exit_code == 1
    assert json.loads(res.output)["verdict"] == "dns_blocked"
    packed = gzip.compress(write(tmp_path / "x.jsonl", fixtures.accessible(),
                                 fixtures.dns_blocked()).read_bytes())
    res = run("-", "--jsonl", "-", "-q", stdin=packed)
    assert [json.loads(x)["verdict"] for x in res.output.splitlines()] == [
        "accessible", "dns_blocked"]


def test_malformed_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = fixtures.accessible()
    broken["test_keys"] = None
    bad = write(tmp_path / "in.jsonl", fixtures.accessible(), broken, extra=("{not json",))
    out = tmp_path / "r.jsonl"
    res = run(str(bad), "--jsonl", str(out))
    assert res.exit_code == 0, res.output
    assert f"{bad}:2: test_keys is not an object" in res.output
    assert f"{bad}:3: not valid JSON" in res.output
    assert len(results(out)) == 1


def test_pretty_document_error_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text('{\n  "test_name": "web_connectivity",\n  "input": oops\n}\n')
    res = run(str(bad), "-q")
    assert res.exit_code == 2  # nothing judged
    assert f"{bad}:3: not valid JSON" not in res.output  # -q: no notes...
    res = run(str(bad))
    assert f"{bad}:3: not valid JSON" in res.output  # ...without -q, file:line


def test_strict_stops_with_exit_2_and_leaves_no_output(tmp_path: Path) -> None:
    bad = write(tmp_path / "in.jsonl", fixtures.accessible(), extra=("{not json",))
    out_json, out_jsonl = tmp_path / "r.json", tmp_path / "r.jsonl"
    out_json.write_text("previous run")
    res = run(str(bad), "--strict", "--json", str(out_json), "--jsonl", str(out_jsonl))
    assert res.exit_code == 2
    assert f"{bad}:2: not valid JSON (--strict)" in res.output
    assert out_json.read_text() == "previous run" and not out_jsonl.exists()


def test_input_errors_exit_2(tmp_path: Path) -> None:
    res = run(str(tmp_path / "missing.json"))
    assert res.exit_code == 2 and "no such file" in res.output
    only_other = write(tmp_path / "tor.json", fixtures.other_test())
    res = run(str(only_other))
    assert res.exit_code == 2 and "no Web Connectivity measurement" in res.output
    assert run(str(only_other), "--json", "-", "--jsonl", "-").exit_code == 2


def test_report_rejudge_keeps_the_source(tmp_path: Path) -> None:
    saved, again = tmp_path / "r.json", tmp_path / "again.jsonl"
    doc = write(tmp_path / "m.json", fixtures.dns_blocked())
    assert run(str(doc), "--json", str(saved), "-q").exit_code == 1
    res = CliRunner().invoke(cli, ["report", str(saved), "--rejudge", "--jsonl", str(again),
                                   "-q"])
    assert res.exit_code == 1, res.output
    (result,) = results(again)
    assert result["verdict"] == "dns_blocked"
    assert result["source"]["report_id"] == fixtures.dns_blocked()["report_id"]


def test_sigterm_keeps_the_results_so_far(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "reachcheck.cli", "import", "ooni", "-", "--jsonl", str(out),
         "-q"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write((line(fixtures.dns_blocked()) + "\n").encode())
    child.stdin.flush()  # stdin stays open: the import waits for more
    deadline = time.monotonic() + 30
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert b"interrupted; partial results written" in err
    assert [r["verdict"] for r in results(out)] == ["dns_blocked"]


def test_failure_table() -> None:
    assert error_name("connection_reset") == "reset"
    assert error_name("ssl_unknown_authority") == "cert_unknown_ca"
    assert error_name("unknown_failure: something new") == "error"
    assert error_name(None) is None
    assert dns_outcome("dns_nxdomain_error") == ("NXDOMAIN", None)
    assert dns_outcome("generic_timeout_error") == (None, "timeout")
    assert dns_outcome(None) == (None, None)
