"""DohClient against the fake DoH server (and fault pages on the same server)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from typing import Any

import dns.message
import pytest

from reachcheck.probes.dns.doh import DohClient
from reachcheck.probes.dns.wire import RAW_CAP
from reachcheck.probes.tls import TlsContexts
from tests.fakes.doh_h2_server import DohH2Server
from tests.fakes.doh_server import CONTENT_TYPE, DohApp
from tests.fakes.http_server import HttpApp, Page, Raw, Stall
from tests.fakes.pki import Pki
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
        "/big-garbage": Page(body=b"\x00\x01" + b"x" * 5000, content_type=CONTENT_TYPE),
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


async def test_evidence_is_capped_as_for_udp(fake_server: FakeFactory,
                                             contexts: TlsContexts) -> None:
    # One conversion for UDP datagrams and DoH bodies: the same evidence cap.
    srv = fake_server(app=doh_app())
    doh = client(srv, contexts, path="/big-garbage")
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    (bad,) = result.responses
    assert bad.rcode == "MALFORMED" and bad.error == "the response does not answer our question"
    assert base64.b64decode(bad.raw_b64 or "") == (b"\x00\x01" + b"x" * 5000)[:RAW_CAP]


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


# --------------------------------------------------------------------------- HTTP/2 and reconnects

H2Factory = Callable[..., DohH2Server]


@pytest.fixture
def h2_server(pki: Pki) -> Iterator[H2Factory]:
    """A factory of loopback DoH servers (HTTP/2 unless `alpn` says otherwise)."""
    servers: list[DohH2Server] = []

    def start(**kwargs: Any) -> DohH2Server:
        kwargs.setdefault("pki", pki)
        kwargs.setdefault("records", RECORDS)
        server = DohH2Server(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def h2_client(srv: DohH2Server, contexts: TlsContexts, path: str | None = None,
              timeout: float = 5.0) -> DohClient:
    return DohClient(srv.url("dns.test", path), ("127.0.0.1",), contexts.verified, timeout)


def _numbered(count: int) -> dict[str, list[str]]:
    return {f"n{i}.test": [f"198.18.{i // 256}.{i % 256}"] for i in range(count)}


async def test_h2_many_concurrent_queries_on_one_connection(h2_server: H2Factory,
                                                            contexts: TlsContexts) -> None:
    records = _numbered(2000)
    srv = h2_server(records=records, max_streams=1000)
    doh = h2_client(srv, contexts)
    try:
        results = await asyncio.gather(*(doh.query(name, "A") for name in records))
    finally:
        await doh.aclose()
    assert [r.error for r in results] == [None] * len(records)
    assert all(r.answer is not None and r.answer.addresses == tuple(records[r.qname])
               for r in results)  # every stream got its own answer
    assert srv.connections == 1 and len(srv.requests) == len(records)
    assert srv.sni_seen == ["dns.test"]
    assert {req for req in srv.requests} == {("/dns-query", f"dns.test:{srv.port}")}


async def test_h2_answers_match_http1(h2_server: H2Factory, contexts: TlsContexts) -> None:
    srv = h2_server(records={"site.test": RECORDS["site.test"]})
    doh = h2_client(srv, contexts)
    try:
        a = await doh.query("Site.Test", "A")
        aaaa = await doh.query("site.test", "AAAA")
        nx = await doh.query("missing.test", "A")
    finally:
        await doh.aclose()
    assert a.answer is not None and sorted(a.answer.addresses) == ["198.18.0.10", "198.18.0.11"]
    assert a.answer.has_opt and a.answer.ttls == (300, 300) and a.accepted == 0
    assert aaaa.answer is not None and aaaa.answer.addresses == ("2001:db8::10",)
    assert nx.answer is not None and nx.answer.rcode == "NXDOMAIN" and nx.error is None


async def test_h2_max_concurrent_streams_is_honoured(h2_server: H2Factory,
                                                     contexts: TlsContexts) -> None:
    records = _numbered(200)
    srv = h2_server(records=records, max_streams=7, delay=0.01)
    doh = h2_client(srv, contexts)
    try:
        results = await asyncio.gather(*(doh.query(name, "A") for name in records))
    finally:
        await doh.aclose()
    assert all(r.error is None for r in results)
    assert srv.connections == 1 and 1 < srv.max_open <= 7


@pytest.mark.parametrize("alpn", [("h2",), ("http/1.1",)])
async def test_reconnects_after_goaway_or_close(h2_server: H2Factory, contexts: TlsContexts,
                                                alpn: tuple[str, ...]) -> None:
    """Streams the server did not take (GOAWAY) or lost with the connection are resent once on
    a new connection: waves of 50 queries against connections that serve 60 each."""
    records = _numbered(200)
    srv = h2_server(records=records, goaway_after=60, alpn=alpn)
    doh = h2_client(srv, contexts)
    names = list(records)
    results = []
    try:
        for wave in range(4):
            batch = names[wave * 50 : (wave + 1) * 50]
            results += await asyncio.gather(*(doh.query(name, "A") for name in batch))
    finally:
        await doh.aclose()
    assert [r.error for r in results] == [None] * len(records)
    assert all(r.answer is not None and r.answer.addresses == tuple(records[r.qname])
               for r in results)
    assert srv.connections >= 4


@pytest.mark.parametrize(
    ("path", "error"),
    [("/status", "http_status"), ("/html", "http_content_type"), ("/stall", "timeout"),
     ("/reset", "http_protocol"), ("/garbage", "dns_malformed")],
)
async def test_h2_bad_server_answers(h2_server: H2Factory, contexts: TlsContexts,
                                     path: str, error: str) -> None:
    srv = h2_server()
    doh = h2_client(srv, contexts, path=path, timeout=0.3)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == error and result.accepted is None and result.answer is None
    if error == "dns_malformed":
        (bad,) = result.responses
        assert bad.rcode == "MALFORMED"
        assert base64.b64decode(bad.raw_b64 or "") == b"\x00\x01garbage"


async def test_h2_stall_costs_one_query_not_the_connection(h2_server: H2Factory,
                                                           contexts: TlsContexts) -> None:
    srv = h2_server()
    stalled = h2_client(srv, contexts, path="/stall", timeout=0.3)
    try:
        results = await asyncio.gather(*(stalled.query("site.test", "A") for _ in range(20)))
    finally:
        await stalled.aclose()
    assert {r.error for r in results} == {"timeout"}
    assert srv.connections == 1  # the timed-out streams were reset, the connection kept


async def test_h2_bad_certificate(h2_server: H2Factory, contexts: TlsContexts) -> None:
    srv = h2_server(rogue=True)
    doh = h2_client(srv, contexts)
    try:
        result = await doh.query("site.test", "A")
    finally:
        await doh.aclose()
    assert result.error == "cert_unknown_ca" and result.responses == ()


async def test_h2_connect_refused(contexts: TlsContexts) -> None:
    doh = DohClient(f"https://dns.test:{closed_port()}/dns-query", ("127.0.0.1",),
                    contexts.verified, 1.0)
    try:
        results = await asyncio.gather(*(doh.query("site.test", "A") for _ in range(50)))
    finally:
        await doh.aclose()
    assert {r.error for r in results} == {"refused"}


async def test_shared_context_is_not_modified(h2_server: H2Factory, pki: Pki) -> None:
    """ALPN goes on a private copy: the run's verified context serves other handshakes."""
    shared = TlsContexts.create(pki.ca_bundle)
    srv = h2_server(alpn=("h2", "http/1.1"))
    doh = h2_client(srv, shared)
    try:
        assert (await doh.query("site.test", "A")).error is None
    finally:
        await doh.aclose()
    with FakeServer(pki=pki, app=doh_app()) as plain:  # no ALPN: stays HTTP/1.1
        other = client(plain, shared)
        try:
            assert (await other.query("site.test", "A")).error is None
        finally:
            await other.aclose()
