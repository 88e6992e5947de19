"""query_udp against real UDP servers on loopback."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator

import pytest

from reachcheck.probes.dns.exchange import MAX_RESPONSES, udp_error_name
from reachcheck.probes.dns.udp import query_udp, resolver_label
from reachcheck.probes.dns.wire import build_query, with_id
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.machine import require_ipv6_loopback

RULES = {
    "ok.test": Rule.answer("192.0.2.1", "192.0.2.2", "2001:db8::1"),
    "nx.test": Rule.nxdomain(),
    "fail.test": Rule.servfail(),
    "refused.test": Rule.refused(),
    "empty.test": Rule.no_answer(),
    "quiet.test": Rule.quiet(),
    "inject.test": Rule.inject(forged=("10.10.10.10",), real=("192.0.2.7",), delay_ms=30),
    "late.test": Rule.inject(forged=("10.10.10.10",), real=("192.0.2.7",), delay_ms=2000),
    "wrongid.test": Rule(a=("192.0.2.8",), wrong_id=True),
    "wrongq.test": Rule(a=("192.0.2.9",), wrong_question=True),
    "garbage.test": Rule(a=("192.0.2.10",), garbage=b"\x81\x80\xff\xff", delay_ms=20),
    "garbageonly.test": Rule(garbage=b"\x81\x80\x00\x01\x00\x05", silent=True),
    "flood.test": Rule(a=("192.0.2.11",), copies=40),
    "lossy.test": Rule(a=("192.0.2.12",), drop=1),
    "blocked.test": Rule(rcode=5, ede=15),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDnsServer]:
    with FakeDnsServer(RULES) as srv:
        yield srv


async def ask(server: FakeDnsServer, name: str, qtype: str = "A", **kw: float):
    kw.setdefault("timeout", 1.0)
    kw.setdefault("hold_on", 0.1)
    return await query_udp(server.address, name, qtype, "probe", **kw)


async def test_answer_a_and_aaaa(server: FakeDnsServer) -> None:
    query = await ask(server, "ok.test")
    assert query.error is None and query.accepted == 0
    assert query.resolver == f"udp:127.0.0.1:{server.address[1]}"
    assert (query.role, query.transport) == ("probe", "udp")
    assert (query.qname, query.qtype) == ("ok.test", "A")
    assert len(query.responses) == 1
    assert query.answer is not None and query.answer.addresses == ("192.0.2.1", "192.0.2.2")
    assert query.answer.has_opt and query.elapsed_ms == query.answer.arrived_ms
    six = await ask(server, "ok.test", "AAAA")
    assert six.answer is not None and six.answer.addresses == ("2001:db8::1",)
    assert any(q.qname == "ok.test" and q.qtype == "AAAA" and q.has_opt for q in server.queries)


@pytest.mark.parametrize(
    ("name", "rcode"),
    [("nx.test", "NXDOMAIN"), ("fail.test", "SERVFAIL"), ("refused.test", "REFUSED"),
     ("empty.test", "NOERROR")],
)
async def test_rcodes_are_answers_not_errors(server: FakeDnsServer, name: str, rcode: str) -> None:
    query = await ask(server, name)
    assert query.error is None and query.accepted == 0
    assert query.answer is not None and query.answer.rcode == rcode and query.answer.addresses == ()


async def test_extended_dns_error_is_kept(server: FakeDnsServer) -> None:
    query = await ask(server, "blocked.test")
    assert query.answer is not None and query.answer.ede == (15,)


async def test_silent_server_times_out_after_one_retransmit(server: FakeDnsServer) -> None:
    query = await query_udp(server.address, "quiet.test", "A", "probe", timeout=0.3,
                            hold_on=0.1, attempts=1)
    assert query.error == "timeout" and query.responses == () and query.accepted is None
    assert query.elapsed_ms >= 300 and query.attempts == 1
    sent = [q for q in server.queries if q.qname == "quiet.test"]
    assert len(sent) == 2 and sent[0].qid != sent[1].qid


async def test_timeout_is_retried_with_a_pause_before_it_counts() -> None:
    with FakeDnsServer({"mute.test": Rule.quiet()}) as srv:
        query = await query_udp(srv.address, "mute.test", "A", "system", timeout=0.2,
                                hold_on=0.1, attempts=3)
        sent = [q for q in srv.queries if q.qname == "mute.test"]
    assert query.error == "timeout" and query.attempts == 3
    # Three attempts of 0.2 s (each with its retransmit) and pauses of 0.25 s and 0.5 s.
    assert query.elapsed_ms >= 3 * 200 + 250 + 500
    assert len(sent) == 6 and len({q.qid for q in sent}) == 6


async def test_answer_to_a_retry_is_accepted_and_the_attempts_recorded() -> None:
    # The first attempt and its retransmit are lost (a loaded resolver dropping datagrams).
    with FakeDnsServer({"busy.test": Rule(a=("192.0.2.44",), drop=2)}) as srv:
        query = await query_udp(srv.address, "busy.test", "A", "probe", timeout=0.2,
                                hold_on=0.05)
    assert query.error is None and query.attempts == 2
    assert query.answer is not None and query.answer.addresses == ("192.0.2.44",)


async def test_the_injection_probe_is_not_retried() -> None:
    with FakeDnsServer({"mute.test": Rule.quiet()}) as srv:
        query = await query_udp(srv.address, "mute.test", "A", "injection", timeout=0.2,
                                hold_on=0.1)
        sent = [q for q in srv.queries if q.qname == "mute.test"]
    assert query.error == "timeout" and query.attempts == 1 and len(sent) == 1


async def test_lost_query_is_retransmitted(server: FakeDnsServer) -> None:
    query = await ask(server, "lossy.test", timeout=0.4)
    assert query.error is None and query.answer is not None
    assert query.answer.addresses == ("192.0.2.12",)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_closed_port_is_refused_without_waiting_for_the_timeout() -> None:
    query = await query_udp(("127.0.0.1", _closed_port()), "x.test", "A", "injection",
                            timeout=30, hold_on=0.5)
    assert query.error == "refused" and query.responses == () and query.accepted is None


async def test_injection_records_both_answers_and_accepts_the_forged_one(
    server: FakeDnsServer,
) -> None:
    query = await ask(server, "inject.test", hold_on=0.5)
    assert query.error is None and len(query.responses) == 2
    forged, real = query.responses
    assert query.accepted == 0 and query.answer is forged
    assert forged.addresses == ("10.10.10.10",) and not forged.has_opt and forged.ttls == (3600,)
    assert real.addresses == ("192.0.2.7",) and real.has_opt
    assert real.arrived_ms > forged.arrived_ms


async def test_without_hold_on_only_the_first_answer_is_seen(server: FakeDnsServer) -> None:
    query = await ask(server, "inject.test", hold_on=0)
    assert len(query.responses) == 1 and query.responses[0].addresses == ("10.10.10.10",)


async def test_hold_on_is_capped_by_the_timeout(server: FakeDnsServer) -> None:
    query = await ask(server, "late.test", timeout=0.2, hold_on=5)
    assert query.error is None and len(query.responses) == 1
    assert query.answer is not None and query.answer.addresses == ("10.10.10.10",)


@pytest.mark.parametrize(("name", "address"), [("wrongid.test", "192.0.2.8"),
                                               ("wrongq.test", "192.0.2.9")])
async def test_mismatched_responses_are_ignored(
    server: FakeDnsServer, name: str, address: str
) -> None:
    query = await ask(server, name, hold_on=0.1)
    assert len(query.responses) == 1 and query.accepted == 0
    assert query.responses[0].addresses == (address,)


async def test_garbage_is_recorded_as_malformed_and_not_accepted(server: FakeDnsServer) -> None:
    query = await ask(server, "garbage.test", hold_on=0.1)
    assert [r.rcode for r in query.responses] == ["MALFORMED", "NOERROR"]
    assert query.responses[0].error and query.responses[0].raw_b64
    assert query.accepted == 1 and query.answer is not None
    assert query.answer.addresses == ("192.0.2.10",)


async def test_only_garbage_is_an_error_with_the_evidence_kept(server: FakeDnsServer) -> None:
    query = await ask(server, "garbageonly.test", timeout=0.3)
    assert query.error == "dns_malformed" and query.accepted is None
    # One runt per send: garbage does not count as an answer, so the query was retransmitted.
    assert [r.rcode for r in query.responses] == ["MALFORMED", "MALFORMED"]


async def test_flood_is_capped(server: FakeDnsServer) -> None:
    query = await ask(server, "flood.test", hold_on=0.5)
    assert len(query.responses) == MAX_RESPONSES and query.accepted == 0


async def test_prebuilt_query_wire_is_reused_with_fresh_ids(server: FakeDnsServer) -> None:
    wire = build_query("ok.test", "A")
    first = await ask(server, "ok.test", query_wire=wire)
    second = await ask(server, "ok.test", query_wire=wire)
    assert first.answer is not None and second.answer is not None
    assert first.answer.addresses == second.answer.addresses == ("192.0.2.1", "192.0.2.2")


class _RetransmitRace(asyncio.DatagramProtocol):
    """Answers the retransmitted query at once with one address, then the first query with
    another (a resolver rotating CDN answers, its first reply merely slow)."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, tuple]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.seen.append((data, addr))
        if len(self.seen) == 2:
            for (query, source), last in zip(reversed(self.seen), (7, 8), strict=True):
                self.transport.sendto(_answer(query, last), source)


def _answer(query: bytes, last: int) -> bytes:
    end = query.index(b"\x00", 12) + 5
    return (query[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:end]
            + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, last]))


async def test_answers_to_the_retransmit_and_the_original_are_not_mixed() -> None:
    loop = asyncio.get_running_loop()
    transport, race = await loop.create_datagram_endpoint(
        _RetransmitRace, local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        query = await query_udp(("127.0.0.1", port), "cdn.test", "A", "probe",
                                timeout=0.4, hold_on=0.1)
    finally:
        transport.close()
    # Both replies arrived, but only those with the id of the first accepted one count:
    # two differing answers here would read as injection.
    assert len(race.seen) == 2
    assert len(query.responses) == 1 and query.answer is not None
    assert query.answer.addresses == ("192.0.2.7",)


def test_ipv6_resolver_label() -> None:
    assert resolver_label(("::1", 53)) == "udp:[::1]:53"
    assert resolver_label(("127.0.0.1", 5353)) == "udp:127.0.0.1:5353"




async def test_ipv6_server() -> None:
    require_ipv6_loopback(socket.SOCK_DGRAM)
    with FakeDnsServer({"ok.test": Rule.answer("192.0.2.1")}, host="::1") as srv:
        query = await query_udp(srv.address, "ok.test", "A", "system", timeout=1, hold_on=0)
    assert query.resolver == f"udp:[::1]:{srv.address[1]}"
    assert query.answer is not None and query.answer.addresses == ("192.0.2.1",)


async def test_cancellation_closes_cleanly(server: FakeDnsServer) -> None:
    task = asyncio.create_task(ask(server, "quiet.test", timeout=10))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancellation_leaves_no_timer_behind(server: FakeDnsServer) -> None:
    """A cancelled query's retransmit timer must not fire on the closed socket later (seen as
    'Exception in callback Exchange._half_time()' tracebacks when a run stopped early)."""
    loop = asyncio.get_running_loop()
    problems: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    try:
        task = asyncio.create_task(ask(server, "quiet.test", timeout=0.2))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)  # past the half-time retransmit and the expiry
    finally:
        loop.set_exception_handler(None)
    assert problems == []


def test_error_names() -> None:
    assert udp_error_name(ConnectionRefusedError()) == "refused"
    assert udp_error_name(TimeoutError()) == "timeout"
    assert udp_error_name(OSError(errno.ENETUNREACH, "no route")) == "unreachable"
    assert udp_error_name(OSError(errno.EHOSTUNREACH, "no route")) == "unreachable"
    assert udp_error_name(OSError(errno.EPERM, "blocked")) == "error"


async def test_bad_query_type_is_a_programming_error(server: FakeDnsServer) -> None:
    with pytest.raises(ValueError):
        await ask(server, "ok.test", "MX")


def test_with_id_round_trip_for_the_fake_server_fixture(server: FakeDnsServer) -> None:
    # Sync use of the fake (as the CLI tests do): a plain socket query gets an answer.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(with_id(build_query("ok.test", "A"), 4242), server.address)
        data = sock.recv(2048)
    assert int.from_bytes(data[:2], "big") == 4242 and data[3] & 0x0F == 0


async def test_non_numeric_server_is_an_error_without_a_lookup() -> None:
    # AI_NUMERICHOST: a name here is a configuration mistake, never resolved behind our back.
    query = await query_udp(("resolver.invalid", 53), "x.test", "A", "probe",
                            timeout=1, hold_on=0)
    assert query.error not in (None, "timeout") and query.responses == ()


async def test_on_answer_hands_out_the_accepted_answer_before_the_hold_on_ends(
    server: FakeDnsServer,
) -> None:
    loop = asyncio.get_running_loop()
    early: list[tuple[float, object]] = []
    t0 = loop.time()
    query = await ask(server, "inject.test", hold_on=0.5,
                      on_answer=lambda q: early.append((loop.time() - t0, q)))
    ((at, first),) = early
    assert at < 0.3 and loop.time() - t0 >= 0.5  # called at once; the window ran on
    assert first.accepted == 0 and first.answer == query.answer  # the forged one, as accepted
    assert [r.addresses for r in first.responses] == [("10.10.10.10",)]
    assert len(query.responses) == 2  # the full query still has every response


async def test_on_answer_is_not_called_without_an_answer(server: FakeDnsServer) -> None:
    called: list[object] = []
    # One attempt: nothing to tell early (with a retry it is told when the first one expired).
    query = await ask(server, "quiet.test", timeout=0.2, on_answer=called.append, attempts=1)
    assert query.error == "timeout" and called == []


async def test_the_early_hook_does_not_wait_for_the_retry() -> None:
    # Whoever picks addresses from the accepted answer is told when the first attempt expired
    # (nothing to connect to from this resolver), not after the retry too.
    told: list[tuple[float, object]] = []
    loop = asyncio.get_running_loop()
    with FakeDnsServer({"mute.test": Rule.quiet()}) as srv:
        t0 = loop.time()
        query = await query_udp(srv.address, "mute.test", "A", "probe", timeout=0.3,
                                hold_on=0.1, attempts=2,
                                on_answer=lambda q: told.append((loop.time() - t0, q.answer)))
    assert query.error == "timeout" and query.attempts == 2
    ((when, answer),) = told
    assert answer is None and 0.3 <= when < 0.5
