"""`reachcheck check --via URL` end to end (a real subprocess) against loopback servers and a
real loopback SOCKS5 / HTTP CONNECT proxy (tests/fakes/proxy_server.py).

On loopback both paths reach the same servers, so these runs check the plumbing: the proxy
view is measured and recorded (vantage "proxy", no password anywhere), `reachable_via_proxy`
answers "does my proxy get me there?", an unusable proxy stops the run before any output
(exit 2, one line), REACHCHECK_VIA works, *_PROXY variables are ignored by the direct path and
said so. What the proxy view decides (blackhole, reset, interceptor) is shown in the lab
(tests/lab/test_via.py) and in the analysis tests.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import closed_udp_port
from tests.e2e.support import (
    COMMAND,
    RUN_TIMEOUT,
    assert_clean_stderr,
    env,
    load_document,
    loopback_args,
    run,
)
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.pki import Pki
from tests.fakes.proxy_server import ProxyServer
from tests.fakes.tls_server import FakeServer, closed_port

SECRET = "s3cret-pass"


@dataclass
class World:
    args: list[str]
    ok_url: str
    down_url: str
    site_port: int
    proxy_socks: ProxyServer
    proxy_http: ProxyServer


@pytest.fixture(scope="module")
def world(pki: Pki) -> Iterator[World]:
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(FakeDnsServer())
        records = {"ok.test": ["127.0.0.2"], "down.test": ["127.0.0.3"]}
        doh = stack.enter_context(FakeServer(host="127.0.0.1", pki=pki, app=DohApp(records)))
        site = stack.enter_context(FakeServer(
            host="127.0.0.2", pki=pki, app=HttpApp({"ok.test": {"/": Page("OK site")}})))
        dns.set("ok.test", Rule.answer("127.0.0.2"))
        dns.set("down.test", Rule.answer("127.0.0.3"))
        socks = stack.enter_context(ProxyServer("socks5", auth=("alice", SECRET)))
        http = stack.enter_context(ProxyServer("http"))
        args = loopback_args(
            nameserver=dns.address, doh=f"https://dns.test:{doh.port}/dns-query@127.0.0.1",
            injection_probe=("127.0.0.1", closed_udp_port()), ca_bundle=pki.ca_bundle)
        yield World(args, site.url("ok.test"), f"https://down.test:{closed_port('127.0.0.3')}/",
                    site.port, socks, http)


def _check(world: World, workdir: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                                dict[str, Any]]:
    out = workdir / "run.json"
    proc = run(["check", *world.args, "--json", str(out), *extra], workdir)
    assert_clean_stderr(proc.stderr)
    return proc, load_document(out)


def test_through_socks5_with_password(world: World, workdir: Path) -> None:
    proc, doc = _check(world, workdir, "--via", world.proxy_socks.url, world.ok_url)
    assert proc.returncode == 0, proc.stderr
    (result,) = doc["results"]
    assert result["verdict"] == "accessible" and result["reachable_via_proxy"] is True
    view = result["control"]
    assert view["kind"] == "proxy" and view["ok"] is True, view
    assert view["server"].startswith("socks5://alice:***@127.0.0.1:")
    assert any(q["responses"] for q in view["dns"]), "DoH through the proxy"
    assert view["http"]["status"] == 200 and view["http"]["tls"]["ok"] is True
    assert ("127.0.0.2", world.site_port) in world.proxy_socks.destinations
    assert doc["settings"]["via"].endswith(f"***@127.0.0.1:{world.proxy_socks.port}")
    assert SECRET not in (workdir / "run.json").read_text() and SECRET not in proc.stderr
    assert "via your proxy: reachable" in result["summary"]


def test_down_both_ways_is_site_down(world: World, workdir: Path) -> None:
    proc, doc = _check(world, workdir, "--via", world.proxy_http.url, world.down_url)
    (result,) = doc["results"]
    assert (result["verdict"], result["confidence"]) == ("site_down", "confirmed"), result
    assert result["reachable_via_proxy"] is False
    assert proc.returncode == 0


def test_proxy_that_does_not_get_there(world: World, workdir: Path) -> None:
    """The site works here; the proxy refuses to connect to it: "does my proxy get me
    there?" is answered no, and nothing is called blocked."""
    with ProxyServer("socks5", refuse=frozenset({("127.0.0.2", world.site_port)})) as proxy:
        proc, doc = _check(world, workdir, "--via", proxy.url, world.ok_url)
    (result,) = doc["results"]
    assert result["verdict"] == "accessible" and result["reachable_via_proxy"] is False
    assert result["control"]["tcp"][0]["error"] == "refused"
    assert proc.returncode == 0


@pytest.mark.parametrize("why", ["closed", "password"])
def test_unusable_proxy_is_a_usage_error(world: World, workdir: Path, why: str) -> None:
    url = (f"socks5://127.0.0.1:{closed_port()}" if why == "closed"
           else world.proxy_socks.url.replace(SECRET, "wrong"))
    out = workdir / "run.json"
    proc = run(["check", *world.args, "--json", str(out), "--via", url, world.ok_url], workdir)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reachcheck: error: proxy "), proc.stderr
    assert ("cannot connect" if why == "closed" else "credentials") in lines[0]
    assert not out.exists() and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("value", "why"), [("https://127.0.0.1:1", "https://"),
                                            ("socks5://127.0.0.1:99999", "not a proxy URL")])
def test_bad_via_url(world: World, workdir: Path, value: str, why: str) -> None:
    proc = run(["check", *world.args, "--via", value, world.ok_url], workdir)
    assert proc.returncode == 2 and why in proc.stderr, proc.stderr


def test_via_and_control_together(world: World, workdir: Path) -> None:
    proc = run(["check", *world.args, "--via", world.proxy_http.url, "--control",
                "https://127.0.0.1:1/", world.ok_url], workdir)
    assert proc.returncode == 2 and "give one" in proc.stderr, proc.stderr


def _run_env(world: World, workdir: Path, extra_env: dict[str, str],
             *args: str) -> subprocess.CompletedProcess[str]:
    child = {**env(), **extra_env}
    return subprocess.run([*COMMAND, "check", *world.args, *args], cwd=workdir, env=child,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def test_via_from_the_environment(world: World, workdir: Path) -> None:
    out = workdir / "run.json"
    proc = _run_env(world, workdir, {"REACHCHECK_VIA": world.proxy_http.url},
                    "--json", str(out), world.ok_url)
    assert proc.returncode == 0, proc.stderr
    (result,) = load_document(out)["results"]
    assert result["control"]["kind"] == "proxy" and result["reachable_via_proxy"] is True


def test_proxy_variables_are_ignored_by_the_direct_path(world: World, workdir: Path) -> None:
    """HTTPS_PROXY points at a proxy: the direct path must not use it, and says so."""
    with ProxyServer("http") as trap:
        out = workdir / "run.json"
        proc = _run_env(world, workdir, {"HTTPS_PROXY": trap.url, "all_proxy": trap.url},
                        "--json", str(out), world.ok_url)
        assert trap.destinations == [], "the direct path went through HTTPS_PROXY"
    assert proc.returncode == 0, proc.stderr
    assert "HTTPS_PROXY, all_proxy set: the direct measurements ignore it" in proc.stderr
    assert "--via" in proc.stderr
    doc = load_document(out)
    assert doc["settings"]["ignored_proxy_env"] == ["HTTPS_PROXY", "all_proxy"]
    assert doc["results"][0]["control"] is None
