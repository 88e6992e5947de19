"""Every table of the analysis tests, judged again with interned strings: observations loaded
from JSON and observations built in code must be judged alike (no rule may compare strings by
identity where it means equality)."""

from __future__ import annotations

import pytest

from reachcheck.analysis import judge
from reachcheck.model import Observations
from tests.analysis.builders import interned


def _all_cases() -> list[tuple[str, Observations]]:
    from tests.analysis.test_dns import CASES as DNS_CASES
    from tests.analysis.test_http import CASES as HTTP_CASES
    from tests.analysis.test_tcp_tls import TCP_CASES, TLS_CASES
    from tests.analysis.test_truth_and_traps import TRUTH_CASES
    from tests.analysis.test_twins_dns import RACES
    from tests.analysis.test_twins_verdict import SUMMARIES
    from tests.analysis.test_verdict import CASES as VERDICT_CASES

    out = [(c[0], c[1]) for c in
           [*VERDICT_CASES, *TRUTH_CASES, *DNS_CASES, *HTTP_CASES, *TCP_CASES, *TLS_CASES,
            *SUMMARIES, *RACES]]  # fmt: skip
    return out


@pytest.mark.parametrize(("case", "o"), _all_cases(), ids=[c[0] for c in _all_cases()])
def test_identity_of_strings_never_matters(case: str, o: Observations) -> None:
    """Observations loaded from JSON and observations built in code (interned strings) are
    judged alike: no rule compares strings by identity."""
    a, b = judge(o), judge(interned(o))
    assert (a.verdict, a.confidence, a.anomalies, a.reason, a.summary,
            a.reachable_with_trusted_dns) == (b.verdict, b.confidence, b.anomalies, b.reason,
                                              b.summary, b.reachable_with_trusted_dns)
