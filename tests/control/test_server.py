"""The control API over real HTTPS on 127.0.0.1: auth, limits, SSRF guard, measurements."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reachcheck import model
from reachcheck.control.protocol import MAX_BODY
from reachcheck.model import ControlMeasurement
from tests.control.conftest import TOKEN, RunningServer
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.http_server import Behavior, HttpApp, Page, Request
from tests.fakes.tls_server import FakeServer

Start = Callable[..., RunningServer]


def https_client(ca_bundle: str, timeout: float = 20.0) -> httpx.AsyncClient:
    """A client that trusts the test CA (the control server's certificate)."""
    verify = ssl.create_default_context(cafile=ca_bundle)
    return httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=False)


async def post(
    running: RunningServer,
    ca_bundle: str,
    payload: Any = None,
    *,
    content: Any = None,
    token: str | None = TOKEN,
    timeout: float = 20.0,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with https_client(ca_bundle, timeout) as client:
        if content is None:
            content = json.dumps(payload).encode()
        return await client.post(f"{running.url}/v1/measure", content=content, headers=headers)


def measurement(response: httpx.Response) -> ControlMeasurement:
    assert response.status_code == 200, response.text
    return model.from_json(ControlMeasurement, response.json())


# --------------------------------------------------------------------------- health, auth


async def test_health_needs_no_token_and_reports_load(control: Start, ca_bundle: str) -> None:
    running = control(tokens=(TOKEN,), max_inflight=7)
    async with https_client(ca_bundle) as client:
        response = await client.get(f"{running.url}/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["api"] == "v1"
    assert (body["inflight"], body["max_inflight"]) == (0, 7)
    (record,) = running.records
    assert record["method"] == "GET" and record["path"] == "/v1/health"
    assert record["status"] == 200 and record["client"] == "127.0.0.1"
    assert record["time"].endswith("Z") and record["ms"] >= 0


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcdef", TOKEN + "x"])
async def test_missing_or_wrong_token_is_401(
    control: Start, ca_bundle: str, token: str | None
) -> None:
    running = control(tokens=(TOKEN,))
    response = await post(running, ca_bundle, {"url": "https://site.test/"}, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert running.records[-1]["status"] == 401


async def test_basic_auth_scheme_is_not_a_bearer_token(control: Start, ca_bundle: str) -> None:
    running = control(tokens=(TOKEN,))
    async with https_client(ca_bundle) as client:
        response = await client.post(
            f"{running.url}/v1/measure", json={"url": "https://site.test/"},
            headers={"Authorization": f"Basic {TOKEN}"},
        )
    assert response.status_code == 401


# ------------------------------------------------------------------------ request limits


async def test_oversized_body_is_413(control: Start, ca_bundle: str) -> None:
    running = control()
    payload = {"url": "https://site.test/", "pad": "x" * MAX_BODY}
    response = await post(running, ca_bundle, payload)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


async def test_oversized_chunked_body_is_413(control: Start, ca_bundle: str) -> None:
    running = control()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
        for _ in range(20):
            yield b" " * 1024

    response = await post(running, ca_bundle, content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"addresses": ["127.0.0.1"]}, "'url'"),
        ({"url": "gopher://site.test/"}, "unsupported scheme"),
        ({"url": "https://site.test/", "addresses": ["not-an-ip"]}, "not an IP"),
        ({"url": "https://site.test/", "addresses": ["127.0.0.1"] * 17}, "more than 16"),
        (["https://site.test/"], "JSON object"),
    ],
)
async def test_bad_fields_are_400(
    control: Start, ca_bundle: str, payload: Any, fragment: str
) -> None:
    running = control()
    response = await post(running, ca_bundle, payload)
    assert response.status_code == 400
    assert fragment in response.json()["reason"]
    assert fragment in running.records[-1]["reason"]


async def test_rate_limit_per_client_is_429(control: Start, ca_bundle: str) -> None:
    running = control(rate_per_client=0.01, burst=2)
    statuses = [(await post(running, ca_bundle, {})).status_code for _ in range(2)]
    limited = await post(running, ca_bundle, {})
    assert statuses == [400, 400]  # the bucket counts every request, valid or not
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_inflight_cap_is_503_while_full(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control(allow_private=True, max_inflight=1, timeout=1.5)
    with FakeServer(tls=True, tls_mode="stall") as stalling:
        dns.set("stall.test", Rule.answer("127.0.0.1"))
        first = asyncio.create_task(post(running, ca_bundle, {"url": stalling.url("stall.test")}))
        for _ in range(200):  # the first request holds the only slot while the TLS stalls
            if running.api.gate.inflight == 1:
                break
            await asyncio.sleep(0.01)
        assert running.api.gate.inflight == 1
        busy = await post(running, ca_bundle, {"url": stalling.url("stall.test")})
        assert busy.status_code == 503
        assert busy.json()["error"] == "busy"
        assert int(busy.headers["retry-after"]) >= 1
        held = measurement(await first)
    assert [h.error for h in held.tls] == ["timeout"]
    assert running.api.gate.inflight == 0


# ----------------------------------------------------------------------------- SSRF guard


async def test_literal_loopback_target_is_403_and_never_contacted(
    control: Start, ca_bundle: str
) -> None:
    running = control()
    with FakeServer(tls=True) as target:
        response = await post(running, ca_bundle, {"url": target.url("127.0.0.1")})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "loopback" in response.json()["reason"]
    assert target.connections == 0


async def test_name_resolving_to_loopback_is_403(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control()
    dns.set("internal.test", Rule.answer("127.0.0.1"))
    with FakeServer(tls=True) as target:
        response = await post(running, ca_bundle, {"url": target.url("internal.test")})
    assert response.status_code == 403
    assert "internal.test resolves to 127.0.0.1" in response.json()["reason"]
    assert "loopback" in running.records[-1]["reason"]
    assert target.connections == 0


async def test_name_with_one_private_answer_among_others_is_403(
    
    control: Start, ca_bundle: str, dns: FakeDnsServer

) -> None:
    running = control()
    dns.set("mixed.test", Rule.answer("192.168.7.7", "::1"))
    response = await post(running, ca_bundle, {"url": "https://mixed.test/"})
    assert response.status_code == 403


async def test_allow_private_measures_loopback(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control(allow_private=True, tokens=(TOKEN,))
    dns.set("site.test", Rule.answer("127.0.0.1"))
    app = HttpApp({"site.test": {"/": Page("Hello Site")}})
    with FakeServer(tls=True, app=app) as target:
        url = target.url("site.test")
        response = await post(running, ca_bundle, {"url": url, "addresses": ["127.0.0.2"]})
    got = measurement(response)
    assert got.ok and got.error is None
    assert {(q.qtype, q.role, q.resolver) for q in got.dns} == {
        ("A", "control", f"udp:127.0.0.1:{dns.address[1]}"),
        ("AAAA", "control", f"udp:127.0.0.1:{dns.address[1]}"),
    }
    by_address = {c.address: c for c in got.tcp}
    assert by_address["127.0.0.1"].ok and by_address["127.0.0.1"].sources == ("control",)
    assert not by_address["127.0.0.2"].ok  # nothing listens there: the probe's address fails
    assert by_address["127.0.0.2"].error == "refused"
    assert by_address["127.0.0.2"].sources == ("probe",)
    (tls,) = got.tls  # no handshake where TCP failed
    assert (tls.address, tls.sni, tls.kind, tls.ok) == ("127.0.0.1", "site.test", "target", True)
    assert got.http is not None
    assert (got.http.address, got.http.status, got.http.title) == ("127.0.0.1", 200, "Hello Site")
    assert running.records[-1]["url"] == url
    assert running.records[-1]["status"] == 200
    assert got.client_address == "127.0.0.1"  # the probe's address as the server saw it


async def test_site_that_does_not_exist(control: Start, ca_bundle: str, dns: FakeDnsServer) -> None:
    running = control(allow_private=True)
    got = measurement(await post(running, ca_bundle, {"url": "https://gone.test/"}))
    assert got.ok
    assert {q.answer.rcode for q in got.dns if q.answer} == {"NXDOMAIN"}
    assert got.tcp == () and got.tls == () and got.http is None


async def test_plain_http_target_gets_tcp_and_fetch_only(
    
    control: Start, ca_bundle: str, dns: FakeDnsServer

) -> None:
    running = control(allow_private=True)
    dns.set("plain.test", Rule.answer("127.0.0.1"))
    app = HttpApp({"plain.test": {"/": Page("Plain")}})
    with FakeServer(tls=False, app=app) as target:
        got = measurement(await post(running, ca_bundle, {"url": target.url("plain.test")}))
    assert [c.ok for c in got.tcp] == [True]
    assert got.tls == ()
    assert got.http is not None and got.http.title == "Plain"


async def test_certificate_that_fails_from_the_control_too(
    
    control: Start, ca_bundle: str, dns: FakeDnsServer

) -> None:
    running = control(allow_private=True)
    dns.set("badcert.test", Rule.answer("127.0.0.1"))
    with FakeServer(tls=True, tls_mode="unknown_ca") as target:
        got = measurement(await post(running, ca_bundle, {"url": target.url("badcert.test")}))
    (tls,) = got.tls
    assert not tls.ok and tls.error == "cert_unknown_ca"
    assert tls.cert is not None and "rogue" in tls.cert.issuer
    assert got.http is None  # no verified handshake: a fetch would only repeat the failure


@dataclass(frozen=True)
class _Dynamic(Behavior):
    """A page that changes on every request (a counter in its title), like a dynamic site."""

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        n = sum(1 for r in server.requests if r.host == req.host)
        return Page(f"Visit number {n}").respond(sock, req, server)


async def test_the_page_is_fetched_twice_for_its_own_variance(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control(allow_private=True)
    dns.set("dyn.test", Rule.answer("127.0.0.1"))
    app = HttpApp({"dyn.test": {"/": _Dynamic()}})
    with FakeServer(tls=True, app=app) as target:
        got = measurement(await post(running, ca_bundle, {"url": target.url("dyn.test")}))
        fetched = [r for r in target.requests if r.host == "dyn.test"]
    assert got.http is not None and got.http_repeat is not None
    assert (got.http.title, got.http_repeat.title) == ("Visit number 1", "Visit number 2")
    assert got.http_repeat.address == got.http.address and len(fetched) == 2


async def test_no_repeat_when_the_first_fetch_failed(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control(allow_private=True)
    dns.set("badcert.test", Rule.answer("127.0.0.1"))
    with FakeServer(tls=True, tls_mode="unknown_ca") as target:
        got = measurement(await post(running, ca_bundle, {"url": target.url("badcert.test")}))
    assert got.http is None and got.http_repeat is None
