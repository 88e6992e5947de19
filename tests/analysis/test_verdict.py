"""One case per verdict branch and per false-positive trap, over recorded observation shapes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reachcheck.analysis import judge
from reachcheck.model import SiteResult, from_json, to_json
from reachcheck.rejudge import observations_of
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    FORGED,
    INJECTION,
    REAL,
    REAL2,
    REAL6,
    cert,
    clean_https,
    control,
    ctrl_server,
    fetch,
    gfw_dns,
    hop,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip

GFW_SNI = [tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="reset"), tcp(FORGED),
           hs(FORGED, error="cert_hostname")]  # fmt: skip

# id, observations, verdict, confidence, the exact set of anomaly kinds (an extra one fails)
CASES = [
    ("clean", obs(system(REAL), control(REAL), *clean_https()), "accessible", "confirmed", set()),
    (
        "cdn-differs-but-validates",
        obs(system(CDN_OTHER), control(REAL), *clean_https(CDN_OTHER)),
        "accessible", "confirmed", set(),
    ),
    (
        "ipv6-broken-ipv4-works",
        obs(system(REAL), system(REAL6, qtype="AAAA"), control(REAL), control(REAL6, qtype="AAAA"),
            *clean_https(), tcp(REAL6, error="unreachable")),
        "accessible", "confirmed", set(),
    ),
    (
        "https-captcha-403-from-genuine-address",
        obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, status=403, title="Just a moment...", body="Access denied | blocked")),
        "accessible", "confirmed", set(),
    ),
    (
        "gfw-forged-dns-and-sni-reset",
        obs(gfw_dns(), control(REAL), *GFW_SNI),
        "dns_blocked", "confirmed", {"dns.injection", "tls.sni_filtering"},
    ),
    (
        "injection-probe-answers",
        obs(system(REAL), query("injection", resp(FORGED)), control(REAL), *clean_https()),
        "dns_blocked", "confirmed", {"dns.injection"},
    ),
    (
        # The resolver abroad answers the dead name too: not the ISP's own NXDOMAIN rewriting.
        "ghost-dns",
        obs(system(FORGED), query("probe", resp(FORGED)), control(rcode="NXDOMAIN"), tcp(FORGED),
            fetch(FORGED, ok=False)),
        "dns_blocked", "likely", {"dns.inconsistent"},
    ),
    (
        "isp-nxdomain",
        obs(system(rcode="NXDOMAIN"), control(REAL), *clean_https()),
        "dns_blocked", "confirmed", {"dns.nxdomain"},
    ),
    (
        "bogon-answer",
        obs(system("10.10.34.35"), control(REAL), tcp("10.10.34.35", error="timeout"),
            *clean_https()),
        "dns_blocked", "confirmed", {"dns.bogon", "dns.known_censor_ip"},  # Iran's blockpage IP
    ),
    (
        "ip-blackhole-with-control-server",
        obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=(tcp(REAL),))),
        "tcp_blocked", "confirmed", {"tcp.timeout"},
    ),
    (
        # DoH says the address is genuine, but only a control server can say it answers from
        # elsewhere: a blackholed address and a dead server look the same from here.
        "ip-blackhole-doh-only",
        obs(system(REAL), control(REAL), tcp(REAL, error="timeout")),
        "inconclusive", "none", {"tcp.timeout"},
    ),
    (
        # The connect failed inside another site's residual window on this address: even a
        # control server that connects fine cannot make that penalty evidence against this site.
        "residual-connect-is-not-evidence",
        obs(system(REAL), control(REAL),
            dataclasses.replace(tcp(REAL, error="timeout"), possibly_residual=True),
            control_server=ctrl_server(tcp_=(tcp(REAL),))),
        "inconclusive", "none", set(),
    ),
    (
        "ip-blackhole-control-server-connects",
        obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=(tcp(REAL),))),
        "tcp_blocked", "confirmed", {"tcp.timeout"},
    ),
    (
        "server-down-control-server-agrees",
        obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=(tcp(REAL, error="timeout"),))),
        "site_down", "confirmed", {"tcp.timeout"},
    ),
    (
        "closed-port-no-control-server",
        obs(system(REAL), control(REAL), tcp(REAL, error="refused")),
        "inconclusive", "none", {"tcp.refused"},
    ),
    (
        "sni-filtering",
        obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset")),
        "tls_blocked", "confirmed", {"tls.sni_filtering"},
    ),
    (
        "both-snis-fail-ambiguous",
        obs(system(REAL), control(REAL), tcp(REAL),
            hs(REAL, kind="benign", ok=False, error="reset"), hs(REAL, error="reset")),
        "inconclusive", "none", {"tls.reset"},
    ),
    (
        "residual-penalty-is-not-evidence",
        obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset", residual=True)),
        "inconclusive", "none", set(),
    ),
    (
        "tls-mitm",
        obs(system(REAL), control(REAL), tcp(REAL),
            hs(REAL, kind="benign", crt=cert(issuer="CN=Real CA", sha="11")),
            hs(REAL, error="cert_unknown_ca", crt=cert(issuer="CN=National Root", sha="22"))),
        "tls_blocked", "likely", {"tls.cert_invalid"},
    ),
    (
        "site-cert-name-mismatch-is-not-mitm",
        obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_hostname", crt=cert())),
        "site_down", "likely", set(),
    ),
    (
        "http-blockpage-cleartext",
        obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=f"http://{DOMAIN}/", body="<title>AGCOM Stop Page</title>"),
            target=f"http://{DOMAIN}/"),
        "http_blocked", "confirmed", {"http.blockpage"},
    ),
    (
        "http-host-reset-cleartext",
        obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, ok=False, url=f"http://{DOMAIN}/", error="reset"), target=f"http://{DOMAIN}/"),
        "http_blocked", "likely", {"http.reset"},
    ),
    (
        "http-clean-cleartext",
        obs(system(REAL), control(REAL), tcp(REAL, port=80), fetch(REAL, url=f"http://{DOMAIN}/"),
            target=f"http://{DOMAIN}/"),
        "accessible", "likely", set(),
    ),
    (
        "nxdomain-everywhere",
        obs(system(rcode="NXDOMAIN"), control(rcode="NXDOMAIN")),
        "site_down", "confirmed", set(),
    ),
    (
        "site-own-dns-is-localhost",
        # The refused connect is reported (it is the control-given address), never as blocking.
        obs(system("127.0.0.1"), control("127.0.0.1"), tcp("127.0.0.1", error="refused")),
        "site_down", "likely", {"tcp.refused"},
    ),
    (
        "network-down",
        obs(query("system"), query("control"), query("injection")),
        "inconclusive", "none", set(),
    ),
    (
        "no-control-bare-timeout",
        obs(system(REAL), query("control", error="timeout"), tcp(REAL, error="timeout")),
        "inconclusive", "none", set(),
    ),
    (
        "no-control-gfw-injection",
        obs(gfw_dns(), query("control", error="timeout"), tcp(REAL), hs(REAL, error="reset")),
        "dns_blocked", "confirmed", {"dns.injection"},
    ),
    (
        "no-control-sni-contrast",
        obs(system(REAL), query("control", error="timeout"), tcp(REAL), hs(REAL, kind="benign"),
            hs(REAL, error="reset")),
        "tls_blocked", "likely", {"tls.sni_filtering"},
    ),
    (
        "ip-literal-clean",
        obs(tcp(REAL), hs(REAL, kind="benign"), fetch(REAL, url=f"https://{REAL}/"), target=REAL),
        "accessible", "confirmed", set(),
    ),
    (
        "ip-literal-timeout-nothing-to-compare",
        obs(tcp(REAL, error="timeout"), target=REAL),
        "inconclusive", "none", {"tcp.timeout"},
    ),
    (
        "silent-system-resolver",
        obs(query("system"), query("system", qtype="AAAA"), control(REAL), *clean_https()),
        "inconclusive", "none", {"dns.timeout"},
    ),
    (
        "transparent-dns-proxy-tells-truth",
        obs(system(REAL), query("injection", resp(REAL)), control(REAL), *clean_https()),
        "accessible", "confirmed", set(),
    ),
    (
        # Sites redirect to their other domains all the time: without a control server the
        # redirect is reported, not held against the network.
        "offsite-redirect-cleartext-no-control-server",
        obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=f"http://{DOMAIN}/", final_url="http://blocked.isp.test/",
                  redirects=(hop(f"http://{DOMAIN}/", "http://blocked.isp.test/"),)),
            target=f"http://{DOMAIN}/"),
        "accessible", "likely", {"http.redirect_offsite"},
    ),
    (
        "offsite-redirect-cleartext-control-server-stays",
        obs(system(REAL), control(REAL), tcp(REAL, port=80),
            # the ISP's notice page (another title and size than the site's)
            fetch(REAL, url=f"http://{DOMAIN}/", final_url="http://blocked.isp.test/",
                  redirects=(hop(f"http://{DOMAIN}/", "http://blocked.isp.test/"),),
                  title="Access to this site is restricted", length=700),
            target=f"http://{DOMAIN}/",
            control_server=ctrl_server(http=fetch(REAL, url=f"http://{DOMAIN}/"))),
        "http_blocked", "likely", {"http.body_diff", "http.redirect_offsite"},
    ),
    (
        "https-timeout-after-verified-tls-no-control-server",
        obs(system(REAL), control(REAL), tcp(REAL),
            fetch(REAL, ok=False, error="timeout", tls_ok=True)),
        "inconclusive", "none", {"http.timeout"},
    ),
    (
        "dns-only-run-agrees",
        obs(system(REAL, REAL2), control(REAL)),
        "accessible", "likely", set(),
    ),
    (
        "dns-only-run-cdn-differs-is-not-blocked",
        obs(system(CDN_OTHER), control(REAL)),
        "inconclusive", "none", {"dns.inconsistent"},
    ),
    (
        "www-redirect-is-normal",
        obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=f"http://{DOMAIN}/", final_url=f"https://{DOMAIN}/",
                  redirects=(hop("http://coingecko.com/", f"https://{DOMAIN}/"),)),
            target="http://coingecko.com/"),
        "accessible", "likely", set(),
    ),
]


@pytest.mark.parametrize(("case", "observations", "verdict", "confidence", "kinds"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_verdict(case: str, observations, verdict: str, confidence: str, kinds: set[str]) -> None:
    result = judge(observations)
    found = {a.kind for a in result.anomalies}
    assert (result.verdict, result.confidence) == (verdict, confidence), result.reason
    assert found == kinds, found
    assert result.reason and "\n" not in result.reason
    assert result.summary
    if verdict in ("accessible", "site_down"):
        assert not any(
            a.kind.startswith("dns.") and a.kind != "dns.timeout" for a in result.anomalies
        )


def test_gfw_reports_every_layer_and_trusted_dns_fails() -> None:
    result = judge(obs(gfw_dns(), control(REAL), *GFW_SNI))
    assert result.summary.startswith("DNS answers forged on the path (2 responses)")
    assert "SNI names the site" in result.summary
    assert result.reachable_with_trusted_dns is False  # encrypted DNS alone will not help


def test_dns_blocked_but_reachable_with_trusted_dns() -> None:
    result = judge(obs(system(FORGED), control(REAL), tcp(FORGED), fetch(FORGED, ok=False,
                   error="cert_hostname", tls_ok=False), *clean_https()))  # fmt: skip
    assert result.verdict == "dns_blocked"
    assert result.reachable_with_trusted_dns is True


def test_site_down_summary_is_plain() -> None:
    result = judge(obs(system(rcode="NXDOMAIN"), control(rcode="NXDOMAIN")))
    assert result.summary == "Site down: its name does not exist (control agrees)"


def test_observations_are_copied_through() -> None:
    o = obs(gfw_dns(), control(REAL), *GFW_SNI)
    result = judge(o)
    assert (result.dns, result.tcp, result.tls, result.http) == (o.dns, o.tcp, o.tls, o.http)
    assert result.domain == DOMAIN and result.url == f"https://{DOMAIN}/"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_round_trip_rejudges_to_same_verdict(case) -> None:
    result = judge(case[1])
    data = json.loads(json.dumps(to_json(result)))
    back = from_json(SiteResult, data)
    assert back == result
    again = judge(observations_of(back))
    assert (again.verdict, again.confidence, again.anomalies) == (
        result.verdict, result.confidence, result.anomalies,
    )


def test_unused_names_are_real() -> None:
    # The builders' spare addresses are distinct, so cases above cannot pass by accident.
    assert len({REAL, REAL2, CDN_OTHER, FORGED, REAL6, INJECTION}) == 6
