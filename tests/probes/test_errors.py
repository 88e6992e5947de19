"""classify(): table tests over exception chains shaped like the ones httpx/asyncio produce."""

from __future__ import annotations

import asyncio
import errno
import itertools
import socket
import ssl

import anyio
import dns.exception
import dns.message
import h11
import httpcore
import httpx
import pytest

from reachcheck.probes.errors import CERT_ERRORS, TooManyRedirects, classify, is_cert_error


def caused(*excs: BaseException) -> BaseException:
    """Link excs[0] <- excs[1] <- ... with __cause__ (httpx's `raise X from exc`)."""
    for outer, inner in itertools.pairwise(excs):
        outer.__cause__ = inner
    return excs[0]


def contexted(*excs: BaseException) -> BaseException:
    """Link with __context__ only, suppressed (what httpcore's contextmanager leaves)."""
    for outer, inner in itertools.pairwise(excs):
        outer.__context__ = inner
        outer.__suppress_context__ = True
    return excs[0]


def cert_error(code: int) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] verify failed")
    exc.verify_code = code
    return exc


def ssl_error(reason: str) -> ssl.SSLError:
    exc = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    exc.reason = reason
    return exc


RESET = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")

CASES: list[tuple[str, BaseException, str]] = [
    ("bare timeout", TimeoutError(), "timeout"),
    ("httpx connect timeout", httpx.ConnectTimeout(""), "timeout"),
    ("httpx read timeout", caused(httpx.ReadTimeout(""), TimeoutError()), "timeout"),
    (
        "stalled handshake under asyncio.timeout",
        caused(httpx.ConnectTimeout(""), TimeoutError(), asyncio.CancelledError(),
               ssl.SSLWantReadError()),
        "timeout",
    ),
    (
        "refused behind anyio's errno-less OSError",
        caused(httpx.ConnectError("All connection attempts failed"),
               OSError("All connection attempts failed"),
               ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")),
        "refused",
    ),
    (
        "refused via the contextmanager-lost cause",
        caused(httpx.ConnectError(""), contexted(httpcore.ConnectError(""), OSError("all failed"),
                                                 ConnectionRefusedError(errno.ECONNREFUSED, "x"))),
        "refused",
    ),
    ("original only in args[0]", httpcore.ConnectError(RESET), "reset"),
    ("RST in handshake (anyio)", caused(httpx.ConnectError(""), anyio.BrokenResourceError(), RESET),
     "reset"),
    ("RST after request", caused(httpx.ReadError(""), RESET), "reset"),
    ("broken pipe", BrokenPipeError(errno.EPIPE, "Broken pipe"), "reset"),
    ("FIN in handshake (asyncio)", ConnectionResetError(), "eof"),
    ("FIN in handshake (anyio)",
     caused(httpx.ConnectError(""), anyio.EndOfStream(), ssl.SSLEOFError(8, "EOF")), "eof"),
    ("anyio end of stream alone", caused(httpx.ReadError(""), anyio.EndOfStream()), "eof"),
    ("asyncio incomplete read", asyncio.IncompleteReadError(b"", 10), "eof"),
    ("handshake timeout via ssl_handshake_timeout",
     ConnectionAbortedError("SSL handshake is taking longer than 60.0 seconds: aborting"),
     "timeout"),
    ("closed without response",
     httpx.RemoteProtocolError("Server disconnected without sending a response."), "eof"),
    ("malformed response",
     caused(httpx.RemoteProtocolError("illegal status line"),
            h11.RemoteProtocolError("illegal status line: bytearray(b'\\x00')")),
     "http_protocol"),
    ("h11 local protocol error", h11.LocalProtocolError("too much data"), "http_protocol"),
    ("httpx decoding error", httpx.DecodingError("bad gzip"), "http_protocol"),
    ("hostname mismatch", caused(httpx.ConnectError("x"), cert_error(62)), "cert_hostname"),
    ("IP mismatch", cert_error(64), "cert_hostname"),
    ("unknown CA", cert_error(20), "cert_unknown_ca"),
    ("self-signed leaf", cert_error(18), "cert_unknown_ca"),
    ("self-signed in chain", cert_error(19), "cert_unknown_ca"),
    ("expired", cert_error(10), "cert_expired"),
    ("not yet valid", cert_error(9), "cert_expired"),
    ("other verify failure", cert_error(26), "cert_invalid"),
    ("plaintext on a TLS port", ssl_error("WRONG_VERSION_NUMBER"), "tls_protocol"),
    ("handshake alert", ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE"), "tls_protocol"),
    ("network unreachable", OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
    ("host unreachable", OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
    ("address not available", OSError(errno.EADDRNOTAVAIL, "Cannot assign"), "unreachable"),
    ("kernel connect timeout", OSError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
    ("dns form error", dns.exception.FormError(), "dns_malformed"),
    ("dns short header", dns.message.ShortHeader(), "dns_malformed"),
    ("dns timeout", dns.exception.Timeout(), "timeout"),
    ("name lookup failed", socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns"),
    ("our redirect cap", TooManyRedirects(), "too_many_redirects"),
    ("httpx redirect cap", httpx.TooManyRedirects("x"), "too_many_redirects"),
    ("unrelated", ValueError("boom"), "error"),
    ("empty wrapper", httpx.ConnectError(""), "error"),
    ("errno-less OSError", OSError("something"), "error"),
    ("cancelled only", asyncio.CancelledError(), "error"),
    ("group picks the telling member",
     ExceptionGroup("g", [ValueError("x"), ConnectionRefusedError(errno.ECONNREFUSED, "r")]),
     "refused"),
    ("group nested in a chain",
     caused(httpx.ConnectError(""), ExceptionGroup("g", [TimeoutError()])), "timeout"),
    ("empty-ish group", ExceptionGroup("g", [ValueError()]), "error"),
]


@pytest.mark.parametrize(("exc", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_table(exc: BaseException, expected: str) -> None:
    assert classify(exc) == expected


def test_classify_survives_cycles() -> None:
    a, b = OSError("a"), OSError("b")
    a.__context__, b.__context__ = b, a
    assert classify(a) == "error"


def test_deepest_informative_wins_over_outer() -> None:
    # The outer TimeoutError is real, but an RST underneath is the cause a censor produced.
    assert classify(caused(TimeoutError(), RESET)) == "reset"


def test_classify_real_raised_chain() -> None:
    def inner() -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")

    try:
        try:
            inner()
        except OSError as exc:
            raise httpx.ConnectError("") from exc
    except httpx.ConnectError as outer:
        assert classify(outer) == "refused"


@pytest.mark.parametrize("name", sorted(CERT_ERRORS))
def test_is_cert_error_true(name: str) -> None:
    assert is_cert_error(name)


@pytest.mark.parametrize("name", ["timeout", "reset", "eof", "tls_protocol", "error", None])
def test_is_cert_error_false(name: str | None) -> None:
    assert not is_cert_error(name)
