"""How much an anomaly weighs (design section 5): whether it decides the verdict on its own or
against a control ("confirmed"/"likely"), shows the site down ("down": the control server fails
the same way), or is only reported (None)."""

from __future__ import annotations

from reachcheck.analysis import dns, http, outside, pages, tcp
from reachcheck.analysis.context import Facts, is_v6
from reachcheck.model import Anomaly

# A resolver failing to answer is never a lie about the name: at most "likely".
NOT_A_LIE = frozenset({"dns.servfail", "dns.refused", "dns.timeout"})


def _tcp_strength(a: Anomaly, facts: Facts) -> str | None:
    genuine = facts.genuine
    skip_v6 = tcp.ipv6_broken(facts)
    # Ports matter: a connect that works on 443 says nothing about the one that fails on 80.
    ports = {c.port for c in facts.obs.tcp if not c.ok and c.address in a.addresses}
    if any(
        c.ok and c.address in genuine and c.port in ports and not (skip_v6 and is_v6(c.address))
        for c in facts.obs.tcp
    ):
        return None  # the site is reachable on another genuine address
    # The control server's view of the same (address, port), failure kinds compared.
    seen = outside.agreement(facts, a.addresses, "tcp")
    if seen == "same":
        return "down"
    if seen == "works":
        return "confirmed"
    # Without a control server nothing says the address should answer from anywhere: a
    # blackholed address and a server that is down look the same from here. Inconclusive
    # (with the reason) is the honest answer, not a guess at blocking.
    return None


def _tls_strength(a: Anomaly, facts: Facts) -> str | None:
    if facts.validated:
        return None  # a verified handshake to the site succeeded somewhere
    if a.kind == "tls.cert_invalid":
        return "confirmed" if a.confirmed else "likely"  # the outside view is in the anomaly
    # The control server's view of the same (address, port), failure kinds compared: a reset
    # here while the control completed the handshake (even with a certificate error) is not
    # "the same way".
    seen = outside.agreement(facts, a.addresses, "tls")
    if seen == "same":
        return "down"
    if seen == "works":
        return "confirmed"
    if a.kind == "tls.sni_filtering":
        return "confirmed" if a.confirmed else "likely"
    if seen == "reached":
        return "likely"  # the server answers TLS from outside; here it is cut off
    if seen == "differs":
        return None  # the site fails from outside too, differently: not shown to be blocking
    return None if a.ambiguous else "likely"


def _http_strength(a: Anomaly, facts: Facts) -> str | None:
    if a.kind in ("http.blockpage",):
        return "confirmed"
    if a.kind == "http.status_diff":
        return "likely"
    if a.kind == "http.body_diff":
        # Evidence only against a control page that is stable from fetch to fetch.
        return "likely" if pages.variance(facts.obs.control) == "stable" else None
    if a.kind == "http.throttled":
        return "likely" if http.throttle_confirmed_by_control(facts) else None
    ok_fetches = [f for f in facts.obs.http if f.ok]
    if a.kind == "http.redirect_offsite":
        # Sites redirect to other domains of their own all the time; only a control server's
        # fetch that stays on the site makes such a redirect evidence (known blockpage
        # redirects are caught by the fingerprints instead).
        ctrl = facts.control_fetch
        return "likely" if ctrl is not None and ctrl.ok else None
    if ok_fetches:
        return None
    ctrl = facts.control_fetch
    if ctrl is not None:
        return "confirmed" if ctrl.ok else "down"
    # Without a control server, a failure after a verified handshake is more likely the server's:
    # an on-path censor cannot see inside TLS. In cleartext, Host filtering is the classic case.
    # Only a reset is the classic Host-filtering signature; a malformed answer, a stall or a
    # close without a response is as likely the server's own fault.
    https = any(f.url.startswith("https://") for f in facts.obs.http if a.addresses[0] == f.address)
    return None if https or a.kind != "http.reset" else "likely"


def strength(a: Anomaly, facts: Facts) -> str | None:
    """'confirmed' or 'likely' if `a` decides the verdict, 'down' if the control server fails
    the same way, None if it is only reported."""
    kind = a.kind
    if a.stage == "dns":
        if kind == "dns.malformed":
            return None  # garbage is a broken resolver or middlebox as often as a censor
        if kind in NOT_A_LIE:
            if not all(dns.resolver_works(facts, r) for r in a.resolvers):
                return None  # the resolver answers nothing at all: it is down, not the name
            return "likely"  # a resolver failing (or a lost packet) is never direct evidence
        if kind == "dns.inconsistent":
            ghost = facts.control_state == "nxdomain"
            skip_v6 = tcp.ipv6_broken(facts)
            tried = frozenset(x for x in a.addresses if not (skip_v6 and is_v6(x)))
            if not ghost and not facts.failed_on(tried):
                return None  # never shown to be wrong: CDN geo-answers differ all the time
            if not ghost and outside.control_fails_everywhere(facts) is not None:
                return None  # the site fails from outside too: the answers are not to blame
        # TLS-validated truth: the control's addresses verified, or, with no control at all,
        # a verified address proving the name exists (design section 5).
        truth = bool(facts.validated & facts.control_addresses) or (
            facts.control_state in ("unavailable", "failed") and facts.name_exists
        )
        return "confirmed" if a.confirmed or truth else "likely"
    if a.stage == "tcp":
        return _tcp_strength(a, facts)
    if a.stage == "tls":
        return _tls_strength(a, facts)
    return _http_strength(a, facts)
