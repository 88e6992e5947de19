"""The answer that survives the injection race (design §5.1).

An on-path injector races the real answer; it does not drop it. A UDP query to a resolver
abroad draws the forged response(s) first and the resolver's own answer after them. When every
control is unreachable (the big DoH endpoints are blocked in China), that late answer is the
best candidate for the site's real address: the runner connects, handshakes and fetches there
too, so the second layer of a double block (an SNI reset on the real address) is not missed.

Rules:
1. A query *raced* when its well-formed answers (NOERROR/NXDOMAIN) differ; its survivor is the
   last NOERROR answer with addresses, when it differs from the first answer. Its addresses
   minus every address seen in the earlier answers are candidates.
2. A candidate must agree across resolvers: it is a survivor (or the only answer) of at least
   two distinct UDP resolvers. One resolver's late answer alone could be a second forgery.
3. Special-purpose addresses and known censor answers are never candidates.
4. Weighed below a control: used only when no control resolved the name; what the probes find
   there is marked as such and never makes a verdict "confirmed" by itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reachcheck.analysis import bogons, fingerprints
from reachcheck.analysis.context import Facts
from reachcheck.model import Anomaly, DnsQuery, DnsResponse

SOURCE = "survivor"  # TcpConnect.sources marker of an address tried as a survivor
_ROLES = ("system", "probe")
NOTE = "address that survived the DNS injection race; no control confirms it"


def _answers(q: DnsQuery) -> list[DnsResponse]:
    return [r for r in q.responses if r.rcode in ("NOERROR", "NXDOMAIN")]


def _late(q: DnsQuery) -> frozenset[str]:
    """The addresses only the last answer of a raced query gave (empty if it did not race)."""
    answers = _answers(q)
    if len({(r.rcode, frozenset(r.addresses)) for r in answers}) < 2:
        return frozenset()
    last = answers[-1]
    first = answers[0]
    if last.rcode != "NOERROR" or not last.addresses or set(last.addresses) == set(first.addresses):
        return frozenset()
    earlier = {a for r in answers[:-1] for a in r.addresses}
    return frozenset(last.addresses) - earlier


def _sole(q: DnsQuery) -> frozenset[str]:
    """The addresses of a query that drew exactly one (unraced) answer."""
    answers = _answers(q)
    if len(answers) != 1 or answers[0].rcode != "NOERROR":
        return frozenset()
    return frozenset(answers[0].addresses)


def survivors(
    queries: Iterable[DnsQuery], public_ranges: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Candidate real addresses: late answers of raced UDP queries that at least two resolvers
    agree on (rule 2), in first-seen order; empty when no query raced."""
    queries = [q for q in queries if q.role in _ROLES and q.transport == "udp"]
    late: dict[str, set[str]] = {q.resolver: set() for q in queries}
    raced = False
    for q in queries:
        found = _late(q)
        raced = raced or bool(found)
        late[q.resolver] |= found
    if not raced:
        return ()
    backing: dict[str, set[str]] = {}
    for q in queries:
        for a in late[q.resolver] | _sole(q):
            backing.setdefault(a, set()).add(q.resolver)
    censor = fingerprints.censor_addresses(backing)
    ordered = dict.fromkeys(a for q in queries for a in sorted(late[q.resolver]))
    return tuple(
        a
        for a in ordered
        if len(backing.get(a, ())) >= 2
        and a not in censor
        and not bogons.is_bogon(a, public_ranges)
    )


def tried(tcp_sources: Iterable[tuple[str, tuple[str, ...]]]) -> frozenset[str]:
    """The addresses the runner connected to as survivors ((address, sources) pairs)."""
    return frozenset(a for a, sources in tcp_sources if SOURCE in sources)


def trusted_dns_works(facts: Facts) -> bool | None:
    """reachable_with_trusted_dns when no control resolved the name: the survivors stand in
    for the control's addresses (True: the site verified there; False: tried and failed)."""
    obs = facts.obs
    tried_here = tried((c.address, c.sources) for c in obs.tcp)
    if not tried_here:
        return None
    if facts.validated & tried_here or any(
        f.ok and f.address in tried_here and f.tls is not None and f.tls.ok for f in obs.http
    ):
        return True
    return False


def mark(anomalies: list[Anomaly], addresses: frozenset[str]) -> list[Anomaly]:
    """Say on each non-DNS anomaly found on a survivor address that a control did not confirm
    the address (the evidence is weaker than on a control's address)."""
    if not addresses:
        return anomalies
    out: list[Anomaly] = []
    for a in anomalies:
        if a.stage != "dns" and a.addresses and set(a.addresses) <= addresses:
            a = dataclasses.replace(a, detail=f"{a.detail} ({NOTE})", confirmed=False)
        out.append(a)
    return out
