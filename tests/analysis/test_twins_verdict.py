"""Twins for the verdict (verdict.py: strength, branches, reasons, summaries): pairs of
observations one fact apart, where the fact flips exactly one condition, with the exact outcome on
both sides. Mutation testing (tools/mutation/run.sh) found each of them unpinned."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import judge
from reachcheck.model import Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    REAL,
    REAL2,
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
from tests.analysis.twins import (
    DOH_SERVFAIL,
    HTTP_URL,
    PROBE_REAL,
    one_of,
    outcome,
)  # fmt: skip


def test_tcp_failure_is_not_decisive_when_another_genuine_address_works() -> None:
    server = ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)))
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL, error="timeout"), tcp(REAL2),
            control_server=server)  # fmt: skip
    assert outcome(o) == ("accessible", "likely", ["tcp.timeout"])
    twin = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"), control_server=server)
    assert outcome(twin) == ("tcp_blocked", "confirmed", ["tcp.timeout"])


def test_tls_failure_the_control_server_sees_too_is_site_down() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
            control_server=ctrl_server(tls_=(hs(REAL, error="reset"),)))  # fmt: skip
    assert outcome(o) == ("site_down", "confirmed", ["tls.reset"])


def test_cleartext_reset_next_to_an_https_fetch_elsewhere() -> None:
    # No control server: a reset in cleartext is the Host-filtering signature; an https fetch
    # to another address does not make this one "after a verified handshake".
    other = fetch(REAL2, ok=False, error="refused", tls_ok=False)
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), other, target=HTTP_URL)
    assert outcome(o)[:2] == ("http_blocked", "likely")


def test_validated_only_inconsistency_needs_a_failure_even_when_the_control_failed() -> None:
    o = obs(system(CDN_OTHER), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert outcome(o) == ("accessible", "confirmed", ["dns.inconsistent"])


def test_control_empty_and_probe_nxdomain_is_site_down() -> None:
    # The control finds the name but no address anywhere (design 5.1, a dangling CNAME and its
    # kin): there is nowhere to connect, so the probe's NXDOMAIN denies the user nothing.
    assert outcome(obs(system(rcode="NXDOMAIN"), control())) == ("site_down", "confirmed", [])
    # Twin: the control has an address: the NXDOMAIN is a lie.
    assert outcome(obs(system(rcode="NXDOMAIN"), control(REAL), *clean_https())) == (
        "dns_blocked", "confirmed", ["dns.nxdomain"])


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
    assert outcome(o) == ("inconclusive", "none", [])


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


SUMMARIES = [
    ("inconsistent-unproven", obs(system(CDN_OTHER), control(REAL)),
     "Unclear: DNS answers differ from the site's known addresses (not shown to be wrong)"),
    ("inconsistent-vs-validated", obs(system(FORGED), PROBE_REAL, tcp(FORGED),
                                      hs(FORGED, error="cert_hostname"), *clean_https()),
     "DNS gives addresses that are not the site's verified one"),
    ("ghost", obs(system(FORGED), query("probe", resp(FORGED)), control(rcode="NXDOMAIN")),
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


def test_a_failed_cleartext_fetch_shows_the_answer_wrong() -> None:
    # The forged address connects, then the request fails: that failure decides dns.inconsistent.
    o = obs(system(FORGED), control(REAL), tcp(FORGED, port=80),
            fetch(FORGED, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert outcome(o) == ("dns_blocked", "likely", ["dns.inconsistent"])


def test_injection_summary_counts_one_response() -> None:
    o = obs(system(REAL), control(REAL), query("injection", resp(FORGED)), *clean_https())
    assert judge(o).summary.startswith("DNS answers forged on the path (1 response)")


def test_control_server_benign_handshake_does_not_confirm_tls_blocking() -> None:
    base = (system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"))
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL, kind="benign"),)))
    assert outcome(o) == ("tls_blocked", "likely", ["tls.reset"])
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL),)))
    assert outcome(o) == ("tls_blocked", "confirmed", ["tls.reset"])


def test_cleartext_timeout_without_control_server_is_not_host_filtering() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="timeout"), target=HTTP_URL)  # fmt: skip
    assert outcome(o) == ("inconclusive", "none", ["http.timeout"])


def test_inconsistent_aaaa_answer_shown_wrong_where_ipv6_works() -> None:
    forged6 = "2a03:2880::1"
    probe6 = query("probe", resp(forged6), qtype="AAAA")
    o = obs(system(REAL), probe6, control(REAL), control(REAL6, qtype="AAAA"), tcp(REAL),
            tcp(REAL6), tcp(forged6, error="timeout"))  # fmt: skip
    assert outcome(o) == ("dns_blocked", "likely", ["dns.inconsistent"])


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
    assert outcome(o)[:2] == ("site_down", "likely")


def test_probe_empty_answer_is_not_agreeing_with_nxdomain() -> None:
    assert outcome(obs(system(), control(rcode="NXDOMAIN")))[:2] == ("site_down", "likely")


def test_trusted_dns_is_only_told_for_dns_blocking() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset"))  # fmt: skip
    r = judge(o)
    assert r.verdict == "tls_blocked" and r.reachable_with_trusted_dns is None


def test_ghost_summary_lists_later_stages() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=2000.0)
    o = obs(system(FORGED), query("probe", resp(FORGED)), control(rcode="NXDOMAIN"), tcp(REAL),
            hs(REAL, kind="benign"), slow)
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
    assert outcome(o) == ("http_blocked", "confirmed", ["http.eof"])


def test_https_fetch_on_a_different_address_sorting_after() -> None:
    later = "151.101.99.10"  # sorts after REAL as a string
    o = obs(system(REAL, later), control(REAL, later), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"),
            fetch(later, ok=False, error="refused", tls_ok=False), target=HTTP_URL)  # fmt: skip
    assert outcome(o)[:2] == ("http_blocked", "likely")


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


def test_bogon_for_a_name_that_does_not_exist_summary() -> None:
    r = judge(obs(system("10.1.1.1"), control(rcode="NXDOMAIN")))
    assert (r.verdict, r.summary) == ("dns_blocked", "DNS points to a private/reserved address")


def test_cleartext_reset_next_to_an_https_fetch_on_the_same_address() -> None:
    # The same address answered an https fetch too (it failed before TLS): the reset may be the
    # server's, not a Host filter; the addresses are equal strings from separate JSON values.
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"),
            fetch(REAL, ok=False, error="refused", tls_ok=False), target=HTTP_URL)  # fmt: skip
    assert outcome(o) == ("inconclusive", "none", ["http.reset"])


def test_dns_only_run_with_a_silent_probe_resolver_agrees() -> None:
    o = obs(system(REAL), query("probe"), control(REAL))
    assert outcome(o) == ("accessible", "likely", ["dns.timeout"])


def test_https_timeout_after_tls_with_a_control_server_that_fetched() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, ok=False, error="timeout", tls_ok=True),
            control_server=ctrl_server(http=fetch(REAL)))  # fmt: skip
    assert outcome(o) == ("http_blocked", "confirmed", ["http.timeout"])


def test_cleartext_eof_without_control_server_is_not_host_filtering() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="eof"), target=HTTP_URL)  # fmt: skip
    assert outcome(o) == ("inconclusive", "none", ["http.eof"])


def test_a_failure_on_the_genuine_address_does_not_prove_the_dns_answer_wrong() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert outcome(o) == ("http_blocked", "likely", ["dns.inconsistent", "http.reset"])


def test_validated_only_inconsistency_detail_with_a_failed_control() -> None:
    o = obs(system(CDN_OTHER), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert one_of(o, "dns.inconsistent").detail.endswith(f"(the site verified on {REAL})")
    assert judge(o).summary == "Reachable (verified HTTPS)"
    failing = obs(system(FORGED), DOH_SERVFAIL, PROBE_REAL, tcp(FORGED),
                  hs(FORGED, error="cert_hostname"), *clean_https())  # fmt: skip
    assert judge(failing).summary == "DNS gives addresses that are not the site's verified one"


def test_working_ipv6_address_makes_an_ipv4_timeout_not_decisive() -> None:
    server = ctrl_server(tcp_=(tcp(REAL),))
    o = obs(system(REAL), control(REAL), control(REAL6, qtype="AAAA"), tcp(REAL, error="timeout"),
            tcp(REAL6), control_server=server)  # fmt: skip
    assert outcome(o)[0] != "tcp_blocked"


def test_a_doh_control_failing_with_an_http_error_is_not_a_network_down() -> None:
    doh = query("control", error="http_status")
    assert judge(obs(query("system"), doh)).summary != "Local network looks down"


def test_inconclusive_reason_is_the_first_anomaly() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(REAL, error="timeout"))
    r = judge(o)
    assert r.reason.startswith(r.anomalies[0].detail)
