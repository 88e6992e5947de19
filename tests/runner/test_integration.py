"""run() with the real probes and analysis against loopback fakes (UDP DNS, DoH, TLS+HTTP).

Every server listens on 127.0.0.1 with an ephemeral port; Config names only those.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from reachcheck.config import Config, DohServer
from reachcheck.model import SiteResult
from reachcheck.runner import run
from reachcheck.targets import parse_target
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.pki import default_pki
from tests.fakes.tls_server import FakeServer

LOOPBACK = "127.0.0.1"


def closed_udp_port() -> int:
    """A loopback UDP port nobody listens on (the injection probe: no DNS service there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab() -> Iterator[tuple[Config, FakeServer]]:
    pki = default_pki()
    site_app = HttpApp({"site.test": {"/": Page("Site home")}})
    doh_app = DohApp({"site.test": [LOOPBACK]})
    rules = {"site.test": Rule.answer(LOOPBACK)}
    with (
        FakeDnsServer(rules) as system,
        FakeDnsServer(rules) as probe,
        FakeServer(tls=True, app=site_app, pki=pki) as web,
        FakeServer(tls=True, app=doh_app, pki=pki) as doh,
    ):
        config = Config(
            resolvers=(probe.address,),
            system_nameservers=(system.address,),
            doh=(DohServer(doh.url("dns.test", "/dns-query"), (LOOPBACK,)),),
            injection_probe=(LOOPBACK, closed_udp_port()),
            benign_sni="benign.test",
            ca_bundle=pki.ca_bundle,
            timeout=2.0,
            hold_on=0.05,
            concurrency=4,
        )
        yield config, web


async def test_run_against_loopback_fakes(lab: tuple[Config, FakeServer]) -> None:
    config, web = lab
    up = parse_target(f"https://site.test:{web.port}/")
    gone = parse_target(f"https://gone.test:{web.port}/")
    results: dict[str, SiteResult] = {}
    summary = await run([up, gone], config, on_result=lambda r: results.update({r.domain: r}))

    assert summary.total == 2 and not summary.interrupted and not summary.network_down
    site = results["site.test"]
    roles = {q.role for q in site.dns}
    assert roles == {"system", "probe", "injection", "control"}
    control = [q for q in site.dns if q.role == "control" and q.qtype == "A"]
    assert control and control[0].answer is not None
    assert control[0].answer.addresses == (LOOPBACK,)
    assert [(t.address, t.ok) for t in site.tcp] == [(LOOPBACK, True)]
    assert set(site.tcp[0].sources) == {"system", "probe", "control"}
    assert [(h.kind, h.sni, h.ok) for h in site.tls] == [("benign", "benign.test", True)]
    (fetch,) = site.http  # the fetch is the target-SNI handshake for its address
    assert fetch.ok and fetch.status == 200 and fetch.title == "Site home"
    assert fetch.tls is not None and (fetch.tls.kind, fetch.tls.sni, fetch.tls.ok) == (
        "target", "site.test", True
    )
    assert fetch.tls.cert is not None and "site.test" in fetch.tls.cert.sans
    assert site.verdict == "accessible"
    # The benign handshake really carried the benign name; the fetch the site's.
    assert "benign.test" in web.sni_seen and "site.test" in web.sni_seen

    nx = results["gone.test"]
    answered = [q for q in nx.dns if q.role != "injection" and q.answer is not None]
    assert answered and all(q.answer.rcode == "NXDOMAIN" for q in answered)
    assert not nx.tcp and not nx.tls and not nx.http
    assert nx.verdict == "site_down"
    assert summary.counts["accessible"] == 1 and summary.counts["site_down"] == 1


async def test_dns_only_run_against_loopback_fakes(lab: tuple[Config, FakeServer]) -> None:
    config, web = lab
    from dataclasses import replace

    config = replace(config, stages=frozenset({"dns"}))
    results: list[SiteResult] = []
    await run([parse_target("site.test")], config, on_result=results.append)
    (site,) = results
    system = [q for q in site.dns if q.role == "system" and q.qtype == "A"]
    assert system and system[0].answer is not None and system[0].answer.addresses == (LOOPBACK,)
    assert not site.tcp and not site.tls and not site.http
    assert web.connections == 0
