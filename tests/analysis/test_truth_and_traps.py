"""Control-free truth (a TLS-validated address), --public-range, residual penalties, a failed
control server, and plain summaries: each rule with the false-positive twin that must stay clean."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import anomalies, judge
from reachcheck.analysis.bogons import is_bogon
from reachcheck.model import BLOCKED_VERDICTS, Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    REAL,
    REAL6,
    cert,
    clean_https,
    control,
    ctrl_server,
    fetch,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.test_verdict import CASES

PROBE_REAL = query("probe", resp(REAL))
DOH_DOWN = query("control", error="timeout")

# id, observations, verdict, confidence, the exact set of anomaly kinds
TRUTH_CASES = [
    # The lab's missed block: no control, the system resolver says NXDOMAIN, the --resolver
    # answer verifies over TLS.
    ("nxdomain-vs-validated-doh-none", obs(system(rcode="NXDOMAIN"), PROBE_REAL, *clean_https()),
     "dns_blocked", "confirmed", {"dns.nxdomain"}),
    ("nxdomain-vs-validated-doh-down", obs(system(rcode="NXDOMAIN"), PROBE_REAL, DOH_DOWN,
                                           *clean_https()),
     "dns_blocked", "confirmed", {"dns.nxdomain"}),
    ("no-answer-vs-validated", obs(system(), PROBE_REAL, *clean_https()),
     "dns_blocked", "confirmed", {"dns.no_answer"}),
    ("bogon-vs-validated",
     obs(system("192.168.7.7"), PROBE_REAL, tcp("192.168.7.7", error="timeout"), *clean_https()),
     "dns_blocked", "confirmed", {"dns.bogon"}),
    ("forged-address-fails-vs-validated",
     obs(system(FORGED), PROBE_REAL, tcp(FORGED), hs(FORGED, error="cert_hostname"),
         *clean_https()),
     "dns_blocked", "confirmed", {"dns.inconsistent"}),
    # Clean twins.
    ("agree-and-validate", obs(system(REAL), PROBE_REAL, *clean_https()),
     "accessible", "confirmed", set()),
    ("cdn-answers-differ-both-validate",
     obs(system(CDN_OTHER), PROBE_REAL, *clean_https(CDN_OTHER), *clean_https(REAL)),
     "accessible", "confirmed", set()),
    ("nxdomain-but-nothing-validated",
     obs(system(rcode="NXDOMAIN"), PROBE_REAL, tcp(REAL, error="timeout")),
     "inconclusive", "none", set()),
    ("aaaa-only-nxdomain", obs(system(REAL), system(rcode="NXDOMAIN", qtype="AAAA"), PROBE_REAL,
                               *clean_https()),
     "accessible", "confirmed", set()),
    ("aaaa-only-nxdomain-with-control",
     obs(system(REAL), system(rcode="NXDOMAIN", qtype="AAAA"),
         control(REAL), control(REAL6, qtype="AAAA"), *clean_https()),
     "accessible", "confirmed", set()),
    ("v6-only-site-empty-a", obs(system(), system(REAL6, qtype="AAAA"),
                                 query("probe", resp(REAL6), qtype="AAAA"), *clean_https(REAL6)),
     "accessible", "confirmed", set()),
    ("different-address-never-tried", obs(system(CDN_OTHER), PROBE_REAL, *clean_https()),
     "accessible", "confirmed", {"dns.inconsistent"}),
]


@pytest.mark.parametrize(("case", "o", "verdict", "confidence", "kinds"), TRUTH_CASES,
                         ids=[c[0] for c in TRUTH_CASES])  # fmt: skip
def test_tls_validated_truth_without_control(case: str, o: Observations, verdict: str,
                                             confidence: str, kinds: set[str]) -> None:
    result = judge(o)
    found = {a.kind for a in result.anomalies}
    assert (result.verdict, result.confidence) == (verdict, confidence), result.reason
    assert found == kinds, found


def test_resolver_down_entirely_is_not_evidence() -> None:
    o = obs(query("system"), query("system", qtype="AAAA"), PROBE_REAL, *clean_https())
    result = judge(o)
    assert result.verdict not in BLOCKED_VERDICTS, result.reason


def test_nxdomain_detail_names_the_validated_address() -> None:
    (a,) = [a for a in anomalies(obs(system(rcode="NXDOMAIN"), PROBE_REAL, *clean_https()))
            if a.kind == "dns.nxdomain"]
    assert REAL in a.detail and "control" not in a.detail
    result = judge(obs(system(rcode="NXDOMAIN"), PROBE_REAL, *clean_https()))
    assert "trusted DNS" not in result.summary  # there was none


def test_control_nxdomain_beats_a_certificate() -> None:
    # The control says the name does not exist: a verified wildcard certificate elsewhere does
    # not make the system resolver's NXDOMAIN a lie.
    o = obs(system(rcode="NXDOMAIN"), control(rcode="NXDOMAIN"), PROBE_REAL, *clean_https())
    assert "dns.nxdomain" not in {a.kind for a in anomalies(o)}


# ------------------------------------------------------------------------ --public-range

LAB = "198.18.0.7"


def test_benchmark_range_is_bogon_unless_declared_public() -> None:
    assert is_bogon(LAB)
    assert not is_bogon(LAB, ("198.18.0.0/15",))
    assert not is_bogon(f"::ffff:{LAB}", ("198.18.0.0/15",))
    assert is_bogon("10.1.2.3", ("198.18.0.0/15",))  # only the ranges named
    assert not is_bogon("10.1.2.3", ("10.0.0.0/8", "198.18.0.0/15"))
    assert not is_bogon("fd00::5", ("fd00::/8",))


def test_public_range_reaches_the_judgement() -> None:
    o = obs(system(LAB))  # a DNS-only lab run with no control
    assert judge(o).verdict == "dns_blocked"
    lab = judge(o, public_ranges=("198.18.0.0/15",))
    assert lab.verdict not in BLOCKED_VERDICTS
    assert not any(a.kind == "dns.bogon" for a in lab.anomalies)


def test_bad_public_range_raises() -> None:
    with pytest.raises(ValueError):
        judge(obs(system(REAL)), public_ranges=("not-a-cidr",))


# ------------------------------------------------------------------- residual penalties


def _residual_fetch(addr: str):  # type: ignore[no-untyped-def]
    f = fetch(addr, ok=False, error="reset")
    return dataclasses.replace(f, tls=dataclasses.replace(f.tls, possibly_residual=True))


RESIDUAL_CASES = [
    ("handshake-doh-control", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                                  hs(REAL, error="reset", residual=True))),
    ("handshake-timeout", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                              hs(REAL, error="timeout", residual=True))),
    ("handshake-no-control", obs(system(REAL), tcp(REAL), hs(REAL, kind="benign"),
                                 hs(REAL, error="reset", residual=True))),
    ("fetch-handshake", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                            _residual_fetch(REAL))),
    ("control-server-verified-elsewhere",
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
         hs(REAL, error="reset", residual=True),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL),)))),
    # A CDN neighbour's penalty on the system resolver's address must not make its (differing
    # but genuine) answer look forged.
    ("cdn-neighbour-address", obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER),
                                  hs(CDN_OTHER, kind="benign"),
                                  hs(CDN_OTHER, error="reset", residual=True),
                                  *clean_https())),
]


@pytest.mark.parametrize(("case", "o"), RESIDUAL_CASES, ids=[c[0] for c in RESIDUAL_CASES])
def test_possibly_residual_failure_is_never_the_only_evidence(case: str, o: Observations) -> None:
    result = judge(o)
    assert result.verdict not in BLOCKED_VERDICTS, result.reason
    assert not any(a.stage in ("tcp", "tls") for a in result.anomalies)


# ------------------------------------------------------------ a control server that failed


def _failed(ctrl):  # type: ignore[no-untyped-def]
    return dataclasses.replace(ctrl, ok=False, error="timeout")


FAILED_CONTROL = [
    ("tcp-control-saw-it-work", obs(system(REAL), DOH_DOWN, tcp(REAL, error="timeout"),
                                    control_server=_failed(ctrl_server(dns=(control(REAL),),
                                                                       tcp_=(tcp(REAL),))))),
    ("tls-control-saw-it-verify", obs(system(REAL), DOH_DOWN, tcp(REAL), hs(REAL, error="reset"),
                                      control_server=_failed(ctrl_server(dns=(control(REAL),),
                                                                         tls_=(hs(REAL),))))),
    ("http-status-differs", obs(system(REAL), DOH_DOWN, tcp(REAL, port=80),
                                fetch(REAL, url=f"http://{DOMAIN}/", status=403, title="Forbidden"),
                                control_server=_failed(ctrl_server(http=fetch(REAL, url=f"http://{DOMAIN}/"))),
                                target=f"http://{DOMAIN}/")),
    ("dns-control-resolves", obs(system(rcode="NXDOMAIN"), DOH_DOWN,
                                 control_server=_failed(ctrl_server(dns=(control(REAL),))))),
]


@pytest.mark.parametrize(("case", "o"), FAILED_CONTROL, ids=[c[0] for c in FAILED_CONTROL])
def test_failed_control_server_never_gives_blocked(case: str, o: Observations) -> None:
    result = judge(o)
    assert result.verdict not in BLOCKED_VERDICTS, result.reason


@pytest.mark.parametrize("case", [c for c in CASES if c[1].control is not None],
                         ids=[c[0] for c in CASES if c[1].control is not None])
def test_failed_control_server_counts_as_no_control_server(case) -> None:  # type: ignore[no-untyped-def]
    o = case[1]
    failed = judge(dataclasses.replace(o, control=_failed(o.control)))
    absent = judge(dataclasses.replace(o, control=None))
    assert (failed.verdict, failed.confidence, failed.anomalies) == (
        absent.verdict, absent.confidence, absent.anomalies)


# ------------------------------------------------------------------------------ summaries


@pytest.mark.parametrize("case", CASES + TRUTH_CASES, ids=[c[0] for c in CASES + TRUTH_CASES])
def test_summary_is_short_and_does_not_repeat_the_evidence(case) -> None:  # type: ignore[no-untyped-def]
    result = judge(case[1])
    assert result.summary and len(result.summary) <= 160, result.summary
    for a in result.anomalies:
        assert a.detail not in result.summary
    if result.anomalies or result.verdict == "inconclusive":
        assert result.summary != result.reason


def test_certificate_the_control_server_saw_too_is_not_interception() -> None:
    # A chain missing its intermediate fails verification everywhere with the same leaf: the
    # site's misconfiguration, not a man in the middle.
    leaf = cert(issuer="CN=R3,O=Let's Encrypt", sha="77")
    seen_outside = hs(REAL, error="cert_unknown_ca", crt=leaf)
    base = (system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="01")),
            hs(REAL, error="cert_unknown_ca", crt=leaf))
    assert judge(obs(*base)).verdict == "tls_blocked"  # without the control server: likely MITM
    result = judge(obs(*base, control_server=ctrl_server(tls_=(seen_outside,))))
    assert result.verdict not in BLOCKED_VERDICTS, result.reason
    assert not any(a.kind == "tls.cert_invalid" for a in result.anomalies)
