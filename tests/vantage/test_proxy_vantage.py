"""ProxyVantage (vantage/proxy.py) against a loopback DoH server, a site and a real loopback
proxy: the measurement it records, and what happens when the proxy goes away mid-run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reachcheck.config import Config, DohServer
from reachcheck.probes.proxy import parse_proxy_url
from reachcheck.probes.tls import TlsContexts
from reachcheck.targets import parse_target
from reachcheck.vantage.proxy import ProxyCheckFailed, ProxyVantage, check_proxy
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.proxy_server import ProxyServer
from tests.fakes.tls_server import FakeServer, closed_port

FakeFactory = Callable[..., FakeServer]


def _config(doh: FakeServer) -> Config:
    url = f"https://dns.test:{doh.port}/dns-query"
    return Config(doh=(DohServer(url, ("127.0.0.1",)),), timeout=2.0, ipv6=False)


async def test_measure_then_proxy_gone(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    site = fake_server(host="127.0.0.2", app=HttpApp({"ok.test": {"/": Page("OK")}}))
    doh = fake_server(app=DohApp({"ok.test": ["127.0.0.2"]}))
    target = parse_target(site.url("ok.test"))
    vantage: ProxyVantage | None = None
    try:
        with ProxyServer("socks5") as proxy:
            url = proxy.url
            vantage = ProxyVantage(url, contexts, _config(doh))
            view = await vantage.measure(target, ["127.0.0.9"])  # + an address given directly
        # The proxy has stopped (mid-run): the next site's view fails, saying why.
        gone = await vantage.measure(target, ["127.0.0.2"])
    finally:
        if vantage is not None:
            await vantage.aclose()
    assert view.ok and view.kind == "proxy" and view.server == url
    assert [q.answer.addresses for q in view.dns if q.answer] == [("127.0.0.2",)]
    by_addr = {c.address: c for c in view.tcp}
    assert by_addr["127.0.0.2"].ok and by_addr["127.0.0.2"].sources == ("control",)
    assert not by_addr["127.0.0.9"].ok and by_addr["127.0.0.9"].sources == ("probe",)
    assert [h.address for h in view.tls if h.ok] == ["127.0.0.2"]
    assert view.http is not None and view.http.ok and view.http.address == "127.0.0.2"
    assert not gone.ok and gone.kind == "proxy"
    assert (gone.error or "").startswith("proxy_unreachable"), gone.error


async def test_no_dns_through_the_proxy_is_a_failed_view(fake_server: FakeFactory,
                                                        contexts: TlsContexts) -> None:
    """The proxy answers but cannot reach the DoH control: no basis for a comparison."""
    doh = fake_server(app=DohApp({}))
    target = parse_target("https://ok.test/")
    with ProxyServer("http", refuse=frozenset({("127.0.0.1", doh.port)})) as proxy:
        vantage = ProxyVantage(proxy.url, contexts, _config(doh))
        try:
            view = await vantage.measure(target, ["127.0.0.2"])
        finally:
            await vantage.aclose()
    assert not view.ok and (view.error or "").startswith("proxy_no_dns"), view.error
    assert view.dns and view.tcp == ()


async def test_check_proxy() -> None:
    with ProxyServer("socks5", auth=("u", "p")) as proxy:
        await check_proxy(parse_proxy_url(proxy.url), ("127.0.0.1", closed_port()), 2.0)
        with pytest.raises(ProxyCheckFailed, match="credentials"):
            await check_proxy(parse_proxy_url(proxy.url.replace(":p@", ":x@")),
                              ("127.0.0.1", 443), 2.0)
    with pytest.raises(ProxyCheckFailed, match="cannot connect to the proxy"):
        await check_proxy(parse_proxy_url(f"socks5://127.0.0.1:{closed_port()}"),
                          ("127.0.0.1", 443), 2.0)
