"""probes/route.py: the default route's interface and whether it is a tun device."""

from __future__ import annotations

from pathlib import Path

from reachcheck.probes import route

# /proc/net/route as Clash/Mihomo TUN mode (auto-route in the main table) leaves it.
TABLE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
Meta\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
"""


def test_default_route_interfaces() -> None:
    assert route.default_route_interfaces(TABLE) == ["Meta", "eth0"]
    assert route.default_route_interfaces(TABLE.splitlines()[0]) == []
    assert route.default_route_interfaces("") == []


def test_is_tun_reads_sysfs(tmp_path: Path) -> None:
    (tmp_path / "Meta").mkdir()
    (tmp_path / "Meta" / "tun_flags").write_text("0x1002\n")
    (tmp_path / "eth0").mkdir()
    assert route.is_tun("Meta", str(tmp_path))
    assert not route.is_tun("eth0", str(tmp_path))
    assert not route.is_tun("missing", str(tmp_path))


def test_loopback_lookup_is_not_a_tun() -> None:
    # A route lookup (no packet) towards loopback: the interface is lo, never a tun.
    assert route._interface_towards("127.0.0.1") == "lo"
    assert not route.is_tun("lo")
