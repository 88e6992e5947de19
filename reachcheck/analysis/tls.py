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
- With an outside view (the control server's handshake on the same endpoint) certificates are
  compared by fingerprint: the control's own certificate is the site's, another one is an
  interceptor's. An interceptor showing one certificate for every SNI looks like the site's
  own bad certificate from here: without an outside view it is undecided (inconclusive).
"""

from __future__ import annotations

from reachcheck.analysis import outside
from reachcheck.analysis.context import Facts, target_handshakes
from reachcheck.model import CERT_ERRORS, Anomaly, CertInfo, TlsHandshake

DROP_ERRORS = {"reset": "tls.reset", "timeout": "tls.timeout", "eof": "tls.eof"}
# Failures an interceptor's certificate causes (an expired or misnamed one is the site's own).
MITM_ERRORS = frozenset({"cert_unknown_ca", "cert_invalid"})
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
            out.append(Anomaly("tls", "tls.sni_filtering", detail, (t.address,), (), genuine,
                               error=t.error))
        elif t.address in facts.genuine:
            detail = (f"handshake with SNI {t.sni} {_HOW[t.error or '']} "
                      f"on genuine address {endpoint}")
            ambiguous = any(not b.ok and not b.possibly_residual for b in benign)
            if ambiguous:
                detail += "; the benign SNI failed too, so the evidence is ambiguous"
            elif not benign:
                detail += "; no benign-SNI handshake to compare"
            out.append(Anomaly("tls", kind, detail, (t.address,), error=t.error,
                               ambiguous=ambiguous))
    return out


def _control_verified(facts: Facts, address: str) -> bool:
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return False
    return any(t.ok and t.kind == "target" and t.address == address for t in ctrl.tls)


def outside_certs(facts: Facts, t: TlsHandshake) -> list[CertInfo]:
    """The certificates the outside view (control server or proxy) was shown for the name on the
    same endpoint."""
    ctrl = facts.obs.control
    if ctrl is None or not ctrl.ok:
        return []
    return [
        o.cert for o in ctrl.tls
        if o.kind == "target" and (o.address, o.port) == (t.address, t.port) and o.cert
    ]


def _same_cert(a: CertInfo | None, b: CertInfo | None) -> bool:
    return a is not None and b is not None and a.sha256 is not None and a.sha256 == b.sha256


def interceptor_ambiguous(facts: Facts, t: TlsHandshake) -> bool:
    """An unknown-CA certificate the server shows for every SNI (the benign one too), and no
    outside view of that endpoint: the site's own self-signed certificate and an interceptor
    with one certificate for every name look alike from here (inconclusive, never site_down)."""
    return (
        t.error in MITM_ERRORS
        and not outside_certs(facts, t)
        and not _control_verified(facts, t.address)
        and any(_same_cert(b.cert, t.cert) for b in _benign(facts, t.address))
    )


def _mitm_evidence(facts: Facts, t: TlsHandshake) -> tuple[str, bool] | None:
    """Why this certificate failure is interception, and whether that is confirmed; None if it
    is (or may be) the site's own certificate."""
    if _control_verified(facts, t.address):
        return "; the control server verified the site on this address", True
    if seen_outside(facts, t):
        return None  # the site's own certificate (e.g. a chain missing its intermediate)
    certs = outside_certs(facts, t)
    if certs:
        # Fingerprints differ from what the control server, outside any interceptor, saw.
        if t.error not in MITM_ERRORS or t.cert is None:
            return None
        issuer = certs[0].issuer
        return f"; the control server was shown another certificate (issuer {issuer!r})", False
    if outside.control_fails_everywhere(facts) is not None:
        return None  # the outside view got nowhere either: nothing says the site's is better
    if t.error not in MITM_ERRORS:
        return None  # a name mismatch or expiry from a trusted CA: the site's own mistake
    if any(_same_cert(b.cert, t.cert) for b in _benign(facts, t.address)):
        return None  # the same certificate for every name: ambiguous without an outside view
    return "", False


def seen_outside(facts: Facts, t: TlsHandshake) -> bool:
    """The outside view (control server or proxy) met this certificate on the same endpoint:
    it was shown the very same certificate, or, where no certificate was kept (OONI's test
    helper keeps none), its own handshake failed on the certificate too. Either way the
    certificate is the site's own, not an interceptor's."""
    certs = outside_certs(facts, t)
    if certs:
        return any(_same_cert(o, t.cert) for o in certs)
    return outside.tls_agreement(facts, (t.address, t.port), t.error) == "same"


def cert_invalid(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """tls.cert_invalid: the target handshake completes with a certificate that does not verify
    on an address the control gives (or, with no control, on an unflagged address): MITM.
    Evidence: the control server verified the site there (confirmed), or it was shown another
    certificate there (fingerprints compared), or, with no outside view of the endpoint, an
    unknown-CA certificate other than the one the benign SNI gets (minted per name). The same
    certificate as the control's is the site's own; the same one for every SNI with no outside
    view is left undecided (`interceptor_ambiguous`)."""
    if facts.control_available:
        where = facts.control_addresses | facts.literal | facts.control_verified
    else:
        where = None  # no control: any address DNS rules did not flag
    out: list[Anomaly] = []
    seen: set[str] = set()
    for t in _failed(facts):
        if t.error not in CERT_ERRORS or t.address in seen:
            continue
        if where is not None and t.address not in where or t.address in suspects:
            continue
        evidence = _mitm_evidence(facts, t)
        if evidence is None:
            continue
        seen.add(t.address)
        cert = t.cert
        who = f"issuer {cert.issuer!r}, subject {cert.subject!r}" if cert else "no certificate kept"
        detail = (f"certificate for {t.sni} on {t.address}:{t.port} "
                  f"fails verification ({t.error}): {who}{evidence[0]}")
        out.append(Anomaly("tls", "tls.cert_invalid", detail, (t.address,), (), evidence[1]))
    return out


def analyze(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """Every TLS anomaly; `suspects` are addresses DNS rules flagged as forged."""
    return [*handshake_failures(facts, suspects), *cert_invalid(facts, suspects)]
