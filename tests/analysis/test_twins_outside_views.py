"""Twins for the outside views and the answers standing in for them (outside.py, tls.py's
certificate comparison, vantage.py, localproxy.py, survivor.py) and a few DNS facts (dns.py):
pairs of observations one fact apart, with the exact outcome on both sides. The mutation run
(tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (a TLS error name from another
tool, an NXDOMAIN carrying addresses, a DNS query for another name): saved runs are data, and
the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import context, judge, outside, survivor, vantage
from reachcheck.model import Anomaly, DnsResponse, Observations, TcpConnect
from tests.analysis.builders import (
    CDN_OTHER,
    REAL,
    REAL2,
    cert,
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
from tests.analysis.twins import HTTP_URL, kinds_of, one_of, outcome

ABROAD1 = "udp:10.0.1.53:53"
ABROAD2 = "udp:10.0.2.53:53"
LIE1 = "45.33.10.1"  # forged answers no fingerprint knows (public-looking, never contacted)
LIE2 = "45.33.10.2"
POOL = ("198.18.0.0/16",)


# ---------------------------------------------------------------- dns.py


def test_nxdomain_agrees_with_a_control_that_finds_no_address_even_with_interned_strings() -> None:
    # The control answers NOERROR without an address (a dangling CNAME): the injection probe's
    # NXDOMAIN tells the truth, so it is no injection, however its strings were built.
    dangling = query("control", resp(cnames=("gone.cdn.example",)))
    o = obs(system(rcode="NXDOMAIN"), dangling, query("injection", resp(rcode="NXDOMAIN")))
    assert kinds_of(o) == kinds_of(interned(o)) == []
    # Twin: the control resolves the name: that NXDOMAIN is forged.
    twin = obs(system(rcode="NXDOMAIN"), control(REAL), query("injection", resp(rcode="NXDOMAIN")))
    assert kinds_of(twin) == kinds_of(interned(twin)) == ["dns.injection", "dns.nxdomain"]


def test_an_answer_for_another_name_is_no_retry() -> None:
    # The system resolver timed out for the site; it answered a query for another name (one
    # that sorts after the site's): that is no retry of the same question.
    other = query("system", resp(REAL), qname="zz.example.net")
    o = obs(query("system"), other, control(REAL), *[tcp(REAL), hs(REAL, kind="benign"),
                                                     fetch(REAL)])
    assert kinds_of(o) == ["dns.timeout"]
    # Twin: the same question answered on a retry: a lost packet.
    twin = obs(query("system"), system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
               fetch(REAL))
    assert kinds_of(twin) == []


# ---------------------------------------------------------------- localproxy.py


def test_a_fake_ip_pool_written_with_host_bits_is_its_network() -> None:
    # `--fake-ip-pool 198.18.0.1/16` means 198.18.0.0/16, as the CLI reads it.
    o = obs(system("198.18.0.7"), control(REAL))
    found = judge(o, fake_ip_pools=("198.18.0.1/16",)).local_proxy
    assert found is not None and "198.18.0.7 from a fake-ip pool (198.18.0.0/16)" in found
    assert judge(o).local_proxy is None


def _answered_locally(aaaa_rcode: str) -> Observations:
    """Every resolver, the injection probe too, gives one TTL-1 answer; the probe's AAAA query
    drew one response with `aaaa_rcode` and no address."""
    def ttl1(*addrs: str) -> DnsResponse:
        return dataclasses.replace(resp(*addrs), ttls=(1,) * len(addrs))
    return obs(
        query("system", ttl1(REAL)), query("probe", ttl1(REAL)), query("injection", ttl1(REAL)),
        query("probe", resp(rcode=aaaa_rcode), qtype="AAAA"),
    )


def test_any_rcode_but_noerror_is_no_local_answer() -> None:
    assert judge(_answered_locally("NOERROR")).local_proxy is not None
    # FORMERR sorts before NOERROR, SERVFAIL after it: neither is one local answerer.
    assert judge(_answered_locally("FORMERR")).local_proxy is None
    assert judge(_answered_locally("SERVFAIL")).local_proxy is None


def test_three_fake_ip_answers_are_shown() -> None:
    o = obs(system("198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"), control(REAL))
    found = judge(o, fake_ip_pools=POOL).local_proxy
    assert found is not None
    assert "DNS answers 198.18.0.1, 198.18.0.2, 198.18.0.3 from a fake-ip pool" in found


# ---------------------------------------------------------------- outside.py


def test_control_failing_in_several_ways_is_not_the_same_way() -> None:
    # Our reset against the control's reset and timeout on the same endpoint: not "the same".
    # (It verified the site on another address, so it does not fail everywhere.)
    theirs = (hs(REAL, error="reset"), hs(REAL, error="timeout"), hs(REAL2))
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
            control_server=ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)), tls_=theirs))
    facts = context.build(o)
    assert outside.tls_agreement(facts, (REAL, 443), "reset") == "differs"
    assert outcome(o) == ("inconclusive", "none", ["tls.reset"])
    # Twin: the control's reset alone on that endpoint: the site fails there from outside too.
    alike = (theirs[0], theirs[2])
    twin = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
               control_server=ctrl_server(tcp_=(tcp(REAL), tcp(REAL2)), tls_=alike))
    assert outcome(twin) == ("site_down", "confirmed", ["tls.reset"])


def _on_port(port: int, **kw: object) -> object:
    return dataclasses.replace(hs(REAL, **kw), port=port)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", ["bad_record_mac", "tls_protocol"])
def test_a_tls_error_named_by_another_tool_against_a_certificate_error(error: str) -> None:
    # Our handshake on 443 failed with `error` ("bad_record_mac": another tool's name for a TLS
    # alert; it sorts before "cert"), while the control completed the handshake there with a
    # certificate error: the server answers from outside ("reached"). The reset on 8443, which
    # the control did not try, is then likely blocking.
    o = obs(system(REAL), control(REAL), tcp(REAL), tcp(REAL, port=8443),
            _on_port(8443, error="reset"), hs(REAL, error=error),
            control_server=ctrl_server(tcp_=(tcp(REAL),),
                                       tls_=(hs(REAL, error="cert_expired", crt=cert()),)))
    assert outside.tls_agreement(context.build(o), (REAL, 443), error) == "reached"
    assert outcome(o) == ("tls_blocked", "likely", ["tls.reset"])


def test_a_benign_handshake_that_works_outside_does_not_make_the_site_work() -> None:
    theirs = (hs(REAL, kind="benign"), hs(REAL, error="reset"))
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
            control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=theirs))
    assert outside.control_fails_everywhere(context.build(o)) == {"reset"}
    assert outcome(o) == ("site_down", "confirmed", ["tls.reset"])
    # The relay case: our answer fails as the control's does on every target handshake; its
    # benign handshake completing does not make the site work from outside.
    relay = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
                control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(
                    hs(REAL, kind="benign"), hs(REAL, error="eof"))))
    assert outcome(relay) == ("site_down", "confirmed", ["dns.inconsistent"])


def test_a_benign_handshake_failing_outside_is_not_a_failure_of_the_site() -> None:
    # Ours timed out; the control's target handshake was reset, its benign one timed out.
    theirs = (hs(REAL, kind="benign", error="timeout"), hs(REAL, error="reset"))
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=theirs))
    assert outside.control_fails_everywhere(context.build(o)) == {"reset"}
    assert outcome(o) == ("inconclusive", "none", ["tls.timeout"])


# ---------------------------------------------------------------- tls.py


def test_one_certificate_for_every_name_needs_an_unknown_ca() -> None:
    same = cert(issuer="CN=Some CA", sha="55")
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=same),
            hs(REAL, error="cert_hostname", crt=same))
    r = judge(o)  # a name mismatch is the site's own mistake, whoever shows the certificate
    assert (r.verdict, r.confidence, r.summary) == (
        "site_down", "likely", "Site broken: its certificate is invalid")
    twin = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=same),
               hs(REAL, error="cert_unknown_ca", crt=same))
    r = judge(twin)
    assert (r.verdict, r.confidence) == ("inconclusive", "none")
    assert r.summary == "Unclear: untrusted certificate (the site's own or an interceptor's)"


def test_no_certificate_kept_here_is_not_compared_with_the_controls() -> None:
    # OONI keeps no certificate on failure: nothing to compare with what the control saw.
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca"),
            control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(
                hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Self", sha="33")),)))
    assert outcome(o) == ("site_down", "confirmed", [])  # it fails on the certificate there too
    # Twin: our certificate kept, and it is not the one the control was shown: interception.
    kept = dataclasses.replace(o, tls=(hs(REAL, error="cert_unknown_ca",
                                          crt=cert(issuer="CN=Rogue", sha="66")),))
    assert outcome(kept) == ("tls_blocked", "likely", ["tls.cert_invalid"])


def test_the_first_certificate_the_control_saw_is_named() -> None:
    theirs = (hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=First", sha="31")),
              hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Second", sha="32")))
    o = obs(system(REAL), control(REAL), tcp(REAL),
            hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Rogue", sha="66")),
            control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=theirs))
    detail = one_of(o, "tls.cert_invalid").detail
    assert detail.endswith("the control server was shown another certificate (issuer 'CN=First')")


# ---------------------------------------------------------------- vantage.py


def test_a_proxy_view_speaks_of_the_proxy_and_a_control_server_does_not() -> None:
    base = [system(REAL), control(REAL), tcp(REAL, error="refused")]
    view = ctrl_server(tcp_=(tcp(REAL),))
    proxy = judge(obs(*base, control_server=dataclasses.replace(view, kind="proxy")))
    server = judge(obs(*base, control_server=view))
    assert proxy.summary == (
        "Connections to the site's real address are refused; via your proxy: not reachable")
    assert server.summary == "Connections to the site's real address are refused"
    # The predicate itself (no caller in the package uses it yet), on saved runs (fresh strings).
    assert vantage.proxy_view(obs(*base, control_server=dataclasses.replace(view, kind="proxy")))
    assert not vantage.proxy_view(obs(*base, control_server=view))
    assert not vantage.proxy_view(obs(*base))


# ---------------------------------------------------------------- survivor.py


def _raced(resolver: str, *answers: object) -> object:
    return query("probe", *answers, resolver=resolver)  # type: ignore[arg-type]


def test_an_nxdomain_carrying_addresses_is_no_survivor() -> None:
    # A late NXDOMAIN that carries an address: not a NOERROR answer, so nothing survived.
    late_nx = [_raced(r, resp(LIE1, ms=2), resp(REAL, rcode="NXDOMAIN", ms=150))
               for r in (ABROAD1, ABROAD2)]
    assert survivor.survivors(late_nx) == ()  # type: ignore[arg-type]
    late = [_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)]
    assert survivor.survivors(late) == (REAL,)  # type: ignore[arg-type]


def test_a_sole_nxdomain_carrying_addresses_backs_nothing() -> None:
    raced = _raced(ABROAD1, resp(LIE1, ms=2), resp(REAL, ms=150))
    sole_nx = _raced(ABROAD2, resp(REAL, rcode="NXDOMAIN"))
    assert survivor.survivors([raced, sole_nx]) == ()  # type: ignore[list-item]
    sole = _raced(ABROAD2, resp(REAL))
    assert survivor.survivors([raced, sole]) == (REAL,)  # type: ignore[list-item]


def test_a_late_answer_repeating_any_earlier_address_keeps_only_the_new_one() -> None:
    # Three answers: two forged, then the resolver's own, which repeats both forged addresses.
    queries = [_raced(r, resp(LIE1, ms=2), resp(LIE2, ms=3), resp(REAL, LIE1, LIE2, ms=150))
               for r in (ABROAD1, ABROAD2)]
    assert survivor.survivors(queries) == (REAL,)  # type: ignore[arg-type]


def test_survivors_of_a_saved_run() -> None:
    # JSON-loaded queries (fresh strings): the transport is compared by value.
    o = obs(*[_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)])
    assert survivor.survivors(o.dns) == (REAL,)


def _survivor_tcp(addr: str, ok: bool = True) -> TcpConnect:
    return dataclasses.replace(tcp(addr, ok=ok), sources=(survivor.SOURCE,))


def test_trusted_dns_works_only_on_a_survivor_address() -> None:
    # The survivor was tried and failed; a verified page on another address (not a survivor)
    # says nothing about the survivor.
    queries = [_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)]
    o = obs(*queries, query("control", error="timeout"), _survivor_tcp(REAL, ok=False),
            tcp(CDN_OTHER), fetch(CDN_OTHER, ok=False, error="timeout", tls_ok=True))
    assert survivor.trusted_dns_works(context.build(o)) is False
    assert judge(o).reachable_with_trusted_dns is False
    # Twin: the survivor itself verified.
    verified = dataclasses.replace(o, tls=(hs(REAL),))
    assert survivor.trusted_dns_works(context.build(verified)) is True
    assert judge(verified).reachable_with_trusted_dns is True


def test_trusted_dns_with_a_cleartext_fetch() -> None:
    # A cleartext fetch has no handshake (`tls` is None) and says nothing about the survivor.
    queries = [_raced(r, resp(LIE1, ms=2), resp(REAL, ms=150)) for r in (ABROAD1, ABROAD2)]
    o = obs(*queries, query("control", error="timeout"), _survivor_tcp(REAL, ok=False),
            tcp(LIE1, port=80), fetch(LIE1, ok=False, url=HTTP_URL, error="reset"),
            target=HTTP_URL)
    assert survivor.trusted_dns_works(context.build(o)) is False


def test_only_non_dns_anomalies_on_survivor_addresses_are_marked() -> None:
    dns_a = Anomaly("dns", "dns.injection", "forged", (REAL,), confirmed=True)
    tls_a = Anomaly("tls", "tls.reset", "reset", (REAL,), confirmed=True)
    marked = survivor.mark([dns_a, tls_a], frozenset({REAL, REAL2}))
    assert marked[0] == dns_a
    assert marked[1] == dataclasses.replace(tls_a, detail=f"reset ({survivor.NOTE})",
                                            confirmed=False)

