"""The mapper, field by field: on measurements written for the tests (tests/ingest/fixtures.py)
and, where the corpus files are present, on real ones (tests/ingest/corpus.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from reachcheck.analysis import judge
from reachcheck.ingest.ooni import Malformed, OtherTest, map_measurement
from reachcheck.ingest.ooni.agreement import ooni_verdict
from tests.ingest import fixtures
from tests.ingest.corpus import CORPUS, needs_corpus


def load(name: str) -> dict[str, Any]:
    assert CORPUS is not None
    doc: dict[str, Any] = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return doc


def test_late_answer_to_one_query_is_injection_evidence() -> None:
    doc = fixtures.with_late_answer(fixtures.accessible(), forged="31.13.94.37")
    obs = map_measurement(doc).observations
    (query,) = [q for q in obs.dns if q.resolver == "udp:100.64.0.53:53" and q.qtype == "A"]
    assert query.role == "probe" and len(query.responses) == 2
    assert query.responses[1].addresses == ("31.13.94.37",)
    assert query.responses[1].arrived_ms > query.responses[0].arrived_ms
    assert "dns.injection" in {a.kind for a in judge(obs).anomalies}


def test_fixture_control_tcp_tls_and_fetch() -> None:
    obs = map_measurement(fixtures.accessible()).observations
    control = obs.control
    assert control is not None and control.ok and control.server == "ooni-th:https://th.example"
    assert [q.qtype for q in control.dns] == ["A"]  # no IPv6 listed: no AAAA query made up
    assert control.tls[0].ok and control.http is not None and control.http.status == 200
    (system,) = [q for q in obs.dns if q.role == "system"]
    assert system.resolver == "getaddrinfo@100.64.0.53"
    assert obs.tcp[0].sources == ("system", "control")
    fetch = obs.http[0]
    assert fetch.ok and fetch.title == "Example Domain" and fetch.address == fixtures.SITE_ADDR
    assert fetch.tls is not None and fetch.tls.ok
    assert all(t.kind == "target" for t in obs.tls)  # OONI never makes a benign handshake
    assert judge(obs).verdict == "accessible"


def test_fixture_fetch_address_deduced_only_from_a_single_system_address() -> None:
    one = map_measurement(fixtures.dns_blocked()).observations.http[0]
    assert one.address == "10.10.34.36" and one.error == "timeout"
    two = map_measurement(fixtures.v04(answers=(fixtures.SITE_ADDR, "93.184.215.15"))
                          ).observations.http[0]
    assert two.address == ""  # which of the two the GET used is not recorded


@needs_corpus
def test_getaddrinfo_any_splits_into_a_and_aaaa() -> None:
    obs = map_measurement(load("probecli-manual-youtube.json")).observations
    system = {q.qtype: q for q in obs.dns if q.role == "system"}
    assert set(system) == {"A", "AAAA"}
    assert all(":" not in a for a in system["A"].responses[0].addresses)
    assert all(":" in a for a in system["AAAA"].responses[0].addresses)
    assert {q.transport for q in obs.dns if q.role == "control"} == {"doh"}
    # A resolver address as recorded in the measurement, only compared:
    assert any(q.resolver == "udp:8.8.4.4:53" and q.role == "probe" for q in obs.dns)  # no-network


@needs_corpus
def test_v04_system_a_and_aaaa_entries_stay_one_response_each() -> None:
    obs = map_measurement(load("explorer-US-theguardian.com.json")).observations
    for q in obs.dns:
        assert len(q.responses) == 1, q  # two entries must not read as two racing answers


@needs_corpus
def test_late_duplicate_responses_become_injection_evidence() -> None:
    doc = load("probecli-manual-youtube.json")
    udp_a = next(q for q in doc["test_keys"]["queries"]
                 if q["engine"] == "udp" and q["query_type"] == "A")
    forged = copy.deepcopy(udp_a)
    forged["answers"] = [{"answer_type": "A", "ipv4": "31.13.94.37", "ttl": None}]
    forged["t"] = udp_a["t"] + 0.05
    doc["test_keys"]["x_dns_duplicate_responses"] = [forged]
    obs = map_measurement(doc).observations
    recorded = "udp:8.8.4.4:53"  # no-network: the measurement's resolver, only compared
    (query,) = [q for q in obs.dns if q.resolver == recorded and q.qtype == "A"]
    assert len(query.responses) == 2
    assert query.responses[1].addresses == ("31.13.94.37",)
    assert query.responses[1].arrived_ms > query.responses[0].arrived_ms
    assert "dns.injection" in {a.kind for a in judge(obs).anomalies}


@needs_corpus
def test_control_maps_the_test_helper_answer() -> None:
    obs = map_measurement(load("qa-tcpBlockingConnectTimeout.json")).observations
    control = obs.control
    assert control is not None and control.ok and control.server.startswith("ooni-th")
    assert control.dns and control.dns[0].role == "control"
    assert control.tcp and all(c.sources == ("control",) for c in control.tcp)
    assert control.http is not None and control.http.status == 200


@needs_corpus
def test_control_cname_only_answer_keeps_the_cname() -> None:
    control = map_measurement(load("backend-requests_none.json")).observations.control
    assert control is not None
    (query,) = control.dns
    assert query.responses[0].addresses == () and query.responses[0].cnames == ("wikispaces.com",)


@needs_corpus
def test_failed_control_is_not_ok() -> None:
    control = map_measurement(load("backend-wc-null.json")).observations.control
    assert control is not None and not control.ok and control.error == "refused"


@needs_corpus
def test_v04_fetch_address_deduced_only_from_a_single_system_address() -> None:
    single = map_measurement(load("backend-wc-ir_fp.json")).observations.http[0]
    assert single.address == "10.10.34.36" and single.error == "timeout"
    double = map_measurement(load("explorer-US-theguardian.com.json")).observations.http[0]
    assert double.address == ""  # four system addresses: which one the GET used is unknown


@needs_corpus
def test_redirect_chain_body_and_title() -> None:
    fetch = map_measurement(load("backend-ID-archive.json")).observations.http[0]
    assert [h.status for h in fetch.redirects] == [302]
    assert fetch.redirects[0].location == "http://lamanlabuh.aduankonten.id/"
    assert fetch.status == 200 and fetch.title == "Trustpositif"
    assert fetch.body_length and fetch.body_sha256 and fetch.body_head


@needs_corpus
def test_https_fetch_carries_its_handshake_and_certificate() -> None:
    obs = map_measurement(load("probecli-manual-youtube.json")).observations
    fetch = obs.http[0]
    assert fetch.tls is not None and fetch.tls.ok and fetch.tls.address == fetch.address
    assert fetch.tls.cert is not None and "google" in fetch.tls.cert.subject.lower()
    assert all(t.kind == "target" for t in obs.tls)  # OONI never made a benign handshake


@needs_corpus
def test_experiment_failure_without_requests_is_a_failed_fetch() -> None:
    fetch = map_measurement(load("backend-bug_351.json")).observations.http[0]
    assert not fetch.ok and fetch.error == "error"


@needs_corpus
def test_next_hop_failure_after_a_redirect() -> None:
    fetch = map_measurement(load("qa-redirectWithConsistentDNSAndThenNXDOMAIN.json")
                            ).observations.http[0]
    assert not fetch.ok and fetch.error == "dns" and fetch.redirects


@needs_corpus
def test_source_record() -> None:
    source = map_measurement(load("explorer-RU-rutor.org.json")).source
    assert source["kind"] == "ooni" and source["probe_cc"] == "RU"
    assert source["probe_asn"] == "AS42668"
    assert source["ooni_blocking"] == "http-diff" and source["ooni_accessible"] is False
    assert ooni_verdict(source["ooni_blocking"], source["ooni_accessible"]) == "http-diff"
    assert ooni_verdict(False, True) == "ok" and ooni_verdict(False, False) == "down"
    assert ooni_verdict(None, None) == "undetermined"


@pytest.mark.parametrize("bad", [[], "text", {"test_name": "web_connectivity", "input": "x"},
                                 {"test_name": "web_connectivity", "test_keys": {}},
                                 {"raw_measurement": "{broken"}, {"results": []}])
def test_malformed(bad: Any) -> None:
    with pytest.raises(Malformed):
        map_measurement(bad)


def test_other_test() -> None:
    with pytest.raises(OtherTest):
        map_measurement({"test_name": "tor", "test_keys": {}})
