"""DohClient against the fake DoH server (and fault pages on the same server)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import dns.message
import pytest

from reachcheck.probes.dns_doh import DohClient
from reachcheck.probes.tls import TlsContexts
from tests.fakes.doh_server import CONTENT_TYPE, DohApp
from tests.fakes.http_server import HttpApp, Page, Raw, Stall
from tests.fakes.tls_server import FakeServer, closed_port

FakeFactory = Callable[..., FakeServer]
RECORDS = {
    "site.test": ["198.18.0.10", "198.18.0.11", "2001:db8::10"],
    "v4only.test": ["198.18.0.12"],
}


def doh_app() -> DohApp:
    faults = {
        "/status": Page("Oops", status=500),
        "/html": Page("Captive portal"),
        "/garbage": Page(body=b"\x00\x01garbage", content_type=CONTENT_TYPE),
        "/stall": Stall(),
        "/closed": Raw(b""),
    }
    return DohApp(RECORDS, cnames={"www.site.test": "site.test"}, ede={"banned.test": 15},
                  fallback=HttpApp({"dns.test": faults}))


def client(srv: FakeServer, contexts: TlsContexts, path: str = "/dns-query",
           bootstrap: tuple[str, ...] = ("127.0.0.1",), timeout: float = 2.0) -> DohClient:
    return DohClient(srv.url("dns.test", path), bootstrap, contexts.verified, timeout)


async def test_a_answer(fake_server: FakeFactory, contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert (result.role, result.transport, result.resolver) == ("control", "doh", doh.url)
    assert (result.qname, result.qtype) == ("site.test", "A")
    assert result.error is None and result.accepted == 0
    answer = result.answer
    assert answer is not None and answer.rcode == "NOERROR"
    # dnspython shuffles an rrset when rendering it, so the wire order is the server's choice
    assert sorted(answer.addresses) == ["198.18.0.10", "198.18.0.11"]
    assert answer.ttls == (300, 300)
    assert answer.has_opt and answer.ede == () and answer.cnames == ()
    assert dns.message.from_wire(base64.b64decode(answer.raw_b64 or "")).rcode() == 0
    # pinned: the server saw the URL's name as SNI and Host, the connection went to the IP
    assert srv.sni_seen == ["dns.test"]
    assert srv.requests[0].host == "dns.test" and srv.requests[0].method == "POST"


async def test_aaaa_cname_nxdomain_nodata_ede(fake_server: FakeFactory,
                                             contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts)
    try:
        aaaa = await doh.query("WWW.Site.Test", "AAAA")
        nx = await doh.query("missing.test", "A")
        nodata = await doh.query("v4only.test", "AAAA")
        banned = await doh.query("banned.test", "A")
    finally:
        await doh.aclose()
    assert aaaa.answer is not None
    assert aaaa.answer.addresses == ("2001:db8::10",) and aaaa.answer.cnames == ("site.test",)
    assert nx.answer is not None and nx.answer.rcode == "NXDOMAIN" and nx.error is None
    assert nodata.answer is not None
    assert nodata.answer.rcode == "NOERROR" and nodata.answer.addresses == ()
    assert banned.answer is not None and banned.answer.ede == (15,)


async def test_keep_alive_reuses_one_connection(fake_server: FakeFactory,
                                                contexts: TlsContexts) -> None:
    app = doh_app()
    srv = fake_server(app=app)
    doh = client(srv, contexts)
    try:
        for _ in range(5):
            assert (await doh.query("site.test", "A")).error is None
    finally:
        await doh.aclose()
    assert srv.connections == 1 and len(app.queries) == 5


async def test_next_bootstrap_on_connect_failure(fake_server: FakeFactory,
                                                 contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    # 127.0.0.2 is loopback too, but nothing listens there on this port: refused.
    doh = client(srv, contexts, bootstrap=("127.0.0.2", "127.0.0.1"))
    try:
        first = await doh.query("site.test", "A")
        second = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert first.error is None and second.error is None
    assert srv.connections == 1  # the working address was remembered


async def test_all_bootstraps_fail(contexts: TlsContexts) -> None:
    url = f"https://dns.test:{closed_port()}/dns-query"
    doh = DohClient(url, ("127.0.0.1",), contexts.verified, 1.0)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == "refused" and result.responses == () and result.accepted is None


@pytest.mark.parametrize(
    ("path", "error"),
    [("/status", "http_status"), ("/html", "http_content_type"), ("/stall", "timeout"),
     ("/closed", "eof")],
)
async def test_bad_server_answers(fake_server: FakeFactory, contexts: TlsContexts,
                                  path: str, error: str) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts, path=path, timeout=0.3)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == error and result.accepted is None and result.answer is None


async def test_garbage_is_kept_as_malformed(fake_server: FakeFactory,
                                            contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts, path="/garbage")
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == "dns_malformed" and result.accepted is None
    (bad,) = result.responses
    assert bad.rcode == "MALFORMED" and bad.error
    assert base64.b64decode(bad.raw_b64 or "") == b"\x00\x01garbage"


@pytest.mark.parametrize(("mode", "error"), [("unknown_ca", "cert_unknown_ca"), ("reset", "reset")])
async def test_tls_failures(fake_server: FakeFactory, contexts: TlsContexts,
                            mode: str, error: str) -> None:
    srv = fake_server(tls_mode=mode, app=doh_app())
    doh = client(srv, contexts)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == error and result.responses == ()


async def test_empty_bootstrap_connects_by_url_host(fake_server: FakeFactory,
                                                    contexts: TlsContexts) -> None:
    srv = fake_server(names=("127.0.0.1",), app=doh_app())
    doh = DohClient(srv.url("127.0.0.1", "/dns-query"), (), contexts.verified, 2.0)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error is None and result.answer is not None
    assert sorted(result.answer.addresses) == ["198.18.0.10", "198.18.0.11"]


async def test_unencodable_name_is_an_observation(fake_server: FakeFactory,
                                                  contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts)
    try:
        result = await doh.query("a" * 70 + ".test", "A")  # label longer than 63
    finally:
        await doh.aclose()
    assert result.error == "dns_malformed" and srv.requests == []


async def test_concurrent_queries_share_few_connections(fake_server: FakeFactory,
                                                        contexts: TlsContexts) -> None:
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts)
    try:
        results = await asyncio.gather(*(doh.query("site.test", "A") for _ in range(20)))
    finally:
        await doh.aclose()
    assert all(r.error is None for r in results)
    assert srv.connections <= 8
