"""TLS anomalies: the target-SNI handshake fails on a genuine address, or completes with a
certificate that does not verify (interception).

- A handshake marked `possibly_residual` may be the penalty for an earlier site on the same
  address (GFW residual blocking): it never counts as evidence by itself.
- SNI filtering is named only when the benign-SNI handshake to the same address completed; when
  both failed the evidence is ambiguous (the server or the whole address may be the problem).
- A certificate failure is interception evidence only where the site should be (a control address
  or, with no control at all, an address no DNS rule flagged) and only for errors a
  man-in-the-middle causes (unknown CA / invalid); a name mismatch or an expiry is the site's own
  misconfiguration unless the control server verified the site on that address.
"""

from __future__ import annotations

from reachcheck.analysis.context import Facts, target_handshakes
from reachcheck.model import Anomaly, TlsHandshake

DROP_ERRORS = {"reset": "tls.reset", "timeout": "tls.timeout", "eof": "tls.eof"}
MITM_ERRORS = frozenset({"cert_unknown_ca", "cert_invalid"})
CERT_ERRORS = MITM_ERRORS | {"cert_hostname", "cert_expired"}
_HOW = {"reset": "reset", "timeout": "dropped (timeout)", "eof": "closed (EOF)"}


def _benign(facts: Facts, address: str) -> list[TlsHandshake]:
    return [t for t in facts.obs.tls if t.kind == "benign" and t.address == address]


def _failed(facts: Facts) -> list[TlsHandshake]:
    """Target handshakes that failed on an address where none succeeded, residual ones excluded."""
    return [
        t
        for t in target_handshakes(facts.obs)
        if not t.ok and not t.possibly_residual and t.address not in facts.validated
    ]


def handshake_failures(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """tls.sni_filtering: the target-SNI handshake is reset/dropped/closed while the benign-SNI
    handshake to the same address completed (on any address not flagged by DNS rules: the
    contrast itself is the evidence). tls.reset / tls.timeout / tls.eof: the target handshake
    fails on a genuine address and the benign one did not pass (ambiguous if it failed too)."""
    out: list[Anomaly] = []
    seen: set[tuple[str, str]] = set()
    for t in _failed(facts):
        kind = DROP_ERRORS.get(t.error or "")
        if kind is None or (t.address, kind) in seen:
            continue
        seen.add((t.address, kind))
        benign = _benign(facts, t.address)
        endpoint = f"{t.address}:{t.port}"
        if any(b.ok for b in benign) and t.address not in suspects:
            detail = (
                f"handshake with SNI {t.sni} {_HOW[t.error or '']} on {endpoint}; "
                f"SNI {benign[0].sni} completed on the same address"
            )
            genuine = t.address in facts.genuine
            out.append(Anomaly("tls", "tls.sni_filtering", detail, (t.address,), (), genuine))
        elif t.address in facts.genuine:
            detail = (f"handshake with SNI {t.sni} {_HOW[t.error or '']} "
                      f"on genuine address {endpoint}")
            if any(not b.ok and not b.possibly_residual for b in benign):
                detail += "; the benign SNI failed too, so the evidence is ambiguous"
            elif not benign:
                detail += "; no benign-SNI handshake to compare"
            out.append(Anomaly("tls", kind, detail, (t.address,)))
    return out


def _control_verified(facts: Facts, address: str) -> bool:
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return False
    return any(t.ok and t.kind == "target" and t.address == address for t in ctrl.tls)


def _same_cert_for_any_name(facts: Facts, t: TlsHandshake) -> bool:
    """The server presents this very certificate to a benign SNI too: it is the server's own,
    not one minted by an SNI-triggered interceptor."""
    sha = t.cert.sha256 if t.cert is not None else None
    if sha is None:
        return False
    # The control server (outside any interceptor) was shown this very certificate too: it is
    # the site's own, e.g. a chain missing its intermediate, not one minted on the path.
    ctrl = facts.obs.control
    outside = ctrl.tls if ctrl is not None and ctrl.ok else ()
    return any(
        b.cert is not None and b.cert.sha256 == sha for b in (*_benign(facts, t.address), *outside)
    )


def seen_outside(facts: Facts, t: TlsHandshake) -> bool:
    """The outside view (control server or proxy) was shown this very certificate too."""
    ctrl = facts.obs.control
    sha = t.cert.sha256 if t.cert is not None else None
    if ctrl is None or not ctrl.ok or sha is None:
        return False
    return any(h.cert is not None and h.cert.sha256 == sha for h in ctrl.tls)


def cert_invalid(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """tls.cert_invalid: the target handshake completes with a certificate that does not verify
    on an address the control gives (or, with no control, on an unflagged address): MITM."""
    if facts.control_available:
        where = facts.control_addresses | facts.literal
    else:
        where = None  # no control: any address DNS rules did not flag
    out: list[Anomaly] = []
    seen: set[str] = set()
    for t in _failed(facts):
        if t.error not in CERT_ERRORS or t.address in seen:
            continue
        if where is not None and t.address not in where or t.address in suspects:
            continue
        verified_outside = _control_verified(facts, t.address)
        if not verified_outside and (
            t.error not in MITM_ERRORS or _same_cert_for_any_name(facts, t)
        ):
            continue
        seen.add(t.address)
        cert = t.cert
        who = f"issuer {cert.issuer!r}, subject {cert.subject!r}" if cert else "no certificate kept"
        detail = (f"certificate for {t.sni} on {t.address}:{t.port} "
                  f"fails verification ({t.error}): {who}")
        if verified_outside:
            detail += "; the control server verified the site on this address"
        out.append(Anomaly("tls", "tls.cert_invalid", detail, (t.address,), (), verified_outside))
    return out


def analyze(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """Every TLS anomaly; `suspects` are addresses DNS rules flagged as forged."""
    return [*handshake_failures(facts, suspects), *cert_invalid(facts, suspects)]
