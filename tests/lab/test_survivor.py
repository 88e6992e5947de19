"""The answer that survives the injection race, in the lab (design §5.1; issue 16).

The China crypto-site case as the mission's users live it: the censor drops everything to the
DoH control (as the big DoH endpoints are blocked in China), both UDP resolvers abroad are
reachable but every answer to them is raced by a forged one, and the real address resets the
site's SNI. The late (real) answer, agreed by both resolvers, must be tried: the SNI reset is
reported and `reachable_with_trusted_dns` is false. Its clean twin (same world, no censor)
must stay accessible with no anomaly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.lab import netns
from tests.lab import scenarios as S
from tests.lab.conftest import Run, run_reachcheck
from tests.lab.scenarios import BY_NAME
from tests.lab.test_scenarios import SCHEMA

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def survivor_run(lab: netns.Lab) -> Iterator[Run]:
    lab.reset_residual()
    lab.set_control_blocked(True)
    try:
        yield run_reachcheck(
            lab, [BY_NAME["dns-and-sni"].target, BY_NAME["dns-and-sni~twin"].target],
            "--resolver", S.PUBLIC_RESOLVER2,
        )
    finally:
        lab.set_control_blocked(False)


def _explain(r: dict[str, Any]) -> str:
    kinds = sorted({a["kind"] for a in r["anomalies"]})
    return (f"{r['domain']}: verdict={r['verdict']} anomalies={kinds} "
            f"trusted_dns={r['reachable_with_trusted_dns']} reason={r['reason']!r}")


def test_double_block_is_seen_through_the_survivor(survivor_run: Run) -> None:
    s = BY_NAME["dns-and-sni"]
    r = survivor_run.by_domain[s.domain]
    assert all(not q["responses"] for q in r["dns"] if q["role"] == "control"), _explain(r)
    kinds = {a["kind"] for a in r["anomalies"]}
    assert r["verdict"] == "dns_blocked" and "dns.injection" in kinds, _explain(r)
    assert "tls.sni_filtering" in kinds, _explain(r)
    tried = [c for c in r["tcp"] if "survivor" in c["sources"]]
    assert [c["address"] for c in tried] == [s.address], _explain(r)
    assert r["reachable_with_trusted_dns"] is False, _explain(r)


def test_clean_twin_stays_accessible(survivor_run: Run) -> None:
    r = survivor_run.by_domain[BY_NAME["dns-and-sni~twin"].domain]
    assert r["verdict"] == "accessible" and r["anomalies"] == [], _explain(r)
    assert not any("survivor" in c["sources"] for c in r["tcp"]), _explain(r)


def test_json_matches_schema(survivor_run: Run) -> None:
    jsonschema.validate(survivor_run.doc, json.loads(SCHEMA.read_text()))
