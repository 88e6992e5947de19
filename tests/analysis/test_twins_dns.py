"""Twins for the DNS rules and the shared facts (context.py, dns.py, fingerprints.py): pairs of
observations one fact apart, where the fact flips exactly one condition, with the exact outcome on
both sides. Mutation testing (tools/mutation/run.sh) found each of them unpinned."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import anomalies
from reachcheck.analysis.context import is_public_name
from reachcheck.analysis.fingerprints import _fp
from reachcheck.model import DnsResponse, Observations
from tests.analysis.builders import (
    CDN_OTHER,
    FORGED,
    FORGED2,
    REAL,
    REAL2,
    REAL6,
    cert,
    clean_https,
    control,
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
    REAL3,
    REAL4,
    kinds_of,
    one_of,
    outcome,
)  # fmt: skip


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
    assert kinds_of(o) == []
    twin = obs(system(REAL), tcp(REAL, port=80),
               fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert kinds_of(twin) == ["http.reset"]


def test_validated_truth_counts_when_the_control_failed_too() -> None:
    # The DoH control answered SERVFAIL ("failed"): a verified handshake still proves the name.
    o = obs(system(rcode="NXDOMAIN"), DOH_SERVFAIL, PROBE_REAL, *clean_https())
    assert outcome(o) == ("dns_blocked", "confirmed", ["dns.nxdomain"])


def test_a_handshake_without_sni_validates_its_address() -> None:
    no_sni = dataclasses.replace(hs(CDN_OTHER), sni=None)
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), no_sni)
    assert kinds_of(o) == []  # CDN_OTHER verified: the differing answer is genuine
    other_name = hs(CDN_OTHER, sni="other.example")  # verified, but for another name
    twin = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), other_name)
    assert kinds_of(twin) == ["dns.inconsistent"]


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
    a = one_of(o, "dns.injection")
    assert a.addresses == addresses
    assert a.detail.endswith(f"forged: {shown}"), a.detail
    assert a.detail.startswith("2 differing responses to one A query")


def test_without_a_yardstick_all_but_the_last_answer_are_forged() -> None:
    o = obs(query("system", resp(FORGED, ms=1), resp(FORGED2, ms=2), resp(REAL, ms=90)))
    assert one_of(o, "dns.injection").addresses == (FORGED, FORGED2)


def test_failing_answers_never_race() -> None:
    # A SERVFAIL next to a real answer is a flaky resolver, not a second, forged answer.
    o = obs(query("system", resp(rcode="SERVFAIL", ms=1), resp(REAL, ms=50)))
    assert kinds_of(o) == []


def test_empty_answer_from_the_injection_probe() -> None:
    # Nothing runs DNS there: an empty NOERROR is forged when the control resolves the name...
    o = obs(system(REAL), control(REAL), query("injection", resp()), *clean_https())
    a = one_of(o, "dns.injection")
    assert a.detail.startswith("udp:10.9.9.9:53 runs no DNS service") and a.addresses == ()
    # ...and the truth when the control says the name has no address.
    assert kinds_of(obs(system(), control(), query("injection", resp()))) == []


def test_the_control_own_empty_aaaa_is_not_injection() -> None:
    # An IPv4-only site: the DoH control's AAAA answer is empty. Control answers are the
    # yardstick, never suspects.
    o = obs(system(REAL), control(REAL), control(qtype="AAAA"), *clean_https())
    assert outcome(o) == ("accessible", "confirmed", [])


def test_aaaa_nxdomain_is_excused_only_by_the_same_resolvers_a_answer() -> None:
    ctrl = (control(REAL), control(REAL6, qtype="AAAA"))
    probe_aaaa_nx = query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA")
    # The system resolver gave A, the probe resolver said the name does not exist: a lie.
    o = obs(system(REAL), probe_aaaa_nx, *ctrl, *clean_https())
    assert kinds_of(o) == ["dns.nxdomain"]
    # The same resolver gave A: an old home router's AAAA habit, excused.
    o = obs(query("probe", resp(REAL)), probe_aaaa_nx, *ctrl, *clean_https())
    assert kinds_of(o) == []
    # It gave A, but for another name (a redirect hop): not excused.
    other = query("probe", resp(REAL), qname="static.example.net")
    assert kinds_of(obs(other, probe_aaaa_nx, *ctrl, *clean_https())) == ["dns.nxdomain"]
    # It gave AAAA addresses on another query, not A: not excused either.
    aaaa = query("probe", resp(REAL6), qtype="AAAA")
    assert kinds_of(obs(aaaa, probe_aaaa_nx, *ctrl, *clean_https())) == ["dns.nxdomain"]


def test_failure_detail_names_up_to_three_validated_addresses() -> None:
    o = obs(system(rcode="NXDOMAIN"), *clean_https(REAL), *clean_https(REAL2),
            *clean_https(REAL3))  # fmt: skip
    detail = one_of(o, "dns.nxdomain").detail
    assert all(a in detail for a in (REAL, REAL2, REAL3)), detail


def test_bogon_is_not_confirmed_by_a_control_without_addresses() -> None:
    assert one_of(obs(system("10.1.1.1"), control()), "dns.bogon").confirmed is False
    assert one_of(obs(system("10.1.1.1"), control(REAL)), "dns.bogon").confirmed is True


def test_censor_addresses_are_named() -> None:
    a = one_of(obs(system("10.10.34.35", FORGED)), "dns.known_censor_ip")
    assert a.addresses == ("10.10.34.35",)  # the forged-looking public one is no signature


def test_every_resolver_is_judged_on_its_own() -> None:
    # The system resolver agrees; the probe resolver after it does not.
    o = obs(system(REAL), query("probe", resp(FORGED)), control(REAL), tcp(FORGED),
            hs(FORGED, error="cert_hostname"))  # fmt: skip
    a = one_of(o, "dns.inconsistent")
    assert a.resolvers == ("udp:10.0.0.54:53",) and a.addresses == (FORGED,)
    assert a.detail.endswith("none is a control address or TLS-validated"), a.detail


@pytest.mark.parametrize(
    ("o", "ending"),
    [
        # the resolver abroad answers the dead name too (alone, it is the ISP's rewriting)
        (obs(system(FORGED), query("probe", resp(FORGED)), control(rcode="NXDOMAIN")),
         "the control says it does not exist"),
        (obs(system(CDN_OTHER), PROBE_REAL, *clean_https()),
         f"none is TLS-validated (the site verified on {REAL})"),
    ],
)  # fmt: skip


def test_inconsistency_detail_says_what_it_was_measured_against(o: Observations,
                                                                ending: str) -> None:
    found = [a for a in anomalies(o) if a.kind == "dns.inconsistent"]
    assert found and all(a.detail.endswith(ending) for a in found), found


def test_fingerprint_without_a_confidence_gets_the_lowest() -> None:
    assert _fp({"name": "x"}).confidence == 1
    assert _fp({"name": "x", "confidence_no_fp": 7}).confidence == 7


def test_request_failure_detail_names_the_stage_that_worked() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert one_of(o, "http.reset").detail == (
        f"GET {HTTP_URL} via {REAL} failed (reset) after TCP succeeded")
    o = obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, ok=False, error="timeout", tls_ok=True))  # fmt: skip
    assert one_of(o, "http.timeout").detail.endswith("failed (timeout) after TLS succeeded")


def test_dns_only_run_with_a_silent_injection_probe_agrees() -> None:
    o = obs(system(REAL), query("injection"), control(REAL))
    assert outcome(o) == ("accessible", "likely", [])


def test_injection_probe_answer_without_any_control() -> None:
    o = obs(system(REAL), query("injection", resp(FORGED)))
    assert kinds_of(o) == ["dns.injection"]


def test_racing_answers_over_doh_are_not_injection() -> None:
    # Only UDP answers can be raced by an on-path injector.
    doh = dataclasses.replace(query("probe", resp(FORGED, ms=1), resp(REAL, ms=90)),
                              transport="doh")  # fmt: skip
    assert "dns.injection" not in kinds_of(obs(doh, control(REAL)))


def test_aaaa_nxdomain_next_to_a_timed_out_a_query() -> None:
    o = obs(query("probe"), query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"), *clean_https())  # fmt: skip
    assert kinds_of(o) == ["dns.nxdomain", "dns.timeout"]


def test_an_a_nxdomain_is_never_excused() -> None:
    # The same resolver answered A once and NXDOMAIN to another A query: the NXDOMAIN lies.
    o = obs(system(REAL), system(rcode="NXDOMAIN"), control(REAL), *clean_https())
    assert kinds_of(o) == ["dns.nxdomain"]


def test_formerr_from_the_resolver_is_no_evidence() -> None:
    # FORMERR says our query was malformed: nothing about the name.
    assert kinds_of(obs(system(rcode="FORMERR"), control(REAL), *clean_https())) == []


def test_failure_detail_names_the_control_that_resolves_the_name() -> None:
    # (A control that finds the name without any address agrees with an NXDOMAIN: design 5.1,
    # pinned in test_hard_cases.py and test_twins_verdict.py.)
    detail = one_of(obs(system(rcode="NXDOMAIN"), control(REAL)), "dns.nxdomain").detail
    assert detail.endswith("the control resolves it"), detail


def test_failure_detail_shows_at_most_three_validated_addresses() -> None:
    sites = [*clean_https(REAL), *clean_https(REAL2), *clean_https(REAL3), *clean_https(REAL4)]
    detail = one_of(obs(system(rcode="NXDOMAIN"), *sites), "dns.nxdomain").detail
    shown = sorted([REAL, REAL2, REAL3, REAL4])
    assert detail.endswith(f"succeeded on {', '.join(shown[:3])}"), detail
    o = obs(system(CDN_OTHER), PROBE_REAL, *sites)
    detail = one_of(o, "dns.inconsistent").detail
    assert detail.endswith(f"(the site verified on {', '.join(shown[:3])})"), detail


def test_inconsistency_leaves_out_addresses_flagged_elsewhere() -> None:
    o = obs(system(FORGED), query("probe", resp("10.1.1.1")), control(REAL))
    a = one_of(o, "dns.inconsistent")
    assert (a.addresses, a.resolvers) == ((FORGED,), ("udp:10.0.0.53:53",))


def test_unparsable_address_in_a_dns_answer_is_no_signature() -> None:
    from reachcheck.analysis.fingerprints import match_dns_answer

    assert match_dns_answer(["not:an:address", "1.2.3"]) == ()


def test_a_resolver_that_answered_another_query_works() -> None:
    # SERVFAIL for A, a real AAAA answer from the same resolver: it is the name, not the resolver
    # (the resolver strings come from separate JSON values, so equal but not identical).
    o = obs(system(rcode="SERVFAIL"), system(REAL6, qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"))  # fmt: skip
    assert outcome(o) == ("dns_blocked", "likely", ["dns.servfail"])
    # Twin: the resolver answers nothing at all: it is down, not censoring.
    o = obs(system(rcode="SERVFAIL"), query("system", resp(rcode="SERVFAIL"), qtype="AAAA"),
            control(REAL), control(REAL6, qtype="AAAA"))  # fmt: skip
    assert outcome(o)[0] != "dns_blocked"


def test_forged_answers_without_addresses_show_the_first_rcode() -> None:
    o = obs(query("system", resp(rcode="NXDOMAIN", ms=1), resp(ms=2), resp(REAL, ms=90)))
    assert one_of(o, "dns.injection").detail.endswith("forged: NXDOMAIN")


def test_a_handshake_for_a_name_sorting_after_the_site_is_not_validation() -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, sni="zzz.example"))
    assert kinds_of(o) == ["dns.inconsistent"]


def test_aaaa_nxdomain_not_excused_by_another_resolvers_a() -> None:
    # The probe resolver gave A; the system resolver's AAAA NXDOMAIN is not excused by it.
    o = obs(query("probe", resp(REAL)), system(rcode="NXDOMAIN", qtype="AAAA"), control(REAL),
            control(REAL6, qtype="AAAA"), *clean_https())  # fmt: skip
    assert kinds_of(o) == ["dns.nxdomain"]


def test_a_control_answering_garbage_only_is_a_control_that_failed() -> None:
    garbage = query("control", resp(rcode="MALFORMED"), error="dns_malformed")
    o = obs(system(REAL), garbage, tcp(REAL, port=80),
            fetch(REAL, ok=False, url=HTTP_URL, error="reset"), target=HTTP_URL)  # fmt: skip
    assert kinds_of(o) == ["http.reset"]  # garbage is no answer: no control at all


def test_real_answer_first_and_forged_second_with_a_control() -> None:
    o = obs(query("system", resp(REAL, ms=1), resp(FORGED, ms=9)), control(REAL))
    assert one_of(o, "dns.injection").addresses == (FORGED,)


def test_nxdomain_racing_a_real_answer_when_the_control_failed() -> None:
    # The DoH control answered SERVFAIL: nothing says the name exists, yet the NXDOMAIN cannot
    # be the truth either (the control did not say NXDOMAIN), so it is the forged one.
    o = obs(query("system", resp(REAL, ms=1), resp(rcode="NXDOMAIN", ms=9)), DOH_SERVFAIL)
    a = one_of(o, "dns.injection")
    assert a.addresses == () and a.detail.endswith("forged: NXDOMAIN")


def test_aaaa_nxdomain_not_excused_by_an_a_answer_for_a_later_sorting_name() -> None:
    other = query("probe", resp(REAL), qname="zzz.example.net")
    probe_aaaa_nx = query("probe", resp(rcode="NXDOMAIN"), qtype="AAAA")
    o = obs(other, probe_aaaa_nx, control(REAL), control(REAL6, qtype="AAAA"), *clean_https())
    assert kinds_of(o) == ["dns.nxdomain"]


def test_censor_and_blockpage_details_name_the_country() -> None:
    a = one_of(obs(system("10.10.34.35"), control(REAL)), "dns.known_censor_ip")
    assert "dns_nat_ir_inject_2 (IR)" in a.detail and "dns_br_localhost" not in a.detail
    generic = one_of(obs(system("127.0.0.1"), control(REAL)), "dns.known_censor_ip")
    assert generic.detail.endswith("signature(s): dns_br_localhost"), generic.detail
    page = obs(system(REAL), control(REAL), tcp(REAL, port=80),
               fetch(REAL, url=HTTP_URL, body="<title>AGCOM Stop Page</title>"),
               target=HTTP_URL)  # fmt: skip
    bp = one_of(page, "http.blockpage")
    assert bp.confirmed and bp.detail.endswith("fingerprint(s): nat_it_agcom_block (IT)")


def test_garbage_datagrams_are_never_read_for_addresses() -> None:
    garbage = resp("10.1.1.1", rcode="MALFORMED", ms=1)
    o = obs(query("system", garbage, resp(REAL, ms=5)), control(REAL), *clean_https())
    assert kinds_of(o) == []


def test_a_control_without_a_records_is_not_contradicted_by_a_certificate() -> None:
    # The control resolves the name to IPv6 only: a silent A query is not a failure, whatever a
    # verified IPv4 handshake says.
    o = obs(query("system"), control(), control(REAL6, qtype="AAAA"), *clean_https(REAL))
    assert "dns.timeout" not in kinds_of(o)


def test_a_verified_ip_literal_stays_genuine() -> None:
    no_sni = dataclasses.replace(hs(REAL), sni=None)
    o = obs(tcp(REAL), no_sni, tcp(REAL, port=80, error="timeout"), target=REAL)
    assert kinds_of(o) == ["tcp.timeout"]


def test_unanswered_query_before_an_inconsistent_one() -> None:
    o = obs(query("system"), query("probe", resp(FORGED)), control(REAL), tcp(FORGED),
            hs(FORGED, error="cert_hostname"))  # fmt: skip
    assert one_of(o, "dns.inconsistent").resolvers == ("udp:10.0.0.54:53",)


@pytest.mark.parametrize("crt", [None, cert(sha=None)], ids=["no-cert", "no-fingerprint"])
def test_interception_without_a_certificate_fingerprint(crt: object) -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="1")),
            hs(REAL, error="cert_unknown_ca", crt=crt))  # type: ignore[arg-type]
    assert kinds_of(o) == ["tls.cert_invalid"]


def test_an_nxdomain_carrying_the_real_address_is_still_a_lie() -> None:
    o = obs(query("system", resp(REAL, ms=1), resp(REAL, rcode="NXDOMAIN", ms=9)),
            control(REAL))  # fmt: skip
    a = one_of(o, "dns.injection")
    assert a.detail.endswith(f"forged: {REAL}"), a.detail


def test_injection_probe_nxdomain_for_a_name_with_nowhere_to_go() -> None:
    # A dangling CNAME: the control says the name exists with no address. An NXDOMAIN from the
    # injection probe's address then denies the user nothing: a transparent resolver told the
    # truth, not a forger...
    dangling = obs(query("system", resp(rcode="NXDOMAIN")), control(),
                   query("injection", resp(rcode="NXDOMAIN")))
    assert "dns.injection" not in kinds_of(dangling)
    # ...while the same NXDOMAIN for a name the control resolves is forged.
    real = obs(system(REAL), control(REAL), query("injection", resp(rcode="NXDOMAIN")),
               *clean_https())
    assert one_of(real, "dns.injection").resolvers == ("udp:10.9.9.9:53",)


def _intercepted(*, raced: bool = False, injection_rcode: str = "NXDOMAIN") -> Observations:
    """A network that intercepts DNS, as seen on our own build machines: every datagram to port
    53, whatever the address, is answered by one local resolver (NXDOMAIN for a name that does
    not exist), and DoH is cut by TLS interception (cert_hostname), so no control answers."""
    def nx() -> DnsResponse:
        return resp(rcode="NXDOMAIN")
    qs = []
    for qt in ("A", "AAAA"):
        probe = (query("probe", nx(), resp(FORGED, ms=40), qtype=qt) if raced
                 else query("probe", nx(), qtype=qt))
        qs += [query("system", nx(), qtype=qt), probe,
               query("probe", nx(), qtype=qt, resolver="udp:10.0.0.55:53"),
               query("injection", resp(rcode=injection_rcode), qtype=qt),
               query("control", qtype=qt, error="cert_hostname")]
    return obs(*qs, target="coingeck0.com")


def test_intercepted_dns_with_no_yardstick_is_no_injection() -> None:
    # The injection probe's answer only shows that DNS is intercepted here: whether the
    # NXDOMAIN lies is unknown without a control. It was a false "confirmed dns_blocked".
    assert outcome(_intercepted()) == ("inconclusive", "none", [])


@pytest.mark.parametrize(("raced", "injection_rcode"), [(True, "NXDOMAIN"), (False, "NOERROR")])
def test_injection_unlike_the_other_answers_is_still_forged(raced: bool,
                                                             injection_rcode: str) -> None:
    # Twins: a resolver's query raced (two answers), or the injection probe's answer differs
    # from what the resolvers got: an injector on the path, not one interceptor.
    assert "dns.injection" in kinds_of(_intercepted(raced=raced, injection_rcode=injection_rcode))
