"""DNS anomalies: one function per kind, each naming its evidence.

Only the resolvers a browser might use (roles "system" and "probe") are judged; "control" answers
are the yardstick and "injection" answers are evidence by themselves. Rules of thumb:
- An answer that agrees with the truth (a control address or a TLS-validated one) is never
  evidence, whoever sent it: a transparent DNS proxy answering truthfully is not censorship.
  With nothing to compare it with, an injection-probe answer that every resolver drew alike
  (one answer each, no race) shows a network that intercepts DNS, not a lie (`_answered_alike`).
- AAAA failures other than NXDOMAIN are ignored: resolvers on IPv4-only networks break AAAA often;
  an AAAA NXDOMAIN is ignored too when the same resolver gave the name A addresses (the browser
  still gets the site: old home routers answer AAAA that way).
- With no control, a TLS-validated address is the yardstick (`Facts.name_exists`/`known_a`).
- Lost packets are not censorship: a failure a retry answered is no failure (`retried`).
- A dead name stays dead: an NXDOMAIN agrees with a control that finds no address (a dangling
  CNAME), and a lone system-resolver answer for a name the control calls NXDOMAIN is the ISP
  rewriting dead names, not ghost DNS (`nxdomain_rewrite`).
"""

from __future__ import annotations

from collections.abc import Iterator

from reachcheck.analysis import fingerprints
from reachcheck.analysis.context import PROBE_ROLES, Facts, responded
from reachcheck.model import Anomaly, DnsQuery, DnsResponse


def _probe_queries(facts: Facts) -> Iterator[DnsQuery]:
    return (q for q in facts.obs.dns if q.role in PROBE_ROLES)


def _truthful(resp: DnsResponse, facts: Facts) -> bool | None:
    """Does this response tell the truth? None when nothing is known to compare with."""
    if resp.rcode == "NOERROR" and resp.addresses:
        genuine = facts.genuine
        if any(a in genuine for a in resp.addresses):
            return True
        # Known truth elsewhere (control addresses or validated ones) makes this answer a lie.
        return False if genuine or facts.control_state in ("nxdomain", "empty") else None
    if resp.rcode == "NXDOMAIN" and facts.control_no_address:
        return True  # the name has nowhere to go (a dangling CNAME): NXDOMAIN agrees
    if resp.rcode == "NXDOMAIN" and facts.name_exists:
        return False  # a control or a verified handshake shows the name exists
    if facts.control_state == "unavailable":
        return None
    if resp.rcode == "NXDOMAIN":
        return facts.control_state == "nxdomain"
    if resp.rcode == "NOERROR":
        return facts.control_state != "resolves"
    return True  # SERVFAIL/REFUSED: a broken resolver, not something an injector forges


def _forged(q: DnsQuery, facts: Facts) -> tuple[DnsResponse, ...]:
    """The responses of `q` that look injected on the path (empty if none)."""
    key = ("forged", id(q))
    found: tuple[DnsResponse, ...] | None = facts.memo.get(key)
    if found is None:
        found = facts.memo[key] = _find_forged(q, facts)
    return found


def _find_forged(q: DnsQuery, facts: Facts) -> tuple[DnsResponse, ...]:
    if not q.responses:
        return ()
    answers = [r for r in q.responses if responded(r) and r.rcode in ("NOERROR", "NXDOMAIN")]
    if q.role == "injection":
        # Nothing runs DNS there, so every answer was forged, unless it tells the truth
        # (then a transparent proxy answered, which is not censorship of this site).
        forged = tuple(r for r in answers if _truthful(r, facts) is not True)
        unknown = all(_truthful(r, facts) is None for r in forged)
        if forged and unknown and _answered_alike(q, facts):
            # Every resolver drew this one answer and nothing says what the truth is: the
            # network intercepts DNS (all of port 53 reaches one resolver), which is no
            # evidence that this answer lies (an NXDOMAIN for a name that does not exist).
            return ()
        return forged
    if q.role not in PROBE_ROLES or q.transport != "udp":
        return ()
    shapes = {(r.rcode, frozenset(r.addresses)) for r in answers}
    if len(shapes) < 2:
        return ()
    lies = tuple(r for r in answers if _truthful(r, facts) is False)
    if lies:
        return lies
    if any(_truthful(r, facts) is None for r in answers):
        # No yardstick: differing racing answers are the signature, but which one is real is
        # unknown; the later arrivals are usually the real resolver.
        return tuple(answers[:-1])
    return ()  # every differing answer is true (CDN rotation): not injection


def _answered_alike(q: DnsQuery, facts: Facts) -> bool:
    """The injection probe drew exactly one answer, and every system/probe UDP resolver asked
    the same question drew exactly that one too (no race anywhere): one interceptor answered."""
    shape = [(r.rcode, frozenset(r.addresses)) for r in q.responses if responded(r)]
    if len(shape) != 1:
        return False
    others = [p for p in _probe_queries(facts)
              if p.transport == "udp" and p.qtype == q.qtype and p.responses]
    return bool(others) and all(
        [(r.rcode, frozenset(r.addresses)) for r in p.responses if responded(r)] == shape
        for p in others
    )


def injected_queries(facts: Facts) -> tuple[DnsQuery, ...]:
    """Queries that drew forged responses."""
    found: tuple[DnsQuery, ...] | None = facts.memo.get("injected")
    if found is None:
        found = facts.memo["injected"] = tuple(q for q in facts.obs.dns if _forged(q, facts))
    return found


def forged_responses(facts: Facts) -> int:
    """How many forged responses arrived in total."""
    return sum(len(_forged(q, facts)) for q in facts.obs.dns)


def injection(facts: Facts) -> list[Anomaly]:
    """dns.injection: several differing UDP responses to one query, or any (untruthful) answer
    from the injection probe, an address that runs no DNS service."""
    out = []
    for q in facts.obs.dns:
        forged = _forged(q, facts)
        if not forged:
            continue
        addrs = tuple(dict.fromkeys(a for r in forged for a in r.addresses))
        shown = ", ".join(addrs) or forged[0].rcode
        if q.role == "injection":
            detail = f"{q.resolver} runs no DNS service yet answered {q.qname} {q.qtype}: {shown}"
        else:
            detail = (
                f"{len(q.responses)} differing responses to one {q.qtype} query to "
                f"{q.resolver}; forged: {shown}"
            )
        out.append(Anomaly("dns", "dns.injection", detail, addrs, (q.resolver,), confirmed=True))
    return out


_RCODE_KINDS = {"SERVFAIL": "dns.servfail", "REFUSED": "dns.refused"}
# "dns_malformed": only garbage came back (a broken or hostile middlebox): the browser gets no
# address either.
_ERROR_KINDS = {
    "timeout": "dns.timeout",
    "refused": "dns.refused",
    "dns_malformed": "dns.malformed",
}


def _gave_a(facts: Facts, q: DnsQuery) -> bool:
    """The resolver of `q` answered A addresses for the same name."""
    return any(
        o.resolver == q.resolver and o.qname == q.qname and o.qtype == "A"
        and o.answer is not None and bool(o.answer.addresses)
        for o in facts.obs.dns
    )


def _real_answer(q: DnsQuery) -> bool:
    return q.answer is not None and q.answer.rcode in ("NOERROR", "NXDOMAIN")


def retried(facts: Facts, q: DnsQuery) -> bool:
    """Lost packets are not censorship: `q` failed (no answer, SERVFAIL, REFUSED, garbage) but
    another attempt of the same question to the same resolver got a real answer, so the failure
    was the packet's or the moment's, not the name's."""
    if _real_answer(q):
        return False
    return any(
        o is not q and o.resolver == q.resolver and o.qname == q.qname and o.qtype == q.qtype
        and _real_answer(o)
        for o in facts.obs.dns
    )


def _failure_kind(q: DnsQuery, facts: Facts) -> str | None:
    ans = q.answer
    if retried(facts, q):
        return None
    if ans is not None and ans.rcode == "NXDOMAIN":
        if not facts.name_exists or (q.qtype != "A" and _gave_a(facts, q)):
            return None
        if facts.control_no_address:
            return None  # a dangling CNAME: the name has no address, NXDOMAIN agrees
        return "dns.nxdomain"
    if q.qtype != "A" or not facts.known_a:
        return None
    if ans is None:
        return _ERROR_KINDS.get(q.error or "")
    if ans.rcode == "NOERROR":
        return None if ans.addresses else "dns.no_answer"
    return _RCODE_KINDS.get(ans.rcode)


def _truth_source(facts: Facts) -> str:
    if facts.control_state == "resolves":
        return "the control resolves it"
    if facts.control_state == "empty":
        return "the control says it exists"
    shown = ", ".join(sorted(facts.validated)[:3])
    return f"a verified TLS handshake for the name succeeded on {shown}"


def failures(facts: Facts) -> list[Anomaly]:
    """dns.nxdomain / no_answer / servfail / refused / timeout: a system or probe resolver fails
    for a name the control resolves (NXDOMAIN: for a name the control says exists); with no
    control, for a name whose TLS-validated address proves it exists (control-free truth).
    Not a failure: a query a retry of the same question answered (`retried`), and an NXDOMAIN
    for a name the control finds without any address (a dangling CNAME: it agrees)."""
    injected = {id(q) for q in injected_queries(facts)}
    out = []
    for q in _probe_queries(facts):
        kind = None if id(q) in injected else _failure_kind(q, facts)
        if kind is None:
            continue
        what = q.answer.rcode if q.answer is not None else q.error
        truth = _truth_source(facts)
        detail = f"{q.resolver} ({q.role}) gave {what} for {q.qname} {q.qtype}; {truth}"
        out.append(Anomaly("dns", kind, detail, (), (q.resolver,)))
    return out


def resolver_works(facts: Facts, resolver: str) -> bool:
    """The resolver gave a real answer (NOERROR/NXDOMAIN) to some query for this site, so its
    failure on another query is about the name rather than the resolver being down."""
    return any(
        r.rcode in ("NOERROR", "NXDOMAIN")
        for q in facts.obs.dns
        if q.resolver == resolver
        for r in q.responses
    )


def _answered(facts: Facts) -> Iterator[tuple[DnsQuery, DnsResponse]]:
    for q in _probe_queries(facts):
        for r in q.responses:
            if responded(r):
                yield q, r


def bogon(facts: Facts) -> list[Anomaly]:
    """dns.bogon: a system/probe answer in a special-purpose range for a public name, which
    neither the control gives nor TLS validated (a site's own 127.0.0.1 is not an accusation)."""
    found: list[Anomaly] | None = facts.memo.get("bogon")
    if found is None:
        found = facts.memo["bogon"] = _bogon(facts)
    return list(found)


def _bogon(facts: Facts) -> list[Anomaly]:
    if not facts.public_name:
        return []
    genuine = facts.genuine
    hits: dict[str, set[str]] = {}
    for q, r in _answered(facts):
        for a in r.addresses:
            if facts.is_bogon(a) and a not in genuine:
                hits.setdefault(a, set()).add(q.resolver)
    if not hits:
        return []
    resolvers = tuple(sorted(set().union(*hits.values())))
    detail = f"special-purpose address(es) {', '.join(hits)} for public name {facts.domain}"
    sure = facts.control_state == "resolves" or (facts.name_exists and bool(facts.validated))
    return [Anomaly("dns", "dns.bogon", detail, tuple(hits), resolvers, confirmed=sure)]


def known_censor_ip(facts: Facts) -> list[Anomaly]:
    """dns.known_censor_ip: an answer address or CNAME matches a known censor DNS signature and
    is not the site's genuine address."""
    found: list[Anomaly] | None = facts.memo.get("censor_ip")
    if found is None:
        found = facts.memo["censor_ip"] = _known_censor_ip(facts)
    return list(found)


def _known_censor_ip(facts: Facts) -> list[Anomaly]:
    genuine = facts.genuine
    names: dict[str, None] = {}
    addrs: dict[str, None] = {}
    resolvers: dict[str, None] = {}
    generic_only = True
    for q, r in _answered(facts):
        suspects = [a for a in r.addresses if a not in genuine]
        for fp in fingerprints.match_dns_answer(suspects, r.cnames):
            names[f"{fp.name}" + (f" ({fp.country})" if fp.country else "")] = None
            resolvers[q.resolver] = None
            generic_only = generic_only and fp.scope == "br"
        for a in fingerprints.censor_addresses(suspects):
            addrs[a] = None
    if not names:
        return []
    detail = f"answer matches known censor signature(s): {', '.join(names)}"
    # "br" entries (127.0.0.1, 0.0.0.0, 1.2.3.4) are generic; a named blockpage IP is direct.
    sure = not generic_only or facts.control_state == "resolves"
    return [
        Anomaly("dns", "dns.known_censor_ip", detail, tuple(addrs), tuple(resolvers), sure)
    ]


def nxdomain_rewrite(facts: Facts) -> tuple[str, ...]:
    """NXDOMAIN rewriting is not ghost DNS (design 5.1): many ISP resolvers answer an ad or
    search server for names that do not exist. The addresses such a resolver gave, when the
    control says NXDOMAIN and only the system resolver(s) answered an address, with no
    injection, no known censor address and no special-purpose answer (empty otherwise)."""
    found: tuple[str, ...] | None = facts.memo.get("rewrite")
    if found is None:
        found = facts.memo["rewrite"] = _nxdomain_rewrite(facts)
    return found


def _nxdomain_rewrite(facts: Facts) -> tuple[str, ...]:
    if facts.control_state != "nxdomain" or not facts.public_name:
        return ()
    if injected_queries(facts) or bogon(facts) or known_censor_ip(facts):
        return ()
    answering = [
        (q.role, q.answer.addresses)
        for q in _probe_queries(facts)
        if q.answer is not None and q.answer.addresses
    ]
    if not answering or any(role != "system" for role, _ in answering):
        return ()
    addrs = tuple(dict.fromkeys(a for _, given in answering for a in given))
    if any(a in facts.validated for a in addrs):
        return ()  # the name works here (split-horizon DNS): not a dead name at all
    return addrs


def inconsistent(facts: Facts) -> list[Anomaly]:
    """dns.inconsistent: a resolver's answers (A and AAAA together) share no address with the
    control's and none TLS-validated; or it resolves a name the control says does not exist
    ("ghost" DNS). With no control, the TLS-validated addresses are the yardstick.
    Bogon/censor-signature addresses and injected queries are reported elsewhere."""
    if not facts.public_name:
        return []  # a private name (printer.local) is expected to be unknown to a public control
    validated_only = facts.control_state in ("unavailable", "failed") and bool(facts.validated)
    if facts.control_state not in ("resolves", "nxdomain") and not validated_only:
        return []
    if nxdomain_rewrite(facts):
        return []  # the resolver's own rewriting of a dead name: the verdict says so
    injected = {id(q) for q in injected_queries(facts)}
    flagged = {a for x in bogon(facts) + known_censor_ip(facts) for a in x.addresses}
    per_resolver: dict[str, set[str]] = {}
    for q in _probe_queries(facts):
        if id(q) in injected or q.answer is None:
            continue
        per_resolver.setdefault(q.resolver, set()).update(q.answer.addresses)
    out = []
    for resolver, addrs in per_resolver.items():
        rest = addrs - flagged
        if not rest or rest & facts.genuine:
            continue
        shown = ", ".join(sorted(rest))
        if facts.control_state == "nxdomain":
            detail = (f"{resolver} resolves {facts.domain} to {shown}; "
                      "the control says it does not exist")
        elif validated_only:
            truth = ", ".join(sorted(facts.validated)[:3])
            detail = (f"{resolver} answers {shown}: none is TLS-validated "
                      f"(the site verified on {truth})")
        else:
            detail = f"{resolver} answers {shown}: none is a control address or TLS-validated"
        out.append(Anomaly("dns", "dns.inconsistent", detail, tuple(sorted(rest)), (resolver,)))
    return out


def analyze(facts: Facts) -> list[Anomaly]:
    """Every DNS anomaly of the site."""
    return [
        *injection(facts),
        *failures(facts),
        *bogon(facts),
        *known_censor_ip(facts),
        *inconsistent(facts),
    ]
