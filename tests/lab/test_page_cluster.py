"""The same page for unrelated sites, in the lab's main run (design §5.1; issue 16).

The transparent proxy serves one notice page no fingerprint knows (UNKNOWN_BLOCKPAGE) for
three unrelated http:// sites. Results stream out as sites finish: whichever of the three
finishes after the other two is judged a blockpage confirmed by the cluster, naming them; the
first ones stay as judged (the documented choice). Their clean twins (genuine pages) never
join a cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.scenarios import BY_NAME

pytestmark = pytest.mark.lab
MEMBERS = ("unknown-blockpage", "unknown-blockpage-403", "unknown-blockpage-http11")


def test_the_shared_notice_page_is_confirmed_by_the_cluster(
    scenario_results: dict[str, dict[str, Any]],
) -> None:
    results = [scenario_results[n] for n in MEMBERS]
    domains = {BY_NAME[n].domain for n in MEMBERS}
    blocked = [r for r in results if r["verdict"] == "http_blocked"]
    assert blocked, [(r["domain"], r["verdict"], r["reason"]) for r in results]
    for r in blocked:
        hit = [a for a in r["anomalies"] if a["kind"] == "http.blockpage"]
        assert hit and "confirmed by the cluster" in hit[0]["detail"], r["reason"]
        named = {d for c in r["page_clusters"] for d in c["domains"]}
        assert len(named & (domains - {r["domain"]})) >= 2, r["page_clusters"]


def test_clean_twins_join_no_cluster(scenario_results: dict[str, dict[str, Any]]) -> None:
    for n in MEMBERS:
        r = scenario_results[n + "~twin"]
        assert r["verdict"] == "accessible" and r["page_clusters"] == [], r["reason"]
