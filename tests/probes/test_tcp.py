"""tcp_connect against real loopback listeners."""

from __future__ import annotations

from collections.abc import Callable

from reachcheck.probes.tcp import tcp_connect
from tests.fakes.tls_server import Blackhole, FakeServer, closed_port
from tests.machine import require_ipv6_loopback


async def test_connect_ok_records_sources(fake_server: Callable[..., FakeServer]) -> None:
    srv = fake_server(tls=False)
    result = await tcp_connect("127.0.0.1", srv.port, timeout=2, sources=("system", "control"))
    assert result.ok and result.error is None
    assert (result.address, result.port) == ("127.0.0.1", srv.port)
    assert result.sources == ("system", "control")
    assert result.elapsed_ms >= 0


async def test_closed_port_is_refused() -> None:
    result = await tcp_connect("127.0.0.1", closed_port(), timeout=2)
    assert not result.ok and result.error == "refused"


async def test_dropped_syn_is_timeout() -> None:
    with Blackhole() as hole:
        result = await tcp_connect("127.0.0.1", hole.port, timeout=0.2)
    assert not result.ok and result.error == "timeout"


async def test_a_name_is_not_resolved() -> None:
    # Names must never be looked up here: the DNS stage is measured separately.
    result = await tcp_connect("site.test", 443, timeout=1)
    assert not result.ok and result.error == "dns"


async def test_ipv6_loopback(fake_server: Callable[..., FakeServer]) -> None:
    require_ipv6_loopback()
    srv = fake_server(tls=False, host="::1")
    result = await tcp_connect("::1", srv.port, timeout=2)
    assert result.ok
