"""One case per DNS rule, each with the false-positive twin that must stay silent."""

from __future__ import annotations

import pytest

from reachcheck.analysis import anomalies
from reachcheck.model import Observations
from tests.analysis.builders import (
    CDN_OTHER,
    FORGED,
    FORGED2,
    REAL,
    REAL2,
    REAL6,
    clean_https,
    control,
    fetch,
    gfw_dns,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip


def kinds(o: Observations) -> list[str]:
    return [a.kind for a in anomalies(o) if a.stage == "dns"]


CASES = [
    # injection: GFW-style forged answers race ahead of the real one
    ("gfw-race", obs(gfw_dns(), control(REAL)), ["dns.injection"]),
    ("gfw-race-no-control", obs(gfw_dns()), ["dns.injection"]),
    ("injected-nxdomain-then-real", obs(query("system", resp(rcode="NXDOMAIN", ms=1), resp(REAL)),
                                       control(REAL)), ["dns.injection"]),
    ("injection-probe", obs(system(REAL), control(REAL), query("injection", resp(FORGED))),
     ["dns.injection"]),
    ("injection-probe-silent", obs(system(REAL), control(REAL), query("injection")), []),
    ("transparent-proxy-truthful",
     obs(system(REAL), control(REAL), query("injection", resp(REAL))), []),
    ("duplicate-identical", obs(query("system", resp(REAL), resp(REAL, ms=9)), control(REAL)), []),
    ("several-answers-one-response", obs(system(REAL, REAL2), control(REAL2, REAL)), []),
    ("cdn-rotation-both-genuine",
     obs(query("system", resp(REAL), resp(REAL2)), control(REAL, REAL2)), []),
    # resolver failures where the control resolves
    ("nxdomain", obs(system(rcode="NXDOMAIN"), control(REAL)), ["dns.nxdomain"]),
    ("nxdomain-everywhere", obs(system(rcode="NXDOMAIN"), control(rcode="NXDOMAIN")), []),
    ("no-answer", obs(system(), control(REAL)), ["dns.no_answer"]),
    ("aaaa-no-answer-ignored", obs(system(REAL), system(qtype="AAAA"), control(REAL),
                                   control(REAL6, qtype="AAAA")), []),
    ("servfail", obs(system(rcode="SERVFAIL"), control(REAL)), ["dns.servfail"]),
    ("refused", obs(system(rcode="REFUSED"), control(REAL)), ["dns.refused"]),
    ("timeout", obs(query("system"), control(REAL)), ["dns.timeout"]),
    ("garbage-only", obs(query("system", resp(rcode="MALFORMED"), error="dns_malformed"),
                         control(REAL)), ["dns.malformed"]),
    ("timeout-control-down", obs(query("system"), query("control")), []),
    # bogons
    ("bogon", obs(system("10.10.34.35"), control(REAL)), ["dns.bogon", "dns.known_censor_ip"]),
    ("teredo-no-control", obs(system("2001::1:2", qtype="AAAA")), ["dns.bogon"]),
    ("site-own-localhost", obs(system("127.0.0.1"), control("127.0.0.1")), []),
    ("private-name", obs(system("10.1.1.1"), control(rcode="NXDOMAIN", qtype="A"),
                         target="printer.local"), []),
    ("lab-bogon-validated", obs(system("10.1.1.1"), *clean_https("10.1.1.1")), []),
    # known censor answers
    ("censor-cname", obs(query("system", resp(FORGED, cnames=("internet-positif.org",))),
                         control(REAL)), ["dns.known_censor_ip", "dns.inconsistent"]),
    # inconsistency
    ("disjoint-unvalidated", obs(system(FORGED), control(REAL), tcp(FORGED),
                                 fetch(FORGED, ok=False, error="cert_hostname", tls_ok=False)),
     ["dns.inconsistent"]),
    ("cdn-disjoint-but-validated",
     obs(system(CDN_OTHER), control(REAL), *clean_https(CDN_OTHER)), []),
    # Ghost DNS: a resolver abroad answers too (not the ISP resolver's own rewriting).
    ("ghost", obs(system(FORGED), query("probe", resp(FORGED)), control(rcode="NXDOMAIN")),
     ["dns.inconsistent", "dns.inconsistent"]),
    # The system resolver alone rewrites a dead name (design 5.1): not ghost DNS.
    ("nxdomain-rewrite", obs(system(FORGED), query("probe", resp(rcode="NXDOMAIN")),
                             control(rcode="NXDOMAIN")), []),
    ("ip-literal-no-dns", obs(tcp(REAL), target=REAL), []),
]


@pytest.mark.parametrize(("case", "o", "expected"), CASES, ids=[c[0] for c in CASES])
def test_dns_rules(case: str, o: Observations, expected: list[str]) -> None:
    assert sorted(kinds(o)) == sorted(expected)


def test_injection_names_forged_not_real() -> None:
    (a,) = [a for a in anomalies(obs(gfw_dns(), control(REAL))) if a.kind == "dns.injection"]
    assert set(a.addresses) == {FORGED, FORGED2} and a.confirmed
    assert a.resolvers == ("udp:10.0.0.53:53",)


def test_bogon_is_confirmed_only_against_a_control() -> None:
    with_control = anomalies(obs(system("10.10.34.35"), control(REAL)))
    without = anomalies(obs(system("10.10.34.35")))
    assert [a.confirmed for a in with_control if a.kind == "dns.bogon"] == [True]
    assert [a.confirmed for a in without if a.kind == "dns.bogon"] == [False]
