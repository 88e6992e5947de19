"""ControlClient: results from a real server, and every failure turned into ok=False."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

from reachcheck.control.client import ControlClient
from reachcheck.model import ControlMeasurement
from reachcheck.targets import parse_target
from tests.control.conftest import TOKEN, RunningServer
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.tls_server import FakeServer

Start = Callable[..., RunningServer]
TARGET = parse_target("https://site.test/")
NOT_JSON = "bad_response: body is not a JSON object"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_measures_through_a_real_server(
    control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control(allow_private=True, tokens=(TOKEN,))
    dns.set("site.test", Rule.answer("127.0.0.1"))
    with FakeServer(tls=True, app=HttpApp({"site.test": {"/": Page("Real")}})) as site:
        async with ControlClient(running.url, TOKEN, ca_bundle=ca_bundle) as client:
            got = await client.measure(parse_target(site.url("site.test")), ["127.0.0.1"])
    assert got.ok and got.error is None
    assert got.server == running.url
    assert got.http is not None and got.http.title == "Real"
    assert [c.address for c in got.tcp] == ["127.0.0.1"]


async def test_wrong_token_is_a_failed_measurement(control: Start, ca_bundle: str) -> None:
    running = control(tokens=(TOKEN,))
    async with ControlClient(running.url, "x" * 32, ca_bundle=ca_bundle) as client:
        got = await client.measure(TARGET, [])
    assert not got.ok
    assert got.error == "unauthorized: missing or wrong bearer token"


async def test_forbidden_target_carries_the_reason(control: Start, ca_bundle: str) -> None:
    running = control()
    async with ControlClient(running.url, ca_bundle=ca_bundle) as client:
        got = await client.measure(parse_target("https://127.0.0.1/"), [])
    assert not got.ok and got.error is not None
    assert got.error.startswith("forbidden: ") and "loopback" in got.error


async def test_server_down_is_refused() -> None:
    url = f"https://127.0.0.1:{closed_port()}"
    async with ControlClient(url, TOKEN, timeout=5) as client:
        got = await client.measure(TARGET, ["127.0.0.1"])
    assert (got.ok, got.error, got.server) == (False, "refused", url)


async def test_untrusted_server_certificate(control: Start) -> None:
    running = control()
    # The default trust store does not know the test CA.
    async with ControlClient(running.url, timeout=5) as client:
        got = await client.measure(TARGET, [])
    assert not got.ok and got.error == "cert_unknown_ca"


def mock(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[dict]]:
    """A transport answering with `responses` in turn; also returns the request bodies."""
    seen: list[dict] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handle), seen


async def measure_with(
    *responses: httpx.Response | Exception, busy_retries: int = 2
) -> tuple[ControlMeasurement, list[dict]]:
    transport, seen = mock(*responses)
    client = ControlClient(
        "https://control.test", "t" * 20, transport=transport, busy_retries=busy_retries
    )
    try:
        return await client.measure(TARGET, ["192.0.2.1", "192.0.2.1", "2001:db8::1"]), seen
    finally:
        await client.aclose()


async def test_request_body_and_server_name() -> None:
    body = {"server": "", "ok": True, "tcp": [{"address": "192.0.2.1", "port": 443, "ok": True,
                                              "elapsed_ms": 3.0}], "skipped_addresses": []}
    got, seen = await measure_with(httpx.Response(200, json=body))
    assert seen == [{"url": "https://site.test/", "addresses": ["192.0.2.1", "2001:db8::1"]}]
    assert got.ok and got.server == "https://control.test"
    assert got.tcp[0].address == "192.0.2.1"


async def test_busy_server_is_retried_after_retry_after() -> None:
    busy = httpx.Response(503, json={"error": "busy"}, headers={"Retry-After": "0"})
    got, seen = await measure_with(busy, httpx.Response(200, json={"server": "", "ok": True}))
    assert got.ok and len(seen) == 2


async def test_busy_server_gives_up_after_the_retries() -> None:
    busy = httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "0"})
    got, seen = await measure_with(busy, busy, busy, busy_retries=2)
    assert (got.ok, got.error, len(seen)) == (False, "rate_limited", 3)


async def test_long_retry_after_is_not_waited_for() -> None:
    busy = httpx.Response(503, json={"error": "busy"}, headers={"Retry-After": "3600"})
    got, seen = await measure_with(busy)
    assert (got.error, len(seen)) == ("busy", 1)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(200, text="<html>proxy login</html>"), f"{NOT_JSON}"),
        (httpx.Response(200, json=[1, 2]), NOT_JSON),
        (httpx.Response(200, json={"ok": True}), "bad_response: TypeError"),  # no "server"
        (httpx.Response(200, json={"server": "", "ok": True, "tcp": 5}), "bad_response: TypeError"),
        (httpx.Response(500, text="oops"), "http_status_500"),
        (
            httpx.Response(502, json={"error": "not a name!", "reason": "x" * 500}),
            "http_status_502: " + "x" * 200,  # odd names replaced, long reasons capped
        ),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("boom"), "error"),
    ],
)
async def test_failures_never_raise(response: httpx.Response | Exception, error: str) -> None:
    got, _ = await measure_with(response)
    assert (got.ok, got.error, got.server) == (False, error, "https://control.test")
