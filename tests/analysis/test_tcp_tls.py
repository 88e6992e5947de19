"""TCP and TLS rules: failures count only on genuine addresses, residual ones never."""

from __future__ import annotations

import pytest

from reachcheck.analysis import anomalies
from reachcheck.model import Observations
from tests.analysis.builders import (
    FORGED,
    REAL,
    REAL6,
    cert,
    control,
    ctrl_server,
    fetch,
    hs,
    obs,
    system,
    tcp,
)  # fmt: skip

BASE = (system(REAL), control(REAL))


def kinds(o: Observations, stage: str) -> list[str]:
    return sorted(a.kind for a in anomalies(o) if a.stage == stage)


TCP_CASES = [
    ("timeout-genuine", obs(*BASE, tcp(REAL, error="timeout")), ["tcp.timeout"]),
    ("reset-genuine", obs(*BASE, tcp(REAL, error="reset")), ["tcp.reset"]),
    ("refused-genuine", obs(*BASE, tcp(REAL, error="refused")), ["tcp.refused"]),
    ("unreachable-genuine", obs(*BASE, tcp(REAL, error="unreachable")), ["tcp.unreachable"]),
    ("forged-address-fails",
     obs(system(FORGED), control(REAL), tcp(FORGED, error="timeout"), tcp(REAL)), []),
    ("ipv6-unreachable-ipv4-ok", obs(*BASE, control(REAL6, qtype="AAAA"), tcp(REAL),
                                     tcp(REAL6, error="unreachable")), []),
    ("ipv6-timeout-ipv4-ok", obs(*BASE, control(REAL6, qtype="AAAA"), tcp(REAL),
                                 tcp(REAL6, error="timeout")), []),
    ("ipv6-only-fails-too", obs(*BASE, control(REAL6, qtype="AAAA"), tcp(REAL, error="timeout"),
                                tcp(REAL6, error="timeout")), ["tcp.timeout", "tcp.timeout"]),
    ("no-control-no-genuine", obs(system(REAL), tcp(REAL, error="timeout")), []),
]


@pytest.mark.parametrize(("case", "o", "expected"), TCP_CASES, ids=[c[0] for c in TCP_CASES])
def test_tcp_rules(case: str, o: Observations, expected: list[str]) -> None:
    # one anomaly per error kind: both addresses of "ipv6-only-fails-too" share it
    assert kinds(o, "tcp") == sorted(set(expected))


TLS_CASES = [
    ("sni-reset", obs(*BASE, tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="reset")),
     ["tls.sni_filtering"]),
    ("sni-drop", obs(*BASE, tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="timeout")),
     ["tls.sni_filtering"]),
    ("reset-no-benign", obs(*BASE, tcp(REAL), hs(REAL, error="reset")), ["tls.reset"]),
    ("eof-no-benign", obs(*BASE, tcp(REAL), hs(REAL, error="eof")), ["tls.eof"]),
    ("residual-ignored", obs(*BASE, tcp(REAL), hs(REAL, kind="benign"),
                             hs(REAL, error="reset", residual=True)), []),
    ("transient-then-ok", obs(*BASE, tcp(REAL), hs(REAL, error="reset"), fetch(REAL)), []),
    ("reset-on-forged-address", obs(system(FORGED), control(REAL), tcp(FORGED),
                                    hs(FORGED, error="reset")), []),
    ("mitm-unknown-ca", obs(*BASE, tcp(REAL), hs(REAL, error="cert_unknown_ca",
                                                 crt=cert(issuer="CN=Qaznet Trust Network"))),
     ["tls.cert_invalid"]),
    ("own-self-signed-for-any-name",
     obs(*BASE, tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="5")),
         hs(REAL, error="cert_unknown_ca", crt=cert(sha="5"))), []),
    ("expired-own-cert", obs(*BASE, tcp(REAL), hs(REAL, error="cert_expired", crt=cert())), []),
    ("expired-but-control-verified",
     obs(*BASE, tcp(REAL), hs(REAL, error="cert_expired", crt=cert()),
         control_server=ctrl_server(tls_=(hs(REAL),))),
     ["tls.cert_invalid"]),
    ("blockpage-host-cert-on-forged", obs(system(FORGED), control(REAL), tcp(FORGED),
                                          hs(FORGED, error="cert_unknown_ca", crt=cert())), []),
    ("no-control-mitm", obs(system(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=cert())),
     ["tls.cert_invalid"]),
]


@pytest.mark.parametrize(("case", "o", "expected"), TLS_CASES, ids=[c[0] for c in TLS_CASES])
def test_tls_rules(case: str, o: Observations, expected: list[str]) -> None:
    assert kinds(o, "tls") == expected


def test_mitm_detail_names_issuer() -> None:
    crt = cert(issuer="CN=Qaznet Trust Network")
    o = obs(*BASE, tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=crt))
    (a,) = [a for a in anomalies(o) if a.kind == "tls.cert_invalid"]
    assert "Qaznet Trust Network" in a.detail and a.addresses == (REAL,)


def test_ambiguous_when_both_snis_fail() -> None:
    o = obs(*BASE, tcp(REAL), hs(REAL, kind="benign", error="reset"), hs(REAL, error="reset"))
    (a,) = [a for a in anomalies(o) if a.stage == "tls"]
    assert a.kind == "tls.reset" and "ambiguous" in a.detail
