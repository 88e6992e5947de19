"""An HTTPS site whose DNS points at a blockpage server (design §5.1; issue 16), in the lab.

The hard variant: no control (the censor drops the DoH resolver) and the censor hijacks the
queries to the resolvers abroad to its own resolver (as Indonesian and Iranian ISPs do with
port 53), so every resolver gives the blockpage server's address. That server answers HTTPS
with one certificate of its own for every name: from here alone it looks like a broken server
(`inconclusive`) until its cleartext page is fetched with Host = the site, which matches the
national blockpage fingerprint. The clean twin (its name answered truthfully by the same
hijacked resolver) must stay accessible with no anomaly.
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


def _hijack(on: bool) -> None:
    op = "-I" if on else "-D"
    for resolver in (S.PUBLIC_RESOLVER, S.PUBLIC_RESOLVER2):
        netns.in_ns(netns.CENSOR, "iptables", "-t", "nat", op, "PREROUTING", "-i",
                    netns.CENSOR_CIF, "-p", "udp", "-d", resolver, "--dport", "53", "-j",
                    "DNAT", "--to-destination", f"{S.ISP_RESOLVER}:53")


@pytest.fixture(scope="module")
def hijacked_run(lab: netns.Lab) -> Iterator[Run]:
    lab.reset_residual()
    lab.set_control_blocked(True)
    _hijack(True)
    try:
        yield run_reachcheck(lab, [BY_NAME["dns-blockpage-server"].target,
                                   BY_NAME["dns-blockpage-server~twin"].target])
    finally:
        _hijack(False)
        lab.set_control_blocked(False)


def _explain(r: dict[str, Any]) -> str:
    kinds = sorted({a["kind"] for a in r["anomalies"]})
    return f"{r['domain']}: verdict={r['verdict']} anomalies={kinds} reason={r['reason']!r}"


def test_blockpage_server_is_found_through_its_cleartext_page(hijacked_run: Run) -> None:
    r = hijacked_run.by_domain[BY_NAME["dns-blockpage-server"].domain]
    answers = {a for q in r["dns"] if q["role"] != "control" for x in q["responses"]
               for a in x["addresses"]}
    assert answers == {S.BLOCKPAGE_SERVER}, f"every resolver must lie here: {answers}"
    assert [f["address"] for f in r["cleartext_fetches"]] == [S.BLOCKPAGE_SERVER], _explain(r)
    assert r["verdict"] == "http_blocked" and r["confidence"] == "confirmed", _explain(r)
    hit = [a for a in r["anomalies"] if a["kind"] == "http.blockpage"]
    assert hit and "nat_mm_transportcomms_block" in hit[0]["detail"], _explain(r)


def test_clean_twin_stays_accessible(hijacked_run: Run) -> None:
    r = hijacked_run.by_domain[BY_NAME["dns-blockpage-server~twin"].domain]
    assert r["verdict"] == "accessible" and r["anomalies"] == [], _explain(r)
    assert r["cleartext_fetches"] == [], _explain(r)


def test_json_matches_schema(hijacked_run: Run) -> None:
    jsonschema.validate(hijacked_run.doc, json.loads(SCHEMA.read_text()))
