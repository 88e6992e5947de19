"""The human table: one row per site, fold instead of truncate, colour only when asked."""

from __future__ import annotations

import io

from rich.console import Console

from reachcheck.output import count_verdicts, render_table
from reachcheck.output.table import key_evidence, summary_line
from tests.output.samples import make_result


def _render(results: list, width: int = 80, **console_kwargs: object) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, **console_kwargs)  # type: ignore[arg-type]
    render_table(results, console)
    return buf.getvalue()


def test_rows_and_footer() -> None:
    results = [make_result("open.test"), make_result("dns.test", "dns_blocked"),
               make_result("tls.test", "tls_blocked")]
    out = _render(results, width=200)
    for r in results:
        assert r.target in out and r.verdict in out
    assert "dns_blocked mechanism" in out  # the summary column
    assert out.strip().splitlines()[-1] == "3 sites: 1 accessible, 1 dns_blocked, 1 tls_blocked"


def test_long_cells_fold_rather_than_truncate() -> None:
    name = "a-very-long-subdomain-name-that-does-not-fit." + "x" * 40 + ".test"
    out = _render([make_result(name, "dns_blocked")])
    joined = "".join(line.strip(" │┃|") for line in out.splitlines())
    assert "…" not in out
    # Every piece of the folded name is printed somewhere in the table.
    assert all(part in joined.replace(" ", "") for part in name.split("."))


def test_no_color_env_strips_ansi(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    out = _render([make_result("a.test", "tls_blocked")], force_terminal=True)
    assert "\x1b[3" not in out and "\x1b[1;31" not in out  # no foreground colours


def test_forced_terminal_colours_verdicts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _render([make_result("a.test", "tls_blocked")], force_terminal=True)
    assert "\x1b[" in out


def test_key_evidence_shows_first_anomalies_then_count() -> None:
    result = make_result("a.test", "dns_blocked", anomalies=4)
    evidence = key_evidence(result)
    assert result.anomalies[0].detail in evidence and result.anomalies[1].detail in evidence
    assert result.anomalies[2].detail not in evidence and "+2 more" in evidence


def test_key_evidence_falls_back_to_reason() -> None:
    result = make_result("a.test", "site_down", anomalies=0)
    assert key_evidence(result) == result.reason


def test_empty_run_prints_only_footer() -> None:
    assert _render([]).strip() == "0 sites"


def test_counts_in_verdict_order() -> None:
    results = [make_result("b.test", "inconclusive"), make_result("a.test")]
    assert list(count_verdicts(results)) == ["accessible", "inconclusive"]
    assert summary_line({"accessible": 1}).plain == "1 site: 1 accessible"


def test_table_fits_the_console_width() -> None:
    results = [make_result("https://" + "long-name." * 6 + "test/path", "tls_blocked",
                           anomalies=3)]
    for width in (60, 80, 120):
        out = _render(results, width=width)
        assert max(len(line) for line in out.splitlines()) <= width


def test_key_evidence_does_not_repeat_the_mechanism() -> None:
    import dataclasses

    result = make_result("a.test", "inconclusive", anomalies=1)
    same = dataclasses.replace(result, summary=result.anomalies[0].detail)
    assert key_evidence(same) == result.reason  # the Mechanism column already says the detail
    twice = dataclasses.replace(result, anomalies=result.anomalies * 2)
    assert key_evidence(twice) == result.anomalies[0].detail
    bare = dataclasses.replace(result, anomalies=(), reason="why", summary="why")
    assert key_evidence(bare) == ""
