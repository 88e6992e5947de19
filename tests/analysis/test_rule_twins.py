"""Twins for the conditions inside each rule: pairs of observations one fact apart, where the
fact flips exactly one condition, with the exact outcome on both sides. Each case names the
condition it pins; mutation testing (tools/mutation/run.sh) found them unpinned."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import anomalies, judge
from reachcheck.analysis.context import is_public_name
from reachcheck.analysis.fingerprints import _fp
from reachcheck.analysis.http import registrable
from reachcheck.model import Anomaly, Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    FORGED2,
    REAL,
    REAL2,
    REAL6,
    cert,
    clean_https,
    control,
    ctrl_server,
    fetch,
    hop,
    hs,
    interned,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip

HTTP_URL = f"http://{DOMAIN}/"
PROBE_REAL = query("probe", resp(REAL))
DOH_SERVFAIL = query("control", resp(rcode="SERVFAIL"))  # the control answered, uselessly
REAL3 = "151.101.1.10"


def _kinds(o: Observations) -> list[str]:
    return sorted(a.kind for a in anomalies(o))


def _only(o: Observations, kind: str) -> Anomaly:
    (a,) = [a for a in anomalies(o) if a.kind == kind]
    return a


def _verdict(o: Observations) -> tuple[str, str, list[str]]:
    r = judge(o)
    return r.verdict, r.confidence, sorted(a.kind for a in r.anomalies)


# ------------------------------------------------------------------------------ context


def test_private_names_spelled_exactly_as_a_suffix() -> None:
    assert not is_public_name("".join(["home", ".arpa"]))  # a new string, not the literal
    assert not is_public_name("printer.home.arpa")
    assert is_public_name("homearpa.example")
    assert not is_public_name("localhost")


def test_a_control_answering_formerr_is_a_control_that_failed() -> None:
    # FORMERR sorts before MALFORMED: a real answer, so the control is "failed", not absent, and
    # a reset on an address no control gave is not held against the network.
    formerr = query("control", resp(rcode="FORMERR"))
    o = obs(system(REAL), formerr, tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _kinds(o) == []
    twin = obs(system(REAL), tcp(REAL, port=80),
               fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _kinds(twin) == ["http.reset"]


def test_validated_truth_counts_when_the_control_failed_too() -> None:
    # The DoH control answered SERVFAIL ("failed"): a verified handshake still proves the name.
    o = obs(system(rcode="NXDOMAIN"), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert _verdict(o) == ("dns_blocked", "confirmed", ["dns.nxdomain"])


def test_a_handshake_without_sni_validates_its_address() -> None:
    no_sni = dataclasses.replace(hs(CDN_OTHER), sni=None)
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), no_sni)
    assert _kinds(o) == []  # CDN_OTHER verified: the differing answer is genuine
    other_name = hs(CDN_OTHER, sni="other.example")  # verified, but for another name
    twin = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), other_name)
    assert _kinds(twin) == ["dns.inconsistent"]


# ---------------------------------------------------------------------- DNS: truthfulness

RACES = [
    # (case, observations, forged addresses, forged shown in the detail)
    # No yardstick: the earlier arrivals are the forged ones, whatever they say.
    ("no-control-real-first", obs(query("system", resp(REAL, ms=1), resp(rcode="NXDOMAIN", ms=9))),
     (REAL,), REAL),
    # A verified address proves the name: the NXDOMAIN is the lie, though it came last.
    ("validated-nxdomain-last",
     obs(query("system", resp(REAL, ms=1), resp(rcode="NXDOMAIN", ms=9)), *clean_https()),
     (), "NXDOMAIN"),
    # The control resolves: an empty NOERROR is the lie, though it came last.
    ("control-empty-last",
     obs(query("system", resp(REAL, ms=1), resp(ms=9)), control(REAL)), (), "NOERROR"),
    # The control says NXDOMAIN: the NXDOMAIN is the truth, the address the lie.
    ("control-nxdomain", obs(query("system", resp(FORGED, ms=1), resp(rcode="NXDOMAIN", ms=9)),
                             control(rcode="NXDOMAIN")), (FORGED,), FORGED),
]


@pytest.mark.parametrize(("case", "o", "addresses", "shown"), RACES, ids=[c[0] for c in RACES])
def test_which_racing_answer_is_forged(case: str, o: Observations, addresses: tuple[str, ...],
                                       shown: str) -> None:
    a = _only(o, "dns.injection")
    assert a.addresses == addresses
    assert a.detail.endswith(f"forged: {shown}"), a.detail
    assert a.detail.startswith("2 differing responses to one A query")


def test_without_a_yardstick_all_but_the_last_answer_are_forged() -> None:
    o = obs(query("system", resp(FORGED, ms=1), resp(FORGED2, ms=2), resp(REAL, ms=90)))
    assert _only(o, "dns.injection").addresses == (FORGED, FORGED2)


def test_failing_answers_never_race() -> None:
    # A SERVFAIL next to a real answer is a flaky resolver, not a second, forged answer.
    o = obs(query("system", resp(rcode="SERVFAIL", ms=1), resp(REAL, ms=50)))
    assert _kinds(o) == []


def test_empty_answer_from_the_injection_probe() -> None:
    # Nothing runs DNS there: an empty NOERROR is forged when the control resolves the name...
    o = obs(system(REAL), control(REAL), query("injection", resp()), *clean_https())
    a = _only(o, "dns.injection")
    assert a.detail.startswith("udp:10.9.9.9:53 runs no DNS service") and a.addresses == ()
    # ...and the truth when the control says the name has no address.
    assert _kinds(obs(system(), control(), query("injection", resp()))) == []


def test_the_control_own_empty_aaaa_is_not_injection() -> None:
    # An IPv4-only site: the DoH control's AAAA answer is empty. Control answers are the
    # yardstick, never suspects.
    o = obs(system(REAL), control(REAL), control(qtype="AAAA"), *clean_https())
    assert _verdict(o) == ("accessible", "confirmed", [])


# --------------------------------------------------------------- DNS: AAAA NXDOMAIN rules


def test_aaaa_nxdomain_is_excused_only_by_the_same_resolvers_a_answer() -> None:
    ctrl = (control(REAL), control(REAL6, qtype="AAAA"))
    probe_aaaa_nx = query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA")
    # The system resolver gave A, the probe resolver said the name does not exist: a lie.
    o = obs(system(REAL), probe_aaaa_nx, *ctrl, *clean_https())
    assert _kinds(o) == ["dns.nxdomain"]
    # The same resolver gave A: an old home router's AAAA habit, excused.
    o = obs(query("probe", resp(REAL)), probe_aaaa_nx, *ctrl, *clean_https())
    assert _kinds(o) == []
    # It gave A, but for another name (a redirect hop): not excused.
    other = query("probe", resp(REAL), qname="static.example.net")
    assert _kinds(obs(other, probe_aaaa_nx, *ctrl, *clean_https())) == ["dns.nxdomain"]
    # It gave AAAA addresses on another query, not A: not excused either.
    aaaa = query("probe", resp(REAL6), qtype="AAAA")
    assert _kinds(obs(aaaa, probe_aaaa_nx, *ctrl, *clean_https())) == ["dns.nxdomain"]


def test_failure_detail_names_up_to_three_validated_addresses() -> None:
    o = obs(system(rcode="NXDOMAIN"), *clean_https(REAL), *clean_https(REAL2),
            *clean_https(REAL3))  # fmt: skip
    detail = _only(o, "dns.nxdomain").detail
    assert all(a in detail for a in (REAL, REAL2, REAL3)), detail


# -------------------------------------------------------------- DNS: bogons, censor IPs


def test_bogon_is_not_confirmed_by_a_control_without_addresses() -> None:
    assert _only(obs(system("10.1.1.1"), control()), "dns.bogon").confirmed is False
    assert _only(obs(system("10.1.1.1"), control(REAL)), "dns.bogon").confirmed is True


def test_censor_addresses_are_named() -> None:
    a = _only(obs(system("10.10.34.35", FORGED)), "dns.known_censor_ip")
    assert a.addresses == ("10.10.34.35",)  # the forged-looking public one is no signature


# ---------------------------------------------------------------------- DNS: inconsistency


def test_every_resolver_is_judged_on_its_own() -> None:
    # The system resolver agrees; the probe resolver after it does not.
    o = obs(system(REAL), query("probe", resp(FORGED)), control(REAL), tcp(FORGED),
            hs(FORGED, error="cert_hostname"))  # fmt: skip
    a = _only(o, "dns.inconsistent")
    assert a.resolvers == ("udp:10.0.0.54:53",) and a.addresses == (FORGED,)
    assert a.detail.endswith("none is a control address or TLS-validated"), a.detail


@pytest.mark.parametrize(
    ("o", "ending"),
    [
        (obs(system(FORGED), control(rcode="NXDOMAIN")), "the control says it does not exist"),
        (obs(system(CDN_OTHER), PROBE_REAL, *clean_https()),
         f"none is TLS-validated (the site verified on {REAL})"),
    ],
)  # fmt: skip
def test_inconsistency_detail_says_what_it_was_measured_against(o: Observations,
                                                                ending: str) -> None:
    assert _only(o, "dns.inconsistent").detail.endswith(ending)


# --------------------------------------------------------------------- fingerprints, http


def test_fingerprint_without_a_confidence_gets_the_lowest() -> None:
    assert _fp({"name": "x"}).confidence == 1
    assert _fp({"name": "x", "confidence_no_fp": 7}).confidence == 7


def test_registrable_keeps_ip_literals_whole_only() -> None:
    assert registrable("x.123.example.com") == "example.com"  # a digit label mid-name
    assert registrable("10.1.2.3") == "10.1.2.3"


def test_request_failure_detail_names_the_stage_that_worked() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _only(o, "http.reset").detail == (
        f"GET {HTTP_URL} via {REAL} failed (reset) after TCP succeeded")
    o = obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, ok=False, error="timeout", tls_ok=True))  # fmt: skip
    assert _only(o, "http.timeout").detail.endswith("failed (timeout) after TLS succeeded")


def test_request_failures_look_at_every_fetch() -> None:
    good = fetch(REAL2, url=HTTP_URL)
    bad = fetch(REAL, ok=False, url=HTTP_URL, error="reset")
    ctrl = control(REAL, REAL2)
    # A successful fetch first: the failing one after it still counts.
    o = obs(system(REAL, REAL2), ctrl, tcp(REAL, port=80), good, bad, target=HTTP_URL)
    assert _kinds(o) == ["http.reset"]
    # A failure on a non-genuine address first.
    off = fetch(CDN_OTHER, ok=False, url=HTTP_URL, error="timeout")
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER, port=80), tcp(REAL, port=80),
            off, bad, target=HTTP_URL)  # fmt: skip
    assert _kinds(o) == ["http.reset"]
    # A failure that never connected first (its TCP stage failed).
    o = obs(system(REAL, REAL2), ctrl, tcp(REAL2, port=80, error="timeout"), tcp(REAL, port=80),
            fetch(REAL2, ok=False, url=HTTP_URL, error="timeout"), bad, target=HTTP_URL)
    assert _kinds(o) == ["http.reset", "tcp.timeout"]


def test_control_redirect_hop_counts_as_where_the_site_goes() -> None:
    probe = fetch(REAL, url=HTTP_URL, final_url="http://www.coingecko.co.uk/",
                  redirects=(hop(HTTP_URL, "http://www.coingecko.co.uk/"),))  # fmt: skip
    via = fetch(REAL, url=HTTP_URL, final_url=f"https://{DOMAIN}/uk",
                redirects=(hop(HTTP_URL, "http://www.coingecko.co.uk/"),))  # fmt: skip
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), probe, target=HTTP_URL,
            control_server=ctrl_server(http=via))  # fmt: skip
    assert _kinds(o) == []
    stays = fetch(REAL, url=HTTP_URL)
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), probe, target=HTTP_URL,
            control_server=ctrl_server(http=stays))  # fmt: skip
    assert _kinds(o) == ["http.redirect_offsite"]


def test_same_headers_match_even_when_all_are_common() -> None:
    from reachcheck.analysis.http import compare

    common = ("date", "server")
    assert compare(fetch(REAL, names=common), fetch(REAL, names=common))[2] is True
    # The probe's uncommon names are a subset of the control's: they still share one.
    assert compare(fetch(REAL, names=("date", "x-a")),
                   fetch(REAL, names=("date", "x-a", "x-b")))[2] is True  # fmt: skip
    assert compare(fetch(REAL, length=1), fetch(REAL, length=1))[1] is True


def test_no_diff_when_the_control_got_an_error_page() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, status=200, length=4800),
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL, status=503, length=300,
                                                  title="Service Unavailable")),
            target=HTTP_URL)  # fmt: skip
    assert _kinds(o) == []


def test_throttled_detail_gives_rate_size_and_time() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert _only(o, "http.throttled").detail == (
        f"page from {REAL} arrived at 20 KiB/s (20000 bytes in 1.0 s)")


# ------------------------------------------------------------------------------------ tcp


def test_one_working_ipv6_address_means_ipv6_works() -> None:
    v6b = "2a04:4e42::11"
    ctrl = (control(REAL), control(REAL6, v6b, qtype="AAAA"))
    o = obs(*ctrl, tcp(REAL6), tcp(v6b, error="timeout"))
    a = _only(o, "tcp.timeout")
    assert a.addresses == (v6b,)
    assert a.detail == f"TCP connect timeout on the site's genuine address(es) {v6b}:443"


def test_ipv6_timeouts_without_ipv4_are_not_a_broken_stack() -> None:
    # Only "unreachable" everywhere says the machine has no IPv6 route; timeouts are evidence.
    o = obs(control(REAL6, qtype="AAAA"), tcp(REAL6, error="timeout"))
    assert _kinds(o) == ["tcp.timeout"]
    assert _kinds(obs(control(REAL6, qtype="AAAA"), tcp(REAL6, error="unreachable"))) == []


# ------------------------------------------------------------------------------------ tls


def test_only_a_target_handshake_the_control_server_verified_counts() -> None:
    expired = hs(REAL, error="cert_expired", crt=cert())
    base = (system(REAL), control(REAL, REAL2), tcp(REAL), expired)
    # The control server's benign handshake proves nothing about the site's certificate.
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL, kind="benign"),)))
    assert _kinds(o) == []
    # Nor does its verified handshake on another address.
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL2),)))
    assert _kinds(o) == []
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL),)))
    a = _only(o, "tls.cert_invalid")
    assert a.confirmed and a.detail.endswith("the control server verified the site on this address")
    mitm = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca",
                                                          crt=cert(sha="c0ffee")))  # fmt: skip
    assert "control server" not in _only(mitm, "tls.cert_invalid").detail


def test_same_certificate_for_a_benign_name_is_the_servers_own() -> None:
    leaf = cert(sha="9f86d081884c7d659a2feaa0c55ad015")
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=leaf),
            hs(REAL, error="cert_unknown_ca", crt=leaf))  # fmt: skip
    assert _kinds(o) == []


def test_mitm_on_an_ip_literal_with_a_control_server() -> None:
    o = obs(tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=cert(sha="d00d")), target=REAL,
            control_server=ctrl_server())  # fmt: skip
    assert _kinds(o) == ["tls.cert_invalid"]


def test_cert_errors_after_another_failure_on_another_address() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="reset"), hs(REAL, error="cert_unknown_ca", crt=cert(sha="beef")))
    assert _kinds(o) == ["tls.cert_invalid", "tls.reset"]


# ------------------------------------------------------------------------ verdict strength


def test_tcp_failure_is_not_decisive_when_another_genuine_address_works() -> None:
    server = ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)))
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL, error="timeout"), tcp(REAL2),
            control_server=server)  # fmt: skip
    assert _verdict(o) == ("accessible", "likely", ["tcp.timeout"])
    twin = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"), control_server=server)
    assert _verdict(twin) == ("tcp_blocked", "confirmed", ["tcp.timeout"])


def test_tls_failure_the_control_server_sees_too_is_site_down() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
            control_server=ctrl_server(tls_=(hs(REAL, error="reset"),)))  # fmt: skip
    assert _verdict(o) == ("site_down", "confirmed", ["tls.reset"])


def test_cleartext_reset_next_to_an_https_fetch_elsewhere() -> None:
    # No control server: a reset in cleartext is the Host-filtering signature; an https fetch
    # to another address does not make this one "after a verified handshake".
    other = fetch(REAL2, ok=False, error="refused", tls_ok=False)
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), other, target=HTTP_URL)
    assert _verdict(o)[:2] == ("http_blocked", "likely")


def test_validated_only_inconsistency_needs_a_failure_even_when_the_control_failed() -> None:
    o = obs(system(CDN_OTHER), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert _verdict(o) == ("accessible", "confirmed", ["dns.inconsistent"])


def test_control_empty_and_probe_nxdomain_is_dns_blocking() -> None:
    # The control says the name exists (no address): the probe's NXDOMAIN is a lie.
    assert _verdict(obs(system(rcode="NXDOMAIN"), control())) == (
        "dns_blocked", "likely", ["dns.nxdomain"])


# --------------------------------------------------------------------- verdict branches


def test_network_is_not_down_when_anything_connected() -> None:
    o = obs(query("system"), query("control"), tcp(REAL))
    assert judge(o).summary != "Local network looks down"
    o = obs(query("system"), query("control"), control_server=ctrl_server())
    assert judge(o).summary != "Local network looks down"
    o = obs(query("system"), query("control"), hs(REAL))  # a handshake alone
    assert judge(o).summary != "Local network looks down"
    assert judge(obs(query("system"), query("control"))).summary == "Local network looks down"


def test_a_failed_control_resolver_is_not_the_sites_own_dns() -> None:
    o = obs(system(REAL), DOH_SERVFAIL, tcp(REAL, error="timeout"))
    assert _verdict(o) == ("inconclusive", "none", [])


@pytest.mark.parametrize(
    ("o", "expected"),
    [
        # Validated on a control address: encrypted DNS works.
        (obs(system(rcode="NXDOMAIN"), control(REAL), *clean_https()), True),
        # Validated only on an address the control did not give: unknown, nothing tried there.
        (obs(system(rcode="NXDOMAIN"), control(REAL), *clean_https(CDN_OTHER)), None),
        # A verified handshake on the control address, no page fetched: works.
        (obs(system(rcode="NXDOMAIN"), control(REAL), tcp(REAL), hs(REAL)), True),
        # A cleartext fetch on the control address of an http:// target: works.
        (obs(system(rcode="NXDOMAIN"), control(REAL), tcp(REAL, port=80),
             fetch(REAL, url=HTTP_URL),
             target=HTTP_URL), True),
        # A failed fetch on the control address: tried, and it does not work.
        (obs(system(rcode="NXDOMAIN"), control(REAL), tcp(REAL, port=80),
             fetch(REAL, ok=False, url=HTTP_URL, error="timeout"), target=HTTP_URL), False),
        # An https target fetched in cleartext from the control address (a redirect): not
        # proof, but tried.
        (obs(system(rcode="NXDOMAIN"), control(REAL), tcp(REAL), fetch(REAL, url=HTTP_URL)),
         False),
        # An unverified https fetch on the control address: tried, not proof.
        (obs(system(rcode="NXDOMAIN"), control(REAL), tcp(REAL),
             fetch(REAL, ok=False, error="cert_unknown_ca", tls_ok=False)), False),
    ],
)  # fmt: skip
def test_reachable_with_trusted_dns(o: Observations, expected: bool | None) -> None:
    result = judge(o)
    assert result.verdict == "dns_blocked", result.reason
    assert result.reachable_with_trusted_dns is expected


# ------------------------------------------------------------------- reasons and summaries

SUMMARIES = [
    ("inconsistent-unproven", obs(system(CDN_OTHER), control(REAL)),
     "Unclear: DNS answers differ from the site's known addresses (not shown to be wrong)"),
    ("inconsistent-vs-validated", obs(system(FORGED), PROBE_REAL, tcp(FORGED),
                                      hs(FORGED, error="cert_hostname"), *clean_https()),
     "DNS gives addresses that are not the site's verified one"),
    ("ghost", obs(system(FORGED), control(rcode="NXDOMAIN")),
     "DNS answers for a name that does not exist (trusted DNS says so)"),
    ("sni-drop", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                     hs(REAL, error="timeout")),
     "TLS dropped when the SNI names the site; other names pass"),
    ("sni-reset", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                      hs(REAL, error="reset")),
     "TLS cut off when the SNI names the site; other names pass"),
    ("bogon-alone", obs(system("10.10.34.35"), control(REAL), *clean_https()),
     "DNS points to a private/reserved address"),
    ("residual", obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                     hs(REAL, error="reset", residual=True)),
     "Unclear: the TLS handshake fails (maybe a penalty left by another site)"),
    ("tcp-doh-only", obs(system(REAL), control(REAL), tcp(REAL, error="timeout")),
     "Unclear: connections to the site's real address time out; no control to compare"),
    ("cdn-dns-only", obs(system(CDN_OTHER), control(REAL)),
     "Unclear: DNS answers differ from the site's known addresses (not shown to be wrong)"),
    ("control-empty", obs(query("system"), control()), "Site down: its name has no address "
                                                       "(control agrees)"),
    ("accessible-with-dns-anomaly", obs(system(CDN_OTHER), PROBE_REAL, *clean_https()),
     "Reachable (verified HTTPS)"),
    ("bogon-vs-validated", obs(system("192.168.7.7"), PROBE_REAL, *clean_https()),
     "DNS points to a private/reserved address"),
    # A later phrase that sorts before the lead's is kept too.
    ("nxdomain-then-timeout", obs(system(rcode="NXDOMAIN"), control(REAL, REAL2),
                                  *clean_https(REAL), tcp(REAL2, error="timeout")),
     "DNS says the name does not exist; trusted DNS finds it; also: Connections to the site's "
     "real address time out"),
]


@pytest.mark.parametrize(("case", "o", "summary"), SUMMARIES, ids=[c[0] for c in SUMMARIES])
def test_summary(case: str, o: Observations, summary: str) -> None:
    assert judge(o).summary == summary


def test_reason_names_how_the_site_answered() -> None:
    assert judge(obs(system(REAL), control(REAL), *clean_https())).reason == (
        f"verified TLS and HTTP 200 from {REAL}")
    two = obs(system(REAL, REAL2), control(REAL, REAL2), hs(REAL), hs(REAL2))
    assert judge(two).reason == f"verified TLS handshake with {REAL2} (HTTP not measured)"
    conn = obs(system(REAL2, REAL), control(REAL, REAL2), tcp(REAL2), tcp(REAL))
    assert judge(conn).reason == f"TCP connect to {REAL2} (later stages not measured)"


def test_reason_of_a_bare_connect_failure() -> None:
    r = judge(obs(system(REAL), query("control", error="timeout"), tcp(REAL, error="timeout")))
    assert r.anomalies == ()
    assert r.reason == (f"TCP connect to {REAL}:443 failed (timeout); no control to tell "
                        "blocking from a site that is down")  # fmt: skip


def test_reason_of_a_failure_with_no_anomaly() -> None:
    # A redirect loop is the site's own doing: no anomaly, the reason names the failure.
    loop = fetch(REAL, ok=False, error="too_many_redirects", tls_ok=True)
    r = judge(obs(system(REAL), control(REAL), tcp(REAL), loop))
    assert r.verdict == "inconclusive" and r.anomalies == ()
    assert r.reason.startswith(f"GET https://{DOMAIN}/ via {REAL} failed (too_many_redirects)")


def test_dns_only_run_with_a_silent_injection_probe_agrees() -> None:
    o = obs(system(REAL), query("injection"), control(REAL))
    assert _verdict(o) == ("accessible", "likely", [])


def test_site_down_names_the_first_failure_the_control_server_shares() -> None:
    server = ctrl_server(tcp_=(tcp(REAL, error="timeout"), tcp(REAL2, error="refused")))
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL, error="timeout"),
            tcp(REAL2, error="refused"), control_server=server)  # fmt: skip
    r = judge(o)
    assert (r.verdict, r.confidence) == ("site_down", "confirmed")
    assert r.reason == ("the control server fails the same way: TCP connect timeout on the "
                        f"site's genuine address(es) {REAL}:443")  # fmt: skip


def test_slow_site_without_dns_anomaly_stays_accessible() -> None:
    # The system resolver is silent, but nothing proves the name's address (no control, no
    # verified handshake): no DNS anomaly, so the slow page is all there is to say.
    slow = dataclasses.replace(fetch(REAL, url=HTTP_URL), body_length=20_000, body_ms=2000.0)
    o = obs(query("system"), PROBE_REAL, tcp(REAL, port=80), slow, target=HTTP_URL)
    r = judge(o)
    assert (r.verdict, sorted(a.kind for a in r.anomalies)) == ("accessible", ["http.throttled"])
    assert r.summary == "Reachable; but very slow (possibly throttled)"


# ------------------------------------------------------------ more twins (second pass)

REAL4 = "151.101.2.10"


def test_a_failed_benign_handshake_is_not_a_target_failure() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), *clean_https(REAL), tcp(REAL2),
            hs(REAL2, kind="benign", error="reset"))  # fmt: skip
    assert _kinds(o) == []


def test_a_failed_cleartext_fetch_shows_the_answer_wrong() -> None:
    # The forged address connects, then the request fails: that failure decides dns.inconsistent.
    o = obs(system(FORGED), control(REAL), tcp(FORGED, port=80),
            fetch(FORGED, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _verdict(o) == ("dns_blocked", "likely", ["dns.inconsistent"])


def test_injection_probe_answer_without_any_control() -> None:
    o = obs(system(REAL), query("injection", resp(FORGED)))
    assert _kinds(o) == ["dns.injection"]


def test_racing_answers_over_doh_are_not_injection() -> None:
    # Only UDP answers can be raced by an on-path injector.
    doh = dataclasses.replace(query("probe", resp(FORGED, ms=1), resp(REAL, ms=90)),
                              transport="doh")  # fmt: skip
    assert "dns.injection" not in _kinds(obs(doh, control(REAL)))


def test_aaaa_nxdomain_next_to_a_timed_out_a_query() -> None:
    o = obs(query("probe"), query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"), *clean_https())  # fmt: skip
    assert _kinds(o) == ["dns.nxdomain", "dns.timeout"]


def test_an_a_nxdomain_is_never_excused() -> None:
    # The same resolver answered A once and NXDOMAIN to another A query: the NXDOMAIN lies.
    o = obs(system(REAL), system(rcode="NXDOMAIN"), control(REAL), *clean_https())
    assert _kinds(o) == ["dns.nxdomain"]


def test_formerr_from_the_resolver_is_no_evidence() -> None:
    # FORMERR says our query was malformed: nothing about the name.
    assert _kinds(obs(system(rcode="FORMERR"), control(REAL), *clean_https())) == []


def test_failure_detail_names_the_control_that_says_the_name_exists() -> None:
    detail = _only(obs(system(rcode="NXDOMAIN"), control()), "dns.nxdomain").detail
    assert detail.endswith("the control says it exists"), detail
    detail = _only(obs(system(rcode="NXDOMAIN"), control(REAL)), "dns.nxdomain").detail
    assert detail.endswith("the control resolves it"), detail


def test_failure_detail_shows_at_most_three_validated_addresses() -> None:
    sites = [*clean_https(REAL), *clean_https(REAL2), *clean_https(REAL3), *clean_https(REAL4)]
    detail = _only(obs(system(rcode="NXDOMAIN"), *sites), "dns.nxdomain").detail
    shown = sorted([REAL, REAL2, REAL3, REAL4])
    assert detail.endswith(f"succeeded on {', '.join(shown[:3])}"), detail
    o = obs(system(CDN_OTHER), PROBE_REAL, *sites)
    detail = _only(o, "dns.inconsistent").detail
    assert detail.endswith(f"(the site verified on {', '.join(shown[:3])})"), detail


def test_inconsistency_leaves_out_addresses_flagged_elsewhere() -> None:
    o = obs(system(FORGED), query("probe", resp("10.1.1.1")), control(REAL))
    a = _only(o, "dns.inconsistent")
    assert (a.addresses, a.resolvers) == ((FORGED,), ("udp:10.0.0.53:53",))


def test_unparsable_address_in_a_dns_answer_is_no_signature() -> None:
    from reachcheck.analysis.fingerprints import match_dns_answer

    assert match_dns_answer(["not:an:address", "1.2.3"]) == ()


def test_registrable_of_a_name_with_a_numeric_label() -> None:
    assert registrable("a.123.com") == "123.com"


def test_blockpage_after_a_verified_fetch() -> None:
    verified = fetch(REAL)
    page = fetch(REAL, url=HTTP_URL, body="<title>AGCOM Stop Page</title>")
    o = obs(system(REAL), control(REAL), tcp(REAL), tcp(REAL, port=80), verified, page)
    assert _kinds(o) == ["http.blockpage"]


def test_offsite_redirect_among_other_hops() -> None:
    hops = (hop(f"https://{DOMAIN}/", "http://warning.isp.test/"),  # not cleartext: skipped
            hop(HTTP_URL, f"https://{DOMAIN}/en"),  # same site
            hop(f"http://{DOMAIN}/en", "http://warning.isp.test/"))  # fmt: skip
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, redirects=hops), target=HTTP_URL)  # fmt: skip
    assert _kinds(o) == ["http.redirect_offsite"]
    # Two fetches redirecting away: one anomaly.
    twice = fetch(REAL, url=HTTP_URL, redirects=(hop(HTTP_URL, "http://warning.isp.test/"),))
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), twice, twice, target=HTTP_URL)
    assert _kinds(o) == ["http.redirect_offsite"]


def test_benign_handshake_on_another_address_is_no_contrast() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL2), hs(REAL, kind="benign"),
            hs(REAL2, error="reset"))  # fmt: skip
    a = _only(o, "tls.reset")
    assert a.detail.endswith("no benign-SNI handshake to compare"), a.detail


def test_residual_benign_failure_does_not_make_it_ambiguous() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL),
            hs(REAL, kind="benign", error="reset", residual=True), hs(REAL, error="reset"))
    a = _only(o, "tls.reset")
    assert "ambiguous" not in a.detail
    assert _verdict(o) == ("tls_blocked", "likely", ["tls.reset"])


def test_a_different_benign_certificate_leaves_interception() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="99")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="22")))  # fmt: skip
    assert _kinds(o) == ["tls.cert_invalid"]


def test_cert_failure_off_the_control_addresses_first() -> None:
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER), tcp(REAL),
            hs(CDN_OTHER, error="cert_unknown_ca", crt=cert(sha="ab")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="cd")))  # fmt: skip
    assert _only(o, "tls.cert_invalid").addresses == (REAL,)


def test_injection_summary_counts_one_response() -> None:
    o = obs(system(REAL), control(REAL), query("injection", resp(FORGED)), *clean_https())
    assert judge(o).summary.startswith("DNS answers forged on the path (1 response)")


def test_control_server_benign_handshake_does_not_confirm_tls_blocking() -> None:
    base = (system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"))
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL, kind="benign"),)))
    assert _verdict(o) == ("tls_blocked", "likely", ["tls.reset"])
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL),)))
    assert _verdict(o) == ("tls_blocked", "confirmed", ["tls.reset"])


def test_cleartext_timeout_without_control_server_is_not_host_filtering() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="timeout"), target=HTTP_URL)  # fmt: skip
    assert _verdict(o) == ("inconclusive", "none", ["http.timeout"])


def test_inconsistent_aaaa_answer_shown_wrong_where_ipv6_works() -> None:
    forged6 = "2a03:2880::1"
    probe6 = query("probe", resp(forged6), qtype="AAAA")
    o = obs(system(REAL), probe6, control(REAL), control(REAL6, qtype="AAAA"), tcp(REAL),
            tcp(REAL6), tcp(forged6, error="timeout"))  # fmt: skip
    assert _verdict(o) == ("dns_blocked", "likely", ["dns.inconsistent"])


def test_bare_failure_reason_names_the_failed_connect() -> None:
    o = obs(system(REAL2, REAL), tcp(REAL2), tcp(REAL, error="timeout"))
    assert judge(o).reason.startswith(f"TCP connect to {REAL}:443 failed (timeout)")


def test_redirect_loop_summary_and_control_fetch() -> None:
    loop = fetch(REAL, ok=False, error="too_many_redirects", tls_ok=True)
    r = judge(obs(system(REAL), control(REAL), tcp(REAL), loop))
    assert r.summary == "Unclear: the page request fails"
    # The control server fetched the page fine: still no evidence against the network.
    r = judge(obs(system(REAL), control(REAL), tcp(REAL), loop,
                  control_server=ctrl_server(http=fetch(REAL))))  # fmt: skip
    assert (r.verdict, r.confidence) == ("inconclusive", "none")


def test_site_certificate_failure_reason_names_the_first() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL, error="cert_hostname", crt=cert()), hs(REAL2, error="cert_expired",
                                                            crt=cert()))  # fmt: skip
    r = judge(o)
    assert (r.verdict, r.confidence) == ("site_down", "likely")
    assert r.reason == f"the site's certificate on {REAL} fails (cert_hostname)"


def test_control_nxdomain_wins_over_later_evidence() -> None:
    # The name does not exist (control) and the probe got nothing: site_down, whatever a stale
    # address shows later.
    o = obs(query("system"), control(rcode="NXDOMAIN"), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset"))  # fmt: skip
    assert _verdict(o)[:2] == ("site_down", "likely")


def test_probe_empty_answer_is_not_agreeing_with_nxdomain() -> None:
    assert _verdict(obs(system(), control(rcode="NXDOMAIN")))[:2] == ("site_down", "likely")


def test_trusted_dns_is_only_told_for_dns_blocking() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset"))  # fmt: skip
    r = judge(o)
    assert r.verdict == "tls_blocked" and r.reachable_with_trusted_dns is None


# ------------------------------------------------------------- third pass (rerun survivors)


def test_a_resolver_that_answered_another_query_works() -> None:
    # SERVFAIL for A, a real AAAA answer from the same resolver: it is the name, not the resolver
    # (the resolver strings come from separate JSON values, so equal but not identical).
    o = obs(system(rcode="SERVFAIL"), system(REAL6, qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"))  # fmt: skip
    assert _verdict(o) == ("dns_blocked", "likely", ["dns.servfail"])
    # Twin: the resolver answers nothing at all: it is down, not censoring.
    o = obs(system(rcode="SERVFAIL"), query("system", resp(rcode="SERVFAIL"), qtype="AAAA"),
            control(REAL), control(REAL6, qtype="AAAA"))  # fmt: skip
    assert _verdict(o)[0] != "dns_blocked"


def test_forged_answers_without_addresses_show_the_first_rcode() -> None:
    o = obs(query("system", resp(rcode="NXDOMAIN", ms=1), resp(ms=2), resp(REAL, ms=90)))
    assert _only(o, "dns.injection").detail.endswith("forged: NXDOMAIN")


def test_a_handshake_for_a_name_sorting_after_the_site_is_not_validation() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, sni="zzz.example"))
    assert _kinds(o) == ["dns.inconsistent"]


def test_aaaa_nxdomain_not_excused_by_another_resolvers_a() -> None:
    # The probe resolver gave A; the system resolver's AAAA NXDOMAIN is not excused by it.
    o = obs(query("probe", resp(REAL)), system(rcode="NXDOMAIN", qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"), *clean_https())  # fmt: skip
    assert _kinds(o) == ["dns.nxdomain"]


def test_blockpage_in_a_redirect_location() -> None:
    # The Thai blockpage redirect: the final page itself matches nothing.
    hops = (hop(HTTP_URL, "http://103.86.50.16/blocked"),)
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, redirects=hops, final_url="http://103.86.50.16/blocked"),
            target=HTTP_URL)  # fmt: skip
    assert "http.blockpage" in _kinds(o)


def test_throttled_details_round_like_people_do() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1050.0)
    fast = dataclasses.replace(fetch(REAL), body_length=1_000_000, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow, control_server=ctrl_server(http=fast))
    assert _only(o, "http.throttled").detail == (
        f"page from {REAL} arrived at 19 KiB/s (20000 bytes in 1.1 s); "
        "the control server got 977 KiB/s")


def test_ghost_summary_lists_later_stages() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=2000.0)
    o = obs(system(FORGED), control(rcode="NXDOMAIN"), tcp(REAL), hs(REAL, kind="benign"), slow)
    assert judge(o).summary == ("DNS answers for a name that does not exist (trusted DNS says "
                                "so); also: Page delivered far slower than from outside "
                                "(throttled)")  # fmt: skip


def test_inconsistent_answer_shown_wrong_summary() -> None:
    o = obs(system(FORGED), control(REAL), tcp(FORGED), hs(FORGED, error="cert_hostname"))
    assert judge(o).summary == "DNS gives addresses that are not the site's"


def test_eof_after_connecting_with_a_control_server_that_fetched() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="eof"), target=HTTP_URL,
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))  # fmt: skip
    assert _verdict(o) == ("http_blocked", "confirmed", ["http.eof"])


def test_https_fetch_on_a_different_address_sorting_after() -> None:
    later = "151.101.99.10"  # sorts after REAL as a string
    o = obs(system(REAL, later), control(REAL, later), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"),
            fetch(later, ok=False, error="refused", tls_ok=False), target=HTTP_URL)  # fmt: skip
    assert _verdict(o)[:2] == ("http_blocked", "likely")


def test_residual_failure_reason() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset", residual=True))  # fmt: skip
    assert judge(o).reason == (f"TLS handshake with {REAL} failed (reset) (possibly residual "
                               "blocking left by an earlier site)")  # fmt: skip


def test_inconclusive_summary_starts_from_the_first_anomaly() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(REAL, error="timeout"))
    r = judge(o)
    assert [a.kind for a in r.anomalies] == ["dns.inconsistent", "tcp.timeout"]
    assert r.summary == ("Unclear: DNS answers differ from the site's known addresses (not "
                         "shown to be wrong); no control to compare")  # fmt: skip


# ------------------------------------------------------------ fourth pass (rerun survivors)


def test_a_control_answering_garbage_only_is_a_control_that_failed() -> None:
    garbage = query("control", resp(rcode="MALFORMED"), error="dns_malformed")
    o = obs(system(REAL), garbage, tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _kinds(o) == ["http.reset"]  # garbage is no answer: no control at all


def test_real_answer_first_and_forged_second_with_a_control() -> None:
    o = obs(query("system", resp(REAL, ms=1), resp(FORGED, ms=9)), control(REAL))
    assert _only(o, "dns.injection").addresses == (FORGED,)


def test_nxdomain_racing_a_real_answer_when_the_control_failed() -> None:
    # The DoH control answered SERVFAIL: nothing says the name exists, yet the NXDOMAIN cannot
    # be the truth either (the control did not say NXDOMAIN), so it is the forged one.
    o = obs(query("system", resp(REAL, ms=1), resp(rcode="NXDOMAIN", ms=9)), DOH_SERVFAIL)
    a = _only(o, "dns.injection")
    assert a.addresses == () and a.detail.endswith("forged: NXDOMAIN")


def test_drop_after_a_certificate_failure_on_another_address() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="cert_hostname", crt=cert()), hs(REAL, error="reset"))  # fmt: skip
    assert _kinds(o) == ["tls.reset"]


def test_interception_after_a_sites_own_expired_certificate() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="cert_expired", crt=cert(sha="e1")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="e2")))  # fmt: skip
    assert _only(o, "tls.cert_invalid").addresses == (REAL,)


def test_garbage_from_the_resolver_never_decides() -> None:
    garbage = query("system", resp(rcode="MALFORMED"), error="dns_malformed")
    r = judge(obs(garbage, control(REAL), *clean_https()))
    assert (r.verdict, sorted(a.kind for a in r.anomalies)) == ("inconclusive", ["dns.malformed"])


def test_lead_summary_leaves_out_earlier_unproven_anomalies() -> None:
    o = obs(system(REAL), query("probe", resp(CDN_OTHER)), control(REAL), tcp(REAL),
            hs(REAL, kind="benign"), hs(REAL, error="reset"))  # fmt: skip
    r = judge(o)
    assert sorted(a.kind for a in r.anomalies) == ["dns.inconsistent", "tls.sni_filtering"]
    assert r.summary == "TLS cut off when the SNI names the site; other names pass"


def test_tls_stall_summary() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="timeout"))
    r = judge(o)
    assert (r.verdict, r.summary) == ("tls_blocked", "TLS handshake stalls on the site's real "
                                                     "address")  # fmt: skip


def test_accessible_with_a_reported_connect_failure_is_not_slow() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), *clean_https(REAL),
            tcp(REAL2, error="timeout"))  # fmt: skip
    r = judge(o)
    assert (r.verdict, [a.kind for a in r.anomalies]) == ("accessible", ["tcp.timeout"])
    assert r.summary == "Reachable (verified HTTPS)"


def test_throttled_time_rounds_on_the_millisecond() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1049.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert _only(o, "http.throttled").detail.endswith("(20000 bytes in 1.0 s)")


def test_benign_handshake_on_an_address_sorting_first_is_no_contrast() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), hs(REAL2, kind="benign"),
            hs(REAL, error="reset"))  # fmt: skip
    assert _kinds(o) == ["tls.reset"]


def test_bogon_for_a_name_that_does_not_exist_summary() -> None:
    r = judge(obs(system("10.1.1.1"), control(rcode="NXDOMAIN")))
    assert (r.verdict, r.summary) == ("dns_blocked", "DNS points to a private/reserved address")


def test_cleartext_reset_next_to_an_https_fetch_on_the_same_address() -> None:
    # The same address answered an https fetch too (it failed before TLS): the reset may be the
    # server's, not a Host filter; the addresses are equal strings from separate JSON values.
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"),
            fetch(REAL, ok=False, error="refused", tls_ok=False), target=HTTP_URL)  # fmt: skip
    assert _verdict(o) == ("inconclusive", "none", ["http.reset"])


def test_dns_only_run_with_a_silent_probe_resolver_agrees() -> None:
    o = obs(system(REAL), query("probe"), control(REAL))
    assert _verdict(o) == ("accessible", "likely", ["dns.timeout"])


# ------------------------------------------------------------- sixth pass (rerun survivors)


def test_aaaa_nxdomain_not_excused_by_an_a_answer_for_a_later_sorting_name() -> None:
    other = query("probe", resp(REAL), qname="zzz.example.net")
    probe_aaaa_nx = query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA")
    o = obs(other, probe_aaaa_nx, control(REAL), control(REAL6, qtype="AAAA"), *clean_https())
    assert _kinds(o) == ["dns.nxdomain"]


def test_censor_and_blockpage_details_name_the_country() -> None:
    a = _only(obs(system("10.10.34.35"), control(REAL)), "dns.known_censor_ip")
    assert "dns_nat_ir_inject_2 (IR)" in a.detail and "dns_br_localhost" not in a.detail
    generic = _only(obs(system("127.0.0.1"), control(REAL)), "dns.known_censor_ip")
    assert generic.detail.endswith("signature(s): dns_br_localhost"), generic.detail
    page = obs(system(REAL), control(REAL), tcp(REAL, port=80),
               fetch(REAL, url=HTTP_URL, body="<title>AGCOM Stop Page</title>"),
               target=HTTP_URL)  # fmt: skip
    bp = _only(page, "http.blockpage")
    assert bp.confirmed and bp.detail.endswith("fingerprint(s): nat_it_agcom_block (IT)")


def test_registrable_of_a_name_starting_with_digits() -> None:
    assert registrable("123.example.com") == "example.com"


def test_each_request_failure_kind_is_reported_once() -> None:
    fails = [fetch(a, ok=False, url=HTTP_URL, error=e)
             for a, e in ((REAL, "reset"), (REAL2, "reset"), (REAL3, "timeout"))]  # fmt: skip
    o = obs(system(REAL, REAL2, REAL3), control(REAL, REAL2, REAL3),
            *(tcp(a, port=80) for a in (REAL, REAL2, REAL3)), *fails, target=HTTP_URL)
    assert _kinds(o) == ["http.reset", "http.timeout"]


def test_uncommon_headers_only_on_the_probe_are_not_shared() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, names=("date", "server", "x-a")),
                   fetch(REAL, names=("date", "server")))[2] is False  # fmt: skip


def test_a_slow_fetch_after_a_fast_one_is_throttling() -> None:
    fast = dataclasses.replace(fetch(REAL), body_length=200_000, body_ms=1000.0)
    slow = dataclasses.replace(fetch(REAL2), body_length=20_000, body_ms=2000.0)
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2), fast, slow)
    assert _only(o, "http.throttled").addresses == (REAL2,)


@pytest.mark.parametrize(("length", "kib"), [(19_967, 19), (19_968, 20)])
def test_throttled_rate_rounds_to_whole_kib(length: int, kib: int) -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=length, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert f"arrived at {kib} KiB/s " in _only(o, "http.throttled").detail


def test_connect_errors_without_a_kind_are_not_anomalies() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, error="error"))
    assert _kinds(o) == []


def test_control_verified_another_address_sorting_first() -> None:
    expired = hs(REAL2, error="cert_expired", crt=cert())
    o = obs(system(REAL2), control(REAL, REAL2), tcp(REAL2), expired,
            control_server=ctrl_server(tls_=(hs(REAL),)))  # fmt: skip
    assert _kinds(o) == []


def test_the_ip_literal_is_where_the_site_is_even_with_control_answers() -> None:
    o = obs(control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=cert(sha="f00d")),
            target=REAL)  # fmt: skip
    assert _kinds(o) == ["tls.cert_invalid"]


def test_https_timeout_after_tls_with_a_control_server_that_fetched() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, ok=False, error="timeout", tls_ok=True),
            control_server=ctrl_server(http=fetch(REAL)))  # fmt: skip
    assert _verdict(o) == ("http_blocked", "confirmed", ["http.timeout"])


def test_cleartext_eof_without_control_server_is_not_host_filtering() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="eof"), target=HTTP_URL)  # fmt: skip
    assert _verdict(o) == ("inconclusive", "none", ["http.eof"])


# ----------------------------------------------------------- seventh pass (rerun survivors)


def test_garbage_datagrams_are_never_read_for_addresses() -> None:
    garbage = resp("10.1.1.1", rcode="MALFORMED", ms=1)
    o = obs(query("system", garbage, resp(REAL, ms=5)), control(REAL), *clean_https())
    assert _kinds(o) == []


def test_a_control_without_a_records_is_not_contradicted_by_a_certificate() -> None:
    # The control resolves the name to IPv6 only: a silent A query is not a failure, whatever a
    # verified IPv4 handshake says.
    o = obs(query("system"), control(), control(REAL6, qtype="AAAA"), *clean_https(REAL))
    assert "dns.timeout" not in _kinds(o)


def test_a_verified_ip_literal_stays_genuine() -> None:
    no_sni = dataclasses.replace(hs(REAL), sni=None)
    o = obs(tcp(REAL), no_sni, tcp(REAL, port=80, error="timeout"), target=REAL)
    assert _kinds(o) == ["tcp.timeout"]


def test_a_failure_on_the_genuine_address_does_not_prove_the_dns_answer_wrong() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert _verdict(o) == ("http_blocked", "likely", ["dns.inconsistent", "http.reset"])


def test_unanswered_query_before_an_inconsistent_one() -> None:
    o = obs(query("system"), query("probe", resp(FORGED)), control(REAL), tcp(FORGED),
            hs(FORGED, error="cert_hostname"))  # fmt: skip
    assert _only(o, "dns.inconsistent").resolvers == ("udp:10.0.0.54:53",)


def test_validated_only_inconsistency_detail_with_a_failed_control() -> None:
    o = obs(system(CDN_OTHER), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert _only(o, "dns.inconsistent").detail.endswith(f"(the site verified on {REAL})")
    assert judge(o).summary == "Reachable (verified HTTPS)"
    failing = obs(system(FORGED), DOH_SERVFAIL, PROBE_REAL, tcp(FORGED),
                  hs(FORGED, error="cert_hostname"), *clean_https())  # fmt: skip
    assert judge(failing).summary == "DNS gives addresses that are not the site's verified one"


def test_blockpage_after_a_redirect_to_cleartext() -> None:
    f = fetch(REAL, final_url=f"http://{DOMAIN}/blocked", body="<title>AGCOM Stop Page</title>")
    o = obs(system(REAL), control(REAL), tcp(REAL), f)
    assert _kinds(o) == ["http.blockpage"]


def test_redirects_of_https_hops_are_not_judged() -> None:
    hops = (hop(f"https://{DOMAIN}/", "https://www.other-site.example/"),)
    o = obs(system(REAL), control(REAL), tcp(REAL), fetch(REAL, redirects=hops))
    assert _kinds(o) == []


def test_status_codes_compare_by_value() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, status=int("403")), fetch(REAL, status=int("403")))[0] is True


def test_uncommon_headers_only_on_the_control_are_not_shared() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, names=("date", "server")),
                   fetch(REAL, names=("date", "server", "x-a")))[2] is False  # fmt: skip


def test_status_diff_after_a_verified_fetch() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), tcp(REAL, port=80), fetch(REAL),
            fetch(REAL, url=HTTP_URL, status=403), target=HTTP_URL,
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))  # fmt: skip
    assert _kinds(o) == ["http.status_diff"]


def test_sni_filtering_detail_names_the_first_benign_name() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", sni="a.example"),
            hs(REAL, kind="benign", sni="b.example"), hs(REAL, error="reset"))  # fmt: skip
    assert _only(o, "tls.sni_filtering").detail.endswith(
        "SNI a.example completed on the same address")


@pytest.mark.parametrize("crt", [None, cert(sha=None)], ids=["no-cert", "no-fingerprint"])
def test_interception_without_a_certificate_fingerprint(crt: object) -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="1")),
            hs(REAL, error="cert_unknown_ca", crt=crt))  # type: ignore[arg-type]
    assert _kinds(o) == ["tls.cert_invalid"]


def test_working_ipv6_address_makes_an_ipv4_timeout_not_decisive() -> None:
    server = ctrl_server(tcp_=(tcp(REAL),))
    o = obs(system(REAL), control(REAL), control(REAL6, qtype="AAAA"), tcp(REAL, error="timeout"),
            tcp(REAL6), control_server=server)  # fmt: skip
    assert _verdict(o)[0] != "tcp_blocked"


def test_a_doh_control_failing_with_an_http_error_is_not_a_network_down() -> None:
    doh = query("control", error="http_status")
    assert judge(obs(query("system"), doh)).summary != "Local network looks down"


def test_inconclusive_reason_is_the_first_anomaly() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(REAL, error="timeout"))
    r = judge(o)
    assert r.reason.startswith(r.anomalies[0].detail)


def _all_cases() -> list[tuple[str, Observations]]:
    from tests.analysis.test_dns import CASES as DNS_CASES
    from tests.analysis.test_http import CASES as HTTP_CASES
    from tests.analysis.test_tcp_tls import TCP_CASES, TLS_CASES
    from tests.analysis.test_truth_and_traps import TRUTH_CASES
    from tests.analysis.test_verdict import CASES as VERDICT_CASES

    out = [(c[0], c[1]) for c in
           [*VERDICT_CASES, *TRUTH_CASES, *DNS_CASES, *HTTP_CASES, *TCP_CASES, *TLS_CASES,
            *SUMMARIES, *RACES]]  # fmt: skip
    return out


@pytest.mark.parametrize(("case", "o"), _all_cases(), ids=[c[0] for c in _all_cases()])
def test_identity_of_strings_never_matters(case: str, o: Observations) -> None:
    """Observations loaded from JSON and observations built in code (interned strings) are
    judged alike: no rule compares strings by identity."""
    a, b = judge(o), judge(interned(o))
    assert (a.verdict, a.confidence, a.anomalies, a.reason, a.summary,
            a.reachable_with_trusted_dns) == (b.verdict, b.confidence, b.anomalies, b.reason,
                                              b.summary, b.reachable_with_trusted_dns)


def test_an_nxdomain_carrying_the_real_address_is_still_a_lie() -> None:
    o = obs(query("system", resp(REAL, ms=1), resp(REAL, rcode="NXDOMAIN", ms=9)),
            control(REAL))  # fmt: skip
    a = _only(o, "dns.injection")
    assert a.detail.endswith(f"forged: {REAL}"), a.detail
