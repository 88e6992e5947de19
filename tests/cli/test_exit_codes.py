"""exit_code(summary) is a pure function of the run's summary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reachcheck.cli import exit_code
from reachcheck.model import BLOCKED_VERDICTS, VERDICTS
from reachcheck.runner import RunSummary


@pytest.mark.parametrize(
    ("counts", "interrupted", "code"),
    [
        ({}, False, 0),
        ({"accessible": 3}, False, 0),
        ({"accessible": 1, "site_down": 2}, False, 0),
        ({"accessible": 1, "inconclusive": 1}, False, 3),
        ({"inconclusive": 1, "dns_blocked": 1}, False, 1),
        ({"tls_blocked": 1}, False, 1),
        ({"http_blocked": 0, "accessible": 1}, False, 0),
        ({"tcp_blocked": 1}, True, 130),
        ({}, True, 130),
    ],
)
def test_exit_code_table(counts: dict[str, int], interrupted: bool, code: int) -> None:
    assert exit_code(RunSummary.from_counts(counts, interrupted=interrupted)) == code


@given(st.dictionaries(st.sampled_from(VERDICTS), st.integers(0, 5)), st.booleans(),
       st.booleans())
def test_exit_code_properties(counts: dict[str, int], interrupted: bool, down: bool) -> None:
    code = exit_code(RunSummary(counts, sum(counts.values()), interrupted, down))
    blocked = any(counts.get(v) for v in BLOCKED_VERDICTS)
    if interrupted:
        assert code == 130
    elif blocked:
        assert code == 1
    elif counts.get("inconclusive"):
        assert code == 3
    else:
        assert code == 0


def test_a_summary_from_counts_alone_lists_every_verdict() -> None:
    summary = RunSummary.from_counts({"dns_blocked": 2, "accessible": 1})
    assert summary.counts == {**{v: 0 for v in VERDICTS}, "dns_blocked": 2, "accessible": 1}
    assert (summary.total, summary.interrupted, summary.network_down) == (3, False, False)
    assert RunSummary.from_counts({}, interrupted=True).interrupted
