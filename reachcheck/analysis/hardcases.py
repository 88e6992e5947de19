"""Verdict rules for the hard cases of design section 5.1 that are not one anomaly's strength.

Each function returns `(verdict, confidence, reason, summary)` when its case applies, else None;
`verdict.decide` calls them in order. The rules:
1. The site's own DNS points to a special-purpose address: every resolver that answered, the
   control included, gives only such addresses (127.0.0.1, 0.0.0.0, private ranges). The site
   is down (its owner points it nowhere); whatever answers on our own 127.0.0.1 is not the
   site, so never accessible (`own_dns_special`).
2. NXDOMAIN rewriting is not ghost DNS: the control says the name does not exist and only the
   system resolver answered an address (no injection, no known censor or special-purpose
   address): site_down, with a note that the resolver rewrites dead names (`rewritten`).
3. The control fails the same way only with the same kind of failure (`outside`): site_down
   when every failure of ours is a kind the control server met everywhere (a relay refusing
   strangers: TLS EOF on every address from both sides); a control failing *differently* is
   not "the same way" and leaves the site inconclusive (`outside_view`).
4. An unknown-CA certificate shown for every SNI with no outside view: the site's own or an
   interceptor's; inconclusive, never site_down (`ambiguous_certificate`).
5. A cleartext page that differs from the control server's single fetch (its own variance
   unknown) is not "accessible": inconclusive (`undecided_page`).
6. Say what was judged: a run that measured only some stages (`--only dns`) never claims
   "Reachable"; the summary names what was checked (`partial_success`).
"""

from __future__ import annotations

from reachcheck.analysis import dns, outside, tls
from reachcheck.analysis.context import PROBE_ROLES, Facts, target_handshakes
from reachcheck.model import Anomaly

Ruling = tuple[str, str, str, str]  # verdict, confidence, reason, summary
_STAGE_NAMES = {"tcp": "TCP", "tls": "TLS", "http": "HTTP"}


def own_dns_special(facts: Facts) -> Ruling | None:
    """Rule 1: the control and every resolver that answered give only special-purpose
    addresses for a public name."""
    ctrl = facts.control_addresses
    if not facts.public_name or facts.control_state != "resolves" or not ctrl:
        return None
    if facts.validated:
        return None  # a verified handshake for the name there: the site is there (a LAN name)
    if not all(facts.is_bogon(a) for a in ctrl):
        return None
    probe = {
        a
        for q in facts.obs.dns
        if q.role in PROBE_ROLES and q.answer is not None
        for a in q.answer.addresses
    }
    if not all(facts.is_bogon(a) for a in probe):
        return None
    shown = ", ".join(sorted(ctrl)[:3])
    return (
        "site_down",
        "likely",
        f"the site's own DNS (the control too) gives only special-purpose addresses ({shown})",
        "Site down: its DNS points to a private address",
    )


def rewritten(facts: Facts, dns_decisive: bool) -> Ruling | None:
    """Rule 2: a dead name the system resolver rewrites to an address of its own."""
    addrs = dns.nxdomain_rewrite(facts)
    if dns_decisive or not addrs:
        return None
    agrees = any(
        q.answer is not None and q.answer.rcode == "NXDOMAIN"
        for q in facts.obs.dns
        if q.role in PROBE_ROLES
    )
    return (
        "site_down",
        "confirmed" if agrees else "likely",
        f"the control says the name does not exist; your resolver rewrites non-existent names "
        f"(it answered {', '.join(addrs[:3])})",
        "Site down: its name does not exist (your resolver rewrites non-existent names)",
    )


def _tried(facts: Facts) -> frozenset[str]:
    obs = facts.obs
    return frozenset(
        [c.address for c in obs.tcp]
        + [t.address for t in target_handshakes(obs)]
        + [f.address for f in obs.http]
    )


def outside_view(facts: Facts) -> Ruling | None:
    """Rule 3: nothing decisive and no success; does the control server fail the same way?"""
    theirs = outside.control_fails_everywhere(facts)
    if theirs is None:
        return None
    tried = _tried(facts)
    kinds = ", ".join(sorted(theirs))
    if outside.fails_alike(facts, tried):
        return (
            "site_down",
            "confirmed",
            f"the control server fails the same way on every address ({kinds})",
            "Site down: it fails from outside too",
        )
    mine = sorted(
        {outside.failure_kind(e) for _, _, e in outside.local_failures(facts, tried)}
        | {outside.failure_kind(f.error) for f in facts.obs.http if not f.ok}
    )
    if not mine:
        return None
    return (
        "inconclusive",
        "none",
        f"the site fails here ({', '.join(mine)}) and from the control server, "
        f"but differently ({kinds}): not the same failure",
        "Unclear: it fails from outside too, but differently",
    )


def ambiguous_certificate(facts: Facts) -> Ruling | None:
    """Rule 4: an unknown-CA certificate shown for every name, no outside view."""
    for t in target_handshakes(facts.obs):
        if t.ok or t.address not in facts.genuine or not tls.interceptor_ambiguous(facts, t):
            continue
        issuer = t.cert.issuer if t.cert is not None else "unknown"
        return (
            "inconclusive",
            "none",
            f"the certificate on {t.address} fails ({t.error}, issuer {issuer!r}) and is shown "
            "for every name: the site's own, or an interceptor's; an outside view (--via or "
            "--control) would tell",
            "Unclear: untrusted certificate (the site's own or an interceptor's)",
        )
    return None


def undecided_page(facts: Facts, anomalies: list[Anomaly], how: str) -> Ruling | None:
    """Rule 5: the page differs from the control's single fetch."""
    diff = next((a for a in anomalies if a.kind == "http.body_diff"), None)
    if diff is None:
        return None
    return (
        "inconclusive",
        "none",
        f"{how}; but {diff.detail}",
        "Unclear: the page differs from the one seen from outside (it may change by itself)",
    )


def partial_success(facts: Facts) -> str | None:
    """Rule 6: the summary of a success that later stages did not check, or None."""
    obs = facts.obs
    if obs.http:
        return None
    if not obs.tcp and not target_handshakes(obs):
        return "DNS consistent; other stages not checked"
    if not target_handshakes(obs):
        return "TCP connects; TLS and HTTP not checked"
    if facts.validated:
        return "Verified TLS handshake; HTTP not checked"
    return None


def unchecked_note(facts: Facts) -> str:
    """'; TCP, TLS and HTTP not checked (--only)' for a run limited to some stages."""
    missing = [_STAGE_NAMES[s] for s in ("tcp", "tls", "http") if s not in facts.stages]
    return f"; {', '.join(missing)} not checked (--only)" if missing else ""
