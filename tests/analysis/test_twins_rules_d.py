"""Twins for a few more rules (dns.py's interception and retry tests, outside.py's stage filter,
survivor.py's resolver count and transport, tls.py's endpoint match for the control's
certificates, vantage.py's proxy reachability): pairs of observations one fact apart, with the
exact outcome on both sides. The mutation run (tools/mutation/run.sh) found each of them
unpinned.

Some observations here are ones our own probes never produce (a failed TCP connect and a failed
handshake on the same endpoint, a probe-role DoH query, a cleartext fetch through the proxy
carrying a failed handshake): saved runs are data, and the analysis must judge them by its rules
all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge, survivor
from reachcheck.model import ControlMeasurement, DnsQuery, HttpFetch, Observations
from tests.analysis.builders import (
    DOH,
    DOMAIN,
    FORGED,
    FORGED2,
    REAL,
    cert,
    clean_https,
    control,
    ctrl_server,
    fetch,
    hs,
    interned,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import HTTP_URL, outcome

ABROAD1 = "udp:10.0.1.53:53"
ABROAD2 = "udp:10.0.2.53:53"
ABROAD3 = "udp:10.0.3.53:53"
LIE = "45.33.10.1"  # a forged answer no fingerprint knows (public-looking, never contacted)


# ---------------------------------------------------------------- dns.py


def test_an_interceptor_answering_the_system_resolver_with_fewer_addresses_is_not_alike() -> None:
    # No control: the injection probe drew two addresses, the system resolver only one of them.
    # Not one answer drawn alike (a shorter answer is not the same answer): the injection probe,
    # which runs no DNS service, was answered by an injector.
    o = obs(query("injection", resp(FORGED, FORGED2)), system(FORGED))
    assert outcome(o) == ("dns_blocked", "confirmed", ["dns.injection"])
    # Twin: the system resolver drew exactly the same answer: a network intercepting all DNS.
    twin = obs(query("injection", resp(FORGED, FORGED2)), system(FORGED, FORGED2))
    assert outcome(twin) == ("inconclusive", "none", [])


def test_an_answer_from_another_resolver_is_no_retry() -> None:
    # The system resolver timed out; the probe resolver (another address, which sorts after the
    # system's) answered. The system resolver's failure stands: it was not retried.
    o = obs(control(REAL), query("system"), query("probe", resp(REAL)), *clean_https())
    assert outcome(o) == ("inconclusive", "none", ["dns.timeout"])
    # Twin: a second attempt to the system resolver itself answered: a lost packet.
    twin = obs(control(REAL), query("system"), query("system", resp(REAL)),
               query("probe", resp(REAL)), *clean_https())
    assert outcome(twin) == ("accessible", "confirmed", [])


# ---------------------------------------------------------------- outside.py


def _down_on_443(*ours: object) -> Observations:
    """Our connect to REAL:443 timed out, and the control server's connect there timed out."""
    return obs(system(REAL), control(REAL), tcp(REAL, error="timeout"), *ours,
               control_server=ctrl_server(tcp_=(tcp(REAL, error="timeout"),)))


def test_a_failed_handshake_is_not_compared_as_a_connect() -> None:
    # The TCP comparison reads our failed connects only: a reset handshake of ours on the same
    # endpoint (a saved run with both) does not make the control's timeout "differ".
    assert outcome(_down_on_443()) == ("site_down", "confirmed", ["tcp.timeout"])
    both = _down_on_443(hs(REAL, error="reset"))
    assert outcome(both) == ("site_down", "confirmed", ["tcp.timeout", "tls.reset"])


# ---------------------------------------------------------------- survivor.py


def _raced(resolver: str) -> DnsQuery:
    """A UDP probe query where a forged answer raced ahead of the resolver's own."""
    return query("probe", resp(LIE, ms=2), resp(REAL, ms=150), resolver=resolver)


def test_three_resolvers_agreeing_on_a_survivor_back_it() -> None:
    # At least two resolvers must agree; three do more than enough.
    three = obs(*[_raced(r) for r in (ABROAD1, ABROAD2, ABROAD3)])
    assert survivor.survivors(three.dns) == (REAL,)
    two = obs(*[_raced(r) for r in (ABROAD1, ABROAD2)])
    assert survivor.survivors(two.dns) == (REAL,)
    assert survivor.survivors(obs(_raced(ABROAD1)).dns) == ()


def test_a_doh_answer_does_not_back_a_survivor() -> None:
    # Only UDP resolvers count, whatever their role: a probe-role DoH query (a saved run) that
    # answered the late address alone does not make it agree across resolvers.
    doh = dataclasses.replace(query("probe", resp(REAL), resolver=DOH), transport="doh")
    o = obs(_raced(ABROAD1), doh)
    assert survivor.survivors(o.dns) == ()
    # Twin: the same sole answer from a UDP resolver backs it.
    udp = obs(_raced(ABROAD1), query("probe", resp(REAL), resolver=ABROAD2))
    assert survivor.survivors(udp.dns) == (REAL,)


# ---------------------------------------------------------------- tls.py


def _cert_on(port: int) -> Observations:
    """Our handshake on REAL:443 shows a rogue unknown-CA certificate; the control server was
    shown another unknown-CA certificate on REAL:`port`."""
    theirs = dataclasses.replace(
        hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Self", sha="33")), port=port)
    return obs(system(REAL), control(REAL), tcp(REAL),
               hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Rogue", sha="66")),
               control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(theirs,)))


def test_a_certificate_the_control_saw_on_another_port_is_not_compared() -> None:
    # Ports matter: what the control was shown on 8443 says nothing about 443. It got no
    # verified handshake anywhere (a certificate failure too), so the site fails from outside.
    assert outcome(_cert_on(8443)) == ("site_down", "confirmed", [])
    # Twin: the control was shown its certificate on 443 itself: ours differs, interception.
    assert outcome(_cert_on(443)) == ("tls_blocked", "likely", ["tls.cert_invalid"])


# ---------------------------------------------------------------- vantage.py


def _via_proxy(page: HttpFetch, target: str = DOMAIN, port: int = 443) -> Observations:
    """Our connect is refused; the user's proxy connected and fetched `page`."""
    view: ControlMeasurement = dataclasses.replace(
        ctrl_server(tcp_=(tcp(REAL, port=port),), http=page), kind="proxy")
    return obs(system(REAL), control(REAL), tcp(REAL, error="refused", port=port),
               control_server=view, target=target)


def test_a_page_over_an_unverified_handshake_is_not_reachable_via_the_proxy() -> None:
    # https: the proxy's page came over a handshake that failed verification: not reachable,
    # whether the strings are fresh (a saved run) or interned (built in code).
    o = _via_proxy(fetch(REAL, tls_ok=False))
    assert judge(o).reachable_via_proxy is False
    assert judge(interned(o)).reachable_via_proxy is False
    verified = _via_proxy(fetch(REAL))
    assert judge(verified).reachable_via_proxy is True
    assert judge(interned(verified)).reachable_via_proxy is True


def test_a_cleartext_page_via_the_proxy_needs_no_handshake() -> None:
    # http: a page is enough, even one whose record carries a failed handshake (a saved run).
    page = dataclasses.replace(fetch(REAL, tls_ok=False), url=HTTP_URL, final_url=HTTP_URL)
    o = _via_proxy(page, target=HTTP_URL, port=80)
    assert judge(o).reachable_via_proxy is True
    assert judge(interned(o)).reachable_via_proxy is True
    # Twin: the page itself did not arrive.
    failed = dataclasses.replace(page, ok=False, status=None, error="reset")
    assert judge(_via_proxy(failed, target=HTTP_URL, port=80)).reachable_via_proxy is False
