"""Our failures against the outside view (the control server), per (address, port) and by kind.

Rules (design section 5.1, "the control fails the same way" and "ports matter"):
1. Facts are keyed by endpoint, (address, port): a verified handshake on 443 says nothing about
   a timeout on 80, and the control server's result for another port is no comparison at all.
2. Failures are compared by kind, never as ok/failed alone. Kinds: timeout, reset, refused,
   eof, unreachable, and "cert" (the handshake *completed* but the certificate was refused:
   the server speaks TLS to that client). A reset here while the control completed the
   handshake with a certificate error is not "the same way".
3. The outcome of one comparison (`Agreement`):
   - "works": the control server succeeded on that endpoint (connect / verified handshake);
   - "reached": the control completed the TLS handshake there with a certificate error: the
     server answers from outside, so a reset, stall or cut-off here is not the server's;
   - "same": every control attempt there failed with the kind we saw: the site fails from
     outside too (site_down, not blocking);
   - "differs": the control failed there differently (neither proof of blocking nor of the
     site being down: it is not "the same way");
   - "unknown": the control server did not try that endpoint (or did not answer at all).
   Through the user's proxy (`--via`) an HTTP CONNECT proxy often reports only that it could
   not connect (`proxy_error`, e.g. a 502), not how: for a TCP connect that counts as the same
   failure as any connect failure of ours (the site is not reachable from outside either).
4. A site that fails for the control server on every endpoint it tried, with the kinds we see
   here (a relay that refuses strangers: TLS EOF everywhere from both sides), is down from
   everywhere: the DNS answers we got are not to blame for our failures (`fails_alike`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from reachcheck.analysis.context import Facts, target_handshakes
from reachcheck.model import TcpConnect, TlsHandshake

Agreement = Literal["works", "reached", "same", "differs", "unknown"]
Endpoint = tuple[str, int]


def failure_kind(error: str | None) -> str:
    """The comparable kind of a failure: all certificate errors are one kind ("cert")."""
    if error is None:
        return "ok"
    return "cert" if error.startswith("cert_") else error


# A connect failure the outside view reports without its kind (an HTTP CONNECT proxy's 5xx).
UNSPECIFIED_CONNECT_FAILURE = "proxy_error"


def _ctrl_tcp(facts: Facts, ep: Endpoint) -> list[TcpConnect]:
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return []
    return [c for c in ctrl.tcp if (c.address, c.port) == ep]


def _ctrl_tls(facts: Facts, ep: Endpoint) -> list[TlsHandshake]:
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return []
    return [t for t in ctrl.tls if t.kind == "target" and (t.address, t.port) == ep]


def tcp_agreement(facts: Facts, ep: Endpoint, error: str | None) -> Agreement:
    """Our TCP connect to `ep` failed with `error`: what did the control server see there?"""
    seen = _ctrl_tcp(facts, ep)
    if not seen:
        return "unknown"
    if any(c.ok for c in seen):
        return "works"
    kinds = {failure_kind(c.error) for c in seen}
    alike = kinds == {failure_kind(error)} or kinds == {UNSPECIFIED_CONNECT_FAILURE}
    return "same" if alike else "differs"


def tls_agreement(facts: Facts, ep: Endpoint, error: str | None) -> Agreement:
    """Our target-SNI handshake with `ep` failed with `error`: what did the control see?
    (A control whose connect failed there made no handshake: its TCP kind is compared.)"""
    seen = _ctrl_tls(facts, ep)
    mine = failure_kind(error)
    if not seen:
        tcp = [c for c in _ctrl_tcp(facts, ep) if not c.ok]
        if tcp:
            return "same" if {failure_kind(c.error) for c in tcp} == {mine} else "differs"
        return "unknown"
    if any(t.ok for t in seen):
        return "works"
    kinds = {failure_kind(t.error) for t in seen}
    if kinds == {mine}:
        return "same"
    return "reached" if "cert" in kinds and mine != "cert" else "differs"


def combine(outcomes: Iterable[Agreement]) -> Agreement:
    """One answer for several endpoints: any success wins, then any reached server; "same" only
    when every compared endpoint failed the same way."""
    found = set(outcomes) - {"unknown"}
    for best in ("works", "reached", "differs"):
        if best in found:
            return best
    return "same" if found else "unknown"


def local_failures(facts: Facts, addresses: Iterable[str]) -> list[tuple[str, Endpoint, str]]:
    """Our failed attempts on `addresses`: (stage "tcp"/"tls", endpoint, error); handshakes
    marked possibly_residual are left out (they may be another site's penalty)."""
    wanted = frozenset(addresses)
    out: list[tuple[str, Endpoint, str]] = []
    for c in facts.obs.tcp:
        if not c.ok and c.address in wanted and not c.possibly_residual:
            out.append(("tcp", (c.address, c.port), c.error or "error"))
    for t in target_handshakes(facts.obs):
        if not t.ok and t.address in wanted and not t.possibly_residual:
            out.append(("tls", (t.address, t.port), t.error or "error"))
    return out


def agreement(facts: Facts, addresses: Iterable[str], stage: str | None = None) -> Agreement:
    """Our failures on `addresses` (of one stage, or all) against the control, combined."""
    outcomes: list[Agreement] = []
    for st, ep, err in local_failures(facts, addresses):
        if stage is not None and st != stage:
            continue
        outcomes.append(tcp_agreement(facts, ep, err) if st == "tcp" else
                        tls_agreement(facts, ep, err))
    return combine(outcomes)


def control_fails_everywhere(facts: Facts) -> frozenset[str] | None:
    """The failure kinds the control server met when it got nowhere with the site (no connect
    for http, no verified handshake for https, no page), or None if it succeeded somewhere
    (or did not answer, or tried nothing)."""
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return None
    if any(f is not None and f.ok for f in (ctrl.http, ctrl.http_repeat)):
        return None
    kinds: set[str] = {failure_kind(c.error) for c in ctrl.tcp if not c.ok}
    if facts.obs.target.scheme == "https":
        if any(t.ok for t in ctrl.tls if t.kind == "target"):
            return None
        kinds |= {failure_kind(t.error) for t in ctrl.tls if t.kind == "target"}
        if not ctrl.tls and ctrl.http is not None and not ctrl.http.ok:
            # No handshake recorded (OONI's older test helper made none): its fetch speaks.
            kinds.add(failure_kind(ctrl.http.error))
    elif any(c.ok for c in ctrl.tcp):
        # Connected: only a fetch that failed there says the site fails (by its own error).
        if ctrl.http is None:
            return None
        kinds = {failure_kind(ctrl.http.error)}
    return frozenset(kinds) or None


def fails_alike(facts: Facts, addresses: Iterable[str]) -> bool:
    """Every failure we saw on `addresses` is of a kind the control server met on every
    endpoint too: the site fails from everywhere, so these addresses are not shown wrong."""
    theirs = control_fails_everywhere(facts)
    wanted = frozenset(addresses)
    mine = {failure_kind(err) for _, _, err in local_failures(facts, wanted)}
    mine |= {failure_kind(f.error) for f in facts.obs.http if not f.ok and f.address in wanted}
    return theirs is not None and bool(mine) and mine <= theirs
