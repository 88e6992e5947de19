"""`reachcheck import ooni` on every input shape, with real measurement files."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from reachcheck.cli import cli
from reachcheck.ingest.ooni.failures import dns_outcome, error_name
from reachcheck.output import load_schema

DATA = Path(__file__).resolve().parents[1] / "data" / "ooni"
CORPUS = DATA / "corpus"
PRETTY = CORPUS / "probecli-manual-youtube.json"  # a pretty-printed measurement document
API = CORPUS / "explorer-RU-rutor.org.json"  # the measurement API's answer (raw_measurement)
BLOCKED = CORPUS / "backend-wc-ir_fp.json"  # Iran, 10.10.34.36
OTHER = DATA / "shapes" / "other_test_torsf.json"  # a torsf measurement
NULL_KEYS = DATA / "shapes" / "test_keys_null.json"  # web_connectivity with test_keys null
SCHEMA = load_schema()


def run(*args: str, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(cli, ["import", "ooni", *args], input=stdin)


def one_line(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))


def jsonl(tmp_path: Path, *paths: Path, extra: tuple[str, ...] = ()) -> Path:
    out = tmp_path / "in.jsonl"
    out.write_text("\n".join([*(one_line(p) for p in paths), *extra]) + "\n", encoding="utf-8")
    return out


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_single_pretty_document(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = run(str(PRETTY), "--json", str(out), "-q")
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    (result,) = doc["results"]
    assert result["verdict"] == "accessible"
    report = "20231130T175544Z_webconnectivity_IT_30722_n1_axB7UYed9MURovXX"
    assert result["source"]["report_id"] == report
    assert result["source"]["probe_cc"] == "IT" and result["source"]["ooni_blocking"] is False
    assert doc["agreement"] == {"ok": {"accessible": 1}}
    assert doc["ingest"] == {"judged": 1, "malformed": 0, "skipped_tests": {}}


def test_api_raw_measurement_wrapper(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    res = run(str(API), "--jsonl", str(out), "-q")
    assert res.exit_code == 1  # blocked
    (result,) = results(out)
    assert result["source"]["measurement_uid"] == "01202003039e13e3e38be1918d3a64c2ec27ea22"
    assert result["source"]["measured_at"].endswith("Z")
    assert result["verdict"] == "http_blocked"


def test_jsonl_gz_and_other_tests_counted(tmp_path: Path) -> None:
    plain = jsonl(tmp_path, PRETTY, OTHER, BLOCKED)
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / "r.json"
    res = run(str(packed), "--json", str(out))
    assert res.exit_code == 1, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["verdict"] for r in doc["results"]] == ["accessible", "dns_blocked"]
    assert doc["ingest"]["skipped_tests"] == {"torsf": 1}
    assert "skipped 1 measurements of other tests (torsf: 1)" in res.output
    assert "OONI (rows) x reachcheck (columns): 2 of 2 agree" in res.output  # the matrix


def test_directory_and_stdin(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(PRETTY, folder / "a.json")
    shutil.copy(BLOCKED, folder / "sub" / "b.json")
    (folder / "notes.txt").write_text("not a measurement")
    out = tmp_path / "r.jsonl"
    assert run(str(folder), "--jsonl", str(out), "-q").exit_code == 1
    assert len(results(out)) == 2
    res = run("-", "--jsonl", "-", "-q", stdin=(one_line(BLOCKED) + "\n").encode())
    assert res.exit_code == 1
    assert json.loads(res.output)["verdict"] == "dns_blocked"
    packed = gzip.compress(jsonl(tmp_path, PRETTY, BLOCKED).read_bytes())
    res = run("-", "--jsonl", "-", "-q", stdin=packed)
    assert [json.loads(line)["verdict"] for line in res.output.splitlines()] == [
        "accessible", "dns_blocked"]


def test_malformed_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = jsonl(tmp_path, PRETTY, NULL_KEYS, extra=("{not json",))
    out = tmp_path / "r.jsonl"
    res = run(str(bad), "--jsonl", str(out))
    assert res.exit_code == 0, res.output
    assert f"{bad}:2: test_keys is not an object" in res.output
    assert f"{bad}:3: not valid JSON" in res.output
    assert len(results(out)) == 1


def test_strict_stops_with_exit_2_and_leaves_no_output(tmp_path: Path) -> None:
    bad = jsonl(tmp_path, PRETTY, extra=("{not json",))
    out_json, out_jsonl = tmp_path / "r.json", tmp_path / "r.jsonl"
    out_json.write_text("previous run")
    res = run(str(bad), "--strict", "--json", str(out_json), "--jsonl", str(out_jsonl))
    assert res.exit_code == 2
    assert f"{bad}:2: not valid JSON (--strict)" in res.output
    assert out_json.read_text() == "previous run" and not out_jsonl.exists()


def test_input_errors_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.json")).exit_code == 2
    res = run(str(OTHER))
    assert res.exit_code == 2 and "no Web Connectivity measurement" in res.output


def test_failure_table() -> None:
    assert error_name("connection_reset") == "reset"
    assert error_name("ssl_unknown_authority") == "cert_unknown_ca"
    assert error_name("unknown_failure: something new") == "error"
    assert error_name(None) is None
    assert dns_outcome("dns_nxdomain_error") == ("NXDOMAIN", None)
    assert dns_outcome("generic_timeout_error") == (None, "timeout")
    assert dns_outcome(None) == (None, None)


@pytest.mark.parametrize("name", ["qa-dnsBlockingBOGON.json", "explorer-US-theguardian.com.json"])
def test_every_line_validates_against_the_schema(tmp_path: Path, name: str) -> None:
    out = tmp_path / "r.jsonl"
    run(str(CORPUS / name), "--jsonl", str(out), "-q")
    result_schema = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/result"}
    for line in results(out):
        jsonschema.validate(line, result_schema)


def test_report_rejudge_keeps_the_source(tmp_path: Path) -> None:
    saved, again = tmp_path / "r.json", tmp_path / "again.jsonl"
    assert run(str(BLOCKED), "--json", str(saved), "-q").exit_code == 1
    res = CliRunner().invoke(cli, ["report", str(saved), "--rejudge", "--jsonl", str(again),
                                   "-q"])
    assert res.exit_code == 1, res.output
    (result,) = results(again)
    assert result["verdict"] == "dns_blocked"
    assert result["source"]["report_id"] == (
        "20220815T190043Z_webconnectivity_IR_197207_n1_cCbffjGasS4tFgb2")


def test_sigterm_keeps_the_results_so_far(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "r.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "reachcheck.cli", "import", "ooni", "-", "--jsonl", str(out),
         "-q"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write((one_line(BLOCKED) + "\n").encode())
    child.stdin.flush()  # stdin stays open: the import waits for more
    deadline = time.monotonic() + 30
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert b"interrupted; partial results written" in err
    assert [r["verdict"] for r in results(out)] == ["dns_blocked"]
