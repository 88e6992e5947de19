"""The outside views (a control server's client, the user's proxy) are probes of the
`ProbeSet` like the others: the session builds the one the config asks for, the site's check
sends it the addresses and records what it saw."""

from __future__ import annotations

import dataclasses
from typing import Any

from reachcheck.model import ControlMeasurement, Observations, SiteResult, Target
from reachcheck.runner.session import Session
from reachcheck.runner.site import check
from reachcheck.targets import parse_target
from tests.runner.fakenet import FakeNet, loopback_config, stub_judge


class View:
    def __init__(self, kind: str, every: bool) -> None:
        self.kind, self.measures_control_addresses = kind, every
        self.asked: list[tuple[str, list[str]]] = []
        self.closed = False

    async def measure(self, target: Target, addresses: list[str]) -> ControlMeasurement:
        self.asked.append((target.domain, list(addresses)))
        return ControlMeasurement(f"{self.kind}://view", ok=True)

    async def aclose(self) -> None:
        self.closed = True


async def check_one(config: Any, probes: Any) -> tuple[Session, Observations]:
    seen: list[Observations] = []

    def judge(obs: Observations) -> SiteResult:
        seen.append(obs)
        return stub_judge(obs)

    async with Session(config, probes, judge=judge) as session:
        await check(session, parse_target("a.test"))
    (obs,) = seen
    return session, obs


def probes_with_views(net: FakeNet) -> tuple[Any, dict[str, View], list[float]]:
    views = {"control": View("control", False), "proxy": View("proxy", True)}
    timeouts: list[float] = []

    def factory(kind: str) -> Any:
        def make(config: Any, contexts: Any, timeout: float) -> View:
            timeouts.append(timeout)
            return views[kind]

        return make

    probes = dataclasses.replace(net.probes(), make_control=factory("control"),
                                 make_proxy_view=factory("proxy"))  # fmt: skip
    return probes, views, timeouts


async def test_control_server_gets_the_probes_own_addresses(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.10", "127.0.0.20")
    probes, views, timeouts = probes_with_views(net)
    config = loopback_config(control="https://127.0.0.1:9/")
    session, result = await check_one(config, probes)
    assert views["control"].asked == [("a.test", ["127.0.0.10"])]  # not the DoH-only one
    assert result.control == ControlMeasurement("control://view", ok=True)
    assert views["control"].closed and views["proxy"].asked == []
    assert timeouts == [max(10.0, session.deadline - 2.0)]  # ends within the site's deadline


async def test_proxy_view_wins_over_a_control_and_gets_every_address(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.10", "127.0.0.20")
    probes, views, _ = probes_with_views(net)
    config = loopback_config(control="https://127.0.0.1:9/", via="socks5://127.0.0.1:9")
    session, result = await check_one(config, probes)
    assert views["proxy"].asked == [("a.test", ["127.0.0.10", "127.0.0.20"])]
    assert result.control is not None and result.control.server == "proxy://view"
    assert views["control"].asked == []


async def test_dns_only_runs_build_no_outside_view(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    probes, views, timeouts = probes_with_views(net)
    config = loopback_config(control="https://127.0.0.1:9/", stages=frozenset({"dns"}))
    session, result = await check_one(config, probes)
    assert session.control is None and timeouts == [] and result.control is None
