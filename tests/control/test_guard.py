"""The SSRF guard inside measurements: redirects and the probe's own addresses.

Everything here must stay on loopback, so the policy is narrowed by monkeypatching: 127.0.0.1
plays a public address and 127.0.0.3 / 127.0.0.2 play the server's private network.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reachcheck.control import measure
from tests.control.conftest import RunningServer
from tests.control.test_server import measurement, post
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.http_server import HttpApp, Page, Redirect
from tests.fakes.tls_server import FakeServer

Start = Callable[..., RunningServer]
PRIVATE = ("127.0.0.2", "127.0.0.3")


@pytest.fixture
def narrow_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only PRIVATE counts as private (set before the server builds its measurer)."""

    def refusal(address: str) -> str | None:
        return f"{address} is a private address" if address in PRIVATE else None

    monkeypatch.setattr(measure, "refusal_reason", refusal)


@pytest.mark.parametrize("location_host", ["127.0.0.3", "inside.test"])
async def test_redirect_into_private_network_is_not_followed(
    narrow_policy: None, control: Start, ca_bundle: str, dns: FakeDnsServer, location_host: str
) -> None:
    running = control()
    dns.set("site.test", Rule.answer("127.0.0.1"))
    dns.set("inside.test", Rule.answer("127.0.0.3"))
    with FakeServer(tls=True, host="127.0.0.3") as inside:
        location = f"https://{location_host}:{inside.port}/admin"
        app = HttpApp({"site.test": {"/": Redirect(location)}})
        with FakeServer(tls=True, app=app) as site:
            got = measurement(await post(running, ca_bundle, {"url": site.url("site.test")}))
    assert inside.connections == 0
    assert got.http is not None
    assert got.http.error == "forbidden" and got.http.status is None
    first, refused = got.http.redirects
    assert first.location == location
    assert (refused.url, refused.address, refused.error) == (location, "127.0.0.3", "forbidden")


async def test_redirect_to_an_allowed_host_is_followed(
    narrow_policy: None, control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    running = control()
    dns.set("site.test", Rule.answer("127.0.0.1"))
    dns.set("other.test", Rule.answer("127.0.0.1"))
    with FakeServer(tls=True) as srv:
        srv.app = HttpApp(
            {"site.test": {"/": Redirect(srv.url("other.test", "/x"))},
             "other.test": {"/x": Page("Other")}}
        )
        got = measurement(await post(running, ca_bundle, {"url": srv.url("site.test")}))
    assert got.http is not None and got.http.ok and got.http.title == "Other"


async def test_private_probe_addresses_are_skipped_not_refused(
    narrow_policy: None, control: Start, ca_bundle: str, dns: FakeDnsServer
) -> None:
    # A probe whose resolver answers with a bogon is the case the control exists for: the
    # request is served, the bogon is neither contacted nor held against the site.
    running = control()
    dns.set("site.test", Rule.answer("127.0.0.1"))
    bogon = FakeServer(tls=True, host="127.0.0.2")
    with bogon, FakeServer(tls=True, app=HttpApp()) as site:
        payload = {"url": site.url("site.test"), "addresses": ["127.0.0.2", "127.0.0.1"]}
        response = await post(running, ca_bundle, payload)
    got = measurement(response)
    assert response.json()["skipped_addresses"] == ["127.0.0.2"]
    assert running.records[-1]["skipped"] == ["127.0.0.2"]
    assert [c.address for c in got.tcp] == ["127.0.0.1"]
    assert bogon.connections == 0
