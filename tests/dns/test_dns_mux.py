"""UdpDnsMux: the shared-socket engine keeps query_udp's semantics under concurrency."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from reachcheck.probes.dns.exchange import DNS_ATTEMPTS, MAX_RESPONSES
from reachcheck.probes.dns.mux import UdpDnsMux
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.machine import require_ipv6_loopback

RULES = {
    "ok.test": Rule.answer("192.0.2.1", "2001:db8::1"),
    "nx.test": Rule.nxdomain(),
    "quiet.test": Rule.quiet(),
    "inject.test": Rule.inject(forged=("10.10.10.10",), real=("192.0.2.7",), delay_ms=30),
    "wrongid.test": Rule(a=("192.0.2.8",), wrong_id=True),
    "wrongq.test": Rule(a=("192.0.2.9",), wrong_question=True),
    "garbage.test": Rule(a=("192.0.2.10",), garbage=b"\x81\x80\xff", delay_ms=20),
    "flood.test": Rule(a=("192.0.2.11",), copies=40),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDnsServer]:
    with FakeDnsServer(RULES) as srv:
        yield srv


async def test_semantics_match_query_udp(server: FakeDnsServer) -> None:
    async with UdpDnsMux(sockets=2) as mux:
        ask = mux.query
        kw = {"timeout": 1.0, "hold_on": 0.1}
        ok, six, nx, inject, wrong_id, wrong_q, garbage, flood = await asyncio.gather(
            ask(server.address, "ok.test", "A", "probe", **kw),
            ask(server.address, "ok.test", "AAAA", "probe", **kw),
            ask(server.address, "nx.test", "A", "system", **kw),
            ask(server.address, "inject.test", "A", "probe", timeout=1.0, hold_on=0.5),
            ask(server.address, "wrongid.test", "A", "probe", **kw),
            ask(server.address, "wrongq.test", "A", "probe", **kw),
            ask(server.address, "garbage.test", "A", "probe", **kw),
            ask(server.address, "flood.test", "A", "probe", timeout=1.0, hold_on=0.5),
        )
    assert ok.resolver == f"udp:127.0.0.1:{server.address[1]}" and ok.transport == "udp"
    assert ok.answer is not None and ok.answer.addresses == ("192.0.2.1",)
    assert six.answer is not None and six.answer.addresses == ("2001:db8::1",)
    assert nx.role == "system" and nx.answer is not None and nx.answer.rcode == "NXDOMAIN"
    assert [r.addresses for r in inject.responses] == [("10.10.10.10",), ("192.0.2.7",)]
    assert inject.accepted == 0
    for query, address in ((wrong_id, "192.0.2.8"), (wrong_q, "192.0.2.9")):
        assert [r.addresses for r in query.responses] == [(address,)]
    assert [r.rcode for r in garbage.responses] == ["MALFORMED", "NOERROR"]
    assert garbage.accepted == 1
    assert len(flood.responses) == MAX_RESPONSES


async def test_silent_and_closed_ports_time_out(server: FakeDnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()
    async with UdpDnsMux() as mux:
        quiet, refused = await asyncio.gather(
            mux.query(server.address, "quiet.test", "A", "probe", timeout=0.2, hold_on=0.1),
            # An unconnected socket cannot see ICMP port-unreachable: documented difference.
            mux.query(closed, "x.test", "A", "injection", timeout=0.2, hold_on=0.1),
        )
    assert quiet.error == refused.error == "timeout"
    assert quiet.responses == refused.responses == ()


async def test_many_concurrent_queries_get_their_own_answers() -> None:
    names = {f"n{i}.test": Rule.answer(f"198.18.{i // 250}.{i % 250}") for i in range(600)}
    with FakeDnsServer(names) as one, FakeDnsServer(names) as two:
        async with UdpDnsMux(sockets=3, max_outstanding=64) as mux:
            queries = await asyncio.gather(*(
                mux.query(srv.address, name, "A", "probe", timeout=2.0, hold_on=0.05)
                for name in names for srv in (one, two)
            ))
        assert len(one.queries) >= 600 and len(two.queries) >= 600
    for query in queries:
        expected = names[query.qname].a
        assert query.error is None, query
        assert [r.addresses for r in query.responses] == [expected]


async def test_outstanding_cap_counts_only_unanswered_queries(server: FakeDnsServer) -> None:
    async with UdpDnsMux(max_outstanding=1) as mux:
        # A query in its hold-on window does not hold the slot...
        holding = asyncio.create_task(
            mux.query(server.address, "inject.test", "A", "probe", timeout=5, hold_on=3)
        )
        ok = await mux.query(server.address, "ok.test", "A", "probe", timeout=1, hold_on=0)
        assert ok.answer is not None and not holding.done()
        holding.cancel()
        # ...but one awaiting its first answer does.
        quiet = asyncio.create_task(
            mux.query(server.address, "quiet.test", "A", "probe", timeout=0.2, hold_on=0)
        )
        await asyncio.sleep(0)
        after = await mux.query(server.address, "nx.test", "A", "probe", timeout=1, hold_on=0)
        assert (await quiet).error == "timeout" and after.answer is not None
    order = [q.qname for q in server.queries if q.qname in ("quiet.test", "nx.test")]
    assert order[-3:] == ["quiet.test", "quiet.test", "nx.test"]


async def test_rate_paces_sends_per_resolver(server: FakeDnsServer) -> None:
    loop = asyncio.get_running_loop()
    async with UdpDnsMux(rate=50) as mux:
        start = loop.time()
        await asyncio.gather(*(
            mux.query(server.address, "ok.test", "A", "probe", timeout=1, hold_on=0)
            for _ in range(6)
        ))
        # Five intervals of 1/50 s separate six sends (a lower bound, not a speed target).
        assert loop.time() - start >= 5 / 50 * 0.9


async def test_close_ends_running_queries(server: FakeDnsServer) -> None:
    mux = UdpDnsMux()
    task = asyncio.create_task(
        mux.query(server.address, "quiet.test", "A", "probe", timeout=10, hold_on=0)
    )
    await asyncio.sleep(0.05)
    await mux.aclose()
    query = await task
    assert query.error == "error" and query.responses == ()
    with pytest.raises(RuntimeError):
        await mux.query(server.address, "ok.test", "A", "probe", timeout=1, hold_on=0)




async def test_ipv4_and_ipv6_servers_share_one_mux(server: FakeDnsServer) -> None:
    require_ipv6_loopback(socket.SOCK_DGRAM)
    with FakeDnsServer({"ok.test": Rule.answer("192.0.2.6")}, host="::1") as six:
        async with UdpDnsMux() as mux:
            v6, v4 = await asyncio.gather(
                mux.query(six.address, "ok.test", "A", "probe", timeout=1, hold_on=0),
                mux.query(server.address, "ok.test", "A", "probe", timeout=1, hold_on=0),
            )
    assert v6.resolver == f"udp:[::1]:{six.address[1]}"
    assert v6.answer is not None and v6.answer.addresses == ("192.0.2.6",)
    assert v4.answer is not None and v4.answer.addresses == ("192.0.2.1",)


async def test_on_answer_hands_out_the_accepted_answer_early(server: FakeDnsServer) -> None:
    early: list[object] = []
    async with UdpDnsMux(sockets=1) as mux:
        query = await mux.query(server.address, "inject.test", "A", "probe", timeout=1.0,
                                hold_on=0.3, on_answer=early.append)
        quiet = await mux.query(server.address, "quiet.test", "A", "probe", timeout=0.2,
                                hold_on=0.1, on_answer=early.append)
    (first,) = early  # the quiet query never answered
    assert first.accepted == 0 and first.answer == query.answer and len(first.responses) == 1
    assert len(query.responses) == 2 and quiet.error == "timeout"


async def test_submit_matches_query(server: FakeDnsServer) -> None:
    """The task-free path gives the same observations as `query` (answers, injection, quiet
    timeouts) and calls its hooks once each."""
    names = ["ok.test", "nx.test", "inject.test", "quiet.test", "wrongid.test", "garbage.test"]
    kw = {"timeout": 0.6, "hold_on": 0.2}
    async with UdpDnsMux(sockets=2, max_outstanding=2) as mux:
        assert mux.submit(server.address, "ok.test", "A", "probe", **kw) is None  # not open
        await mux.open([server.address])
        handles = [mux.submit(server.address, n, "A", "probe", **kw) for n in names]
        answered: list[str] = []
        ended: list[str] = []
        for name, h in zip(names, handles, strict=True):
            assert h is not None
            h.on_answer = lambda q, name=name: answered.append(name)
            h.on_done = lambda name=name: ended.append(name)
        await asyncio.gather(*(h.done for h in handles if h is not None))
        fast = [h.result() for h in handles if h is not None]
        slow = await asyncio.gather(*(mux.query(server.address, n, "A", "probe", **kw)
                                      for n in names))
    strip = [(q.error, q.accepted, [(r.rcode, r.addresses) for r in q.responses]) for q in fast]
    assert strip == [
        (q.error, q.accepted, [(r.rcode, r.addresses) for r in q.responses]) for q in slow
    ]
    assert sorted(ended) == sorted(names)
    assert sorted(answered) == sorted(n for n, q in zip(names, fast, strict=True)
                                      if q.accepted is not None)
    assert fast[3].error == "timeout" and len(fast[2].responses) == 2


async def test_injection_role_is_not_retransmitted(server: FakeDnsServer) -> None:
    async with UdpDnsMux() as mux:
        await mux.open([server.address])
        probe = mux.submit(server.address, "quiet.test", "A", "probe", timeout=0.3, hold_on=0.1)
        inj = mux.submit(server.address, "quiet.test", "A", "injection", timeout=0.3,
                         hold_on=0.1)
        assert probe is not None and inj is not None
        await asyncio.gather(probe.done, inj.done)
    # The probe resolver: a retransmit per attempt (DNS_ATTEMPTS of them); the injection
    # probe: one send, no retransmit, no retry.
    assert len(probe.exchange.ids) == 2 * DNS_ATTEMPTS and len(inj.exchange.ids) == 1
    assert probe.result().error == inj.result().error == "timeout"
