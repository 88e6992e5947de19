"""The probes through a proxy (probes/connector.py + probes/proxy.py) against a real loopback
SOCKS5 / HTTP CONNECT proxy (tests/fakes/proxy_server.py) relaying to the fake servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from reachcheck.probes.dns.doh import DohClient
from reachcheck.probes.errors import classify
from reachcheck.probes.http import HttpProber
from reachcheck.probes.proxy import (
    ProxyAuthFailed,
    ProxyUnreachable,
    ProxyUrlError,
    make_connector,
    parse_proxy_url,
)
from reachcheck.probes.tcp import tcp_connect
from reachcheck.probes.tls import TlsContexts, tls_handshake
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.proxy_server import ProxyServer
from tests.fakes.tls_server import FakeServer, closed_port

FakeFactory = Callable[..., FakeServer]
LOOP = "127.0.0.1"


# ------------------------------------------------------------------------------- URLs (pure)


@pytest.mark.parametrize(("text", "scheme", "host", "port", "user", "password"), [
    ("socks5://127.0.0.1:7890", "socks5", "127.0.0.1", 7890, None, None),
    ("socks5h://proxy.lan", "socks5h", "proxy.lan", 1080, None, None),
    ("http://u%40x:p%3Aw@[::1]:3128", "http", "::1", 3128, "u@x", "p:w"),
    ("HTTP://user@h:8080/", "http", "h", 8080, "user", ""),
])
def test_parse_proxy_url(text: str, scheme: str, host: str, port: int, user: str | None,
                         password: str | None) -> None:
    spec = parse_proxy_url(text)
    assert (spec.scheme, spec.host, spec.port, spec.username, spec.password) == \
        (scheme, host, port, user, password)


@pytest.mark.parametrize(("text", "why"), [
    ("https://127.0.0.1:8443", "https://"),
    ("socks4://127.0.0.1:1080", "socks4://"),
    ("127.0.0.1:1080", "scheme"),
    ("socks5://:1080", "no proxy host"),
    ("socks5://127.0.0.1:99999", "not a proxy URL"),
    ("http://127.0.0.1:8080/path", "no path"),
])
def test_bad_proxy_urls(text: str, why: str) -> None:
    with pytest.raises(ProxyUrlError, match=why):
        parse_proxy_url(text)


def test_display_hides_the_password() -> None:
    spec = parse_proxy_url("socks5h://alice:s3cret@127.0.0.1:1080")
    assert spec.display == "socks5h://alice:***@127.0.0.1:1080"
    assert "s3cret" not in spec.display and "s3cret" not in repr(spec.display)
    assert parse_proxy_url("http://[::1]:3128").display == "http://[::1]:3128"


# ------------------------------------------------------------------------- through a proxy


@pytest.mark.parametrize("kind", ["socks5", "http"])
async def test_tls_handshake_through_proxy(kind: str, fake_server: FakeFactory,
                                           contexts: TlsContexts) -> None:
    srv = fake_server(tls=True)
    with ProxyServer(kind, auth=("u", "p")) as proxy:  # type: ignore[arg-type]
        connector = make_connector(parse_proxy_url(proxy.url), timeout=2.0)
        tcp, hs = await tls_handshake(LOOP, srv.port, "site.test", "target", contexts,
                                      timeout=2.0, connector=connector)
        assert proxy.destinations == [(LOOP, srv.port)]
    assert tcp.ok and hs.ok, (tcp, hs)
    assert hs.cert is not None and "site.test" in hs.cert.sans
    assert srv.sni_seen == ["site.test"]  # the SNI went through the proxy unchanged


async def test_unverified_certificate_is_captured_through_proxy(
        fake_server: FakeFactory, contexts: TlsContexts) -> None:
    srv = fake_server(tls=True, tls_mode="unknown_ca")
    with ProxyServer("socks5") as proxy:
        connector = make_connector(parse_proxy_url(proxy.url), timeout=2.0)
        _, hs = await tls_handshake(LOOP, srv.port, "site.test", "target", contexts,
                                    timeout=2.0, connector=connector)
        # The verified handshake and the capturing one both went through the proxy.
        assert len(proxy.destinations) == 2
    assert not hs.ok and hs.error == "cert_unknown_ca" and hs.cert is not None


@pytest.mark.parametrize(("kind", "error"), [("socks5", "refused"), ("http", "proxy_error")])
async def test_destination_refused_is_the_sites_failure(kind: str, error: str) -> None:
    port = closed_port()
    with ProxyServer(kind) as proxy:  # type: ignore[arg-type]
        connector = make_connector(parse_proxy_url(proxy.url), timeout=2.0)
        tcp = await tcp_connect(LOOP, port, timeout=2.0, connector=connector)
    assert not tcp.ok and tcp.error == error


async def test_proxy_down_is_the_proxys_failure() -> None:
    connector = make_connector(parse_proxy_url(f"socks5://{LOOP}:{closed_port()}"), timeout=2.0)
    tcp = await tcp_connect(LOOP, 443, timeout=2.0, connector=connector)
    assert not tcp.ok and tcp.error == "proxy_unreachable"
    with pytest.raises(ProxyUnreachable):
        await connector(LOOP, 443)


@pytest.mark.parametrize("kind", ["socks5", "http"])
async def test_wrong_credentials(kind: str) -> None:
    with ProxyServer(kind, auth=("u", "right")) as proxy:  # type: ignore[arg-type]
        url = proxy.url.replace("right", "wrong")
        connector = make_connector(parse_proxy_url(url), timeout=2.0)
        with pytest.raises(ProxyAuthFailed) as info:
            await connector(LOOP, 443)
        assert classify(info.value) == "proxy_auth"
        tcp = await tcp_connect(LOOP, 443, timeout=2.0, connector=connector)
    assert tcp.error == "proxy_auth"


async def test_stalled_proxy_is_a_timeout() -> None:
    """A proxy that accepts and never answers: bounded by the timeout."""
    import socket

    listener = socket.create_server((LOOP, 0))
    try:
        url = f"socks5://{LOOP}:{listener.getsockname()[1]}"
        connector = make_connector(parse_proxy_url(url), timeout=0.3)
        tcp = await asyncio.wait_for(
            tcp_connect(LOOP, 443, timeout=1.0, connector=connector), 3.0)
    finally:
        listener.close()
    assert tcp.error == "timeout"


async def test_pinned_fetch_through_proxy(fake_server: FakeFactory,
                                          contexts: TlsContexts) -> None:
    srv = fake_server(tls=True, app=HttpApp({"site.test": {"/": Page("Through The Proxy")}}))
    with ProxyServer("http") as proxy:
        connector = make_connector(parse_proxy_url(proxy.url), timeout=2.0)
        prober = HttpProber(contexts, timeout=2.0, connector=connector)
        try:
            fetched = await prober.fetch(srv.url("site.test"), "site.test", LOOP,
                                         resolve=_no_resolve)
        finally:
            await prober.aclose()
        assert proxy.destinations == [(LOOP, srv.port)]
    assert fetched.ok and fetched.status == 200 and fetched.title == "Through The Proxy"
    assert fetched.tls is not None and fetched.tls.ok


async def test_doh_through_proxy(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    srv = fake_server(app=DohApp({"site.test": ["198.18.0.10"]}))
    with ProxyServer("socks5") as proxy:
        connector = make_connector(parse_proxy_url(proxy.url), timeout=2.0)
        doh = DohClient(srv.url("dns.test", "/dns-query"), (LOOP,), contexts.verified, 2.0,
                        connector=connector)
        try:
            first = await doh.query("site.test", "A")
            second = await doh.query("site.test", "AAAA")
        finally:
            await doh.aclose()
        # One connection through the proxy carries every query.
        assert proxy.destinations == [(LOOP, srv.port)]
    assert first.answer is not None and first.answer.addresses == ("198.18.0.10",)
    assert second.error is None


async def _no_resolve(host: str) -> list[str]:
    return []
