"""The human table: one row per site, fold instead of truncate, colour only when asked."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from reachcheck.output import count_verdicts, render_table
from reachcheck.output.table import (
    LONG_RUN,
    LONG_RUN_LISTED,
    Row,
    fit_columns,
    key_evidence,
    summary_line,
)
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


# ------------------------------------------------------------------ widths and long runs

LAB_ROWS = [
    Row("tradingview.com", "tls_blocked", "confirmed",
        "TLS cut off when the SNI names the site; other names pass",
        "handshake with SNI tradingview.com reset on 198.18.1.22:443; SNI benign.test "
        "completed on the same address"),
    Row("kucoin.test", "tls_blocked", "likely", "Forged TLS certificate (interception)",
        "certificate for kucoin.test on 198.18.1.33:443 fails verification "
        "(cert_unknown_ca): issuer 'OU=Testing CA #1RoZXmGfOok7-18b,O=rclab'"),
    Row("coinmarketcap.com", "dns_blocked", "confirmed",
        "DNS answers forged on the path (3 responses); also: TLS cut off when the SNI names "
        "the site; other names pass",
        "2 differing responses to one A query to udp:198.18.0.53:53; forged: 198.18.200.2"),
    Row("https://coingecko.com/", "accessible", "confirmed", "Reachable (verified HTTPS)",
        "verified TLS and HTTP 200 from 198.18.1.11"),
    Row("kraken.test", "inconclusive", "none",
        "Unclear: connections to the site's real address time out; no control to compare",
        "TCP connect timeout on the site's genuine address(es) 198.18.1.29:443"),
]


def _render_rows(rows: list[Row], width: int, **kwargs: object) -> str:
    buf = io.StringIO()
    render_table(rows, Console(file=buf, width=width, highlight=False), **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _words(out: str) -> set[str]:
    return {w for line in out.splitlines() for w in line.replace("│", " ").split()}


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_no_word_is_split_at_any_width(width: int) -> None:
    out = _render_rows(LAB_ROWS, width)
    assert max(cell_len(line) for line in out.splitlines()) <= width
    printed = _words(out)
    for row in LAB_ROWS:
        for token in (row.site, row.verdict, *row.mechanism.split(), *row.evidence.split()):
            assert token in printed, (width, token)


def test_layout_follows_the_width() -> None:
    wide, compact, narrow = (_render_rows(LAB_ROWS, w) for w in (200, 80, 40))
    assert "Mechanism" in wide and "Evidence" in wide  # five columns
    assert "Details" in compact and "Mechanism" not in compact  # three columns at 80
    assert "│" not in narrow and "Site" not in narrow  # one block per site
    assert narrow.splitlines()[0].split() == ["tradingview.com", "tls_blocked", "(confirmed)"]
    blocks = narrow.split("\n5 sites")[0]
    assert all(line == line.rstrip() for line in blocks.splitlines())  # no padding to width


def test_three_default_sites_fit_80_columns_in_few_lines() -> None:
    rows = [LAB_ROWS[0], LAB_ROWS[2], LAB_ROWS[3]]
    out = _render_rows(rows, 80)
    assert len(out.splitlines()) <= 23  # as before, but now with no word split mid-way
    assert "tradingview.com " in out


def test_fit_columns_bounds() -> None:
    # Longest words 5 and 9: they fit in 5 + 9 + 7 border cells, not in one less.
    columns = [["h", "hello"], ["h", "abcdefghi x"]]  # header first
    assert fit_columns(columns, 21, [1, 1]) == [5, 9]
    assert fit_columns(columns, 20, [1, 1]) is None
    assert fit_columns(columns, 200, [1, 1]) == [5, 11]  # never wider than the content
    assert fit_columns(columns, 21, [1, 1], [0, 10]) is None  # a floor counts like a word
    assert fit_columns([["Heading", "x"]], 11, [1]) == [7]  # headers are never split
    assert fit_columns([["Heading", "x"]], 10, [1]) is None


def _many(n: int, blocked_every: int) -> list[Row]:
    return [Row(f"s{i}.test", "dns_blocked" if i % blocked_every == 0 else "accessible",
                "confirmed", "mech", "ev") for i in range(n)]


def test_long_run_lists_only_sites_not_accessible() -> None:
    rows = _many(LONG_RUN + 1, 10)
    out = _render_rows(rows, 120)
    assert "s0.test" in out and "s10.test" in out and "s1.test" not in out
    assert "--table full" in out
    assert out.strip().splitlines()[-1] == f"{LONG_RUN + 1} sites: 45 accessible, 6 dns_blocked"
    full = _render_rows(rows, 120, full=True)
    assert "s1.test" in full and "--table full" not in full


def test_run_at_the_threshold_lists_every_site() -> None:
    out = _render_rows(_many(LONG_RUN, 10), 120)
    assert "s1.test" in out and "--table full" not in out


def test_long_run_caps_the_listed_sites() -> None:
    rows = _many(1000, 1)  # every site blocked
    out = _render_rows(rows, 120)
    assert f"s{LONG_RUN_LISTED - 1}.test" in out and f"s{LONG_RUN_LISTED}.test" not in out
    assert f"{1000 - LONG_RUN_LISTED} more" in out
