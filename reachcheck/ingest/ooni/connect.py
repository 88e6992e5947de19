"""OONI `tcp_connect` and `tls_handshakes` -> reachcheck `TcpConnect` and `TlsHandshake`.

- Every TCP connect is kept, on whatever port (v0.5 tries :80 and :443 for http:// URLs):
  facts are keyed by (address, port). `sources` says which resolver gave the address.
- A TLS handshake is kept when its SNI is the measured name (kind "target": OONI verifies
  against its CA bundle, as our target handshake does). Handshakes with another SNI (redirect
  hops) or with verification off have no place in the judgement of this name and are dropped.
  OONI never makes a benign-SNI handshake, so none is ever produced here.
- The leaf of `peer_certificates` (base64 DER) becomes `CertInfo` through the probes' own
  certificate decoder and its cache (CDN certificates repeat across measurements).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from reachcheck.ingest.ooni.failures import error_name
from reachcheck.ingest.ooni.values import (
    as_dict,
    as_int,
    as_list,
    as_str,
    ip_literal,
    seconds_to_ms,
    split_endpoint,
)
from reachcheck.model import CertInfo, TcpConnect, TlsHandshake
from reachcheck.probes.tls import cert_from_der


def map_tcp(test_keys: dict[str, Any],
            sources: Mapping[str, tuple[str, ...]]) -> tuple[TcpConnect, ...]:
    """The probe's TCP connects."""
    out = []
    for raw in as_list(test_keys.get("tcp_connect")):
        entry = as_dict(raw)
        address = ip_literal(entry.get("ip"))
        port = as_int(entry.get("port"))
        if address is None or port is None:
            continue
        status = as_dict(entry.get("status"))
        ok = status.get("success") is True
        failure = as_str(status.get("failure"))
        out.append(TcpConnect(
            address=address, port=port, ok=ok,
            elapsed_ms=seconds_to_ms(entry.get("t0"), entry.get("t")),
            error=None if ok else (error_name(failure) or "error"),
            sources=sources.get(address, ()),
        ))
    return tuple(out)


def map_tls(test_keys: dict[str, Any], domain: str) -> tuple[TlsHandshake, ...]:
    """The probe's TLS handshakes with the measured name as SNI."""
    out = []
    for raw in as_list(test_keys.get("tls_handshakes")):
        entry = as_dict(raw)
        endpoint = split_endpoint(entry.get("address"))
        sni = as_str(entry.get("server_name"))
        if endpoint is None or entry.get("no_tls_verify") is True:
            continue
        if sni is not None and sni.rstrip(".").lower() != domain:
            continue
        failure = as_str(entry.get("failure"))
        t0 = entry.get("t0")
        out.append(TlsHandshake(
            address=endpoint[0], port=endpoint[1], sni=domain, kind="target",
            ok=failure is None,
            elapsed_ms=seconds_to_ms(t0, entry.get("t")),
            error=error_name(failure),
            version=as_str(entry.get("tls_version")),
            cipher=as_str(entry.get("cipher_suite")),
            cert=leaf_certificate(entry.get("peer_certificates")),
            started_ms=round(t0 * 1000, 3) if isinstance(t0, (int, float)) else None,
        ))
    return tuple(out)


def leaf_certificate(chain: Any) -> CertInfo | None:
    """CertInfo of the first certificate of OONI's `peer_certificates`, or None."""
    first = as_dict(next(iter(as_list(chain)), None))
    data = as_str(first.get("data"))
    if not data:
        return None
    try:
        der = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    return cert_from_der(der)
