"""TLS handshake probe with raw asyncio (`tcp.open_tcp`, then `loop.start_tls` on its transport).

Rules:
1. Two contexts built once per run: `verified` (the trust store; hostname checked against the
   SNI) and `unverified` (CERT_NONE, for the benign-SNI handshake and for capturing the
   certificate a man-in-the-middle presents).
2. TCP and TLS each get their own `timeout`, so a failure is attributed to the right stage.
3. Transports are aborted, not closed: we want no close_notify exchange and no lingering socket.
4. Certificates come from hostile servers: reading one never raises; unknown parts are left out.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import hashlib
import os
import re
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from reachcheck.model import CertInfo, TcpConnect, TlsHandshake
from reachcheck.probes.connector import Connector
from reachcheck.probes.errors import classify, is_cert_error
from reachcheck.probes.tcp import open_tcp
from reachcheck.probes.timing import ms

_MAX_SANS = 256
_MAX_VALUE = 256
_SHORT = {
    "commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
    "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
    "domainComponent": "DC", "emailAddress": "E", "serialNumber": "SERIALNUMBER",
}  # fmt: skip
_ESCAPES = str.maketrans({ch: "\\" + ch for ch in '\\,+"<>;='})
# OpenSSL's printed ASN1_TIME ("Jun  1 12:00:00 2030 GMT"): parsed by hand, strptime is slow.
_CERT_TIME = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) ([1-9]\d{3}) GMT")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
# Parsed leaf certificates by DER sha256: CDN addresses (and the benign SNI's certificate)
# repeat across sites, so most handshakes present a certificate already seen. Bounded (LRU).
CERT_CACHE_SIZE = 2048
_cert_cache: collections.OrderedDict[str, CertInfo] = collections.OrderedDict()


@dataclass(frozen=True, slots=True)
class TlsContexts:
    """The client SSL contexts of a run."""

    verified: ssl.SSLContext
    unverified: ssl.SSLContext

    @classmethod
    def create(cls, ca_bundle: str | None = None) -> TlsContexts:
        """Verified context from `ca_bundle`, else certifi, else the system store."""
        if ca_bundle is not None:
            verified = ssl.create_default_context(cafile=ca_bundle)
        else:
            try:
                import certifi

                verified = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                verified = ssl.create_default_context()
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        return cls(verified, unverified)


@dataclass(frozen=True, slots=True)
class _Attempt:
    tcp_ms: float
    tcp_error: str | None = None
    tls_ms: float = 0.0
    tls_error: str | None = None
    version: str | None = None
    cipher: str | None = None
    cert: CertInfo | None = None


async def tls_handshake(
    address: str,
    port: int,
    sni: str | None,
    kind: Literal["benign", "target"],
    contexts: TlsContexts,
    *,
    timeout: float,
    clock_ms: Callable[[], float] | None = None,
    connector: Connector | None = None,
) -> tuple[TcpConnect, TlsHandshake]:
    """Connect and handshake with `sni`; never raises for network failures.

    kind "benign" uses the unverified context; "target" the verified one and, when the
    certificate does not verify, a second unverified handshake captures what was presented
    (ok=False, error=cert_*). If TCP fails, the TlsHandshake carries the TCP error with
    elapsed_ms 0: no handshake was attempted, so record only the TcpConnect. `connector`:
    through a proxy (probes/connector.py); the TCP part is then the proxy's connect.
    """
    started_ms = clock_ms() if clock_ms is not None else None
    ctx = contexts.verified if kind == "target" else contexts.unverified
    att = await _attempt(address, port, sni, ctx, timeout, connector)
    tcp = TcpConnect(address, port, att.tcp_error is None, att.tcp_ms, att.tcp_error)
    if att.tcp_error is not None:
        return tcp, TlsHandshake(
            address, port, sni, kind, ok=False, elapsed_ms=0.0, error=att.tcp_error,
            started_ms=started_ms,
        )  # fmt: skip
    version, cipher, cert = att.version, att.cipher, att.cert
    if kind == "target" and is_cert_error(att.tls_error):
        version, cipher, cert = await presented_certificate(
            address, port, sni, contexts, timeout=timeout, connector=connector
        )
    return tcp, TlsHandshake(
        address=address,
        port=port,
        sni=sni,
        kind=kind,
        ok=att.tls_error is None,
        elapsed_ms=att.tls_ms,
        error=att.tls_error,
        version=version,
        cipher=cipher,
        cert=cert,
        started_ms=started_ms,
    )


async def presented_certificate(
    address: str,
    port: int,
    sni: str | None,
    contexts: TlsContexts,
    *,
    timeout: float,
    connector: Connector | None = None,
) -> tuple[str | None, str | None, CertInfo | None]:
    """(version, cipher, leaf) from an unverified handshake; Nones if it fails."""
    att = await _attempt(address, port, sni, contexts.unverified, timeout, connector)
    return att.version, att.cipher, att.cert


async def _attempt(
    address: str,
    port: int,
    sni: str | None,
    ctx: ssl.SSLContext,
    timeout: float,
    connector: Connector | None = None,
) -> _Attempt:
    opened = await open_tcp(address, port, timeout=timeout, connector=connector)
    if opened.transport is None or opened.protocol is None:
        return _Attempt(opened.elapsed_ms, tcp_error=opened.error)
    transport, t1, tcp_ms = opened.transport, opened.connected_at, opened.elapsed_ms
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            tls = await loop.start_tls(transport, opened.protocol, ctx, server_hostname=sni)
        tls_ms = ms(loop.time() - t1)
        assert tls is not None  # None only for a transport that is closing
        transport = tls
        version, cipher, cert = tls_facts(tls.get_extra_info("ssl_object"))
        return _Attempt(tcp_ms, None, tls_ms, None, version, cipher, cert)
    except Exception as exc:  # noqa: BLE001
        return _Attempt(tcp_ms, None, ms(loop.time() - t1), classify(exc))
    finally:
        transport.abort()


def tls_facts(ssl_object: Any) -> tuple[str | None, str | None, CertInfo | None]:
    """(version, cipher name, leaf certificate) of a completed handshake; never raises."""
    if ssl_object is None:
        return None, None, None
    try:
        version = ssl_object.version()
        cipher = (ssl_object.cipher() or (None,))[0]
    except Exception:  # noqa: BLE001
        version = cipher = None
    return version, cipher, _leaf(ssl_object)


def _leaf(ssl_object: Any) -> CertInfo | None:
    try:
        der = ssl_object.getpeercert(True)
    except Exception:  # noqa: BLE001
        return None
    if not der:
        return None
    return cert_from_der(
        der, lambda: ssl_object.getpeercert() or decode_with_private_ssl(der, ssl_object)
    )


def cert_from_der(der: bytes, decode: Callable[[], dict[str, Any]] | None = None) -> CertInfo:
    """The CertInfo of a leaf certificate, cached by its DER's sha256. Only the leaf is decoded,
    and only once per distinct certificate: the decoded dict is a function of the DER alone,
    whichever context verified it. `decode` gives the stdlib's decoded dict (default: decode
    the DER itself); garbage decodes to the fingerprint alone."""
    sha256 = hashlib.sha256(der).hexdigest()
    info = _cert_cache.get(sha256)
    if info is not None:
        _cert_cache.move_to_end(sha256)
        return info
    try:
        decoded = decode() if decode is not None else decode_with_private_ssl(der)
    except Exception:  # noqa: BLE001
        decoded = {}
    info = _cert_info(sha256, decoded)
    _cert_cache[sha256] = info
    if len(_cert_cache) > CERT_CACHE_SIZE:
        _cert_cache.popitem(last=False)
    return info


def decode_with_private_ssl(der: bytes, ssl_object: Any = None) -> dict[str, Any]:
    """The stdlib's decoded dict (the shape of `getpeercert()`) of the DER leaf certificate
    `der`, presented on `ssl_object`'s handshake if given: the ONLY use of private `ssl` APIs
    in reachcheck (tests/probes/test_private_internals.py fails on a Python that breaks them).

    Python 3.11 has no public decoder: `getpeercert()` is {} under CERT_NONE, so the leaf comes
    from the presented chain (`SSLObject._sslobj.get_unverified_chain`, no copy), else from
    `ssl._ssl._test_decode_cert`, which reads only from a file. Raises on garbage.
    """
    inner = getattr(ssl_object, "_sslobj", None)
    get_chain = getattr(inner, "get_unverified_chain", None)
    chain = get_chain() if get_chain is not None else None
    decoded = dict(chain[0].get_info()) if chain else {}
    if decoded:
        return decoded
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ssl.DER_cert_to_PEM_cert(der))
        return dict(ssl._ssl._test_decode_cert(path))  # type: ignore[attr-defined]
    finally:
        os.unlink(path)


def cert_info(der: bytes, decoded: dict[str, Any]) -> CertInfo:
    """A CertInfo from the DER bytes and the stdlib's decoded dict; tolerant of anything."""
    return _cert_info(hashlib.sha256(der).hexdigest(), decoded)


def _cert_info(sha256: str, decoded: dict[str, Any]) -> CertInfo:
    try:
        sans = tuple(
            str(value)[:_MAX_VALUE].strip()
            for kind, value in decoded.get("subjectAltName", ())[:_MAX_SANS]
            if kind in ("DNS", "IP Address")
        )
        return CertInfo(
            subject=_dn(decoded.get("subject", ())),
            issuer=_dn(decoded.get("issuer", ())),
            sans=sans,
            not_before=_rfc3339(decoded.get("notBefore")),
            not_after=_rfc3339(decoded.get("notAfter")),
            sha256=sha256,
        )
    except Exception:  # noqa: BLE001 - a weird certificate must not break the probe
        return CertInfo(subject="", issuer="", sha256=sha256)


def _dn(rdns: Any) -> str:
    """RFC 4514 order (most specific first): ``CN=host,O=Org,C=US``."""
    parts = []
    for rdn in reversed(tuple(rdns)):
        attrs = [f"{_SHORT.get(k, k)}={_escape(str(v)[:_MAX_VALUE])}" for k, v in rdn]
        parts.append("+".join(attrs))
    return ",".join(parts)


def _escape(value: str) -> str:
    return value.translate(_ESCAPES)


def _rfc3339(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _CERT_TIME.fullmatch(value)
    month = _MONTHS.get(match.group(1)) if match else None
    if match and month:
        try:
            year, day, hh, mm, ss = (int(match.group(i)) for i in (6, 2, 3, 4, 5))
            return dt.datetime(year, month, day, hh, mm, ss).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass  # e.g. a leap second: the stdlib path below decides
    try:
        ts = ssl.cert_time_to_seconds(value)
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return None
