"""One site's measurement plan against the in-memory network (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from reachcheck.model import Observations, SiteResult, TcpConnect, TlsHandshake
from reachcheck.runner import memory
from reachcheck.runner.recorder import Recorder
from reachcheck.runner.session import Session
from reachcheck.runner.site import check, measure
from reachcheck.targets import parse_target
from tests.runner.fakenet import FakeNet, loopback_config, stub_judge


async def measure_sites(net: FakeNet, *names: str, **config: Any) -> list[Recorder]:
    """Measure the names one after the other in one session (shared caches and tracker)."""
    recs = []
    async with Session(loopback_config(**config), net.probes(), judge=stub_judge) as session:
        for name in names:
            rec = Recorder(parse_target(name))
            await measure(session, rec.target, rec)
            recs.append(rec)
    return recs


def target_handshakes(rec: Recorder) -> list[TlsHandshake]:
    """Target-SNI handshakes, the separate ones and those the fetches made (as the analysis
    reads them)."""
    return [h for h in rec.tls if h.kind == "target"] + [f.tls for f in rec.http if f.tls]


def calls(net: FakeNet, kind: str) -> list[tuple[Any, ...]]:
    return [c for c in net.calls if c[0] == kind]


async def test_accessible_site_uses_the_minimum_of_handshakes(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "a.test")
    assert {(q.role, q.qtype) for q in rec.dns} == {
        ("system", "A"), ("probe", "A"), ("injection", "A"), ("control", "A")
    }
    assert net.built[("a.test", "A")] == 1  # the query is built once for every UDP resolver
    assert [c[4] for c in calls(net, "udp")] == [b"a.test/A"] * 3
    # One benign handshake; the fetch is the target handshake: no separate one.
    assert calls(net, "tls") == [("tls", "127.0.0.10", "benign.test", "benign")]
    assert calls(net, "fetch") == [("fetch", "127.0.0.10", "a.test")]
    (tcp,) = rec.tcp
    assert tcp.ok and tcp.sources == ("system", "probe", "control")
    assert [(h.kind, h.sni, h.ok) for h in rec.tls] == [("benign", "benign.test", True)]
    assert [f.ok for f in rec.http] == [True]
    (fetch_tls,) = target_handshakes(rec)
    assert (fetch_tls.address, fetch_tls.sni, fetch_tls.ok) == ("127.0.0.10", "a.test", True)
    assert fetch_tls.started_ms is not None  # stamped by the runner when the prober did not


async def test_aaaa_asked_only_with_ipv6(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "a.test", ipv6=True)
    assert {q.qtype for q in rec.dns} == {"A", "AAAA"}
    assert net.built[("a.test", "AAAA")] == 1


async def test_benign_handshake_is_measured_once_per_address(net: FakeNet) -> None:
    for name in ("a.test", "b.test", "c.test"):
        net.local[name] = net.control[name] = ("127.0.0.10",)
    recs = await measure_sites(net, "a.test", "b.test", "c.test")
    assert len([c for c in calls(net, "tls") if c[3] == "benign"]) == 1
    for rec in recs:  # ...yet every site's observations carry it
        assert [h.kind for h in rec.tls] == ["benign"]
        assert rec.tcp[0].ok and len(target_handshakes(rec)) == 1


async def test_benign_handshake_shared_by_concurrent_sites(net: FakeNet) -> None:
    net.delay = 0.01
    names = [f"s{i}.test" for i in range(5)]
    for name in names:
        net.local[name] = net.control[name] = ("127.0.0.10",)
    async with Session(loopback_config(), net.probes(), judge=stub_judge) as session:
        recs = [Recorder(parse_target(n)) for n in names]
        await asyncio.gather(*(measure(session, r.target, r) for r in recs))
    assert len([c for c in calls(net, "tls") if c[3] == "benign"]) == 1
    assert all(r.tls[0].kind == "benign" and r.tls[0].ok for r in recs)


async def test_separate_target_handshakes_only_on_other_addresses(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10", "127.0.0.11")
    net.control["a.test"] = ("127.0.0.11",)
    (rec,) = await measure_sites(net, "a.test")
    assert calls(net, "fetch") == [("fetch", "127.0.0.10", "a.test")]  # system order first
    targets = [c[1] for c in calls(net, "tls") if c[3] == "target"]
    assert targets == ["127.0.0.11"]
    assert {(h.address, h.kind) for h in rec.tls} == {
        ("127.0.0.10", "benign"), ("127.0.0.11", "benign"), ("127.0.0.11", "target")
    }  # fmt: skip
    assert sorted(h.address for h in target_handshakes(rec)) == ["127.0.0.10", "127.0.0.11"]


async def test_failed_fetch_is_retried_on_a_control_only_address(net: FakeNet) -> None:
    # Forged DNS: the system answer is an address whose server fails the target's certificate.
    net.local["a.test"] = ("127.0.0.66",)
    net.control["a.test"] = ("127.0.0.10",)
    net.tls_errors[("127.0.0.66", "a.test")] = "cert_hostname"
    (rec,) = await measure_sites(net, "a.test")
    # Then http:// on the address that failed verification (a blockpage is served there).
    assert [c[1] for c in calls(net, "fetch")] == ["127.0.0.66", "127.0.0.10", "127.0.0.66"]
    assert [(f.address, f.ok) for f in rec.http] == [("127.0.0.66", False), ("127.0.0.10", True)]
    assert [(f.url, f.address) for f in rec.cleartext] == [("http://a.test/", "127.0.0.66")]
    assert [c for c in calls(net, "tls") if c[3] == "target"] == []  # fetches carried them
    by_addr = {t.address: t.sources for t in rec.tcp}
    assert by_addr == {"127.0.0.66": ("system", "probe"), "127.0.0.10": ("control",)}


async def test_no_cleartext_fetch_for_a_site_that_verifies(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.20",)  # a CDN answering differently: both verify
    (rec,) = await measure_sites(net, "a.test")
    assert rec.cleartext == [] and len(calls(net, "fetch")) == 1


async def test_cleartext_fetch_on_an_address_no_control_gave_whose_tls_fails(
    net: FakeNet,
) -> None:
    net.local["a.test"] = ("127.0.0.66",)
    net.control["a.test"] = ("127.0.0.10",)
    net.tls_errors[("127.0.0.66", "a.test")] = "reset"
    (rec,) = await measure_sites(net, "a.test")
    assert [f.address for f in rec.cleartext] == ["127.0.0.66"]


async def test_control_only_address_gets_a_handshake_when_the_fetch_works(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.20",)  # a CDN answering differently: both genuine
    (rec,) = await measure_sites(net, "a.test")
    assert [c[1] for c in calls(net, "fetch")] == ["127.0.0.10"]
    assert [c[1] for c in calls(net, "tls") if c[3] == "target"] == ["127.0.0.20"]


async def test_address_cap_keeps_a_control_only_address(net: FakeNet) -> None:
    net.local["a.test"] = tuple(f"127.0.0.{i}" for i in range(10, 20))
    net.control["a.test"] = ("127.0.0.99",)
    (rec,) = await measure_sites(net, "a.test")
    measured = [t.address for t in rec.tcp]
    assert len(measured) == 4 and "127.0.0.99" in measured
    assert measured[:3] == ["127.0.0.10", "127.0.0.11", "127.0.0.12"]


async def test_injection_only_addresses_are_never_connected(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.injected["a.test"] = ("127.0.0.77",)
    (rec,) = await measure_sites(net, "a.test")
    touched = {c[1] for c in net.calls if c[0] in ("tcp", "tls", "fetch")}
    assert touched == {"127.0.0.10"}
    assert any(q.role == "injection" and q.answer for q in rec.dns)


async def test_nxdomain_everywhere_stops_after_dns(net: FakeNet) -> None:
    (rec,) = await measure_sites(net, "gone.test")
    assert rec.dns and all(q.answer and q.answer.rcode == "NXDOMAIN"
                           for q in rec.dns if q.role != "injection")  # fmt: skip
    assert not rec.tcp and not rec.tls and not rec.http


async def test_dns_only_stage_makes_no_connections(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "a.test", stages=frozenset({"dns"}))
    assert len(rec.dns) == 4
    assert not [c for c in net.calls if c[0] in ("tcp", "tls", "fetch")]


async def test_ip_literal_skips_dns(net: FakeNet) -> None:
    (rec,) = await measure_sites(net, "https://127.0.0.10/")
    assert not rec.dns and not [c for c in net.calls if c[0] in ("udp", "doh")]
    assert rec.tcp[0].sources == ("literal",)
    assert [c[1] for c in calls(net, "fetch")] == ["127.0.0.10"]


async def test_cleartext_target_connects_and_fetches_without_tls(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "http://a.test/")
    assert calls(net, "tcp") == [("tcp", "127.0.0.10")]
    assert not calls(net, "tls") and not rec.tls
    assert [(f.address, f.ok, f.tls) for f in rec.http] == [("127.0.0.10", True, None)]


async def test_cleartext_fetch_on_unconfirmed_address_is_checked_on_control(net: FakeNet) -> None:
    # Plain HTTP cannot prove an address genuine: a blockpage server answers 200 too.
    net.local["a.test"] = ("127.0.0.66",)
    net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "http://a.test/")
    assert [f.address for f in rec.http] == ["127.0.0.66", "127.0.0.10"]


async def test_tcp_stage_without_tls_only_connects(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    (rec,) = await measure_sites(net, "a.test", stages=frozenset({"dns", "tcp"}))
    assert calls(net, "tcp") == [("tcp", "127.0.0.10")]
    assert not calls(net, "tls") and not calls(net, "fetch") and rec.tcp[0].ok


async def test_unreachable_addresses_get_no_handshake(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.tcp_errors["127.0.0.10"] = "timeout"
    (rec,) = await measure_sites(net, "a.test")
    assert [(t.ok, t.error) for t in rec.tcp] == [(False, "timeout")]
    assert not rec.tls and not rec.http and not calls(net, "fetch")


async def test_residual_penalty_flags_later_failures_and_moves_the_next_site(net: FakeNet) -> None:
    shared, other = "127.0.0.10", "127.0.0.11"
    net.local["a.test"] = net.control["a.test"] = (shared,)
    net.local["b.test"] = net.control["b.test"] = (shared, other)
    net.local["c.test"] = net.control["c.test"] = (shared,)
    for name in ("a.test", "c.test"):
        net.tls_errors[(shared, name)] = "reset"
    a, b, c = await measure_sites(net, "a.test", "b.test", "c.test")
    a_target = target_handshakes(a)
    assert [(h.error, h.possibly_residual) for h in a_target] == [("reset", False)]
    # b.test avoids the penalised address: fetched elsewhere, no new trigger on the shared one.
    assert [f.address for f in b.http] == [other]
    assert not [h for h in target_handshakes(b) if h.address == shared]
    # c.test has no other address: its failure may be the penalty for a.test.
    c_target = target_handshakes(c)
    assert [(h.error, h.possibly_residual) for h in c_target] == [("reset", True)]


async def test_redirect_hops_resolve_through_the_control(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.local["www.a.test"] = ("127.0.0.66",)
    net.control["www.a.test"] = ("127.0.0.11",)
    net.redirect_to = "www.a.test"
    await measure_sites(net, "a.test")
    assert net.resolved == {"www.a.test": ["127.0.0.11"]}


async def test_redirect_hops_fall_back_to_the_system_resolver(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.local["www.a.test"] = ("127.0.0.12",)
    net.redirect_to = "www.a.test"
    await measure_sites(net, "a.test")
    assert net.resolved == {"www.a.test": ["127.0.0.12"]}


async def test_session_closes_shared_clients(net: FakeNet) -> None:
    await measure_sites(net)
    assert sorted(net.closed) == sorted(["https://127.0.0.1:8443/dns-query", "http"])


async def test_target_connect_failure_is_never_evidence_against_the_site(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.10",)
    net.control["a.test"] = ("127.0.0.20",)

    async def flaky(address, port, sni, kind, contexts, *, timeout, clock_ms=None):  # noqa: ANN001, ANN202
        if kind == "target":  # the benign connect worked; this one does not
            return (TcpConnect(address, port, False, 1.0, "timeout"),
                    TlsHandshake(address, port, sni, kind, False, 0.0, "timeout"))  # fmt: skip
        return await FakeNet.tls_handshake(net, address, port, sni, kind, contexts,
                                           timeout=timeout, clock_ms=clock_ms)  # fmt: skip

    net.tls_handshake = flaky  # type: ignore[method-assign]
    (rec,) = await measure_sites(net, "a.test")
    (hs,) = [h for h in rec.tls if h.kind == "target"]
    assert hs.address == "127.0.0.20" and hs.possibly_residual
    assert all(t.ok for t in rec.tcp)  # no second, failed TcpConnect for a working address


async def test_run_with_fake_probes_judges_and_closes_clients(net: FakeNet) -> None:
    from reachcheck.runner import run

    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    results = []
    summary = await run([parse_target("a.test"), parse_target("gone.test")], loopback_config(),
                        on_result=results.append, probes=net.probes())  # fmt: skip
    assert {r.domain: r.verdict for r in results} == {"a.test": "accessible",
                                                      "gone.test": "site_down"}  # fmt: skip
    assert summary.total == 2
    assert sorted(net.closed) == sorted(["https://127.0.0.1:8443/dns-query", "http"])


async def test_stop_with_real_sessions_cancels_hanging_probes_and_closes(net: FakeNet) -> None:
    import time

    from reachcheck.runner import run

    names = [f"s{i}.test" for i in range(20)]
    for name in names:
        net.local[name] = net.control[name] = ("127.0.0.10",)
    net.delay = 3600.0  # every connection hangs
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, stop.set)
    t0 = time.monotonic()
    summary = await run([parse_target(n) for n in names], loopback_config(concurrency=5),
                        on_result=lambda r: None, stop=stop, probes=net.probes())  # fmt: skip
    assert time.monotonic() - t0 < 3.0  # generous: the contract is "about a second"
    assert summary.interrupted and summary.total == 0
    assert net.active["127.0.0.10"] == 0  # the hanging handshakes were cancelled
    assert "http" in net.closed


async def test_an_earlier_runs_trigger_keeps_the_site_out_of_the_penalty_box(
    net: FakeNet,
) -> None:
    """Run 1 resets the SNI (benign passes): remembered on disk. Run 2, inside the window,
    finds even the benign SNI failing: the address is recorded as still punished and the
    site's own SNI is not sent there again (that would only prolong the penalty)."""
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.tls_errors[("127.0.0.10", "a.test")] = "reset"
    (first,) = await measure_sites_judged(net, "a.test")
    assert first.own_triggers == ()  # nothing remembered before the first run
    net.calls.clear()
    net.tls_errors[("127.0.0.10", "benign.test")] = "reset"  # the penalty box
    (second,) = await measure_sites_judged(net, "a.test")
    assert [c for c in calls(net, "fetch") + calls(net, "tls") if c[2] == "a.test"] == []
    (trigger,) = second.own_triggers
    assert (trigger.address, trigger.port, trigger.sni, trigger.error, trigger.active) == (
        "127.0.0.10", 443, "a.test", "reset", True)
    assert [h.possibly_residual for h in second.tls] == [True]


async def test_a_remembered_trigger_whose_penalty_is_over_changes_nothing(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.tls_errors[("127.0.0.10", "a.test")] = "reset"
    await measure_sites_judged(net, "a.test")
    del net.tls_errors[("127.0.0.10", "a.test")]  # the block is gone, the benign SNI passes
    net.calls.clear()
    (second,) = await measure_sites_judged(net, "a.test")
    assert calls(net, "fetch") == [("fetch", "127.0.0.10", "a.test")]
    assert [t.active for t in second.own_triggers] == [False]


async def measure_sites_judged(net: FakeNet, *names: str) -> list[Observations]:
    """One run through Session.check (which feeds the residual memory) in a whole session
    (whose end writes it); the observations each site was judged from."""
    seen: list[Observations] = []

    def judge(obs: Observations) -> SiteResult:
        seen.append(obs)
        return stub_judge(obs)

    async with Session(loopback_config(), net.probes(), judge=judge) as session:
        for name in names:
            await check(session, parse_target(name))
    return seen


async def test_without_residual_memory_nothing_is_read_or_written(net: FakeNet) -> None:
    net.local["a.test"] = net.control["a.test"] = ("127.0.0.10",)
    net.tls_errors[("127.0.0.10", "a.test")] = "reset"
    async with Session(loopback_config(residual_memory=False), net.probes(),
                       judge=stub_judge) as session:
        await check(session, parse_target("a.test"))
        assert session.memory is None
    assert not memory.state_dir().exists()


async def test_the_answer_that_survives_the_race_is_tried_when_no_control_answers(
    net: FakeNet,
) -> None:
    # Both UDP resolvers get the forged answer first and the real one late; no DoH control.
    net.local["a.test"] = ("127.0.0.66",)
    net.late["a.test"] = ("127.0.0.10",)
    net.tcp_errors["127.0.0.66"] = "timeout"  # nothing answers at the forged address
    # (loopback stands in for public addresses here: declared public, as labs do)
    (rec,) = await measure_sites(net, "a.test", doh=(), hold_on=0.01,
                                 public_ranges=("127.0.0.0/8",))
    by_addr = {c.address: c.sources for c in rec.tcp}
    assert by_addr == {"127.0.0.66": ("system", "probe"), "127.0.0.10": ("survivor",)}
    assert [(f.address, f.ok) for f in rec.http] == [("127.0.0.10", True)]
    assert len([q for q in rec.dns if q.role != "injection"]) == 2  # recorded once each


async def test_no_survivor_is_tried_when_a_control_answers(net: FakeNet) -> None:
    net.local["a.test"] = ("127.0.0.66",)
    net.late["a.test"] = ("127.0.0.10",)
    net.tcp_errors["127.0.0.66"] = "timeout"
    (rec,) = await measure_sites(net, "a.test", hold_on=0.01,  # the DoH fake: NXDOMAIN
                                 public_ranges=("127.0.0.0/8",))
    assert not any("survivor" in c.sources for c in rec.tcp)
