"""`reachcheck.diff`: each category on both sides of its rule, and the exit status."""

from __future__ import annotations

import dataclasses

from reachcheck.diff import EXIT_CHANGED, EXIT_NEWLY_BLOCKED, EXIT_UNCHANGED, diff_runs
from reachcheck.model import Anomaly, SiteResult
from tests.output.samples import make_result


def r(given: str, verdict: str, *kinds: str) -> SiteResult:
    anomalies = tuple(Anomaly(stage=k.split(".")[0], kind=k, detail=k)  # type: ignore[arg-type]
                      for k in kinds)
    return dataclasses.replace(make_result(given, verdict, full=False), anomalies=anomalies,
                               summary=f"{verdict} because {','.join(kinds) or 'nothing'}")


def categories(old: list[SiteResult], new: list[SiteResult]) -> dict[str, str]:
    return {c.target: c.category for c in diff_runs(old, new).changes}


def test_nothing_changed() -> None:
    runs = [r("a.test", "accessible"), r("b.test", "dns_blocked", "dns.injection")]
    result = diff_runs(runs, runs)
    assert result.changes == () and result.unchanged == 2 and result.compared == 2
    assert result.exit_status == EXIT_UNCHANGED


def test_newly_blocked_from_any_unblocked_verdict() -> None:
    old = [r("a.test", "accessible"), r("b.test", "inconclusive"), r("c.test", "site_down")]
    new = [r("a.test", "dns_blocked", "dns.injection"), r("b.test", "tcp_blocked", "tcp.timeout"),
           r("c.test", "http_blocked", "http.blockpage")]
    result = diff_runs(old, new)
    assert {c.category for c in result.changes} == {"newly_blocked"}
    assert result.changes[0].new_kinds == ("dns.injection",)
    assert result.exit_status == EXIT_NEWLY_BLOCKED


def test_unblocked_keeps_the_new_verdict() -> None:
    result = diff_runs([r("a.test", "dns_blocked", "dns.injection"),
                        r("b.test", "tls_blocked", "tls.sni_filtering")],
                       [r("a.test", "accessible"), r("b.test", "inconclusive")])
    assert [(c.category, c.new_verdict) for c in result.changes] == [
        ("unblocked", "accessible"), ("unblocked", "inconclusive")]
    assert result.changes[0].gone_kinds == ("dns.injection",)
    assert result.exit_status == EXIT_CHANGED


def test_mechanism_changed_versus_new_evidence() -> None:
    old = [r("a.test", "dns_blocked", "dns.injection"),
           r("b.test", "dns_blocked", "dns.injection"),
           r("c.test", "dns_blocked", "dns.injection", "tls.sni_filtering")]
    new = [r("a.test", "tls_blocked", "tls.sni_filtering"),
           r("b.test", "dns_blocked", "dns.injection", "tls.sni_filtering"),
           r("c.test", "dns_blocked", "dns.injection")]  # evidence gone, same verdict
    assert categories(old, new) == {"a.test": "mechanism_changed", "b.test": "new_evidence"}
    result = diff_runs(old, new)
    assert result.unchanged == 1 and result.exit_status == EXIT_CHANGED


def test_other_verdict_changes_added_and_removed_sites() -> None:
    old = [r("a.test", "accessible"), r("gone.test", "accessible")]
    new = [r("a.test", "site_down"), r("new-ok.test", "accessible"),
           r("new-bad.test", "dns_blocked", "dns.bogon")]
    assert categories(old, new) == {"a.test": "verdict_changed", "gone.test": "removed",
                                    "new-bad.test": "newly_blocked"}
    result = diff_runs(old, new)
    assert result.added_unblocked == 1 and result.compared == 1
    assert result.exit_status == EXIT_NEWLY_BLOCKED  # a new site that is blocked counts


def test_sites_match_by_url_and_the_last_result_wins() -> None:
    old = [r("a.test", "accessible")]
    new = [r("https://a.test/", "dns_blocked", "dns.injection"),
           r("a.test", "accessible")]  # measured twice in the new run: the later one counts
    assert diff_runs(old, new).changes == ()


def test_categories_are_ordered_and_json_counts_all() -> None:
    old = [r("x.test", "dns_blocked", "dns.injection"), r("y.test", "accessible")]
    new = [r("x.test", "accessible"), r("y.test", "dns_blocked", "dns.injection")]
    result = diff_runs(old, new)
    assert [c.category for c in result.changes] == ["newly_blocked", "unblocked"]
    doc = result.to_json()
    assert doc["counts"] == {"newly_blocked": 1, "unblocked": 1, "mechanism_changed": 0,
                             "new_evidence": 0, "verdict_changed": 0, "removed": 0}
    assert doc["changes"][0]["target"] == "y.test"
