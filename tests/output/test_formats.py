"""`report --format csv|markdown|html|table|json|jsonl --output`: content, escaping, atomicity,
and the per-site timeline over several runs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reachcheck.cli import cli
from reachcheck.model import Anomaly, HttpFetch, SiteResult, Vantage
from reachcheck.output import JsonlWriter, JsonWriter, load_run, load_schema
from reachcheck.output.csvout import COLUMNS, write_csv
from reachcheck.output.htmlreport import render_html
from reachcheck.output.markdown import md, render_markdown
from reachcheck.output.timeline import RunInput, collect
from tests.output.samples import make_result

HOSTILE = '</script><script>alert(1)</script><!-- |pipe| =cmd() & "q"'


def stamped(given: str, verdict: str, run: int, *, detail: str | None = None) -> SiteResult:
    result = make_result(given, verdict)
    if detail is not None:
        result = dataclasses.replace(result, anomalies=(
            Anomaly(stage="http", kind="http.blockpage", detail=detail, confirmed=True),))
    return dataclasses.replace(
        result, run_id=f"2026010{run}T000000Z-0000000{run}",
        measured_at=f"2026-01-0{run}T00:00:01.000Z", vantage=Vantage(label="lab"))


def week(tmp_path: Path) -> list[Path]:
    """Three saved runs: a.test becomes DNS-blocked in run 2, then TLS-blocked in run 3."""
    plan = [("accessible", "accessible"), ("dns_blocked", "accessible"),
            ("tls_blocked", "site_down")]
    paths = []
    for run, (a, b) in enumerate(plan, 1):
        path = tmp_path / f"run{run}.json"
        with JsonWriter(str(path), {}, started_at=f"2026-01-0{run}T00:00:00.000Z") as w:
            w.write(stamped("a.test", a, run))
            w.write(stamped("b.test", b, run))
            w.close({})
        paths.append(path)
    return paths


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_timeline_orders_runs_and_finds_transitions(tmp_path: Path) -> None:
    paths = week(tmp_path)
    inputs = [RunInput(str(p), *load_run(str(p))) for p in reversed(paths)]  # any order
    timeline = collect(inputs)
    assert [r.started_at for r in timeline.runs()] == [
        "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"]
    rows = {row.target: row for row in timeline.sites()}
    assert rows["a.test"].verdict == "tls_blocked"  # the latest run's result is shown
    assert [timeline.verdict_of(c) for c in timeline.cells(rows["a.test"])] == [
        "accessible", "dns_blocked", "tls_blocked"]
    assert [(t.target, t.old, t.new, t.at) for t in timeline.transitions()] == [
        ("a.test", "accessible", "dns_blocked", "2026-01-02T00:00:00.000Z"),
        ("a.test", "dns_blocked", "tls_blocked", "2026-01-03T00:00:00.000Z"),
        ("b.test", "accessible", "site_down", "2026-01-03T00:00:00.000Z")]


def test_one_jsonl_file_of_many_runs_splits_by_run_id(tmp_path: Path) -> None:
    path = tmp_path / "cron.jsonl"
    with JsonlWriter(str(path)) as w:  # what `check --jsonl - >> cron.jsonl` accumulates
        for run in (1, 2):
            w.write(stamped("a.test", "accessible" if run == 1 else "dns_blocked", run))
    timeline = collect([RunInput(str(path), *load_run(str(path)))])
    assert len(timeline.runs()) == 2 and len(timeline) == 1
    assert [t.new for t in timeline.transitions()] == ["dns_blocked"]


def test_csv(tmp_path: Path) -> None:
    out = io.StringIO()
    results = [stamped("a.test", "accessible", 1),
               dataclasses.replace(stamped("b.test", "http_blocked", 1, detail=HOSTILE),
                                   summary="=HYPERLINK(\"x\")")]
    assert write_csv(results, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["run_id"] == "20260101T000000Z-00000001" and rows[0]["label"] == "lab"
    assert rows[1]["verdict"] == "http_blocked" and rows[1]["anomaly_kinds"] == "http.blockpage"
    assert rows[1]["mechanism"].startswith("'=")  # no formula runs in a spreadsheet
    assert rows[1]["evidence"] == HOSTILE and rows[1]["reachable_with_trusted_dns"] == "true"


def test_markdown_escapes_and_shows_since(tmp_path: Path) -> None:
    paths = week(tmp_path)
    text = render_markdown(collect(RunInput(str(p), *load_run(str(p))) for p in paths))
    table = [line for line in text.splitlines() if line.startswith("| a.test")]
    assert len(table) == 1
    cells = table[0].split(" | ")
    assert cells[1] == "tls_blocked" and "2026-01-03T00:00:00.000Z" in table[0]
    assert "accessible → dns\\_blocked → tls\\_blocked" in table[0]
    assert md(HOSTILE).count("|") == md(HOSTILE).count("\\|") == 2
    assert "<" not in md(HOSTILE).replace("\\<", "")
    one = render_markdown(collect([RunInput("x", {}, [stamped("a.test", "dns_blocked", 1,
                                                               detail="a\nb|c")])]))
    assert "a b\\|c" in one and "## Runs" not in one


def _data_block(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      page, re.S)
    assert match is not None
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_html_is_self_contained_and_escapes_hostile_text(tmp_path: Path) -> None:
    results = [stamped("a.test", "http_blocked", 1, detail=HOSTILE),
               stamped("b.test", "accessible", 1)]
    page = render_html(collect([RunInput("x", {}, results)]), generated_at="now")
    # nothing fetched at view time: no external src/href, a CSP that forbids it
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page and "script-src 'sha256-" in page
    assert page.count("<script") == 2 and "alert(1)</script>" not in page
    data = _data_block(page)
    sites = data["sites"]
    assert isinstance(sites, list)
    assert sites[0]["t"] == "a.test" and sites[0]["e"][0][2] == HOSTILE  # blocked first
    assert 'id="count-http_blocked" data-verdict="http_blocked">1<' in page


def test_report_formats_via_cli(tmp_path: Path) -> None:
    paths = [str(p) for p in week(tmp_path)]
    expected = [r for p in paths for r in load_run(p)[1]]
    for fmt in ("json", "jsonl", "csv", "markdown", "html", "table"):
        out = tmp_path / f"out.{fmt}"
        result = invoke("report", *paths, "--format", fmt, "--output", str(out))
        assert result.exit_code == 1, result.output  # blocked sites in the runs
        assert result.stdout == "", fmt  # the output went to the file only
        text = out.read_text()
        assert "a.test" in text and "tls_blocked" in text, fmt
    doc = json.loads((tmp_path / "out.json").read_text())
    jsonschema.validate(doc, load_schema())
    assert load_run(str(tmp_path / "out.jsonl"))[1] == expected == load_run(
        str(tmp_path / "out.json"))[1]
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 7
    assert "\x1b[" not in (tmp_path / "out.table").read_text()  # no colour codes in a file
    to_stdout = invoke("report", *paths, "--format", "csv")
    assert to_stdout.stdout == (tmp_path / "out.csv").read_text()


def test_report_output_errors_leave_nothing(tmp_path: Path) -> None:
    paths = [str(p) for p in week(tmp_path)]
    missing_dir = tmp_path / "nope" / "r.html"
    result = invoke("report", *paths, "--format", "html", "-o", str(missing_dir))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    clash = invoke("report", paths[0], "--format", "csv", "--json", "-")
    assert clash.exit_code == 2 and "stdout" in clash.stderr
    same = invoke("report", paths[0], "--format", "csv", "-o", str(tmp_path / "x"),
                  "--jsonl", str(tmp_path / "x"))
    assert same.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run1.json", "run2.json", "run3.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(p) for p in week(tmp_path)]
    out = tmp_path / "r.html"
    out.write_text("the previous report")
    import reachcheck.output.formats as formats

    def full_disk(fd: int) -> None:  # the page is written; making it durable fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formats.os, "fsync", full_disk)
    result = invoke("report", *paths, "--format", "html", "-o", str(out))
    assert result.exit_code == 2 and "No space left" in result.stderr
    assert out.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_rejudge_keeps_run_time_and_vantage(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    fetch = HttpFetch(url="https://a.test/", address="127.0.0.2", ok=True, elapsed_ms=1.0,
                      status=200)
    with JsonlWriter(str(path)) as w:
        w.write(dataclasses.replace(stamped("a.test", "accessible", 1), http=(fetch,)))
    out = tmp_path / "again.jsonl"
    invoke("report", str(path), "--rejudge", "--format", "jsonl", "-o", str(out))
    (again,) = load_run(str(out))[1]
    assert again.run_id == "20260101T000000Z-00000001" and again.vantage == Vantage(label="lab")
