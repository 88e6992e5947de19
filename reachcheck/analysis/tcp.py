"""TCP anomalies: a connect to a genuine address fails.

A failure on a non-genuine (forged) address is the DNS lie's consequence, not TCP blocking. IPv6
failures on a machine whose IPv6 does not work at all (every IPv6 connect fails while IPv4 works,
or every one is "unreachable") are local misconfiguration, never evidence.
"""

from __future__ import annotations

from reachcheck.analysis.context import Facts, is_v6
from reachcheck.model import Anomaly

KINDS = {
    "timeout": "tcp.timeout",
    "refused": "tcp.refused",
    "reset": "tcp.reset",
    "unreachable": "tcp.unreachable",
}


def ipv6_broken(facts: Facts) -> bool:
    """This machine has no working IPv6 path (judged from this site's connects)."""
    v6 = [c for c in facts.obs.tcp if is_v6(c.address)]
    if not v6 or any(c.ok for c in v6):
        return False
    v4_ok = any(c.ok for c in facts.obs.tcp if not is_v6(c.address))
    return v4_ok or all(c.error == "unreachable" for c in v6)


def connect_failures(facts: Facts) -> list[Anomaly]:
    """tcp.timeout / tcp.refused / tcp.reset / tcp.unreachable: the connect to a genuine address
    (control-given, TLS-validated or the literal) fails."""
    genuine = facts.genuine
    skip_v6 = ipv6_broken(facts)
    by_kind: dict[str, list[str]] = {}
    for c in facts.obs.tcp:
        if (c.ok or c.possibly_residual or c.address not in genuine
                or (skip_v6 and is_v6(c.address))):
            continue  # a residual penalty left by another site is no evidence against this one
        kind = KINDS.get(c.error or "")
        if kind is not None and f"{c.address}:{c.port}" not in by_kind.get(kind, []):
            by_kind.setdefault(kind, []).append(f"{c.address}:{c.port}")
    out = []
    for kind, endpoints in by_kind.items():
        err = kind.split(".", 1)[1]
        detail = f"TCP connect {err} on the site's genuine address(es) {', '.join(endpoints)}"
        addrs = tuple(dict.fromkeys(e.rsplit(":", 1)[0] for e in endpoints))
        out.append(Anomaly("tcp", kind, detail, addrs))
    return out


def analyze(facts: Facts) -> list[Anomaly]:
    """Every TCP anomaly of the site."""
    return connect_failures(facts)
