"""The hard cases of design section 5.1, each on a recorded shape with its clean twin.

Every case states the exact anomaly set (not a subset): a rule that starts reporting more than
its evidence shows must turn a test red.
"""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from reachcheck.analysis import context, judge
from reachcheck.model import Observations, SiteResult, from_json, to_json
from reachcheck.output import load_schema
from reachcheck.rejudge import observations_of
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
    REAL2,
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

AD_SERVER = "92.242.132.24"  # an ISP's search/ad server that answers for dead names
HTTP_URL = f"http://{DOMAIN}/"
# An interceptor (or a self-signed site) showing this one certificate for every SNI.
ONE_CERT = cert(issuer="CN=Filter Appliance", subject="CN=filter.local", sha="f1")
SITE_CERT = cert(issuer="CN=Real CA", sha="11")
# A notice page on the genuine address, sent by the site's own server software: the same
# header names as the site's page, another title and size.
SAME_NAMES = ("date", "content-type", "x-site-id")
NOTICE = dict(title="Notice: this resource is restricted", length=1200, names=SAME_NAMES)


def _page(**kw: object) -> object:
    return fetch(REAL, url=HTTP_URL, **kw)  # type: ignore[arg-type]


def _with_repeat(first: object, again: object | None) -> object:
    server = ctrl_server(tcp_=(tcp(REAL, port=80),), http=first)  # type: ignore[arg-type]
    return dataclasses.replace(server, http_repeat=again)


def _clear(local: object, server: object) -> Observations:
    return obs(system(REAL), control(REAL), tcp(REAL, port=80), local, target=HTTP_URL,
               control_server=server)  # type: ignore[arg-type]


STABLE = _with_repeat(_page(), _page(length=5100))
ONCE = _with_repeat(_page(), None)
PARKED = _with_repeat(_page(title="Cheap flights hotels deals"),
                      _page(title="Buy this domain today"))

# id, observations, verdict, confidence, the exact anomaly kinds
CASES = [
    # ---- 1. failure kinds per (address, port) against the control server
    ("sni-reset-control-cert-error",  # the lab case: a reset here, a completed handshake there
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="reset"),
         control_server=ctrl_server(tcp_=(tcp(REAL),),
                                    tls_=(hs(REAL, error="cert_hostname", crt=cert()),))),
     "tls_blocked", "confirmed", {"tls.sni_filtering"}),
    ("reset-control-cert-error-no-benign",
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
         control_server=ctrl_server(tcp_=(tcp(REAL),),
                                    tls_=(hs(REAL, error="cert_expired", crt=cert()),))),
     "tls_blocked", "likely", {"tls.reset"}),
    ("sni-reset-control-reset-too",  # twin: the same kind from outside is the site's doing
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="reset"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="reset"),))),
     "site_down", "confirmed", {"tls.sni_filtering"}),
    ("reset-here-timeout-there",  # failing differently is not "the same way"
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="timeout"),))),
     "inconclusive", "none", {"tls.reset"}),
    ("refused-here-proxy-cannot-connect",  # an HTTP CONNECT proxy's 502 says no more than that
     obs(system(REAL), control(REAL), tcp(REAL, error="refused"),
         control_server=dataclasses.replace(
             ctrl_server(tcp_=(tcp(REAL, error="proxy_error"),)), kind="proxy")),
     "site_down", "confirmed", {"tcp.refused"}),
    ("refused-here-proxy-connects",  # twin: the proxy reaches the site
     obs(system(REAL), control(REAL), tcp(REAL, error="refused"),
         control_server=dataclasses.replace(ctrl_server(tcp_=(tcp(REAL),)), kind="proxy")),
     "tcp_blocked", "confirmed", {"tcp.refused"}),
    ("port-80-blocked-443-fine",  # ports matter: 443 verified says nothing about 80
     obs(system(REAL), control(REAL), tcp(REAL, port=80, error="timeout"), tcp(REAL), hs(REAL),
         fetch(REAL, ok=False, url=HTTP_URL, error="timeout"), target=HTTP_URL,
         control_server=ctrl_server(tcp_=(tcp(REAL, port=80), tcp(REAL, error="timeout")))),
     "tcp_blocked", "confirmed", {"tcp.timeout"}),
    ("port-80-dead-from-outside-too",  # twin: the control's 443 success is no comparison
     obs(system(REAL), control(REAL), tcp(REAL, port=80, error="timeout"), tcp(REAL), hs(REAL),
         fetch(REAL, ok=False, url=HTTP_URL, error="timeout"), target=HTTP_URL,
         control_server=ctrl_server(tcp_=(tcp(REAL, port=80, error="timeout"), tcp(REAL)))),
     "site_down", "confirmed", {"tcp.timeout"}),
    ("control-verified-address-is-genuine",  # whatever DoH said (CDN geo-answers)
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="reset"),
         control_server=ctrl_server(tcp_=(tcp(CDN_OTHER),), tls_=(hs(CDN_OTHER),))),
     "tls_blocked", "confirmed", {"tls.reset"}),
    # ---- 2. an interceptor showing one certificate for every SNI
    ("one-cert-for-every-sni-no-outside-view",
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=ONE_CERT),
         hs(REAL, error="cert_unknown_ca", crt=ONE_CERT)),
     "inconclusive", "none", set()),
    ("one-cert-for-every-sni-control-verifies",
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=ONE_CERT),
         hs(REAL, error="cert_unknown_ca", crt=ONE_CERT),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, crt=SITE_CERT),))),
     "tls_blocked", "confirmed", {"tls.cert_invalid"}),
    ("one-cert-for-every-sni-control-sees-another",  # fingerprints differ: interception
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=ONE_CERT),
         hs(REAL, error="cert_unknown_ca", crt=ONE_CERT),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(
             hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=Self", sha="33")),))),
     "tls_blocked", "likely", {"tls.cert_invalid"}),
    ("expired-cert-control-fails-alike-no-certs-kept",  # OONI keeps no certificate on failure
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_invalid"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="cert_invalid"),))),
     "site_down", "confirmed", set()),
    ("unknown-ca-here-control-verifies-no-certs-kept",  # twin: the outside view verifies
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL),))),
     "tls_blocked", "confirmed", {"tls.cert_invalid"}),
    ("cert-failure-control-fetch-fails-no-handshake-recorded",  # OONI's older test helper
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_invalid", crt=SITE_CERT),
         control_server=ctrl_server(tcp_=(tcp(REAL),), http=fetch(REAL, ok=False,
                                                                  error="error"))),
     "inconclusive", "none", set()),
    ("cert-failure-control-fetch-works-no-handshake-recorded",  # twin: the page was there
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_invalid", crt=SITE_CERT),
         control_server=ctrl_server(tcp_=(tcp(REAL),), http=fetch(REAL))),
     "tls_blocked", "likely", {"tls.cert_invalid"}),
    ("self-signed-site-control-sees-the-same",  # twin: the site's own certificate
     obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=ONE_CERT),
         hs(REAL, error="cert_unknown_ca", crt=ONE_CERT),
         control_server=ctrl_server(tcp_=(tcp(REAL),),
                                    tls_=(hs(REAL, error="cert_unknown_ca", crt=ONE_CERT),))),
     "site_down", "confirmed", set()),
    # ---- 3. DNS
    ("nxdomain-rewriting-isp",  # hidden set: a "blocked" rewritten name
     obs(system(AD_SERVER), query("probe", resp(rcode="NXDOMAIN")), control(rcode="NXDOMAIN"),
         tcp(AD_SERVER), fetch(AD_SERVER, ok=False, error="cert_hostname", tls_ok=False)),
     "site_down", "confirmed", set()),
    ("nxdomain-rewriting-system-only",
     obs(system(AD_SERVER), control(rcode="NXDOMAIN")),
     "site_down", "likely", set()),
    ("dead-name-to-blockpage-address-is-not-rewriting",  # twin: a known censor address
     obs(system("10.10.34.34"), control(rcode="NXDOMAIN")),
     "dns_blocked", "confirmed", {"dns.bogon", "dns.known_censor_ip"}),
    ("dead-name-answered-injected",  # twin: the injection probe answers too
     obs(system(AD_SERVER), query("injection", resp(AD_SERVER)), control(rcode="NXDOMAIN")),
     "dns_blocked", "confirmed", {"dns.injection", "dns.inconsistent"}),
    ("split-horizon-name-works-here",  # twin: the answer verifies, the name is alive here
     obs(system(CDN_OTHER), control(rcode="NXDOMAIN"), *clean_https(CDN_OTHER)),
     "accessible", "confirmed", set()),
    ("dangling-cname",  # hidden set: a "blocked" dead name
     obs(system(rcode="NXDOMAIN"),
         query("control", resp(rcode="NOERROR", cnames=("gone.cdn.example",)))),
     "site_down", "confirmed", set()),
    ("nxdomain-while-control-a-timed-out",  # twin: an empty AAAA alone is not "no address"
     obs(system(rcode="NXDOMAIN"), query("control", error="timeout"),
         query("control", resp(), qtype="AAAA"), *clean_https()),
     "dns_blocked", "likely", {"dns.nxdomain"}),
    ("own-dns-localhost-dns-only",  # hidden set: "accessible" on 127.0.0.1
     obs(system("127.0.0.1"), control("127.0.0.1")),
     "site_down", "likely", set()),
    ("own-dns-localhost-local-server-answers",  # our own machine's server is not the site
     obs(system("127.0.0.1"), control("127.0.0.1"), tcp("127.0.0.1", port=80),
         fetch("127.0.0.1", url=HTTP_URL), target=HTTP_URL),
     "site_down", "likely", set()),
    ("relay-refuses-strangers",  # hidden set: TLS EOF on every address from both sides
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
         fetch(CDN_OTHER, ok=False, error="eof", tls_ok=False),
         control_server=ctrl_server(tcp_=(tcp(REAL), tcp(CDN_OTHER)),
                                    tls_=(hs(REAL, error="eof"), hs(CDN_OTHER, error="eof")))),
     "site_down", "confirmed", {"dns.inconsistent"}),
    ("relay-fails-in-more-ways-outside",  # ours are among theirs: still down everywhere
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
         fetch(CDN_OTHER, ok=False, error="eof", tls_ok=False),
         control_server=ctrl_server(tcp_=(tcp(REAL), tcp(CDN_OTHER, error="timeout")),
                                    tls_=(hs(REAL, error="eof"),))),
     "site_down", "confirmed", {"dns.inconsistent"}),
    ("relay-fails-differently-outside",
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="timeout"),))),
     "inconclusive", "none", {"dns.inconsistent"}),
    ("relay-fails-differently-outside-page-too",  # our eof twice (TLS, then the fetch)
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
         fetch(CDN_OTHER, ok=False, error="eof", tls_ok=False),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="timeout"),))),
     "inconclusive", "none", {"dns.inconsistent"}),
    ("control-connects-but-never-fetched",  # a connect that worked is not "fails everywhere"
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER, port=80, error="timeout"),
         target=HTTP_URL,
         control_server=ctrl_server(tcp_=(tcp(REAL, port=80), tcp(REAL2, port=80,
                                                                  error="timeout")))),
     "dns_blocked", "likely", {"dns.inconsistent"}),
    ("forged-answer-fails-site-works-outside",  # twin: the control works, the answer is wrong
     obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="eof"),
         control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL),))),
     "dns_blocked", "likely", {"dns.inconsistent"}),
    ("resolver-timed-out-twice-then-answered",  # hidden set: lost packets, not censorship
     obs(query("system"), query("system"), system(REAL), control(REAL), *clean_https()),
     "accessible", "confirmed", set()),
    ("resolver-times-out-on-every-try",  # twin: retried and still failing counts (likely)
     obs(query("system"), query("system"), system(REAL, qtype="AAAA"), control(REAL),
         *clean_https()),
     "dns_blocked", "likely", {"dns.timeout"}),
    # ---- 4. a notice page on the genuine address with the site's own header names
    ("notice-page-same-headers-stable-control",
     _clear(_page(**NOTICE), STABLE), "http_blocked", "likely", {"http.body_diff"}),
    ("notice-page-same-headers-one-control-fetch",  # variance unknown: never accessible
     _clear(_page(**NOTICE), ONCE), "inconclusive", "none", {"http.body_diff"}),
    # Ports matter for pages too: a verified handshake on 443 does not vouch for port 80.
    ("notice-page-http-target-443-verified-one-control-fetch",  # OONI's QA httpDiff shape
     obs(system(REAL), control(REAL), tcp(REAL, port=80), tcp(REAL), hs(REAL),
         _page(**NOTICE), target=HTTP_URL, control_server=ONCE),  # type: ignore[arg-type]
     "inconclusive", "none", {"http.body_diff"}),
    ("notice-page-http-target-443-verified-stable-control",
     obs(system(REAL), control(REAL), tcp(REAL, port=80), tcp(REAL), hs(REAL),
         _page(**NOTICE), target=HTTP_URL, control_server=STABLE),  # type: ignore[arg-type]
     "http_blocked", "likely", {"http.body_diff"}),
    ("genuine-page-stable-control",  # twin
     _clear(_page(length=4900), STABLE), "accessible", "confirmed", set()),
    ("parked-page-control-varies",  # hidden set: a "blocked" parked page
     _clear(_page(title="Online degrees compare now", length=2500), PARKED),
     "accessible", "confirmed", set()),
    ("parked-page-one-control-fetch",  # OONI-like data: one fetch, never "blocked"
     _clear(_page(title="Online degrees compare now", length=2500), ONCE),
     "inconclusive", "none", {"http.body_diff"}),
    ("dynamic-page-same-title-other-size",
     _clear(_page(length=1500), ONCE), "accessible", "confirmed", set()),
    ("status-diff-control-status-unstable",
     _clear(_page(status=403), _with_repeat(_page(), _page(status=302))),
     "accessible", "confirmed", set()),
]


@pytest.mark.parametrize(("case", "o", "verdict", "confidence", "kinds"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_hard_case(case: str, o: Observations, verdict: str, confidence: str,
                   kinds: set[str]) -> None:
    result = judge(o)
    assert (result.verdict, result.confidence) == (verdict, confidence), result.reason
    assert {a.kind for a in result.anomalies} == kinds, result.anomalies
    assert result.reason and "\n" not in result.reason and result.summary


def test_rewriting_is_named_in_the_result() -> None:
    result = judge(obs(system(AD_SERVER), control(rcode="NXDOMAIN")))
    assert "rewrites non-existent names" in result.reason and AD_SERVER in result.reason
    assert "rewrites" in result.summary


def test_sni_reset_is_not_called_the_same_way() -> None:
    result = judge(CASES[0][1])  # type: ignore[arg-type]
    assert "same way" not in result.reason and "Site down" not in result.summary


def test_ambiguous_certificate_names_both_readings() -> None:
    (o,) = [c[1] for c in CASES if c[0] == "one-cert-for-every-sni-no-outside-view"]
    result = judge(o)  # type: ignore[arg-type]
    assert "interceptor" in result.reason and "--control" in result.reason


# ---- 5. --only dns: say what was judged, and which stages ran


def test_dns_only_never_says_reachable() -> None:
    o = dataclasses.replace(obs(system(REAL), control(REAL)), stages_checked=("dns",))
    result = judge(o)
    assert (result.verdict, result.confidence) == ("accessible", "likely")
    assert result.summary == "DNS consistent; other stages not checked"
    assert "TCP, TLS, HTTP not checked (--only)" in result.reason
    assert result.stages_checked == ("dns",)
    assert result.anomalies == ()


def test_stages_checked_round_trips_and_validates() -> None:
    o = dataclasses.replace(obs(system(REAL), control(REAL)), stages_checked=("dns",))
    result = judge(o)
    data = json.loads(json.dumps(to_json(result)))
    assert data["stages_checked"] == ["dns"]
    schema = load_schema()
    jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/result"}) \
        .validate(data)
    back = from_json(SiteResult, data)
    assert back == result and judge(observations_of(back)).summary == result.summary


def test_http_repeat_round_trips_and_validates() -> None:
    result = judge(_clear(_page(**NOTICE), STABLE))
    data = json.loads(json.dumps(to_json(result)))
    assert data["control"]["http_repeat"]["body_length"] == 5100
    schema = load_schema()
    jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/result"}) \
        .validate(data)
    again = judge(observations_of(from_json(SiteResult, data)))
    assert (again.verdict, again.anomalies) == (result.verdict, result.anomalies)


def test_full_run_still_says_reachable() -> None:
    result = judge(dataclasses.replace(obs(system(REAL), control(REAL), *clean_https()),
                                       stages_checked=("dns", "tcp", "tls", "http")))
    assert result.summary == "Reachable (verified HTTPS)"


def test_control_cleartext_page_does_not_make_an_address_genuine() -> None:
    # A censor's public blockpage server answers the control too: a cleartext page there is no
    # proof the address is the site's (only a verified handshake, or a page over one, is).
    forged = "95.167.13.50"
    cleartext = obs(system(forged), control(REAL), target=HTTP_URL,
                    control_server=ctrl_server(http=fetch(forged, url=HTTP_URL)))
    assert forged not in context.build(cleartext).genuine
    verified = obs(system(CDN_OTHER), control(REAL),
                   control_server=ctrl_server(http=fetch(CDN_OTHER)))
    assert CDN_OTHER in context.build(verified).genuine


@pytest.mark.parametrize(("stages", "items", "summary"), [
    (("dns", "tcp"), (tcp(REAL),), "TCP connects; TLS and HTTP not checked"),
    # A handshake recorded without its connect (an imported measurement) still says TLS ran.
    (("dns", "tls"), (hs(REAL),), "Verified TLS handshake; HTTP not checked"),
    (("dns", "tcp", "tls"), (tcp(REAL), hs(REAL)), "Verified TLS handshake; HTTP not checked"),
])
def test_partial_runs_say_how_far_they_got(stages: tuple[str, ...], items: tuple[object, ...],
                                           summary: str) -> None:
    result = judge(dataclasses.replace(obs(system(REAL), control(REAL), *items),
                                       stages_checked=stages))
    assert (result.verdict, result.summary, result.anomalies) == ("accessible", summary, ())


def test_failing_differently_names_our_failure_once() -> None:
    (o,) = [c[1] for c in CASES if c[0] == "relay-fails-differently-outside-page-too"]
    assert "the site fails here (eof) and from the control server, but differently (timeout)" \
        in judge(o).reason  # type: ignore[arg-type]
