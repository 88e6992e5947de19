"""A site whose check cannot finish is inconclusive, built by the analysis' one SiteResult
builder: every observation kept, no rule run on the partial ones."""

from __future__ import annotations

import dataclasses

from reachcheck.model import DnsQuery, DnsResponse, Observations, TcpConnect
from reachcheck.runner.fallback import inconclusive
from reachcheck.targets import parse_target


def test_without_observations_the_result_is_empty() -> None:
    target = parse_target("https://a.test/x")
    r = inconclusive(target, "internal error: boom")
    assert (r.target, r.domain, r.url) == (target.given, "a.test", "https://a.test/x")
    assert (r.verdict, r.confidence, r.anomalies) == ("inconclusive", "none", ())
    assert (r.reason, r.summary) == ("internal error: boom", "The check could not be completed.")
    assert (r.dns, r.tcp, r.tls, r.http, r.control, r.elapsed_ms) == ((), (), (), (), None, 0.0)
    assert r.reachable_with_trusted_dns is None and r.reachable_via_proxy is None


def test_partial_observations_are_kept_but_not_judged() -> None:
    target = parse_target("a.test")
    # A forged-looking answer (a private address) with a failed connect: the rules would
    # flag it; a site cut off by its deadline must not be accused on half a measurement.
    forged = DnsResponse(arrived_ms=1.0, rcode="NOERROR", addresses=("10.10.34.35",))
    dns = DnsQuery("udp:127.0.0.1:53", "system", "udp", "a.test", "A", 1.0, (forged,), 0)
    obs = Observations(target, dns=(dns,), tcp=(TcpConnect("10.10.34.35", 443, False, 5.0,
                                                           "reset"),), elapsed_ms=12.5)
    obs = dataclasses.replace(obs, stages_checked=("dns", "tcp"))
    r = inconclusive(target, "the check of this site did not finish in time", obs)
    assert (r.verdict, r.anomalies, r.local_proxy) == ("inconclusive", (), None)
    assert (r.dns, r.tcp, r.elapsed_ms, r.stages_checked) == (obs.dns, obs.tcp, 12.5,
                                                              ("dns", "tcp"))
