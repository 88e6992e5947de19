"""DNS over UDP with hold-on: keep listening after the first answer and record every response.

An on-path injector cannot suppress the real answer, so a censored query usually draws a forged
response first and the real one a little later. A stub resolver takes the first; we record all
of them for a short window (`hold_on`) after the first well-formed one. `accepted` points at the
response a stub resolver would have used.

`query_udp` is the simple default path: one *connected* socket per query, so an ICMP
port-unreachable arrives at once as ConnectionRefusedError (error "refused"). `dns_mux.UdpDnsMux`
shares a few sockets among thousands of queries for large DNS-only scans.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import os
import socket
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

from reachcheck.model import DnsQuery, DnsResponse, DnsRole
from reachcheck.probes.dns_wire import build_query, parse_response, with_id
from reachcheck.probes.errors import classify

MAX_RESPONSES = 16  # responses kept per query: enough for 1-3 injectors plus the real one
# Malformed datagrams kept as evidence per query. Past this they are dropped, but the query keeps
# waiting: a flood of garbage bearing our id must not hide the real answer behind it.
MAX_MALFORMED = 4
# A query that timed out is asked again (a fresh exchange: new id, its own timeout) before the
# timeout counts: under load a resolver or the path drops a few datagrams, and a lost packet is
# not censorship (design §5.1). Bounded, with a growing pause between attempts so a loaded
# resolver gets room; `DnsQuery.attempts` records how many were made.
DNS_ATTEMPTS = 2
RETRY_BACKOFF = 0.25  # seconds before the second attempt; doubles for each further one
_MAXNS = 3  # glibc uses the first three nameservers only (resolv.h MAXNS)


def udp_error_name(exc: BaseException) -> str:
    """Error name of a UDP socket failure (the one mapping lives in `errors.classify`)."""
    return classify(exc)


def resolver_label(server: tuple[str, int]) -> str:
    """`udp:IP:PORT`, with IPv6 in brackets: `udp:[::1]:53`."""
    host, port = server
    return f"udp:[{host}]:{port}" if ":" in host else f"udp:{host}:{port}"


@lru_cache(maxsize=1024)
def sockaddr(server: tuple[str, int]) -> tuple[int, tuple[Any, ...]]:
    """(family, sockaddr) of a numeric server address; never does a DNS lookup (cached: a
    scan asks the same few servers thousands of times)."""
    host, port = server
    family, _, _, _, addr = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST
    )[0]
    return family, addr


class _RandomIds:
    """Unpredictable 16-bit query ids, read from the OS random source a few KB at a time
    (`secrets.randbits` costs a system call per id: a big scan sends thousands a second)."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0

    def __call__(self) -> int:
        pos = self._pos
        if pos + 2 > len(self._buf):
            self._buf, pos = os.urandom(4096), 0
        self._pos = pos + 2
        return (self._buf[pos] << 8) | self._buf[pos + 1]


random_id = _RandomIds()


class _Timer:
    """A timer of `_Timers` (cancel() is all a caller needs, like asyncio.TimerHandle)."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _Timers:
    """Many timers on one event-loop timer: FIFO lanes of non-decreasing deadlines.

    A scan keeps thousands of exchanges open, each with a timer (retransmit, expiry, hold-on
    end); on the loop's heap every one costs a handle and O(log n) Python comparisons, and
    cancelled ones linger there. Timers of one lane (one kind of delay) are created in deadline
    order, so a deque per lane is a priority queue; a timer out of order (a hold-on window cut
    short by the timeout) goes to the loop. Callbacks run exactly as loop timers would, in
    deadline order per lane.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lanes: dict[Hashable, collections.deque[_Timer]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed = float("inf")

    def call_at(
        self, when: float, callback: Callable[[], None], lane: Hashable
    ) -> _Timer | asyncio.TimerHandle:
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = collections.deque()
        elif queue and queue[-1].when > when:
            return self._loop.call_at(when, callback)
        timer = _Timer(when, callback)
        queue.append(timer)
        if when < self._armed:
            self._arm(when)
        return timer

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed = float("inf")
        now = self._loop.time() + 1e-6  # the loop runs timers up to its clock resolution early
        for queue in list(self._lanes.values()):
            while queue and queue[0].when <= now:
                timer = queue.popleft()
                if not timer.cancelled:
                    timer.callback()
        nxt = float("inf")
        for queue in self._lanes.values():
            while queue and queue[0].cancelled:
                queue.popleft()
            if queue and queue[0].when < nxt:
                nxt = queue[0].when
        if nxt < self._armed:
            self._arm(nxt)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed = float("inf")
        self._lanes.clear()


class Exchange:
    """The state of one question to one server: timers, retransmit, hold-on, responses.

    Shared by `query_udp` and `UdpDnsMux`: the owner supplies `alloc_id` (a fresh query id,
    registered wherever it must be) and `send` (bytes out), feeds datagrams in with `feed`, and
    awaits `done`. Times come from the event loop's monotonic clock.
    """

    def __init__(
        self,
        wire: bytes,
        qname: str,
        qtype: str,
        *,
        timeout: float,
        hold_on: float,
        alloc_id: Callable[[], int],
        send: Callable[[bytes], None],
        retransmit: bool = True,
        timers: _Timers | None = None,
        attempts: int = 1,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.wire, self.qname, self.qtype = wire, qname, qtype
        self.timeout, self.hold_on = timeout, hold_on
        self._alloc_id, self._send = alloc_id, send
        self.ids: list[int] = []
        self.responses: list[DnsResponse] = []
        self.accepted: int | None = None
        self.error: str | None = None
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.t0 = 0.0
        self.t_end = 0.0
        self._t_attempt = 0.0  # start of the current attempt (its timers count from here)
        self.attempt = 1
        self._max_attempts = max(1, attempts)
        self._locked: int | None = None
        self._malformed = 0
        # One timer at a time (half-timeout retransmit, then expiry; or the hold-on end):
        # a big scan has thousands of exchanges open and each timer costs heap work.
        self._timer: asyncio.TimerHandle | _Timer | None = None
        self._timers = timers
        # Resend once at half the timeout when nothing usable came. Not to the injection probe:
        # nothing answers there, so a resend would only double its (large) share of the sends.
        self._retransmit = retransmit
        # Called once when the first well-formed response arrives (the mux frees a slot;
        # `on_answer` of query_udp / UdpDnsMux.query hands out the accepted answer early).
        self.on_answer: Callable[[], None] | None = None
        # Called once when the exchange ends (the mux's fast path cleans up there).
        self.on_finish: Callable[[], None] | None = None
        # Called when the first attempt expired silent and a retry is scheduled: whoever waits
        # for the accepted answer to pick addresses need not wait for the retry (query_udp).
        self.on_retry: Callable[[], None] | None = None

    def _call_at(self, when: float, callback: Callable[[], None], lane: str) -> None:
        if self._timers is not None:
            # Same lane = same delay from the same kind of moment: deadlines come in order.
            self._timer = self._timers.call_at(when, callback, (lane, self.timeout, self.hold_on))
        else:
            self._timer = self.loop.call_at(when, callback)

    def start(self) -> None:
        self.t0 = self.loop.time()
        self._begin_attempt(self.t0, "")

    def _begin_attempt(self, now: float, lane: str) -> None:
        self._t_attempt = now
        self._transmit()
        if self._retransmit:
            self._call_at(now + self.timeout / 2, self._half_time, lane + "half")
        else:
            self._call_at(now + self.timeout, self._expire, lane + "expire-at-once")

    def _transmit(self) -> None:
        # The retransmit uses a fresh id and we keep only responses bearing the id of the first
        # accepted one: answers to both sends from a resolver that rotates its records must not
        # look like two differing responses (that is the signature of injection).
        qid = self._alloc_id()
        self.ids.append(qid)
        self._send(with_id(self.wire, qid))

    def _half_time(self) -> None:
        # Nothing usable yet: the query or its answer may have been lost; send once more.
        lane = "expire" if self.attempt == 1 else f"retry-expire-{self.attempt}"
        self._call_at(self._t_attempt + self.timeout, self._expire, lane)
        self._transmit()

    def feed(self, data: bytes) -> None:
        """Consider one datagram from the server's address."""
        if self.done.done():
            return
        now = self.loop.time()
        for qid in self.ids:
            if self._locked is not None and qid != self._locked:
                continue
            parsed = parse_response(data, self.qname, self.qtype, qid)
            if parsed is not None:
                break
        else:
            return  # not for us: wrong id or question
        if not parsed.ok:
            self._malformed += 1
            if self._malformed > MAX_MALFORMED:
                return
        self.responses.append(parsed.to_model(data, round((now - self.t0) * 1000, 3)))
        if parsed.ok and self.accepted is None:
            self.accepted = len(self.responses) - 1
            self._locked = parsed.qid
            if self.on_answer is not None:
                self.on_answer()
            # Hold on for more answers, but never past the query's own timeout.
            close_at = min(now + self.hold_on, self._t_attempt + self.timeout)
            if close_at <= now:
                self.finish()
                return
            if self._timer is not None:
                self._timer.cancel()
            self._call_at(close_at, self.finish, "hold")
        if len(self.responses) >= MAX_RESPONSES and self.accepted is not None:
            self.finish()

    def fail(self, exc: BaseException) -> None:
        """A socket error (ICMP unreachable/refused): final unless an answer already came."""
        if self.accepted is None:
            self.finish(udp_error_name(exc))

    def _expire(self) -> None:
        if self.accepted is None:
            if not self.responses and self.attempt < self._max_attempts:
                # Silence, not garbage: ask again after a pause (the ids of earlier attempts
                # stay valid, so a late answer to them still counts).
                pause = RETRY_BACKOFF * 2 ** (self.attempt - 1)
                self.attempt += 1
                lane = f"retry-{self.attempt}"
                self._call_at(self.loop.time() + pause, self._retry, lane)
                if self.on_retry is not None:
                    self.on_retry()
                return
            self.finish("dns_malformed" if self.responses else "timeout")
        else:
            self.finish()

    def _retry(self) -> None:
        if not self.done.done() and self.accepted is None:
            self._begin_attempt(self.loop.time(), f"retry-{self.attempt}-")

    def finish(self, error: str | None = None) -> None:
        # The timer goes first: when the awaiting task is cancelled, `done` is cancelled with
        # it, and a timer left armed would later send on the closed socket.
        if self._timer is not None:
            self._timer.cancel()
        if self.done.done():
            return
        self.error = error
        self.t_end = self.loop.time()
        self.done.set_result(None)
        if self.on_finish is not None:
            self.on_finish()

    def result(self, resolver: str, role: DnsRole) -> DnsQuery:
        if self.accepted is not None:
            elapsed = self.responses[self.accepted].arrived_ms
        else:  # (still running when asked early: the time so far)
            end = self.t_end if self.done.done() else self.loop.time()
            elapsed = round((end - self.t0) * 1000, 3)
        return DnsQuery(
            resolver=resolver,
            role=role,
            transport="udp",
            qname=self.qname,
            qtype=self.qtype,  # type: ignore[arg-type]  # checked by the callers
            elapsed_ms=elapsed,
            responses=tuple(self.responses),
            error=self.error,
            accepted=self.accepted,
            attempts=self.attempt,
        )


class _Connected(asyncio.DatagramProtocol):
    """Feeds one Exchange from a connected socket (only the server's datagrams arrive)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.exchange.feed(data)

    def error_received(self, exc: Exception) -> None:
        self.exchange.fail(exc)


def _failed(resolver: str, role: DnsRole, qname: str, qtype: str, exc: OSError) -> DnsQuery:
    """The query could not even be sent (bad address, no route, no socket)."""
    error = udp_error_name(exc)
    return DnsQuery(resolver, role, "udp", qname, qtype, 0.0, error=error)  # type: ignore[arg-type]


def _check_qtype(qtype: str) -> None:
    if qtype not in ("A", "AAAA"):
        raise ValueError(f"unsupported query type {qtype!r}")


async def query_udp(
    server: tuple[str, int],
    qname: str,
    qtype: str,
    role: DnsRole,
    *,
    timeout: float,
    hold_on: float,
    query_wire: bytes | None = None,
    on_answer: Callable[[DnsQuery], None] | None = None,
    attempts: int = DNS_ATTEMPTS,
) -> DnsQuery:
    """Ask `server` (numeric IP, port) for (qname, qtype) over UDP and record every response.

    Never raises for network failures: `error` is "timeout", "refused" (ICMP port unreachable,
    seen at once thanks to the connected socket), "unreachable", "dns_malformed" (only garbage
    came) or "error". `query_wire` is a prebuilt `build_query(qname, qtype)` (its id is
    replaced), so big runs build each query once. `on_answer`, if given, is called once with
    the query as it stands when the first well-formed response is accepted (the hold-on
    window still running), or when the first attempt expired silent (nothing to act on; the
    retry goes on): callers can act early, while the returned DnsQuery (after the window)
    holds every response. A timeout is retried (up to `attempts` exchanges in all, with a
    pause between them) before it counts.
    """
    _check_qtype(qtype)
    wire = query_wire if query_wire is not None else build_query(qname, qtype)
    loop = asyncio.get_running_loop()
    resolver = resolver_label(server)
    sock: socket.socket | None = None
    transport: asyncio.DatagramTransport | None = None
    exchange = Exchange(
        wire,
        qname,
        qtype,
        timeout=timeout,
        hold_on=hold_on,
        alloc_id=random_id,
        send=lambda data: transport.sendto(data) if transport is not None else None,
        retransmit=role != "injection",
        # The injection probe runs no DNS service: its silence is the normal case.
        attempts=attempts if role != "injection" else 1,
    )
    try:
        family, addr = sockaddr(server)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(addr)  # UDP connect only sets the peer: no packet, no wait
        transport, _ = await loop.create_datagram_endpoint(lambda: _Connected(exchange), sock=sock)
        sock = None  # the transport owns it now
    except OSError as exc:
        if sock is not None:
            sock.close()
        return _failed(resolver, role, qname, qtype, exc)
    if on_answer is not None:
        told = False

        def tell() -> None:
            # Once: at the accepted answer, or when the first attempt expired (the retry goes
            # on; its answer is in the returned DnsQuery, but no caller waits for it).
            nonlocal told
            if not told:
                told = True
                on_answer(exchange.result(resolver, role))

        exchange.on_answer = tell
        exchange.on_retry = tell
    try:
        exchange.start()
        await exchange.done
    finally:
        exchange.finish()  # cancels the timers when we are cancelled
        transport.close()
    return exchange.result(resolver, role)


def system_nameservers(path: str = "/etc/resolv.conf") -> tuple[tuple[str, int], ...]:
    """The nameservers of resolv.conf as (address, 53), in order, first three, deduplicated.

    Tolerates junk: comments (`#`, `;`), unknown keywords and invalid addresses are skipped.
    IPv6 link-local addresses keep their `%scope` (getaddrinfo understands it).
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return ()
    found: list[tuple[str, int]] = []
    for line in lines:
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2 or words[0] != "nameserver":
            continue
        address = words[1]
        try:
            ipaddress.ip_address(address)  # accepts IPv6 "%scope", rejects junk
        except ValueError:
            continue
        if (address, 53) not in found:
            found.append((address, 53))
        if len(found) == _MAXNS:
            break
    return tuple(found)

