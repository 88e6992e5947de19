"""The golden corpus: real OONI measurements (and OONI's QA simulations), labelled from their
evidence before reachcheck judged them, judged by the current analysis.

A case we get wrong is xfail(strict=True) with the reason, never relabelled: when the analysis
learns the rule, the case starts passing and strict xfail makes the test suite say so. The
count of these cases is in the README. Labels and sources: tests/data/ooni/corpus.json; where
the measurement files live: tests/ingest/corpus.py.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from reachcheck.ingest.ooni.reader import read_items
from reachcheck.ingest.ooni.run import judge_mapped, map_item
from reachcheck.model import VERDICTS, SiteResult
from tests.ingest.corpus import CORPUS, MANIFEST, needs_corpus

CASES: list[dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"]
REQUIRED = ("id", "file", "origin", "source", "licence", "label", "reason")

_REDIRECT_TARGET = ("the failure happens on the redirect target's address; the control speaks "
                    "only about the measured name, so the analysis does not count it (needs "
                    "per-hop control data)")
# Cases the current analysis gets wrong, and why (none of these is a mapping gap we can close:
# the observations are there, the rule is not).
XFAIL: dict[str, str] = {
    "backend-report1": "the fixture's authors cut the body to '...': the recorded page "
        "differs from the TH's (3 vs 93,538 bytes) and the TH fetched once, so the page's own "
        "variance is unknown: inconclusive (design 5.1 dynamic pages)",
    "backend-report2": "the fixture's authors cut the body: the recorded page differs from the "
        "TH's (12 vs 11,954 bytes) and the TH fetched once: inconclusive",
    "qa-httpDiffWithConsistentDNS": "a notice page on the genuine address differs from the TH's "
        "page, but the TH fetched once (page variance unknown): inconclusive, not http_blocked",
    "qa-tlsBlockingConnectionResetWithInconsistentDNS": "the proxy address the DNS gives passes "
        "the TH's verified handshake (a TLS relay), so it counts as control-verified genuine "
        "(design 5.1) and the SNI reset is named instead of the DNS lie",
    "backend-wc-null2": "the site's certificate fails here and the TH's fetch fails too (no "
        "handshake recorded): no longer read as interception, but inconclusive, not site_down",
    "explorer-IE-efindlove.com": "parked page that differs from fetch to fetch: body_diff "
        "without repeated control fetches (design 5.1 dynamic and parked pages)",
    "qa-httpDiffWithInconsistentDNS": "DNS points to a proxy that injects a blockpage: the body "
        "diff is found, the DNS lie behind it is not named first",
    "qa-redirectWithBrokenLocationForHTTP": "the site's own broken Location header: no longer "
        "read as interference, but the TH's 200 leaves it inconclusive, not site_down",
    "qa-redirectWithBrokenLocationForHTTPS": "the site's own broken Location header: no longer "
        "read as interference, but the TH's 200 leaves it inconclusive, not site_down",
    "qa-redirectWithConsistentDNSAndThenConnectionRefusedForHTTP": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenConnectionResetForHTTP": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenConnectionResetForHTTPS": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenEOFForHTTP": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenEOFForHTTPS": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenNXDOMAIN": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenTimeoutForHTTP": _REDIRECT_TARGET,
    "qa-redirectWithConsistentDNSAndThenTimeoutForHTTPS": _REDIRECT_TARGET,
}


def judged(case: dict[str, Any]) -> SiteResult:
    assert CORPUS is not None
    items = list(read_items([str(CORPUS / case["file"])]))
    assert len(items) == 1, case["file"]
    return judge_mapped(map_item(items[0]))


def _param(case: dict[str, Any]) -> Any:
    reason = XFAIL.get(case["id"])
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case["id"], marks=marks)


@needs_corpus
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    result = judged(case)
    assert result.verdict == case["label"], (
        f"{case['id']}: labelled {case['label']} ({case['reason']}); "
        f"judged {result.verdict}: {result.reason}")


def test_manifest_is_complete_and_sourced() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert sum(c["origin"] == "real probe" for c in CASES) >= 25
    for case in CASES:
        assert all(case.get(k) for k in REQUIRED), case["id"]
        assert case["label"] in VERDICTS, case["id"]
        assert len(case["source"]["commit"]) == 40
    assert set(XFAIL) <= {c["id"] for c in CASES}, "an xfail names a case that is gone"


@needs_corpus
def test_every_file_has_one_manifest_entry() -> None:
    assert CORPUS is not None
    assert {p.name for p in CORPUS.iterdir()} == {c["file"] for c in CASES}


@needs_corpus
def test_confusion_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Judge the whole corpus and print labels (rows) x our verdicts (columns)."""
    cells: Counter[tuple[str, str]] = Counter()
    wrong = set()
    for case in CASES:
        verdict = judged(case).verdict
        cells[case["label"], verdict] += 1
        if verdict != case["label"]:
            wrong.add(case["id"])
    width = max(len(v) for v in VERDICTS)
    lines = ["label \\ ours".ljust(width) + " " + " ".join(v[:8].rjust(8) for v in VERDICTS)]
    for label in VERDICTS:
        lines.append(label.ljust(width) + " "
                     + " ".join(str(cells[label, v] or ".").rjust(8) for v in VERDICTS))
    right = len(CASES) - len(wrong)
    lines.append(f"{right}/{len(CASES)} right, {len(wrong)} wrong (xfail)")
    with capsys.disabled():
        print("\nOONI golden corpus\n" + "\n".join(lines))
    # The misses are exactly the documented ones: a new miss or a fixed one fails here too.
    assert wrong == set(XFAIL)
