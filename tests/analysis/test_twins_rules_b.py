"""Twins for a few more rules of dns.py, outside.py, survivor.py and tls.py: pairs of
observations one fact apart, with the exact outcome on both sides. The mutation run
(tools/mutation/run.sh) found each of them unpinned: the DNS interceptor test (one answer each,
same question type), a retry for another name, the truth a DNS failure is measured against,
the control's unnamed connect failures, which of our attempts count as failures, the survivor
of the injection race on saved runs, and what an outside view that failed differently says
about a certificate.

Some observations here are ones our own probes never produce (a control server that tried one
endpoint twice, a duplicated forged answer, a query for another name): saved runs are data,
and the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import context, outside, survivor
from reachcheck.model import DnsQuery, TcpConnect
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    REAL,
    REAL2,
    SYSTEM,
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
from tests.analysis.twins import DOH_SERVFAIL, HTTP_URL, kinds_of, one_of, outcome

ABROAD1 = "udp:10.0.1.53:53"
ABROAD2 = "udp:10.0.2.53:53"
LIE1 = "45.33.10.1"  # forged answers no fingerprint knows (public-looking, never contacted)
FORGED6 = "2a03:2880:f10c:283::1"  # a forged AAAA answer (public-looking, never contacted)


# ---------------------------------------------------------------- dns.py


def test_an_injection_probe_drawing_two_answers_is_no_interceptor() -> None:
    # No control, nothing validated: the system resolver and the injection probe both answer
    # FORGED. One answer each is an interceptor answering all of port 53: no evidence.
    alike = obs(system(FORGED), query("injection", resp(FORGED)))
    assert kinds_of(alike) == kinds_of(interned(alike)) == []
    # Twin: the injection probe drew that answer twice (a race at an address that runs no DNS
    # service): not one interceptor answering once, so the answers are forged.
    twice = obs(system(FORGED), query("injection", resp(FORGED, ms=2), resp(FORGED, ms=3)))
    assert kinds_of(twice) == kinds_of(interned(twice)) == ["dns.injection"]


def test_an_aaaa_injection_answer_is_compared_with_aaaa_answers_only() -> None:
    # The injection probe's AAAA question drew the system resolver's very AAAA answer: one
    # interceptor. The system's A answer (another question) does not enter the comparison.
    a_answer = system(FORGED)
    o = obs(a_answer, system(FORGED6, qtype="AAAA"),
            query("injection", resp(FORGED6), qtype="AAAA"))
    assert kinds_of(o) == []
    # Twin: the system's AAAA answer differs from the injection probe's: that one is forged.
    twin = obs(a_answer, system(REAL2, qtype="AAAA"),
               query("injection", resp(FORGED6), qtype="AAAA"))
    assert one_of(twin, "dns.injection").addresses == (FORGED6,)
    assert kinds_of(twin) == ["dns.injection"]


def test_an_answer_for_a_name_sorting_before_the_site_is_no_retry() -> None:
    # The system resolver timed out for the site and answered a query for another name (one
    # that sorts before the site's): no retry of the same question.
    other = query("system", resp(REAL), qname="aa.example.net")
    o = obs(query("system"), other, control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            fetch(REAL))
    assert kinds_of(o) == ["dns.timeout"]
    # Twin: the same question answered on a retry: a lost packet.
    twin = obs(query("system"), system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
               fetch(REAL))
    assert kinds_of(twin) == []


def _nxdomain_with(*controls: DnsQuery) -> str:
    """The detail of the system resolver's NXDOMAIN for a site verified on REAL."""
    o = obs(system(rcode="NXDOMAIN"), *controls, tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    return one_of(o, "dns.nxdomain").detail


def test_a_dns_failure_names_the_truth_it_is_measured_against() -> None:
    head = f"{SYSTEM} (system) gave NXDOMAIN for {DOMAIN} A; "
    # The control resolves the name.
    assert _nxdomain_with(control(REAL)) == head + "the control resolves it"
    # The control failed (SERVFAIL): the verified handshake is the truth, not the control.
    assert _nxdomain_with(DOH_SERVFAIL) == (
        head + f"a verified TLS handshake for the name succeeded on {REAL}")
    # The control's A question failed but its AAAA one says the name exists (no address).
    says_exists = (DOH_SERVFAIL, control(qtype="AAAA"))
    assert _nxdomain_with(*says_exists) == head + "the control says it exists"


# ---------------------------------------------------------------- outside.py


def test_a_proxy_error_among_other_control_failures_is_not_the_same_way() -> None:
    # Our connect timed out; the control (through a proxy) tried that endpoint twice: one
    # unnamed connect failure (proxy_error) and one refusal. Not all failed "the same way".
    both = (tcp(REAL, error="proxy_error"), tcp(REAL, error="refused"))
    o = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=both))
    assert outside.tcp_agreement(context.build(o), (REAL, 443), "timeout") == "differs"
    assert outcome(o) == ("inconclusive", "none", ["tcp.timeout"])
    # Twin: its only failure there is the unnamed one: the same as any connect failure of ours.
    twin = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
               control_server=ctrl_server(tcp_=both[:1]))
    assert outside.tcp_agreement(context.build(twin), (REAL, 443), "timeout") == "same"
    assert outcome(twin) == ("site_down", "confirmed", ["tcp.timeout"])


def test_only_our_failed_attempts_on_the_addresses_asked_about_count() -> None:
    # A reset handshake on REAL, a verified one on REAL2 and a reset one on CDN_OTHER: asked
    # about REAL, only its reset is a local failure.
    o = obs(system(REAL, REAL2, CDN_OTHER), control(REAL, REAL2, CDN_OTHER),
            tcp(REAL), tcp(REAL2), tcp(CDN_OTHER),
            hs(REAL, error="reset"), hs(REAL2), hs(CDN_OTHER, error="timeout"))
    facts = context.build(o)
    assert outside.local_failures(facts, [REAL]) == [("tls", (REAL, 443), "reset")]
    assert outside.local_failures(facts, [CDN_OTHER]) == [("tls", (CDN_OTHER, 443), "timeout")]
    assert outside.local_failures(facts, [REAL2]) == []
    # Twin: the handshake on REAL marked possibly residual is another site's penalty.
    twin = dataclasses.replace(o, tls=(hs(REAL, error="reset", residual=True), hs(REAL2)))
    assert outside.local_failures(context.build(twin), [REAL]) == []


# ---------------------------------------------------------------- survivor.py


def _raced(resolver: str, *answers: object) -> DnsQuery:
    return query("probe", *answers, resolver=resolver)  # type: ignore[arg-type]


def test_a_resolver_that_gave_no_answer_backs_no_survivor() -> None:
    # Two resolvers' late answers agree on REAL; a third resolver timed out (or failed).
    raced = [_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)]
    silent = query("probe", resolver="udp:10.0.3.53:53")
    failing = _raced("udp:10.0.4.53:53", resp(rcode="SERVFAIL"))
    assert survivor.survivors([*raced, silent, failing]) == (REAL,)
    # Twin: only one resolver raced; the silent ones back nothing.
    assert survivor.survivors([raced[0], silent, failing]) == ()


def test_a_sole_answer_of_a_saved_run_backs_the_survivor() -> None:
    # JSON-loaded queries (fresh strings): ABROAD2's one NOERROR answer backs ABROAD1's survivor.
    o = obs(_raced(ABROAD1, resp(LIE1, ms=2), resp(REAL, ms=150)), _raced(ABROAD2, resp(REAL)))
    assert survivor.survivors(o.dns) == (REAL,)
    # Twin: ABROAD2's one answer is another address: nothing backs REAL.
    twin = obs(_raced(ABROAD1, resp(LIE1, ms=2), resp(REAL, ms=150)),
               _raced(ABROAD2, resp(REAL2)))
    assert survivor.survivors(twin.dns) == ()


def _survivor_tcp(addr: str, ok: bool = True, port: int = 443) -> TcpConnect:
    return dataclasses.replace(tcp(addr, ok=ok, port=port), sources=(survivor.SOURCE,))


_QUERIES = [_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)]


def test_a_page_on_another_address_says_nothing_about_the_survivor() -> None:
    # The survivor failed; a page verified on another address (not a survivor) loaded.
    o = obs(*_QUERIES, query("control", error="timeout"), _survivor_tcp(REAL, ok=False),
            tcp(CDN_OTHER), fetch(CDN_OTHER))
    assert survivor.trusted_dns_works(context.build(o)) is False
    # Twin: the page loaded on the survivor itself.
    twin = obs(*_QUERIES, query("control", error="timeout"), _survivor_tcp(REAL), fetch(REAL))
    assert survivor.trusted_dns_works(context.build(twin)) is True


def test_a_cleartext_page_on_the_survivor_is_not_verified() -> None:
    # An http:// site: the page loaded on the survivor, but nothing verified the address.
    o = obs(*_QUERIES, query("control", error="timeout"), _survivor_tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL), target=HTTP_URL)
    assert survivor.trusted_dns_works(context.build(o)) is False
    # Twin: the survivor was tried and verified over https.
    twin = obs(*_QUERIES, query("control", error="timeout"), _survivor_tcp(REAL), fetch(REAL))
    assert survivor.trusted_dns_works(context.build(twin)) is True


# ---------------------------------------------------------------- tls.py


def test_a_control_failing_differently_has_not_seen_the_certificate() -> None:
    # Our handshake on REAL met an unknown-CA certificate (none kept); the control server,
    # which verified the site on REAL2, was reset on REAL: it did not meet that certificate
    # there, so nothing says it is the site's own: interception, likely.
    theirs = (hs(REAL, error="reset"), hs(REAL2))
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), hs(REAL, error="cert_unknown_ca"),
            control_server=ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)), tls_=theirs))
    assert outcome(o) == ("tls_blocked", "likely", ["tls.cert_invalid"])
    # Twin: the control's handshake on REAL failed on the certificate too: the site's own.
    same = (hs(REAL, error="cert_unknown_ca"), hs(REAL2))
    twin = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL),
               hs(REAL, error="cert_unknown_ca"),
               control_server=ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)), tls_=same))
    assert outcome(twin) == ("site_down", "likely", [])
