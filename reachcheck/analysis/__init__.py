"""The analysis core: observations in, anomalies and a verdict out.

Rules of this package:
1. Pure. No sockets, no event loop, no clock, no network library (a test enforces the imports):
   the same `Observations` always give the same `SiteResult`, so a saved run can be re-judged.
2. One function per anomaly kind (in dns.py, tcp.py, tls.py, http.py), its docstring naming the
   evidence. The verdict (verdict.py) only weighs those anomalies against the facts.
3. A false "blocked" is the worst bug: later-stage failures count only on genuine addresses
   (control-given or TLS-validated), the truth a control gives is never evidence, and a bare
   failure with nothing to compare is inconclusive.

May import: reachcheck.model (and the standard library minus IO: see rule 1). (Enforced by
tests/test_layering.py.)
"""

from __future__ import annotations

from reachcheck.analysis import (
    cleartext_check,
    context,
    dns,
    http,
    localproxy,
    page_cluster,
    residual_memory,
    survivor,
    tcp,
    tls,
    vantage,
    verdict,
)
from reachcheck.model import Anomaly, Observations, SiteResult

__all__ = ["judge", "anomalies"]


def anomalies(obs: Observations, *, public_ranges: tuple[str, ...] = ()) -> list[Anomaly]:
    """Every anomaly of one site, in stage order."""
    return _anomalies(context.build(obs, tuple(public_ranges)))


def _anomalies(facts: context.Facts) -> list[Anomaly]:
    dns_found = dns.analyze(facts)
    # Addresses the DNS rules showed to be forged: later-stage oddities there are not the site's.
    suspects = frozenset(a for x in dns_found for a in x.addresses) - facts.genuine
    # A resolver's rewrite of a dead name points at an ad server: nothing there is the site's.
    suspects |= frozenset(dns.nxdomain_rewrite(facts))
    found = [
        *dns_found,
        *tcp.analyze(facts),
        *tls.analyze(facts, suspects),
        *http.analyze(facts, suspects),
        *cleartext_check.blockpages(facts),
        *page_cluster.blockpages(facts),
    ]
    return survivor.mark(found, survivor.tried((c.address, c.sources) for c in facts.obs.tcp))


def judge(
    obs: Observations,
    *,
    public_ranges: tuple[str, ...] = (),
    fake_ip_pools: tuple[str, ...] = (),
    unfinished: str | None = None,
) -> SiteResult:
    """Judge one site: the verdict, its confidence and evidence, with the observations copied.

    `public_ranges`: CIDR strings whose addresses count as public, not special-purpose (labs
    and test networks, `--public-range`); a bad one raises ValueError. `fake_ip_pools`: CIDRs
    a local proxy's fake-ip answers come from (`--fake-ip-pool`; see localproxy.py).
    `unfinished`: why the check of the site could not finish (its deadline, an internal
    error); then no rule runs on the partial observations: inconclusive with that reason.
    """
    found: list[Anomaly] = []
    local: str | None = None
    via_proxy: bool | None = None
    if unfinished is not None:
        d = verdict.Decision("inconclusive", "none", unfinished,
                             "The check could not be completed.")
    else:
        facts = context.build(obs, tuple(public_ranges))
        found = _anomalies(facts)
        d = residual_memory.review(facts, verdict.decide(facts, found))
        d = vantage.with_proxy_view(obs, d)
        local = localproxy.detect(facts, fake_ip_pools)
        d = vantage.without_local_proxy_claims(d, local)
        via_proxy = vantage.reachable_via_proxy(obs)
    t = obs.target
    return SiteResult(
        target=t.given,
        domain=t.domain,
        url=t.url,
        verdict=d.verdict,  # type: ignore[arg-type]
        confidence=d.confidence,  # type: ignore[arg-type]
        anomalies=tuple(found),
        reason=d.reason,
        dns=obs.dns,
        tcp=obs.tcp,
        tls=obs.tls,
        http=obs.http,
        control=obs.control,
        elapsed_ms=obs.elapsed_ms,
        reachable_with_trusted_dns=d.reachable_with_trusted_dns,
        summary=d.summary,
        stages_checked=obs.stages_checked,
        default_route_tun=obs.default_route_tun,
        reachable_via_proxy=via_proxy,
        local_proxy=local,
        cleartext_fetches=obs.cleartext_fetches,
        own_triggers=obs.own_triggers,
        page_clusters=obs.page_clusters,
    )
