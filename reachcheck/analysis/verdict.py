"""The verdict (design section 5): the first stage where censorship is evident, its confidence,
and a one-line reason plus a plain-words summary.

Rules, in order:
1. Nothing worked at all (no DNS answer, the control included, and no connection): inconclusive,
   "local network looks down".
2. The control says the name does not exist (or has no address) and the probe agrees: site_down.
   A probe that resolves it anyway ("ghost" DNS) is caught by the DNS rules instead.
3. Otherwise the first stage with a *decisive* anomaly names the verdict. Decisive means the
   anomaly is evidence on its own (control-free) or against a control; a failure the control
   server sees too makes the site site_down instead. Confidence is "confirmed" for direct
   evidence (injection, TLS-validated truth, a fingerprint, the control server agreeing the site
   works), else "likely". A bare failure with nothing to compare is inconclusive, never blocked.
4. No decisive anomaly: accessible if the site answered; otherwise site_down or inconclusive.
Anomalies of every stage are kept, so later layers on genuine addresses are reported too.
How much each anomaly weighs is `strength.py`. The hard cases of design 5.1 that are no single
anomaly's strength live in `hardcases.py`; the control server's view is compared per (address,
port) and by failure kind (`outside.py`).
TLS-validated truth needs no control: a resolver contradicting a verified address is lying.
A resolver failing to answer (SERVFAIL/REFUSED/timeout) is at most "likely", a failure marked
`possibly_residual` is never evidence, and a control server that failed (ok=False) counts as
no control server at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from reachcheck.analysis import dns, hardcases, survivor, tls
from reachcheck.analysis.context import PROBE_ROLES, Facts, target_handshakes
from reachcheck.analysis.http import cleartext
from reachcheck.analysis.strength import strength
from reachcheck.model import CERT_ERRORS, Anomaly

STAGES = ("dns", "tcp", "tls", "http")
_DOWN_ERRORS = frozenset({"timeout", "unreachable", "refused"})

_PHRASES = {
    "dns.nxdomain": "DNS says the name does not exist; trusted DNS finds it",
    "dns.no_answer": "DNS returns no address; trusted DNS finds one",
    "dns.servfail": "DNS resolver fails for this name; trusted DNS works",
    "dns.refused": "DNS resolver refuses this name; trusted DNS works",
    "dns.timeout": "DNS gets no answer for this name; trusted DNS works",
    "dns.malformed": "DNS answers are garbage for this name; trusted DNS works",
    "dns.bogon": "DNS points to a private/reserved address",
    "dns.known_censor_ip": "DNS points to a known censor address",
    "dns.inconsistent": "DNS gives addresses that are not the site's",
    "tcp.timeout": "Connections to the site's real address time out",
    "tcp.refused": "Connections to the site's real address are refused",
    "tcp.reset": "Connections to the site's real address are reset",
    "tcp.unreachable": "The site's real address is unreachable",
    "tls.sni_filtering": "TLS cut off when the SNI names the site; other names pass",
    "tls.reset": "TLS handshake reset on the site's real address",
    "tls.timeout": "TLS handshake stalls on the site's real address",
    "tls.eof": "TLS handshake cut off on the site's real address",
    "tls.cert_invalid": "Forged TLS certificate (interception)",
    "http.reset": "HTTP request reset after connecting",
    "http.timeout": "HTTP request times out after connecting",
    "http.eof": "HTTP connection closed before the response",
    "http.error": "HTTP request fails after connecting",
    "http.blockpage": "Blockpage served",
    "http.redirect_offsite": "Redirected to another site",
    "http.status_diff": "Different HTTP status than from outside",
    "http.body_diff": "Page differs from the one seen from outside",
    "http.throttled": "Page delivered far slower than from outside (throttled)",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict part of a SiteResult."""

    verdict: str
    confidence: str
    reason: str
    summary: str
    reachable_with_trusted_dns: bool | None = None


_DNS_FAILURES = frozenset(
    {"dns.nxdomain", "dns.no_answer", "dns.servfail", "dns.refused", "dns.timeout",
     "dns.malformed"}
)  # fmt: skip
# Failing is not forging.


def describe(a: Anomaly, facts: Facts) -> str:
    """The anomaly's mechanism in plain words (short: the details carry the evidence)."""
    if a.kind in _DNS_FAILURES and facts.control_state not in ("resolves", "empty"):
        # No trusted DNS was there to "find" it: the verified address is the yardstick.
        return _PHRASES[a.kind].split(";")[0] + "; the site's verified address works"
    if a.kind == "dns.inconsistent" and facts.control_state != "nxdomain":
        if strength(a, facts) is None:
            return "DNS answers differ from the site's known addresses (not shown to be wrong)"
        if not facts.control_addresses:
            return "DNS gives addresses that are not the site's verified one"
    if a.kind == "dns.injection":
        n = dns.forged_responses(facts)
        return f"DNS answers forged on the path ({n} response{'s' if n != 1 else ''})"
    if a.kind == "dns.inconsistent" and facts.control_state == "nxdomain":
        return "DNS answers for a name that does not exist (trusted DNS says so)"
    if a.kind == "tls.sni_filtering" and a.error == "timeout":
        return "TLS dropped when the SNI names the site; other names pass"
    return _PHRASES.get(a.kind, a.kind)


# -------------------------------------------------------------------------- the branches


def _network_down(facts: Facts) -> bool:
    obs = facts.obs
    queries = [*obs.dns, *facts.control_queries]
    if not queries or any(q.responses or q.error not in _DOWN_ERRORS for q in queries):
        return False
    return not (
        any(c.ok for c in obs.tcp)
        or any(t.ok for t in obs.tls)
        or any(f.ok for f in obs.http)
        or facts.control_server_ok
    )


def _probe_addresses(facts: Facts) -> bool:
    return any(r.addresses for q in facts.obs.dns if q.role in PROBE_ROLES for r in q.responses)


def _trusted_dns_works(facts: Facts) -> bool | None:
    ctrl = facts.control_addresses
    if not ctrl:  # no control resolved the name: the answer that survived the race stands in
        return survivor.trusted_dns_works(facts)
    if facts.validated & ctrl or any(
        f.ok and not cleartext(f) and f.address in ctrl for f in facts.obs.http
    ):
        return True
    if facts.obs.target.scheme == "http" and any(
        f.ok and f.address in ctrl for f in facts.obs.http
    ):
        return True
    tried = any(c.address in ctrl for c in facts.obs.tcp) or any(
        f.address in ctrl for f in facts.obs.http
    )
    return False if tried else None


def _summary(lead: str, later: list[str]) -> str:
    rest = [p for p in dict.fromkeys(later) if p != lead]
    return lead + (f"; also: {'; '.join(rest)}" if rest else "")


def _success(facts: Facts) -> str | None:
    """A sentence saying how the site answered, or None if it did not."""
    for f in facts.obs.http:
        if f.ok and not cleartext(f):
            return f"verified TLS and HTTP {f.status} from {f.address}"
    for f in facts.obs.http:
        if f.ok:
            return f"HTTP {f.status} from {f.address} (cleartext)"
    if facts.obs.http:
        return None  # a page was requested and none arrived: a handshake alone is not success
    if facts.validated:
        return f"verified TLS handshake with {sorted(facts.validated)[0]} (HTTP not measured)"
    if not target_handshakes(facts.obs):
        ok = [c.address for c in facts.obs.tcp if c.ok and c.address in facts.genuine]
        if ok:
            return f"TCP connect to {ok[0]} (later stages not measured)"
        if not facts.obs.tcp and _probe_addresses(facts) and _dns_agrees(facts):
            return "DNS answers agree with the control (later stages not measured)"
    return None


def _dns_agrees(facts: Facts) -> bool:
    """Every system/probe resolver that answered shares an address with the control."""
    answers = [
        set(q.answer.addresses)
        for q in facts.obs.dns
        if q.role in PROBE_ROLES and q.answer is not None and q.answer.addresses
    ]
    return bool(answers) and all(a & facts.control_addresses for a in answers)


def _first_failure(facts: Facts) -> str:
    """The earliest failure observed, in words, for an inconclusive reason."""
    obs = facts.obs
    for c in obs.tcp:
        if not c.ok:
            return f"TCP connect to {c.address}:{c.port} failed ({c.error})"
    for t in target_handshakes(obs):
        if not t.ok:
            extra = (
                " (possibly residual blocking left by an earlier site)"
                if t.possibly_residual
                else ""
            )
            return f"TLS handshake with {t.address} failed ({t.error}){extra}"
    for f in obs.http:
        if not f.ok:
            return f"GET {f.url} via {f.address} failed ({f.error})"
    return "no connection to the site succeeded"


def _lower_first(phrase: str) -> str:
    """'Connections ...' -> 'connections ...' after 'Unclear: '; 'TLS ...' stays."""
    return phrase if phrase[:2].isupper() else phrase[:1].lower() + phrase[1:]


def _first_failure_short(facts: Facts) -> str:
    """The earliest failure's stage in a few plain words (the reason carries the details)."""
    obs = facts.obs
    if any(not c.ok for c in obs.tcp):
        return "connecting to the site fails"
    for t in target_handshakes(obs):
        if not t.ok:
            residual = " (maybe a penalty left by another site)" if t.possibly_residual else ""
            return "the TLS handshake fails" + residual
    if any(not f.ok for f in obs.http):
        return "the page request fails"
    return "no connection to the site succeeded"


def _unexplained_failure(facts: Facts, anomalies: list[Anomaly]) -> Decision:
    """No decisive evidence and no success: site_down when the site itself is at fault."""
    obs = facts.obs
    ruling = hardcases.outside_view(facts) or hardcases.ambiguous_certificate(facts)
    if ruling is not None:
        return Decision(*ruling)
    genuine = facts.genuine
    certs = [
        t for t in target_handshakes(obs) if t.address in genuine and t.error in CERT_ERRORS
    ]
    if certs:
        t = certs[0]
        if t.error in tls.MITM_ERRORS and not tls.seen_outside(facts, t):
            # Design 5.1: an interceptor showing one certificate for every name looks like the
            # site's own broken certificate from one vantage point; only an outside view can
            # tell them apart (it verifies the real one, or sees the same broken one).
            return Decision(
                "inconclusive",
                "none",
                f"the certificate on {t.address} fails ({t.error}): the site's own broken "
                "certificate, or an interceptor showing one certificate for every name; an "
                "outside view (--via or --control) tells them apart",
                "Unclear: untrusted certificate (the site's own, or an interceptor's)",
            )
        return Decision(
            "site_down",
            "likely",
            f"the site's certificate on {t.address} fails ({t.error})",
            "Site broken: its certificate is invalid",
        )
    notes = [a.detail for a in anomalies]
    why = notes[0] if notes else _first_failure(facts)
    if anomalies:
        short = _lower_first(describe(anomalies[0], facts))
    else:
        short = _first_failure_short(facts)
    if not facts.control_available:
        why += "; no control to tell blocking from a site that is down"
    elif facts.obs.control is None and any(a.stage != "dns" for a in anomalies):
        why += "; a control server (--control) would tell blocking from the server being down"
        short += "; no control to compare"
    return Decision("inconclusive", "none", why, "Unclear: " + short)


def decide(facts: Facts, anomalies: list[Anomaly]) -> Decision:
    """Apply the verdict rules to the anomalies of one site."""
    if _network_down(facts):
        why = "local network looks down: no DNS query was answered and no connection succeeded"
        return Decision("inconclusive", "none", why, "Local network looks down")
    own = hardcases.own_dns_special(facts)
    if own is not None:
        return Decision(*own)
    graded = [(a, strength(a, facts)) for a in anomalies]
    dns_decisive = any(s for a, s in graded if a.stage == "dns")
    ruling = hardcases.rewritten(facts, dns_decisive)
    if ruling is not None:
        return Decision(*ruling)
    if (
        not dns_decisive
        and not _probe_addresses(facts)
        and facts.control_state in ("nxdomain", "empty")
    ):
        agrees = any(
            q.answer is not None and q.answer.rcode == "NXDOMAIN"
            for q in facts.obs.dns
            if q.role in PROBE_ROLES
        )
        what = "does not exist" if facts.control_state == "nxdomain" else "has no address"
        conf = "confirmed" if agrees or facts.control_state == "empty" else "likely"
        return Decision(
            "site_down",
            conf,
            f"the control says the name {what}; the probe agrees",
            f"Site down: its name {what} (control agrees)",
        )
    for stage in STAGES:
        hits = [(a, s) for a, s in graded if a.stage == stage and s is not None]
        if not hits:
            continue
        lead = next((a for a, s in hits if s != "down"), None)
        if lead is None:
            a = hits[0][0]
            return Decision(
                "site_down",
                "confirmed",
                f"the control server fails the same way: {a.detail}",
                "Site down: it fails from outside too",
            )
        confirmed = any(s == "confirmed" for _, s in hits)
        later = [
            describe(a, facts) for a in anomalies if STAGES.index(a.stage) > STAGES.index(stage)
        ]
        return Decision(
            f"{stage}_blocked",
            "confirmed" if confirmed else "likely",
            lead.detail,
            _summary(describe(lead, facts), later),
            _trusted_dns_works(facts) if stage == "dns" else None,
        )
    how = _success(facts)
    if how is None:
        return _unexplained_failure(facts, anomalies)
    system = [q for q in facts.obs.dns if q.role == "system"]
    if (
        system
        and not any(q.answer is not None and q.answer.addresses for q in system)
        and any(a.stage == "dns" for a in anomalies)
    ):
        why = (
            "the system resolver gives no address for the name, "
            "though the site works with trusted DNS"
        )
        return Decision(
            "inconclusive",
            "none",
            why,
            "Unclear: your DNS resolver fails; the site works",
            _trusted_dns_works(facts),
        )
    # A verified HTTPS page vouches for the page. For an http:// target the cleartext page is
    # what is judged, and a verified handshake on 443 says nothing about port 80 (ports matter).
    verified = any(f.ok and not cleartext(f) for f in facts.obs.http) or (
        facts.obs.target.scheme == "https" and bool(facts.validated))
    if not verified:
        ruling = hardcases.undecided_page(facts, anomalies, how)
        if ruling is not None:
            return Decision(*ruling)
    partial = hardcases.partial_success(facts)
    if partial is not None:
        # Only some stages were measured: say what was judged, never "Reachable".
        how += hardcases.unchecked_note(facts)
        return Decision("accessible", "likely" if not verified else "confirmed", how, partial)
    slow = next((a for a in anomalies if a.kind == "http.throttled"), None)
    note = "; but very slow (possibly throttled)" if slow is not None else ""
    if slow is not None:
        how += f"; {slow.detail}"
    if verified:
        return Decision("accessible", "confirmed", how, "Reachable (verified HTTPS)" + note)
    conf = "confirmed" if facts.control_fetch is not None and facts.control_fetch.ok else "likely"
    return Decision("accessible", conf, how, "Reachable" + note)
