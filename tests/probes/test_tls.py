"""tls_handshake against the fake TLS server's modes."""

from __future__ import annotations

import datetime as dt
import os
import re
import ssl
from collections.abc import Callable
from typing import Any, Literal

import pytest

from reachcheck.model import TcpConnect, TlsHandshake
from reachcheck.probes.tls import TlsContexts, cert_info, tls_handshake
from tests.fakes.pki import WRONG_NAME
from tests.fakes.tls_server import FakeServer, closed_port

FakeFactory = Callable[..., FakeServer]
SNI = "site.test"


async def _handshake(
    srv: FakeServer,
    contexts: TlsContexts,
    kind: Literal["benign", "target"] = "target",
    sni: str | None = SNI,
    timeout: float = 2.0,
) -> tuple[TcpConnect, TlsHandshake]:
    return await tls_handshake("127.0.0.1", srv.port, sni, kind, contexts, timeout=timeout)


async def test_ok_records_version_cipher_and_leaf(fake_server: FakeFactory,
                                                   contexts: TlsContexts) -> None:
    srv = fake_server(tls_mode="ok")
    tcp, tls = await _handshake(srv, contexts)
    assert tcp.ok and tls.ok and tls.error is None
    assert (tls.address, tls.port, tls.sni, tls.kind) == ("127.0.0.1", srv.port, SNI, "target")
    assert tls.version in ("TLSv1.2", "TLSv1.3") and tls.cipher
    assert tls.cert is not None
    assert tls.cert.sans == (SNI,)
    assert "O=reachcheck test CA" in tls.cert.issuer
    assert re.fullmatch(r"[0-9a-f]{64}", tls.cert.sha256 or "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tls.cert.not_after or "")
    assert srv.sni_seen == [SNI]


@pytest.mark.parametrize(
    ("mode", "error", "san", "issuer"),
    [
        ("wrong_name", "cert_hostname", WRONG_NAME, "reachcheck test CA"),
        ("unknown_ca", "cert_unknown_ca", SNI, "rogue interception CA"),
        ("expired", "cert_expired", SNI, "reachcheck test CA"),
        ("not_yet_valid", "cert_expired", SNI, "reachcheck test CA"),
    ],
)
async def test_cert_failure_captures_presented_cert(
    fake_server: FakeFactory, contexts: TlsContexts, mode: str, error: str, san: str, issuer: str
) -> None:
    srv = fake_server(tls_mode=mode)
    tcp, tls = await _handshake(srv, contexts)
    assert tcp.ok and not tls.ok and tls.error == error
    assert tls.cert is not None and tls.cert.sans == (san,) and issuer in tls.cert.issuer
    assert tls.version is not None
    # The capture handshake sends the same SNI (a censor keyed on it must see it again).
    assert srv.sni_seen == [SNI, SNI]


async def test_expired_cert_dates_are_in_the_past(fake_server: FakeFactory,
                                                  contexts: TlsContexts) -> None:
    srv = fake_server(tls_mode="expired")
    _, tls = await _handshake(srv, contexts)
    assert tls.cert is not None and tls.cert.not_after is not None
    not_after = dt.datetime.strptime(tls.cert.not_after, "%Y-%m-%dT%H:%M:%SZ")
    assert not_after < dt.datetime.now(dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("mode", "error"),
    [("reset", "reset"), ("fin", "eof"), ("stall", "timeout"), ("plaintext", "tls_protocol")],
)
@pytest.mark.parametrize("kind", ["target", "benign"])
async def test_handshake_failures(fake_server: FakeFactory, contexts: TlsContexts,
                                  mode: str, error: str, kind: Literal["benign", "target"]) -> None:
    srv = fake_server(tls_mode=mode)
    tcp, tls = await _handshake(srv, contexts, kind=kind, timeout=0.3)
    assert tcp.ok
    assert not tls.ok and tls.error == error and tls.cert is None
    assert srv.sni_seen == [SNI]  # no capture handshake for non-certificate failures


async def test_benign_kind_ignores_certificate_problems(fake_server: FakeFactory,
                                                        contexts: TlsContexts) -> None:
    srv = fake_server(tls_mode="wrong_name")
    _, tls = await _handshake(srv, contexts, kind="benign", sni="example.test")
    assert tls.ok and tls.kind == "benign"
    assert tls.cert is not None and tls.cert.sans == (WRONG_NAME,)
    assert srv.sni_seen == ["example.test"]


async def test_sni_filtering_shape(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    # The censor pattern the analysis looks for: benign SNI passes, target SNI is reset.
    srv = fake_server(tls_modes={SNI: "reset"})
    _, benign = await _handshake(srv, contexts, kind="benign", sni="example.test")
    _, target = await _handshake(srv, contexts)
    assert benign.ok and not target.ok and target.error == "reset"


async def test_no_sni(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    srv = fake_server()
    _, tls = await _handshake(srv, contexts, kind="benign", sni=None)
    assert tls.ok and tls.sni is None
    assert srv.sni_seen == [None]


async def test_tcp_failure_is_reported_on_both(contexts: TlsContexts) -> None:
    port = closed_port()
    tcp, tls = await tls_handshake("127.0.0.1", port, SNI, "target", contexts, timeout=1)
    assert not tcp.ok and tcp.error == "refused"
    assert not tls.ok and tls.error == "refused" and tls.elapsed_ms == 0.0


async def test_started_ms_comes_from_the_clock(fake_server: FakeFactory,
                                               contexts: TlsContexts) -> None:
    srv = fake_server()
    _, tls = await tls_handshake("127.0.0.1", srv.port, SNI, "target", contexts, timeout=2,
                                 clock_ms=lambda: 1234.5)
    assert tls.started_ms == 1234.5


async def test_default_store_does_not_trust_the_test_ca(fake_server: FakeFactory) -> None:
    srv = fake_server()
    _, tls = await tls_handshake("127.0.0.1", srv.port, SNI, "target", TlsContexts.create(None),
                                 timeout=2)
    assert tls.error == "cert_unknown_ca" and tls.cert is not None


async def test_no_lingering_sockets(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    srv = fake_server(tls_modes={"reset.test": "reset", "bad.test": "unknown_ca"})
    await _handshake(srv, contexts)  # warm up lazy imports and caches
    before = len(os.listdir("/proc/self/fd"))
    for sni in (SNI, "reset.test", "bad.test") * 3:
        await _handshake(srv, contexts, sni=sni)
        await _handshake(srv, contexts, kind="benign", sni=sni)
    srv.stop()
    assert len(os.listdir("/proc/self/fd")) <= before


@pytest.mark.parametrize(
    "decoded",
    [
        {},
        {"subject": "not a tuple"},
        {"subject": ((("commonName", "a,b+c"),),), "notAfter": "garbage"},
        {"subjectAltName": (("DNS", "x.test"), ("URI", "u"), ("IP Address", "127.0.0.1\n"))},
        {"issuer": [[("weirdOID", 5)]], "notBefore": 17},
    ],
)
def test_cert_info_never_raises(decoded: dict[str, Any]) -> None:
    info = cert_info(b"\x30\x00", decoded)
    assert info.sha256 is not None and len(info.sha256) == 64


def test_cert_info_formats_rfc4514() -> None:
    decoded = {
        "subject": ((("countryName", "US"),), (("organizationName", "Acme, Inc"),),
                    (("commonName", "site.test"),)),
        "subjectAltName": (("DNS", "site.test"), ("IP Address", "127.0.0.1"), ("URI", "x")),
        "notBefore": "Jan  1 00:00:00 2024 GMT",
    }
    info = cert_info(b"der", decoded)
    assert info.subject == "CN=site.test,O=Acme\\, Inc,C=US"
    assert info.sans == ("site.test", "127.0.0.1")
    assert info.not_before == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "value",
    ["Jan  1 00:00:00 2024 GMT", "Dec 31 23:59:59 9999 GMT", "Feb 29 12:00:00 2024 GMT",
     "Feb 29 12:00:00 2023 GMT", "Jun 30 23:59:60 2015 GMT", "Jun  1 24:00:00 2030 GMT",
     "jun  1 12:00:00 2030 GMT", "Jun 01 12:00:00 2030 GMT", "Foo  1 12:00:00 2030 GMT",
     "Jun  1 12:00:00 0999 GMT", "Jun  1 12:00:00 2030 UTC", "garbage", ""],
)
def test_cert_time_fast_path_matches_the_stdlib(value: str) -> None:
    from reachcheck.probes import tls

    expected: str | None
    try:
        ts = ssl.cert_time_to_seconds(value)
        expected = dt.datetime.fromtimestamp(ts, dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    except (ValueError, OverflowError, OSError):
        expected = None
    assert tls._rfc3339(value) == expected


async def test_repeated_certificate_is_parsed_once(fake_server: FakeFactory,
                                                   contexts: TlsContexts) -> None:
    srv = fake_server(tls_mode="ok")
    _, first = await _handshake(srv, contexts, kind="benign")
    _, second = await _handshake(srv, contexts, kind="target")
    assert first.cert is not None and first.cert is second.cert  # cached by DER sha256
