"""Sites files keep counts, not every duplicate or bad line (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachcheck.targets import KEPT_EXAMPLES, SiteList

LINES = st.sampled_from(["a.test", "b.test", "https://a.test/", "not a host!", "http://:0/",
                         "# comment", "", "c.test"])


@settings(max_examples=100, deadline=None)
@given(st.lists(LINES, max_size=120))
def test_counts_are_exact_and_examples_bounded(tmp_path_factory: pytest.TempPathFactory,
                                               lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("sites") / "sites.txt"
    path.write_text("\n".join(lines) + "\n")
    sites = SiteList(path)
    targets = list(sites)
    bad = [i + 1 for i, line in enumerate(lines) if line in ("not a host!", "http://:0/")]
    good = [line for line in lines if line and line not in ("not a host!", "http://:0/",
                                                             "# comment")]
    unique = {("https://" + g.removeprefix("https://").rstrip("/") + "/") for g in good}
    assert sites.bad_count == len(bad)
    assert [b.lineno for b in sites.bad] == bad[:KEPT_EXAMPLES]
    assert len(targets) == len(unique)
    assert sites.duplicate_count == len(good) - len(unique)
    assert len(sites.duplicates) == min(KEPT_EXAMPLES, sites.duplicate_count)


def test_a_million_duplicates_keep_only_examples(tmp_path: Path) -> None:
    # The case, scaled to keep the suite fast (bench/sites_memory.py runs 10^6).
    path = tmp_path / "sites.txt"
    path.write_text("https://one.example/\n" * 50_000 + "bad host!\n" * 50_000)
    sites = SiteList(path)
    assert [t.url for t in sites] == ["https://one.example/"]
    assert (sites.duplicate_count, sites.bad_count) == (49_999, 50_000)
    assert len(sites.duplicates) == len(sites.bad) == KEPT_EXAMPLES
    assert sites.duplicates[0].lineno == 2 and sites.bad[0].lineno == 50_001


def test_cli_reports_the_full_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reachcheck.check_cli import MAX_BAD_LINES_SHOWN, _collect_targets

    path = tmp_path / "sites.txt"
    path.write_text("bad host!\n" * 100 + "a.test\n" * 3)
    targets, total = _collect_targets((), str(path), False, False)
    assert total == 1 and [t.domain for t in targets] == ["a.test"]
    err = capsys.readouterr().err
    assert err.count("reachcheck: skipped") == MAX_BAD_LINES_SHOWN
    assert f"and {100 - MAX_BAD_LINES_SHOWN} more bad lines" in err
    assert "dropped 2 duplicate lines" in err
