"""Twins for a few more rules (context.py's addresses the control server verified, dns.py's
test that one interceptor answered every resolver alike and its NXDOMAIN-rewrite exclusions,
hardcases.py's ambiguous-certificate rule): pairs of observations one fact apart, with the exact
outcome on both sides. The mutation run (tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (a resolver that sent the same
answer twice, a control handshake without SNI): saved runs are data, and the analysis must judge
them by its rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge
from reachcheck.model import Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    REAL,
    REAL2,
    cert,
    control,
    ctrl_server,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import outcome

AD_SERVER = "92.242.132.24"  # an ISP's search/ad server that answers for dead names
# One certificate from an unknown CA, shown for every name (the benign SNI too).
ONE_CERT = cert(issuer="CN=Filter Appliance", subject="CN=filter.local", sha="ff")
AMBIGUOUS = "Unclear: untrusted certificate (the site's own or an interceptor's)"


# ---- dns._answered_alike: "exactly one answer" means one, not "at least one"


def test_one_answer_everywhere_is_an_interceptor_but_a_doubled_answer_is_not() -> None:
    # No control: nothing says what the truth is. The injection probe and the system resolver
    # each drew the one same answer: a network that sends all of port 53 to one resolver.
    alike = obs(query("injection", resp(FORGED)), system(FORGED))
    assert outcome(alike) == ("inconclusive", "none", [])
    # The same answer twice on each (two responses to one question): not "exactly one answer",
    # so the injection probe's answers stand as forged.
    doubled = obs(
        query("injection", resp(FORGED), resp(FORGED, ms=6.0)),
        query("system", resp(FORGED), resp(FORGED, ms=6.0)),
    )
    assert outcome(doubled) == ("dns_blocked", "confirmed", ["dns.injection"])


# ---- dns._nxdomain_rewrite: a known censor answer alone rules out NXDOMAIN rewriting


def test_a_censor_cname_is_not_taken_for_nxdomain_rewriting() -> None:
    # The control says NXDOMAIN and only the system resolver gave an address: rewriting.
    rewrite = obs(system(AD_SERVER), control(rcode="NXDOMAIN"))
    assert outcome(rewrite) == ("site_down", "likely", [])
    # The same address behind a known censor's CNAME (no special-purpose address): a censor.
    censor = obs(
        query("system", resp(AD_SERVER, cnames=("internet-positif.org",))),
        control(rcode="NXDOMAIN"),
    )
    assert outcome(censor) == (
        "dns_blocked", "confirmed", ["dns.inconsistent", "dns.known_censor_ip"]
    )


# ---- hardcases.ambiguous_certificate: only genuine addresses, and every handshake is looked at


def _one_cert_everywhere(*dns: object) -> list[object]:
    return [
        *dns, tcp(REAL), hs(REAL, kind="benign", crt=ONE_CERT),
        hs(REAL, error="cert_unknown_ca", crt=ONE_CERT),
    ]


def test_ambiguous_certificate_needs_an_address_known_to_be_the_sites() -> None:
    known = judge(obs(*_one_cert_everywhere(system(REAL), control(REAL))))
    assert (known.verdict, known.confidence, known.anomalies) == ("inconclusive", "none", ())
    assert known.summary == AMBIGUOUS
    # No control: nothing says REAL is the site's, so the rule does not speak.
    unknown = judge(obs(*_one_cert_everywhere(system(REAL))))
    assert (unknown.verdict, unknown.confidence, unknown.anomalies) == ("inconclusive", "none", ())
    assert unknown.summary == "Unclear: the TLS handshake fails"
    assert "no control to tell blocking" in unknown.reason


def test_ambiguous_certificate_looks_past_a_handshake_it_skips() -> None:
    # REAL2's own certificate expired (a trusted CA's mistake, not ambiguous); REAL shows one
    # unknown-CA certificate for every name. Whichever handshake comes first, REAL's decides.
    dns = (system(REAL2, REAL), control(REAL, REAL2), tcp(REAL2))
    expired = hs(REAL2, error="cert_expired", crt=ONE_CERT)
    for items in ([*dns, expired, *_one_cert_everywhere()],
                  [*dns, *_one_cert_everywhere(), expired]):
        result = judge(obs(*items))
        assert (result.verdict, result.confidence, result.anomalies) == ("inconclusive", "none", ())
        assert result.summary == AMBIGUOUS
    # Without REAL's handshakes, the expired certificate is the site's own fault.
    alone = judge(obs(*dns, expired))
    assert (alone.verdict, alone.confidence) == ("site_down", "likely")


# ---- context._control_verified: only the control's target handshakes verify an address


def test_only_a_target_handshake_of_the_control_verifies_an_address() -> None:
    # The control server reached CDN_OTHER over a verified handshake without SNI (as a saved or
    # imported run may hold it); here the connect to it times out.
    def seen(kind: str, sni: str | None) -> Observations:
        h = dataclasses.replace(hs(CDN_OTHER, kind=kind), sni=sni)
        return obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER, error="timeout"),
                   control_server=ctrl_server(tcp_=(tcp(CDN_OTHER),), tls_=(h,)))

    for sni in (None, DOMAIN):
        # A target handshake verifies CDN_OTHER as the site's: the timeout is TCP blocking.
        assert outcome(seen("target", sni)) == ("tcp_blocked", "confirmed", ["tcp.timeout"])
        # A benign one (another name's certificate) says nothing about the site's address.
        assert outcome(seen("benign", sni)) == ("dns_blocked", "likely", ["dns.inconsistent"])
