"""Am I measuring directly? Signs that a local proxy or VPN carries the "direct" path (design
section 9). When one shows, nothing measured here is evidence of censorship: the verdict claims
no blocking and says what was found and how to measure (turn it off, or `--via`).

Rules (any one is enough):
1. A tun device carries the default route (`default_route_tun`): a VPN, or a proxy in TUN mode.
2. Fake-ip answers: a system/probe resolver's accepted answer lies in a fake-ip pool (Clash and
   Mihomo default to 198.18.0.0/16, `--fake-ip-pool`) and no control gives that address. No
   public name lives there (benchmark space); a local proxy hands such placeholders out and
   maps them back to the name when the connection arrives.
3. DNS answered locally: the injection probe answered (it runs no DNS service), every UDP
   resolver drew exactly one response, all with the same addresses, and either every TTL is
   tiny (a fake-ip answer's TTL is 1) or the answer is the truth (a control's address or a
   TLS-validated one). A censor's injection looks otherwise: it races a real answer (two
   responses), its forgeries differ between resolvers, and they do not lead to the site.
Ranges declared public (`--public-range`) are never fake-ip pools: labs use 198.18.0.0/15.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from reachcheck.analysis.context import Facts
from reachcheck.model import DnsQuery

TINY_TTL = 1  # seconds: Clash/Mihomo fake-ip answers carry TTL 1
UDP_ROLES = ("system", "probe", "injection")
HOW_TO_MEASURE = "turn the proxy/VPN off to measure this network, or pass it as --via URL"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def pools(fake_ip_pools: Sequence[str], public_ranges: Sequence[str]) -> tuple[Network, ...]:
    """The fake-ip pools minus any that overlap a range declared public."""
    public = [ipaddress.ip_network(r, strict=False) for r in public_ranges]
    out = []
    for text in fake_ip_pools:
        net = ipaddress.ip_network(text, strict=False)
        if not any(net.version == p.version and net.overlaps(p) for p in public):
            out.append(net)
    return tuple(out)


def _accepted(facts: Facts, roles: Sequence[str]) -> list[DnsQuery]:
    return [q for q in facts.obs.dns if q.role in roles and q.transport == "udp"]


def _fake_ip_answers(facts: Facts, nets: tuple[Network, ...]) -> list[str]:
    if not nets:
        return []
    found: dict[str, None] = {}
    for q in _accepted(facts, ("system", "probe")):
        answer = q.answer
        for address in answer.addresses if answer is not None else ():
            if address in facts.control_addresses:
                continue
            ip = ipaddress.ip_address(address)
            if any(ip.version == n.version and ip in n for n in nets):
                found.setdefault(address, None)
    return list(found)


def _answered_locally(facts: Facts) -> str | None:
    queries = _accepted(facts, UDP_ROLES)
    injection = [q for q in queries if q.role == "injection"]
    if not injection or not any(q.answer is not None for q in injection):
        return None
    by_type: dict[str, set[tuple[str, ...]]] = {}
    ttls: list[int] = []
    arrival = 0.0
    for q in queries:
        answer = q.answer
        if len(q.responses) != 1 or answer is None or answer.rcode != "NOERROR":
            return None  # a race, a failure, NXDOMAIN: not one local answerer
        # An empty answer counts too (fake-ip proxies answer AAAA with nothing), as long as
        # every resolver gives the same one for that type.
        by_type.setdefault(q.qtype, set()).add(tuple(sorted(answer.addresses)))
        ttls.extend(answer.ttls)
        arrival = max(arrival, answer.arrived_ms)
    if any(len(answers) != 1 for answers in by_type.values()):
        return None
    addresses = {a for answers in by_type.values() for a in next(iter(answers))}
    if not addresses:
        return None
    tiny = bool(ttls) and all(t <= TINY_TTL for t in ttls)
    truth = bool(addresses & (facts.control_addresses | facts.validated))
    if not (tiny or truth):
        return None
    why = f"TTL {max(ttls)}" if tiny else "the real address"
    return (f"every resolver, even the injection probe (no DNS service runs there), got the "
            f"same single answer ({why}, within {arrival:.0f} ms): DNS is answered locally "
            "(a local proxy/VPN, or DNS interception on this network)")


def detect(facts: Facts, fake_ip_pools: Sequence[str] = ()) -> str | None:
    """One line saying what shows a local proxy/VPN in the path, or None (looks direct)."""
    signs: list[str] = []
    tun = facts.obs.default_route_tun
    if tun:
        signs.append(f"the default route goes through the tun device {tun}")
    fake = _fake_ip_answers(facts, pools(fake_ip_pools, facts.public_ranges))
    if fake:
        signs.append(f"DNS answers {', '.join(fake[:3])} from a fake-ip pool "
                     f"({', '.join(str(n) for n in pools(fake_ip_pools, facts.public_ranges))})")
    local = _answered_locally(facts)
    if local is not None:
        signs.append(local)
    return "; ".join(signs) if signs else None
