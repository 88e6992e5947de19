"""HttpProber against the fake HTTP(S) server, plus property tests of the response helpers."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachcheck.probes import http_content as hc
from reachcheck.probes.http import HttpProber
from reachcheck.probes.tls import TlsContexts
from tests.fakes.http_server import (
    Close,
    HttpApp,
    Page,
    Raw,
    Redirect,
    Reset,
    Stall,
    blockpage,
    huge_headers,
)
from tests.fakes.tls_server import FakeServer, closed_port

FakeFactory = Callable[..., FakeServer]
LOOP = "127.0.0.1"


class Resolver:
    """A `resolve` callable that records what it was asked."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.answers.get(host, [])


@pytest.fixture
async def prober(contexts: TlsContexts) -> AsyncIterator[HttpProber]:
    p = HttpProber(contexts, timeout=0.5, body_cap=4096, max_redirects=3)
    yield p
    await p.aclose()


def site_app(**extra: object) -> HttpApp:
    pages = {
        "/": Page("Site Home"),
        "/same": Redirect("/"),
        "/block": blockpage(),
        "/reset": Reset(),
        "/close": Close(),
        "/stall": Stall(),
        "/garbage": Raw(),
        "/huge": huge_headers(),
        "/big": Page(body=b"<title>Big</title>" + b"x" * 10000),
        "/bomb": Page(body=b"\0" * 2_000_000, gzip=True),
        "/gz": Page("Zipped", gzip=True),
        "/loop": Redirect("/loop"),
        "/mailto": Redirect("mailto:someone@site.test"),
        "/badloc": Redirect("http://[::1"),
        "/many": Page("Many", headers=tuple((f"X-H{i}", "v" * 600) for i in range(100))
                      + (("Set-Cookie", "session=secret"),)),
    }
    pages.update(extra)  # type: ignore[arg-type]
    return HttpApp({"site.test": pages})


@pytest.mark.parametrize("tls", [True, False])
async def test_pinned_fetch_per_host_titles(fake_server: FakeFactory, prober: HttpProber,
                                            tls: bool) -> None:
    srv = fake_server(tls=tls, app=site_app())
    one = await prober.fetch(srv.url("site.test"), "site.test", LOOP, resolve=Resolver())
    two = await prober.fetch(srv.url("other.test"), "other.test", LOOP, resolve=Resolver())
    assert one.ok and one.status == 200 and one.title == "Site Home"
    assert two.ok and two.title == "Welcome to other.test"
    assert one.address == LOOP and one.final_url == srv.url("site.test")
    assert [r.host for r in srv.requests] == ["site.test", "other.test"]
    assert srv.requests[0].headers["host"] == f"site.test:{srv.port}"
    if tls:
        # keep-alive off: each site got its own handshake with its own SNI
        assert srv.sni_seen == ["site.test", "other.test"]
        assert one.tls is not None and one.tls.ok and one.tls.kind == "target"
        assert one.tls.sni == "site.test" and one.tls.cert is not None
        assert one.tls.cert.sans == ("site.test",) and one.tls.version
    else:
        assert one.tls is None
    body = b"<html><head><title>Site Home</title></head><body>Site Home</body></html>"
    assert one.body_sha256 == hashlib.sha256(body).hexdigest() and one.body_length == len(body)
    assert one.body_head == body.decode() and not one.body_truncated
    assert one.headers["server"] == "fake/1.0" and "content-type" in one.header_names


async def test_same_host_redirect_keeps_address(fake_server: FakeFactory,
                                                prober: HttpProber) -> None:
    srv = fake_server(app=site_app())
    resolver = Resolver()
    fetch = await prober.fetch(srv.url("site.test", "/same"), "site.test", LOOP, resolve=resolver)
    assert fetch.ok and fetch.title == "Site Home" and fetch.final_url == srv.url("site.test")
    assert len(fetch.redirects) == 1
    hop = fetch.redirects[0]
    assert (hop.url, hop.address, hop.status, hop.location) == (
        srv.url("site.test", "/same"), LOOP, 302, "/")
    assert resolver.asked == []


async def test_cross_host_redirect_is_repinned(fake_server: FakeFactory,
                                               prober: HttpProber) -> None:
    app = site_app()
    srv = fake_server(app=app)
    app.sites["site.test"]["/away"] = Redirect(srv.url("www.site.test", "/"))  # type: ignore[index]
    resolver = Resolver({"www.site.test": ["127.0.0.1", "198.18.0.99"]})
    fetch = await prober.fetch(srv.url("site.test", "/away"), "site.test", LOOP, resolve=resolver)
    assert fetch.ok and fetch.title == "Welcome to www.site.test"
    assert resolver.asked == ["www.site.test"]
    assert srv.sni_seen == ["site.test", "www.site.test"]  # the hop carried its own SNI
    assert fetch.tls is not None and fetch.tls.sni == "site.test"  # facts of the first hop


async def test_redirect_to_unresolvable_host(fake_server: FakeFactory,
                                             prober: HttpProber) -> None:
    srv = fake_server(app=site_app(**{"/gone": Redirect("https://nowhere.test/")}))
    fetch = await prober.fetch(srv.url("site.test", "/gone"), "site.test", LOOP,
                               resolve=Resolver())
    assert not fetch.ok and fetch.error == "dns" and fetch.status is None
    assert [h.error for h in fetch.redirects] == [None, "dns"]
    assert fetch.redirects[-1].address is None and fetch.final_url == "https://nowhere.test/"


async def test_redirect_hop_that_fails_is_recorded(fake_server: FakeFactory,
                                                   prober: HttpProber) -> None:
    port = closed_port()
    srv = fake_server(app=site_app(**{"/dead": Redirect(f"https://{LOOP}:{port}/")}))
    fetch = await prober.fetch(srv.url("site.test", "/dead"), "site.test", LOOP,
                               resolve=Resolver())
    assert not fetch.ok and fetch.error == "refused"
    assert fetch.redirects[-1].error == "refused" and fetch.redirects[-1].address == LOOP


async def test_too_many_redirects(fake_server: FakeFactory, prober: HttpProber) -> None:
    srv = fake_server(app=site_app())
    fetch = await prober.fetch(srv.url("site.test", "/loop"), "site.test", LOOP,
                               resolve=Resolver())
    assert not fetch.ok and fetch.error == "too_many_redirects" and fetch.status == 302
    assert len(fetch.redirects) == 3 and len(srv.requests) == 4


@pytest.mark.parametrize("path", ["/mailto", "/badloc"])
async def test_unfollowable_location_is_final(fake_server: FakeFactory, prober: HttpProber,
                                              path: str) -> None:
    srv = fake_server(app=site_app())
    fetch = await prober.fetch(srv.url("site.test", path), "site.test", LOOP, resolve=Resolver())
    assert fetch.ok and fetch.status == 302 and fetch.redirects == ()
    assert fetch.headers["location"]


async def test_blockpage_is_recorded(fake_server: FakeFactory, prober: HttpProber) -> None:
    srv = fake_server(tls=False, app=site_app())
    fetch = await prober.fetch(srv.url("site.test", "/block"), "site.test", LOOP,
                               resolve=Resolver())
    assert fetch.ok and fetch.status == 403 and fetch.title == "Access Denied"
    assert "blocked by decision of public authorities" in (fetch.body_head or "")
    assert fetch.headers["server"] == "fake/1.0, Olfeo"


@pytest.mark.parametrize("tls", [True, False])
@pytest.mark.parametrize(
    ("path", "error"),
    [("/reset", "reset"), ("/close", "eof"), ("/stall", "timeout"),
     ("/garbage", "http_protocol"), ("/huge", "http_protocol")],
)
async def test_http_failures(fake_server: FakeFactory, prober: HttpProber, tls: bool,
                             path: str, error: str) -> None:
    srv = fake_server(tls=tls, app=site_app())
    fetch = await prober.fetch(srv.url("site.test", path), "site.test", LOOP, resolve=Resolver())
    assert not fetch.ok and fetch.error == error and fetch.status is None
    if tls:  # the handshake itself succeeded: the failure is HTTP's
        assert fetch.tls is not None and fetch.tls.ok


async def test_body_cap(fake_server: FakeFactory, prober: HttpProber) -> None:
    srv = fake_server(app=site_app())
    fetch = await prober.fetch(srv.url("site.test", "/big"), "site.test", LOOP,
                               resolve=Resolver())
    body = (b"<title>Big</title>" + b"x" * 10000)[:4096]
    assert fetch.ok and fetch.body_truncated and fetch.body_length == 4096
    assert fetch.body_sha256 == hashlib.sha256(body).hexdigest() and fetch.title == "Big"


async def test_gzip_is_decoded_and_bounded(fake_server: FakeFactory, prober: HttpProber) -> None:
    srv = fake_server(app=site_app())
    small = await prober.fetch(srv.url("site.test", "/gz"), "site.test", LOOP, resolve=Resolver())
    bomb = await prober.fetch(srv.url("site.test", "/bomb"), "site.test", LOOP,
                              resolve=Resolver())
    assert small.title == "Zipped" and not small.body_truncated
    assert bomb.ok and bomb.body_truncated and bomb.body_length == 4096


async def test_header_caps(fake_server: FakeFactory, prober: HttpProber) -> None:
    srv = fake_server(app=site_app())
    fetch = await prober.fetch(srv.url("site.test", "/many"), "site.test", LOOP,
                               resolve=Resolver())
    assert fetch.ok and len(fetch.headers) <= hc.MAX_HEADERS
    assert len(fetch.header_names) <= hc.MAX_HEADER_NAMES
    assert all(len(v) <= hc.MAX_HEADER_VALUE for v in fetch.headers.values())
    assert "set-cookie" not in fetch.headers


@pytest.mark.parametrize(
    ("mode", "error"),
    [("wrong_name", "cert_hostname"), ("unknown_ca", "cert_unknown_ca"), ("reset", "reset"),
     ("fin", "eof"), ("plaintext", "tls_protocol")],
)
async def test_tls_failure_inside_fetch(fake_server: FakeFactory, prober: HttpProber,
                                        mode: str, error: str) -> None:
    srv = fake_server(tls_mode=mode, app=site_app())
    fetch = await prober.fetch(srv.url("site.test"), "site.test", LOOP, resolve=Resolver())
    assert not fetch.ok and fetch.error == error
    assert fetch.tls is not None and not fetch.tls.ok and fetch.tls.error == error
    if error.startswith("cert_"):  # the presented certificate was captured
        assert fetch.tls.cert is not None and fetch.tls.cert.sha256
    assert srv.requests == []


async def test_connect_failure_has_no_tls(prober: HttpProber) -> None:
    url = f"https://site.test:{closed_port()}/"
    fetch = await prober.fetch(url, "site.test", LOOP, resolve=Resolver())
    assert not fetch.ok and fetch.error == "refused" and fetch.tls is None


async def test_bad_url_is_an_observation(prober: HttpProber) -> None:
    fetch = await prober.fetch("https://[::1/", "site.test", LOOP, resolve=Resolver())
    assert not fetch.ok and fetch.error == "error"


async def test_ip_literal_target(fake_server: FakeFactory, pki: object) -> None:
    srv = fake_server(names=(LOOP,), app=site_app())
    prober = HttpProber(TlsContexts.create(pki.ca_bundle), timeout=1)  # type: ignore[attr-defined]
    try:
        fetch = await prober.fetch(srv.url(LOOP), LOOP, LOOP, resolve=Resolver())
    finally:
        await prober.aclose()
    assert fetch.ok and fetch.title == f"Welcome to {LOOP}"
    assert srv.sni_seen == [None]  # no SNI for an IP, the certificate matched the IP SAN


async def test_bare_ssl_context_is_accepted(fake_server: FakeFactory,
                                            contexts: TlsContexts) -> None:
    srv = fake_server(tls_mode="wrong_name", app=site_app())
    prober = HttpProber(contexts.verified, timeout=1)
    try:
        fetch = await prober.fetch(srv.url("site.test"), "site.test", LOOP, resolve=Resolver())
    finally:
        await prober.aclose()
    assert fetch.error == "cert_hostname" and fetch.tls is not None and fetch.tls.cert is None


# ----------------------------------------------------------------- pure helpers, property tests


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048), st.one_of(st.none(), st.text(max_size=60)))
def test_title_never_raises(body: bytes, content_type: str | None) -> None:
    for candidate in (body, b"<title>" + body + b"</title>", b"<TITLE x>" + body):
        title = hc.extract_title(candidate, content_type)
        assert title is None or (len(title) <= hc.TITLE_MAX and "  " not in title
                                 and "\n" not in title)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=80), st.binary(max_size=800)), max_size=120))
def test_headers_never_raise(raw: list[tuple[bytes, bytes]]) -> None:
    kept, names = hc.select_headers(raw)
    assert len(kept) <= hc.MAX_HEADERS and len(names) <= hc.MAX_HEADER_NAMES
    assert all(len(v) <= hc.MAX_HEADER_VALUE for v in kept.values())
    assert all(n == n.lower() for n in names)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from([None, "gzip", "deflate", "br"]),
       st.integers(min_value=0, max_value=5000))
def test_body_decoder_never_raises(chunk: bytes, encoding: str | None, limit: int) -> None:
    assert len(hc.BodyDecoder(encoding).feed(chunk, limit)) <= max(limit, 1)


@pytest.mark.parametrize(
    ("body", "ctype", "title"),
    [
        (b"<html><title>\n  A &amp; B\t</title>", None, "A & B"),
        (b"<TiTlE lang='x'>Hi</tItLe>", None, "Hi"),
        (b"<title>unterminated", None, "unterminated"),
        ("<title>Привет</title>".encode("cp1251"), "text/html; charset=windows-1251", "Привет"),
        (b"<title>x</title>", "text/html; charset=rot13", "x"),  # not a text codec
        (b"<title>x</title>", "text/html; charset=nope", "x"),
        (b"<p>no title</p>", None, None),
        (b"<title>" + b"y" * 500 + b"</title>", None, "y" * 200),
    ],
)
def test_title_examples(body: bytes, ctype: str | None, title: str | None) -> None:
    assert hc.extract_title(body, ctype) == title


def test_gzip_decoder_roundtrip() -> None:
    data = b"hello " * 100
    assert hc.BodyDecoder("gzip").feed(gzip.compress(data), 10_000) == data


class RefuseSome:
    """An AddressPolicy that refuses the given addresses and records every one it was asked."""

    def __init__(self, *refused: str) -> None:
        self.refused = refused
        self.asked: list[str] = []

    def __call__(self, address: str) -> str | None:
        self.asked.append(address)
        return "refused by the test" if address in self.refused else None


async def test_address_policy_refuses_the_first_hop(fake_server: FakeFactory,
                                                    contexts: TlsContexts) -> None:
    srv = fake_server(app=site_app())
    policy = RefuseSome(LOOP)
    prober = HttpProber(contexts, timeout=1, address_policy=policy)
    fetch = await prober.fetch(srv.url("site.test"), "site.test", LOOP, resolve=Resolver())
    assert not fetch.ok and fetch.error == "forbidden" and fetch.status is None
    assert fetch.tls is None and fetch.redirects == ()
    assert policy.asked == [LOOP] and srv.connections == 0  # nothing was sent


async def test_address_policy_sees_every_redirect_hop(fake_server: FakeFactory,
                                                      contexts: TlsContexts) -> None:
    # An IP-literal Location skips `resolve`: the policy must still see its address.
    inside = fake_server(app=site_app(), host="127.0.0.3")
    location = f"https://127.0.0.3:{inside.port}/"
    srv = fake_server(app=site_app(**{"/in": Redirect(location), "/out": Redirect("/")}))
    policy = RefuseSome("127.0.0.3")
    prober = HttpProber(contexts, timeout=1, address_policy=policy)
    refused = await prober.fetch(srv.url("site.test", "/in"), "site.test", LOOP,
                                 resolve=Resolver())
    assert not refused.ok and refused.error == "forbidden" and refused.status is None
    assert [(h.address, h.error) for h in refused.redirects] == [
        (LOOP, None), ("127.0.0.3", "forbidden")]
    assert inside.connections == 0
    followed = await prober.fetch(srv.url("site.test", "/out"), "site.test", LOOP,
                                  resolve=Resolver())
    assert followed.ok and followed.title == "Site Home"
    assert policy.asked == [LOOP, "127.0.0.3", LOOP, LOOP]
