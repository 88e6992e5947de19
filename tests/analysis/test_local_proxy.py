"""Am I measuring directly? (analysis/localproxy.py) and the proxy view's part of the judgement
(analysis/vantage.py), over recorded observations.

The Clash/Mihomo cases are what such a proxy in TUN + fake-ip mode shows: every UDP query,
the one to the injection probe included, is answered at once by the proxy with a placeholder
from 198.18.0.0/16 (TTL 1), and a connection to the placeholder reaches the real site (the
proxy maps it back to the name), while DoH goes out through the proxy to the real resolver.
"""

from __future__ import annotations

from dataclasses import replace

from reachcheck.analysis import anomalies, context, judge, verdict
from reachcheck.config import DEFAULT_FAKE_IP_POOLS
from reachcheck.model import DnsResponse, Observations
from reachcheck.rejudge import observations_of
from tests.analysis.builders import (
    DOMAIN,
    FORGED,
    REAL,
    cert,
    control,
    ctrl_server,
    fetch,
    gfw_dns,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)

FAKE = "198.18.0.23"  # a Clash fake-ip placeholder
POOLS = DEFAULT_FAKE_IP_POOLS


def ttl1(*addrs: str, ms: float = 0.4) -> DnsResponse:
    return DnsResponse(arrived_ms=ms, rcode="NOERROR", addresses=addrs, ttls=(1,) * len(addrs))


def clash_fake_ip(proxied: bool = False) -> Observations:
    """Clash TUN + fake-ip: every resolver (injection probe too) answers the placeholder.
    `proxied`: the proxy carries the connection to the site (else its upstream fails: the
    handshake on the placeholder is cut off, as when the proxy's server is unreachable)."""
    on_fake = [fetch(FAKE)] if proxied else [fetch(FAKE, ok=False, error="eof")]
    return obs(
        query("system", ttl1(FAKE)), query("probe", ttl1(FAKE)),
        query("injection", ttl1(FAKE)), control(REAL),
        # AAAA: an empty answer from the proxy, whoever was asked
        *(query(role, ttl1(), qtype="AAAA") for role in ("system", "probe", "injection")),
        tcp(FAKE), hs(FAKE, kind="benign", error="eof"), *on_fake,
        tcp(REAL), hs(REAL, kind="benign"), hs(REAL, error="reset"),  # the real address: SNI RST
    )


def test_clash_fake_ip_is_no_blocking() -> None:
    # The verdict rules alone call this a confirmed dns_blocked (the injection probe
    # "answered" with an address that does not lead to the site).
    o = clash_fake_ip()
    before = verdict.decide(context.build(o), anomalies(o))
    assert (before.verdict, before.confidence) == ("dns_blocked", "confirmed")
    r = judge(clash_fake_ip(), fake_ip_pools=POOLS)
    assert r.verdict == "inconclusive" and r.confidence == "none"
    assert r.local_proxy is not None and "fake-ip" in r.local_proxy and FAKE in r.local_proxy
    assert "--via" in r.reason and "not direct" in r.reason
    assert "local proxy" in r.summary.lower()


def test_locally_answered_dns_without_pool_match() -> None:
    """A pool the user did not declare (or a redir-host proxy): one identical answer from
    every resolver, TTL 1, the injection probe included -> still not direct."""
    r = judge(clash_fake_ip(), fake_ip_pools=())
    assert r.verdict == "inconclusive"
    assert r.local_proxy is not None and "injection probe" in r.local_proxy


def test_clash_carrying_the_site_is_not_blocked_either() -> None:
    """Even where the proxy carries the site, the injection probe's (empty) AAAA answer alone
    reads as injection to the verdict rules: the local proxy is why it is not a block."""
    o = clash_fake_ip(proxied=True)
    assert verdict.decide(context.build(o), anomalies(o)).verdict == "dns_blocked"
    r = judge(o, fake_ip_pools=POOLS)
    assert r.verdict == "inconclusive" and r.local_proxy is not None
    assert "would have been" in r.reason


def test_hijacked_dns_answering_the_truth() -> None:
    """Every resolver and the injection probe give the site's real address (normal TTL): DNS
    is intercepted locally, not forged; the site itself works. Never dns_blocked."""
    o = obs(query("system", resp(REAL, ms=0.5)), query("probe", resp(REAL, ms=0.5)),
            query("injection", resp(REAL, ms=0.5)), control(REAL),
            tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    r = judge(o, fake_ip_pools=POOLS)
    assert r.verdict == "accessible" and r.local_proxy is not None


def test_gfw_injection_is_not_a_local_proxy() -> None:
    """A race (forged then real), forgeries that differ per resolver: the censor, judged."""
    o = obs(gfw_dns(), query("probe", resp(FORGED, ms=2.0), resp(REAL, ms=150.0)),
            query("injection", resp("31.13.95.9", ms=2.0)), control(REAL),
            tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    r = judge(o, fake_ip_pools=POOLS)
    assert r.local_proxy is None
    assert r.verdict == "dns_blocked" and r.confidence == "confirmed"


def test_identical_forgery_with_normal_ttl_stays_blocked() -> None:
    """The same forged answer everywhere (one injector, real answers dropped), TTL 60, not
    the site's address: a censor, not a local proxy."""
    forged = DnsResponse(2.0, "NOERROR", (FORGED,), ttls=(60,))
    o = obs(query("system", forged), query("probe", forged), query("injection", forged),
            control(REAL), tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    r = judge(o, fake_ip_pools=POOLS)
    assert r.local_proxy is None and r.verdict == "dns_blocked"


def test_public_range_disables_an_overlapping_pool() -> None:
    """Labs declare 198.18.0.0/15 public: the default pool inside it must not fire."""
    o = obs(system(FAKE), control(FAKE), tcp(FAKE), hs(FAKE, kind="benign"), fetch(FAKE))
    assert judge(o, fake_ip_pools=POOLS).local_proxy is None  # the control gives it: genuine
    o = obs(system("198.18.5.5"), control(REAL), tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    assert judge(o, fake_ip_pools=POOLS).local_proxy is not None
    lab = judge(o, fake_ip_pools=POOLS, public_ranges=("198.18.0.0/15",))
    assert lab.local_proxy is None


def test_tun_default_route() -> None:
    """Measured through a VPN: a blocked-looking result is not claimed; others keep theirs."""
    blocked = obs(gfw_dns(), control(REAL), tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    o = replace(blocked, default_route_tun="tun0")
    r = judge(o)
    assert r.verdict == "inconclusive" and r.default_route_tun == "tun0"
    assert r.local_proxy is not None and "tun0" in r.local_proxy
    clean = replace(obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                        fetch(REAL)), default_route_tun="tun0")
    r = judge(clean)
    assert r.verdict == "accessible" and "not direct" in r.reason
    # Re-judging the saved result keeps the route fact.
    assert judge(observations_of(r)).local_proxy == r.local_proxy


# ------------------------------------------------------------------------- the proxy's view


def proxy_view(**kw: object) -> object:
    return replace(ctrl_server(**kw), server="socks5://127.0.0.1:1080",  # type: ignore[arg-type]
                   kind="proxy")


def test_blackhole_confirmed_through_the_proxy() -> None:
    local = [system(REAL), control(REAL), tcp(REAL, error="timeout")]
    alone = judge(obs(*local))
    assert alone.verdict == "inconclusive" and alone.reachable_via_proxy is None
    view = proxy_view(dns=(control(REAL),), tcp_=(tcp(REAL),), tls_=(hs(REAL),),
                      http=fetch(REAL))
    r = judge(obs(*local, control_server=view))  # type: ignore[arg-type]
    assert (r.verdict, r.confidence) == ("tcp_blocked", "confirmed")
    assert r.reachable_via_proxy is True
    assert "via your proxy: reachable" in r.summary


def test_fails_both_ways_is_site_down_and_unreachable_via_proxy() -> None:
    local = [system(REAL), control(REAL), tcp(REAL, error="timeout")]
    view = proxy_view(dns=(control(REAL),), tcp_=(tcp(REAL, error="timeout"),))
    r = judge(obs(*local, control_server=view))  # type: ignore[arg-type]
    assert r.verdict == "site_down" and r.reachable_via_proxy is False
    assert "control server" not in r.reason and "proxy" in r.reason
    assert "through your proxy" in r.summary


def test_interceptor_confirmed_by_the_proxys_certificate() -> None:
    bad = replace(hs(REAL, error="cert_unknown_ca"), cert=None)
    local = [system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"), bad]
    view = proxy_view(dns=(control(REAL),), tcp_=(tcp(REAL),), tls_=(hs(REAL),),
                      http=fetch(REAL))
    r = judge(obs(*local, control_server=view))  # type: ignore[arg-type]
    assert (r.verdict, r.confidence) == ("tls_blocked", "confirmed")


def test_static_interceptor_needs_an_outside_view() -> None:
    """One certificate for every SNI (design 5.1): the site's own broken certificate or an
    interceptor's; inconclusive alone (never site_down), decided by the proxy's view."""
    rogue = cert(issuer="CN=National Filter", subject="CN=filter.national", sha="99")
    local = [system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=rogue),
             hs(REAL, error="cert_unknown_ca", crt=rogue)]
    alone = judge(obs(*local))
    assert alone.verdict == "inconclusive" and "--via" in alone.reason
    genuine = hs(REAL, crt=cert(issuer="CN=Real CA", sha="11"))
    view = proxy_view(dns=(control(REAL),), tcp_=(tcp(REAL),), tls_=(genuine,), http=fetch(REAL))
    r = judge(obs(*local, control_server=view))  # type: ignore[arg-type]
    assert (r.verdict, r.confidence) == ("tls_blocked", "confirmed")
    same = proxy_view(dns=(control(REAL),), tcp_=(tcp(REAL),),
                      tls_=(hs(REAL, error="cert_unknown_ca", crt=rogue),))
    r = judge(obs(*local, control_server=same))  # type: ignore[arg-type]
    assert r.verdict == "site_down", r.reason  # the proxy sees the same broken certificate


def test_failed_proxy_view_falls_back_with_the_reason() -> None:
    local = [system(REAL), control(REAL), tcp(REAL, error="timeout")]
    view = replace(proxy_view(ok=False), error="proxy_unreachable: the proxy failed")  # type: ignore[type-var]
    r = judge(obs(*local, control_server=view))  # type: ignore[arg-type]
    assert r.verdict == "inconclusive" and r.reachable_via_proxy is None
    assert "proxy view failed (proxy_unreachable" in r.reason
    assert r.summary.endswith("(proxy view failed)")


def test_domain_is_the_one_measured() -> None:
    assert DOMAIN == judge(clash_fake_ip()).domain
