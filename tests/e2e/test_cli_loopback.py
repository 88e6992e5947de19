"""Full `reachcheck check` runs (a real subprocess) against real loopback servers.

One world for the module: a UDP DNS server playing the system resolver (and the probe
resolver), a DoH control, and one server per site on its own 127.0.0.x address, each showing
one kind of censorship (or none). Each scenario is run alone (its exit code is checked), then
all sites together through `--jsonl -`, `report` and `report --rejudge`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reachcheck.config import Config
from reachcheck.execute import _loop_factory
from tests.e2e.conftest import closed_udp_port
from tests.e2e.support import (
    assert_clean_stderr,
    assert_loopback_settings,
    by_domain,
    kinds,
    load_document,
    load_jsonl,
    loopback_args,
    run,
)
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page, Raw, blockpage
from tests.fakes.pki import Pki
from tests.fakes.tls_server import FakeServer, closed_port

FORGED = "127.0.0.99"  # an injected answer: nothing listens there (connects are refused)
# Blockpages as censors serve them: a body fingerprint (Italy's AGCOM stop page) and a header
# fingerprint (an Olfeo filter's Server header), both from the shipped fingerprint data.
AGCOM_PAGE = Page(body="<html><head><title>AGCOM Stop Page</title></head><body>Il sito "
                  "richiesto non e' raggiungibile</body></html>")
_OLFEO_BODY = b"<html><title>Filtered</title>Blocked</html>"
OLFEO_PAGE = Raw(b"HTTP/1.1 403 Forbidden\r\nServer: Olfeo\r\nContent-Type: text/html\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                 % (len(_OLFEO_BODY), _OLFEO_BODY))


@dataclass(frozen=True)
class Scenario:
    domain: str
    verdict: str
    kinds: frozenset[str] = frozenset()  # the exact anomaly kinds: an extra one is a failure
    exit_code: int = 0
    scheme: str = "https"
    trusted_dns: bool | None = None  # expected reachable_with_trusted_dns, when it matters


SCENARIOS = {
    "accessible": Scenario("ok.test", "accessible"),
    "site_down": Scenario("gone.test", "site_down"),
    # The run treats 127.0.0.0/8 as public (--public-range, so the sites' own loopback
    # addresses are not special-purpose): the forged 127.0.0.99 is forged, not a bogon.
    "dns_injection": Scenario("inject.test", "dns_blocked", frozenset({"dns.injection"}), 1),
    "dns_nxdomain": Scenario("nx.test", "dns_blocked", frozenset({"dns.nxdomain"}), 1,
                             trusted_dns=True),
    "sni_filtering": Scenario("sni.test", "tls_blocked", frozenset({"tls.sni_filtering"}), 1),
    "tls_mitm": Scenario("mitm.test", "tls_blocked", frozenset({"tls.cert_invalid"}), 1),
    "http_blockpage": Scenario("bp.test", "http_blocked", frozenset({"http.blockpage"}), 1,
                               scheme="http"),
    "http_blockpage_header": Scenario("bph.test", "http_blocked", frozenset({"http.blockpage"}),
                                      1, scheme="http"),
}  # fmt: skip


@dataclass
class World:
    pki: Pki
    dns: FakeDnsServer
    doh: FakeServer
    urls: dict[str, str] = field(default_factory=dict)  # domain -> target URL
    injection_port: int = 0

    def args(self, **overrides: Any) -> list[str]:
        options: dict[str, Any] = {
            "nameserver": self.dns.address,
            "doh": f"https://dns.test:{self.doh.port}/dns-query@127.0.0.1",
            "injection_probe": ("127.0.0.1", self.injection_port),
            "ca_bundle": self.pki.ca_bundle,
        }
        options.update(overrides)
        return loopback_args(**options)


@pytest.fixture(scope="module")
def world(pki: Pki) -> Iterator[World]:
    with contextlib.ExitStack() as stack:

        def serve(address: str, **kwargs: Any) -> FakeServer:
            kwargs.setdefault("app", HttpApp())
            return stack.enter_context(FakeServer(host=address, pki=pki, **kwargs))

        dns = stack.enter_context(FakeDnsServer())
        records: dict[str, list[str]] = {}
        world = World(pki, dns, doh=serve("127.0.0.1", app=DohApp(records)),
                      injection_port=closed_udp_port())

        def site(domain: str, address: str, srv: FakeServer, system: Rule | None = None) -> None:
            records[domain] = [address]
            dns.set(domain, system or Rule.answer(address))
            world.urls[domain] = srv.url(domain)

        ok = serve("127.0.0.2", app=HttpApp({"ok.test": {"/": Page("OK site")}}))
        site("ok.test", "127.0.0.2", ok)
        # gone.test: no DNS rule and no DoH record: NXDOMAIN everywhere.
        world.urls["gone.test"] = f"https://gone.test:{closed_port('127.0.0.8')}/"
        inject = serve("127.0.0.3")
        site("inject.test", "127.0.0.3", inject,
             Rule.inject(forged=(FORGED,), real=("127.0.0.3",), delay_ms=20))
        nx = serve("127.0.0.4")
        site("nx.test", "127.0.0.4", nx, Rule.nxdomain())
        sni = serve("127.0.0.5", tls_modes={"sni.test": "reset"})
        site("sni.test", "127.0.0.5", sni)
        mitm = serve("127.0.0.6", tls_mode="unknown_ca")
        site("mitm.test", "127.0.0.6", mitm)
        bp = serve("127.0.0.7", tls=False, app=HttpApp({"bp.test": {"/": AGCOM_PAGE},
                                                         "bph.test": {"/": OLFEO_PAGE},
                                                         "bpdup.test": {"/": blockpage()}}))
        site("bp.test", "127.0.0.7", bp)
        site("bph.test", "127.0.0.7", bp)
        site("bpdup.test", "127.0.0.7", bp)
        yield world


def _check(result: dict[str, Any], scenario: Scenario) -> None:
    assert result["verdict"] == scenario.verdict, (result["reason"], result["anomalies"])
    assert kinds(result) == scenario.kinds, result["anomalies"]
    if scenario.trusted_dns is not None:
        assert result["reachable_with_trusted_dns"] is scenario.trusted_dns, result
    assert result["url"].startswith(scenario.scheme + "://")
    if "dns.injection" in scenario.kinds:
        injection = [a for a in result["anomalies"] if a["kind"] == "dns.injection"]
        assert all(a["confirmed"] for a in injection)
        assert any(FORGED in a["addresses"] for a in injection), injection
        # The real address (the control's) is never called forged.
        assert not any(set(a["addresses"]) & _control_addresses(result) for a in injection)


def _control_addresses(result: dict[str, Any]) -> set[str]:
    return {a for q in result["dns"] if q["role"] == "control"
            for r in q["responses"] for a in r["addresses"]}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(world: World, workdir: Path, name: str) -> None:
    scenario = SCENARIOS[name]
    out = workdir / "run.json"
    proc = run(["check", *world.args(), "--json", str(out), world.urls[scenario.domain]], workdir)
    assert_clean_stderr(proc.stderr)
    doc = load_document(out)
    assert_loopback_settings(doc["settings"])
    assert [r["domain"] for r in doc["results"]] == [scenario.domain]
    _check(doc["results"][0], scenario)
    assert doc["interrupted"] is False
    assert doc["summary"] == {scenario.verdict: 1}
    assert proc.returncode == scenario.exit_code, (proc.stdout, proc.stderr)


def test_network_down(world: World, workdir: Path) -> None:
    """Resolvers on closed ports and the DoH control down: inconclusive, exit 3, the note."""
    dead_dns = ("127.0.0.1", closed_udp_port())
    args = world.args(nameserver=dead_dns, resolver=dead_dns, injection_probe=None,
                      doh=f"https://dns.test:{closed_port()}/dns-query@127.0.0.1")
    out = workdir / "run.json"
    proc = run(["check", *args, "--json", str(out), world.urls["ok.test"],
                world.urls["sni.test"]], workdir)
    assert_clean_stderr(proc.stderr)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert "network looks down" in proc.stderr
    doc = load_document(out)
    assert_loopback_settings(doc["settings"])
    assert {r["verdict"] for r in doc["results"]} == {"inconclusive"}
    assert len(doc["results"]) == 2
    for result in doc["results"]:
        assert result["dns"], "the DNS attempts are the evidence and must be recorded"
        assert all(q["error"] and not q["responses"] for q in result["dns"]), result["dns"]


@pytest.fixture(scope="module")
def all_sites(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run over every site: --json FILE and --jsonl - together."""
    cwd = tmp_path_factory.mktemp("all")
    out = cwd / "all.json"
    proc = run(["check", *world.args(), "--concurrency", "3", "--json", str(out), "--jsonl", "-",
                *(world.urls[s.domain] for s in SCENARIOS.values())], cwd)
    return {"proc": proc, "json": out, "cwd": cwd}


def test_all_sites_together(all_sites: dict[str, Any]) -> None:
    proc = all_sites["proc"]
    assert_clean_stderr(proc.stderr)
    assert proc.returncode == 1, proc.stderr  # some are blocked
    doc = load_document(all_sites["json"])
    results = by_domain(doc["results"])
    assert set(results) == {s.domain for s in SCENARIOS.values()}
    for scenario in SCENARIOS.values():
        _check(results[scenario.domain], scenario)
    counts: dict[str, int] = {}
    for r in doc["results"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    assert doc["summary"] == counts
    assert all(r["stages_checked"] == ["dns", "tcp", "tls", "http"] for r in doc["results"])


def test_jsonl_stdout_matches_json(all_sites: dict[str, Any]) -> None:
    lines = load_jsonl(all_sites["proc"].stdout)  # nothing but results on stdout
    doc = json.loads(all_sites["json"].read_text())
    assert len(lines) == len(doc["results"])
    assert by_domain(lines) == by_domain(doc["results"])


@pytest.mark.parametrize("rejudge", [False, True])
def test_report_reproduces_verdicts(all_sites: dict[str, Any], rejudge: bool) -> None:
    cwd = all_sites["cwd"]
    saved = by_domain(json.loads(all_sites["json"].read_text())["results"])
    out = cwd / f"report-{rejudge}.json"
    args = ["report", str(all_sites["json"]), "--json", str(out), "-q"]
    proc = run([*args, "--rejudge"] if rejudge else args, cwd)
    assert_clean_stderr(proc.stderr)
    assert proc.returncode == all_sites["proc"].returncode
    again = by_domain(load_document(out)["results"])
    assert set(again) == set(saved)
    for domain, result in saved.items():
        assert again[domain]["verdict"] == result["verdict"], domain
        assert kinds(again[domain]) == kinds(result), domain
        assert again[domain]["confidence"] == result["confidence"], domain


def test_report_of_jsonl(all_sites: dict[str, Any]) -> None:
    cwd = all_sites["cwd"]
    lines = cwd / "all.jsonl"
    lines.write_text(all_sites["proc"].stdout)
    proc = run(["report", str(lines), "--jsonl", "-"], cwd)
    assert_clean_stderr(proc.stderr)
    assert proc.returncode == all_sites["proc"].returncode
    again = by_domain(load_jsonl(proc.stdout))
    saved = by_domain(load_jsonl(all_sites["proc"].stdout))
    assert {d: r["verdict"] for d, r in again.items()} == {
        d: r["verdict"] for d, r in saved.items()
    }


def test_blockpage_header_repeated(world: World, workdir: Path) -> None:
    """A filter that adds its own Server header beside the origin's is still a blockpage."""
    out = workdir / "run.json"
    run(["check", *world.args(), "--json", str(out), world.urls["bpdup.test"]], workdir)
    (result,) = load_document(out)["results"]
    assert "olfeo" in result["http"][0]["headers"].get("server", "").lower()
    assert "http.blockpage" in kinds(result), result["anomalies"]


def test_dns_only_runs_use_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `fast` extra is part of the test install: its loop must really be picked, so the
    uvloop run below does not quietly rerun asyncio's loop."""
    import uvloop  # the `fast` extra; a missing one fails here, never skips

    dns_only = Config(stages=frozenset({"dns"}))
    monkeypatch.delenv("REACHCHECK_UVLOOP", raising=False)
    assert _loop_factory(dns_only) is uvloop.new_event_loop
    assert _loop_factory(Config()) is None  # full checks keep asyncio's SSL transport
    monkeypatch.setenv("REACHCHECK_UVLOOP", "0")
    assert _loop_factory(dns_only) is None


@pytest.mark.parametrize("uvloop", ["1", "0"])
def test_dns_only_survey(world: World, workdir: Path, uvloop: str,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """--only dns (the mux's task-free path, with uvloop and without): the DoH control is the
    yardstick, so a clean name is accessible and injection is caught."""
    monkeypatch.setenv("REACHCHECK_UVLOOP", uvloop)
    out = workdir / "dns.json"
    proc = run(["check", *world.args(), "--only", "dns", "--json", str(out),
                "ok.test", "inject.test", "nx.test"], workdir)
    assert_clean_stderr(proc.stderr)
    doc = load_document(out)
    got = {r["domain"]: r for r in doc["results"]}
    assert got["ok.test"]["verdict"] == "accessible", got["ok.test"]["reason"]
    assert got["inject.test"]["verdict"] == "dns_blocked", got["inject.test"]["reason"]
    assert got["nx.test"]["verdict"] == "dns_blocked", got["nx.test"]["reason"]
    roles = {q["role"] for q in got["ok.test"]["dns"]}
    assert roles == {"system", "injection", "control"}, roles
    # It judged DNS only and says so: never "Reachable"; the JSON names the stages that ran.
    assert got["ok.test"]["summary"] == "DNS consistent; other stages not checked"
    assert got["ok.test"]["confidence"] == "likely"
    assert all(r["stages_checked"] == ["dns"] for r in doc["results"]), doc["results"]
