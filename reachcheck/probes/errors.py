"""The one place that turns exceptions into error names.

Rules:
1. httpx/httpcore/anyio wrap the real failure 2-4 levels deep and often with an empty message,
   so we walk ``__cause__`` / ``__context__`` (and into ExceptionGroups) and classify from the
   deepest exception outwards; the first exception that says something specific wins.
2. Some links say nothing (CancelledError, SSLWantReadError, anyio.BrokenResourceError, an
   OSError without errno): they are skipped, so ``TimeoutError -> CancelledError ->
   SSLWantReadError`` (a stalled handshake under asyncio.timeout) is a ``timeout``.
3. asyncio and anyio disagree about a FIN during the handshake: asyncio raises
   ``ConnectionResetError`` with errno None, httpx/anyio ``SSLEOFError``. Both are ``eof``; a
   real RST carries errno ECONNRESET and is ``reset``.

4. Through the user's proxy (`--via`, probes/proxy.py) the proxy's own failure wins over its
   cause: `proxy_unreachable` (no connection to the proxy), `proxy_auth` (credentials refused).
   The proxy's report on the destination maps to the same names as a direct attempt where it
   says as much (SOCKS5 "connection refused" -> refused, "host unreachable" -> unreachable,
   "TTL expired" / HTTP 504 -> timeout); `proxy_refused` (its rules forbid the destination) and
   `proxy_error` (anything else it reports) where it does not.

Names (OONI-style): timeout, refused, reset, eof, unreachable, cert_hostname, cert_unknown_ca,
cert_expired, cert_invalid, tls_protocol, http_protocol, dns_malformed, too_many_redirects,
dns (name resolution of a hop failed), proxy_unreachable, proxy_auth, proxy_refused,
proxy_error, error.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import sys
from typing import Any

import dns.exception

from reachcheck.model import CERT_ERRORS as CERT_ERRORS  # one definition, shared with analysis

# OpenSSL X509 verify codes (include/openssl/x509_vfy.h).
_VERIFY_HOSTNAME = frozenset({62, 64})  # hostname mismatch, IP address mismatch
_VERIFY_UNKNOWN_CA = frozenset({2, 18, 19, 20, 21})  # no issuer, self-signed, untrusted root
_VERIFY_EXPIRED = frozenset({9, 10})  # not yet valid, expired

_ERRNO = {
    errno.ECONNREFUSED: "refused",
    errno.ECONNRESET: "reset",
    errno.EPIPE: "reset",
    errno.ECONNABORTED: "reset",
    errno.ETIMEDOUT: "timeout",
    errno.ENETUNREACH: "unreachable",
    errno.EHOSTUNREACH: "unreachable",
    errno.EADDRNOTAVAIL: "unreachable",
    errno.ENETDOWN: "unreachable",
    errno.EHOSTDOWN: "unreachable",
}

# SOCKS5 reply codes (RFC 1928 section 6) and HTTP CONNECT statuses, as error names.
_SOCKS5_REPLY = {1: "proxy_error", 2: "proxy_refused", 3: "unreachable", 4: "unreachable",
                 5: "refused", 6: "timeout", 7: "proxy_error", 8: "proxy_error"}
_CONNECT_STATUS = {401: "proxy_auth", 403: "proxy_refused", 407: "proxy_auth", 504: "timeout"}

_MAX_DEPTH = 32  # chains are short; this only guards against pathological cycles


class TooManyRedirects(Exception):
    """Raised (and classified) when a redirect chain exceeds its cap."""


def is_cert_error(name: str | None) -> bool:
    """True for the certificate-verification error names."""
    return name in CERT_ERRORS


def classify(exc: BaseException) -> str:
    """The error name for `exc`, judged by the deepest informative exception in its chain."""
    chain = _chain(exc)
    for link in chain:  # rule 4: the proxy's own failure, wherever it sits in the chain
        name = _proxy_failure(link)
        if name is not None:
            return name
    for link in reversed(chain):
        name = _one(link)
        if name is not None:
            return name
    return "error"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes, outermost first; groups contribute their most telling member."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(chain) < _MAX_DEPTH:
        seen.add(id(cur))
        if isinstance(cur, BaseExceptionGroup):
            chain.append(cur)
            cur = _pick_member(cur)
            continue
        chain.append(cur)
        cur = _next(cur)
    return chain


def _next(exc: BaseException) -> BaseException | None:
    """The exception `exc` wraps.

    `__context__` is followed even when suppressed: httpcore's `raise X(exc) from exc` runs
    inside a contextmanager that loses `__cause__` but keeps the context (and the original as
    `args[0]`), so "suppressed" does not mean "unrelated" here.
    """
    if exc.__cause__ is not None:
        return exc.__cause__
    if exc.__context__ is not None:
        return exc.__context__
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    return None


def _pick_member(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The first member that classifies as something specific, else the first member."""
    for member in group.exceptions:
        if classify(member) != "error":
            return member
    return group.exceptions[0] if group.exceptions else None


def _one(exc: BaseException) -> str | None:
    """The name this exception alone justifies, or None when it says nothing specific."""
    if isinstance(exc, (asyncio.CancelledError, ssl.SSLWantReadError, ssl.SSLWantWriteError)):
        return None
    if isinstance(exc, TooManyRedirects):
        return "too_many_redirects"
    reply = _proxy_reply(exc)
    if reply is not None:
        return reply
    # The HTTP libraries are imported by the probes that use them, not here (a DNS-only run
    # never loads httpx): an exception of a library that was never imported cannot occur.
    httpx, httpcore, h11 = (sys.modules.get(m) for m in ("httpx", "httpcore", "h11"))
    if httpx is not None and isinstance(exc, httpx.TooManyRedirects):
        return "too_many_redirects"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _cert(exc)
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, asyncio.IncompleteReadError)):
        return "eof"
    if isinstance(exc, ssl.SSLError):
        return "tls_protocol"
    if h11 is not None and isinstance(exc, (h11.RemoteProtocolError, h11.LocalProtocolError)):
        return "http_protocol"
    remote = _classes(httpx, httpcore, "RemoteProtocolError")
    if remote and isinstance(exc, remote):
        # h11 does not raise for a silent close; httpcore words it like this.
        return "eof" if "without sending a response" in str(exc) else "http_protocol"
    local = _classes(httpx, httpcore, "LocalProtocolError")
    if local and isinstance(exc, local):
        return "http_protocol"
    if httpx is not None and isinstance(exc, httpx.DecodingError):
        return "http_protocol"
    timeouts = (*_classes(httpx, httpcore, "TimeoutException"), dns.exception.Timeout)
    if isinstance(exc, timeouts):
        return "timeout"
    if isinstance(exc, dns.exception.DNSException):
        return "dns_malformed"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, TimeoutError):  # before OSError: it is one, with errno None
        return "timeout"
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        return "eof"  # asyncio's sslproto: the peer closed (FIN) during the handshake
    if isinstance(exc, ConnectionAbortedError) and "taking longer" in str(exc):
        return "timeout"  # asyncio's ssl_handshake_timeout
    if isinstance(exc, OSError):
        if exc.errno in _ERRNO:
            return _ERRNO[exc.errno]
        if isinstance(exc, ConnectionRefusedError):
            return "refused"
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return "reset"
        return None
    if _is_anyio_eof(exc):
        return "eof"
    return None


def _proxy_failure(exc: BaseException) -> str | None:
    proxy = sys.modules.get("reachcheck.probes.proxy")
    if proxy is None:
        return None
    if isinstance(exc, proxy.ProxyAuthFailed):
        return "proxy_auth"
    if isinstance(exc, proxy.ProxyUnreachable):
        return "proxy_unreachable"
    return None


def _proxy_reply(exc: BaseException) -> str | None:
    """The name for python-socks' ProxyError: the proxy's answer about the destination."""
    socks = sys.modules.get("python_socks")
    if socks is None or not isinstance(exc, socks.ProxyError):
        return None
    code = getattr(exc, "error_code", None)
    if not isinstance(code, int):
        return "proxy_error"  # closed or garbled answer
    if code < 100:
        return _SOCKS5_REPLY.get(code, "proxy_error")
    return _CONNECT_STATUS.get(code, "proxy_error")


def _classes(*modules: Any) -> tuple[type[BaseException], ...]:
    """The exception class `name` of each module that is loaded."""
    name = modules[-1]
    return tuple(getattr(m, name) for m in modules[:-1] if m is not None)


def _cert(exc: ssl.SSLCertVerificationError) -> str:
    code = exc.verify_code
    if code in _VERIFY_HOSTNAME:
        return "cert_hostname"
    if code in _VERIFY_UNKNOWN_CA:
        return "cert_unknown_ca"
    if code in _VERIFY_EXPIRED:
        return "cert_expired"
    return "cert_invalid"


def _is_anyio_eof(exc: BaseException) -> bool:
    # anyio is httpcore's dependency, not ours: match by name instead of importing it.
    cls = type(exc)
    return cls.__name__ == "EndOfStream" and cls.__module__.startswith("anyio")
