"""Every guard of the analysis with its twin: the same observations one fact apart, on both sides
of the guard, with the exact verdict, confidence and anomaly set each must give."""

from __future__ import annotations

import pytest

from reachcheck.analysis import anomalies, judge
from reachcheck.model import Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    REAL,
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

HTTP_URL = f"http://{DOMAIN}/"


def _verdict(o: Observations) -> tuple[str, str, list[str]]:
    r = judge(o)
    return r.verdict, r.confidence, sorted(a.kind for a in r.anomalies)


def _confirmed(o: Observations, kind: str) -> list[bool]:
    return [a.confirmed for a in anomalies(o) if a.kind == kind]


# ------------------------------------------------------------- site_down: control NXDOMAIN

SITE_DOWN = [
    # The probe agrees the name does not exist: confirmed.
    ("probe-agrees", obs(system(rcode="NXDOMAIN"), control(rcode="NXDOMAIN")),
     ("site_down", "confirmed", [])),
    # The probe's resolver stayed silent: only the control's word, so likely.
    ("probe-silent", obs(query("system"), control(rcode="NXDOMAIN")),
     ("site_down", "likely", [])),
    # The control says the name exists without an address: that is its own evidence.
    ("control-empty-probe-silent", obs(query("system"), control()),
     ("site_down", "confirmed", [])),
    # An NXDOMAIN from the injection probe is not the probe's resolver agreeing.
    ("only-injection-agrees", obs(query("system"), query("injection", resp(rcode="NXDOMAIN")),
                                  control(rcode="NXDOMAIN")),
     ("site_down", "likely", [])),
    # A failing resolver does not agree either.
    ("probe-servfail", obs(system(rcode="SERVFAIL"), control(rcode="NXDOMAIN")),
     ("site_down", "likely", [])),
]


@pytest.mark.parametrize(("case", "o", "expected"), SITE_DOWN, ids=[c[0] for c in SITE_DOWN])
def test_site_down_confidence(case: str, o: Observations, expected: tuple) -> None:  # type: ignore[type-arg]
    assert _verdict(o) == expected


# ------------------------------------------------------------------ known censor addresses


def test_generic_censor_address_is_confirmed_only_against_a_control() -> None:
    # 127.0.0.1 is a "br" (generic) signature: without a control it may be the site's own.
    alone = obs(system("127.0.0.1"))
    assert _confirmed(alone, "dns.known_censor_ip") == [False]
    assert _verdict(alone) == ("dns_blocked", "likely", ["dns.bogon", "dns.known_censor_ip"])
    against = obs(system("127.0.0.1"), control(REAL))
    assert _confirmed(against, "dns.known_censor_ip") == [True]
    assert _verdict(against) == ("dns_blocked", "confirmed", ["dns.bogon", "dns.known_censor_ip"])


def test_control_that_does_not_resolve_does_not_confirm_a_generic_address() -> None:
    o = obs(system("127.0.0.1"), control())  # NOERROR, no address
    assert _confirmed(o, "dns.known_censor_ip") == [False]


def test_named_censor_address_is_confirmed_without_a_control() -> None:
    o = obs(system("10.10.34.35"))  # Iran's blockpage address: a national signature
    assert _confirmed(o, "dns.known_censor_ip") == [True]
    assert _confirmed(o, "dns.bogon") == [False]
    assert _verdict(o) == ("dns_blocked", "confirmed", ["dns.bogon", "dns.known_censor_ip"])


def test_generic_and_named_together_are_confirmed() -> None:
    o = obs(query("system", resp("127.0.0.1", "10.10.34.35")))
    assert _confirmed(o, "dns.known_censor_ip") == [True]


def test_censor_signature_on_a_genuine_address_is_no_anomaly() -> None:
    # The control gives 127.0.0.1 too: the site's own DNS says so (its own sinkhole).
    o = obs(system("127.0.0.1"), control("127.0.0.1"))
    assert [a.kind for a in anomalies(o)] == []


# --------------------------------------------------------- TLS: the "not a suspect" guard


def test_sni_contrast_on_a_forged_address_is_not_sni_filtering() -> None:
    # The benign SNI passes and the target SNI is reset, but on an address DNS showed forged:
    # the forged host's behaviour says nothing about the site.
    forged = obs(system(FORGED), control(REAL), tcp(FORGED), hs(FORGED, kind="benign"),
                 hs(FORGED, error="reset"))  # fmt: skip
    assert _verdict(forged) == ("dns_blocked", "likely", ["dns.inconsistent"])
    # Twin: the same contrast on the genuine address is SNI filtering.
    genuine = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                  hs(REAL, error="reset"))  # fmt: skip
    assert _verdict(genuine) == ("tls_blocked", "confirmed", ["tls.sni_filtering"])


def test_sni_contrast_on_an_unflagged_address_is_reported_unconfirmed() -> None:
    # The system resolver also gives a CDN node the control did not: not flagged by DNS rules,
    # not genuine either. The contrast is evidence, but only "likely".
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER),
            hs(CDN_OTHER, kind="benign"), hs(CDN_OTHER, error="reset"))  # fmt: skip
    (a,) = anomalies(o)
    assert (a.kind, a.confirmed, a.addresses) == ("tls.sni_filtering", False, (CDN_OTHER,))
    assert _verdict(o) == ("tls_blocked", "likely", ["tls.sni_filtering"])


def test_tls_failure_off_the_genuine_addresses_without_contrast_is_not_reported() -> None:
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="reset"))
    assert [a.kind for a in anomalies(o)] == []
    twin = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"))
    assert [a.kind for a in anomalies(twin)] == ["tls.reset"]


# ------------------------------------------------------ HTTP: the genuine-address filter


def _reset_on(addr: str, *dns: object, server: object = None) -> Observations:
    return obs(*dns, tcp(addr, port=80), fetch(addr, ok=False, url=HTTP_URL, error="reset"),
               target=HTTP_URL, control_server=server)  # type: ignore[arg-type]


def test_reset_on_an_unflagged_cdn_address_is_not_http_blocking() -> None:
    # The system resolver gives the control's address and another CDN node; the fetch went to
    # the other one. With a control available only genuine addresses count: inconclusive.
    o = _reset_on(CDN_OTHER, system(REAL, CDN_OTHER), control(REAL))
    assert _verdict(o) == ("inconclusive", "none", [])
    with_server = _reset_on(CDN_OTHER, system(REAL, CDN_OTHER), control(REAL),
                            server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))  # fmt: skip
    assert _verdict(with_server) == ("inconclusive", "none", [])
    # Twin: the same reset on the genuine address.
    twin = _reset_on(REAL, system(REAL), control(REAL))
    assert _verdict(twin) == ("http_blocked", "likely", ["http.reset"])
    twin_server = _reset_on(REAL, system(REAL), control(REAL),
                            server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))  # fmt: skip
    assert _verdict(twin_server) == ("http_blocked", "confirmed", ["http.reset"])


def test_reset_without_any_control_counts_on_an_unflagged_address() -> None:
    o = _reset_on(REAL, system(REAL))
    assert sorted(a.kind for a in anomalies(o)) == ["http.reset"]


def test_reset_on_a_forged_address_is_never_http() -> None:
    # No control: the suspects guard alone decides. Injection flags the forged address...
    injected = _reset_on(FORGED, query("system", resp(FORGED, ms=1), resp(REAL, ms=90)))
    assert [a.kind for a in anomalies(injected)] == ["dns.injection"]
    # ...while the same address from a single, unremarkable answer is all there is to judge.
    single = _reset_on(FORGED, system(FORGED))
    assert [a.kind for a in anomalies(single)] == ["http.reset"]


def test_http_failure_before_the_connection_is_not_http() -> None:
    # No TCP connect succeeded to that address: the failure belongs to the TCP stage.
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80, error="timeout"),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert [a.kind for a in anomalies(o)] == ["tcp.timeout"]
