"""DNS over UDP with hold-on: keep listening after the first answer and record every response.

An on-path injector cannot suppress the real answer, so a censored query usually draws a forged
response first and the real one a little later. A stub resolver takes the first; we record all
of them for a short window (`hold_on`) after the first well-formed one. `accepted` points at the
response a stub resolver would have used.

`query_udp` is the simple default path: one *connected* socket per query, so an ICMP
port-unreachable arrives at once as ConnectionRefusedError (error "refused"). `UdpDnsMux`
shares a few sockets among thousands of queries for large DNS-only scans.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import os
import socket
from collections.abc import Callable, Hashable, Iterable
from functools import lru_cache, partial
from typing import Any

from reachcheck.model import DnsQuery, DnsResponse, DnsRole
from reachcheck.probes.dns_wire import build_query, parse_response, with_id
from reachcheck.probes.errors import classify

MAX_RESPONSES = 16  # responses kept per query: enough for 1-3 injectors plus the real one
# Malformed datagrams kept as evidence per query. Past this they are dropped, but the query keeps
# waiting: a flood of garbage bearing our id must not hide the real answer behind it.
MAX_MALFORMED = 4
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

    def _call_at(self, when: float, callback: Callable[[], None], lane: str) -> None:
        if self._timers is not None:
            # Same lane = same delay from the same kind of moment: deadlines come in order.
            self._timer = self._timers.call_at(when, callback, (lane, self.timeout, self.hold_on))
        else:
            self._timer = self.loop.call_at(when, callback)

    def start(self) -> None:
        self.t0 = self.loop.time()
        self._transmit()
        if self._retransmit:
            self._call_at(self.t0 + self.timeout / 2, self._half_time, "half")
        else:
            self._call_at(self.t0 + self.timeout, self._expire, "expire-at-once")

    def _transmit(self) -> None:
        # The retransmit uses a fresh id and we keep only responses bearing the id of the first
        # accepted one: answers to both sends from a resolver that rotates its records must not
        # look like two differing responses (that is the signature of injection).
        qid = self._alloc_id()
        self.ids.append(qid)
        self._send(with_id(self.wire, qid))

    def _half_time(self) -> None:
        # Nothing usable yet: the query or its answer may have been lost; send once more.
        self._call_at(self.t0 + self.timeout, self._expire, "expire")
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
            close_at = min(now + self.hold_on, self.t0 + self.timeout)
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
            self.finish("dns_malformed" if self.responses else "timeout")
        else:
            self.finish()

    def finish(self, error: str | None = None) -> None:
        if self.done.done():
            return
        self.error = error
        self.t_end = self.loop.time()
        if self._timer is not None:
            self._timer.cancel()
        self.done.set_result(None)
        if self.on_finish is not None:
            self.on_finish()

    def result(self, resolver: str, role: DnsRole) -> DnsQuery:
        if self.accepted is not None:
            elapsed = self.responses[self.accepted].arrived_ms
        else:
            elapsed = round((self.t_end - self.t0) * 1000, 3)
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
) -> DnsQuery:
    """Ask `server` (numeric IP, port) for (qname, qtype) over UDP and record every response.

    Never raises for network failures: `error` is "timeout", "refused" (ICMP port unreachable,
    seen at once thanks to the connected socket), "unreachable", "dns_malformed" (only garbage
    came) or "error". `query_wire` is a prebuilt `build_query(qname, qtype)` (its id is
    replaced), so big runs build each query once. `on_answer`, if given, is called once with
    the query as it stands when the first well-formed response is accepted (the hold-on
    window still running): callers can act on the accepted answer early, while the returned
    DnsQuery (after the window) holds every response.
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
        exchange.on_answer = lambda: on_answer(exchange.result(resolver, role))
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


# ------------------------------------------------------------------------- multiplexed engine

_Key = tuple[int, tuple[str, int], int]  # (socket index, server (host, port), query id)


def _addr_key(addr: tuple[Any, ...]) -> tuple[str, int]:
    return (addr[0].split("%", 1)[0], addr[1])


class _Shared(asyncio.DatagramProtocol):
    """One shared, unconnected socket of the mux: routes each datagram by (source, id)."""

    def __init__(self, mux: UdpDnsMux, index: int) -> None:
        self.mux, self.index = mux, index

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) < 2:
            return
        pending = self.mux._pending.get(
            (self.index, _addr_key(addr), int.from_bytes(data[:2], "big"))
        )
        if pending is not None:
            pending.feed(data)  # the Exchange checks the question itself

    def error_received(self, exc: Exception) -> None:
        # Unconnected sockets get no per-destination ICMP errors on Linux; anything arriving
        # here cannot be attributed to a query, so the queries concerned simply time out.
        pass


class UdpDnsMux:
    """Many concurrent UDP queries over a few shared sockets, with hold-on per query.

    For DNS-only scans of thousands of names: a hold-on window W at R queries/s keeps R x W
    queries open, too many for one socket each. Responses are matched by (socket, source
    address, id) and then by question, exactly as `query_udp` does; each query keeps its own
    timers, retransmit and hold-on window (on one shared loop timer, `_Timers`). Differences
    from `query_udp`: an unconnected socket never learns of ICMP port-unreachable, so a closed
    port reads as "timeout", not "refused".

    `max_outstanding` caps queries *awaiting their first answer* (what loads the resolver and
    what loses packets when too many are out); queries in their hold-on window only listen and
    do not count. `rate` paces sends per resolver (queries/s); None = no pacing.
    Use as `async with UdpDnsMux() as mux: await mux.query(...)`; big scans use `submit()`
    (no coroutine, no task per query) once `open()` has made the sockets.
    """

    def __init__(
        self, *, sockets: int = 4, max_outstanding: int = 256, rate: float | None = None
    ) -> None:
        self._nsock = max(1, sockets)
        # Slots for queries awaiting a first answer; `_waiting` holds grant callbacks (each
        # returns False when its query no longer wants the slot).
        self._free = max(1, max_outstanding)
        self._waiting: collections.deque[Callable[[], bool]] = collections.deque()
        self._interval = 1.0 / rate if rate else 0.0
        self._next_send: dict[tuple[str, int], float] = {}
        self._pending: dict[_Key, Exchange] = {}
        self._endpoints: dict[int, list[tuple[socket.socket, asyncio.DatagramTransport]]] = {}
        self._opening: dict[int, asyncio.Future[None]] = {}
        self._timers: _Timers | None = None
        self._turn = 0
        self._closed = False

    async def __aenter__(self) -> UdpDnsMux:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the sockets; queries still running end with error "error"."""
        self._closed = True
        for exchange in list(self._pending.values()):
            exchange.finish("error")
        self._waiting.clear()
        for endpoints in self._endpoints.values():
            for _, transport in endpoints:
                transport.close()
        self._endpoints.clear()
        if self._timers is not None:
            self._timers.close()

    # ------------------------------------------------------------------ slots

    def _release(self) -> None:
        while self._waiting:
            if self._waiting.popleft()():
                return  # the slot passed to a waiting query
        self._free += 1

    async def _acquire(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def grant() -> bool:
            if fut.done():  # cancelled while waiting
                return False
            fut.set_result(None)
            return True

        self._waiting.append(grant)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._release()  # granted, then cancelled before it could use the slot
            raise

    # ------------------------------------------------------------------ sockets

    async def open(self, servers: Iterable[tuple[str, int]]) -> None:
        """Make the shared sockets for these servers' address families now (`submit` needs
        them open). A family that fails is left closed: its queries report the error."""
        families: set[int] = set()
        for server in servers:
            try:
                families.add(sockaddr(server)[0])
            except OSError:
                continue
        for family in sorted(families):
            try:
                await self._sockets(family)
            except OSError:
                continue

    async def _sockets(self, family: int) -> list[tuple[socket.socket, asyncio.DatagramTransport]]:
        endpoints = self._endpoints.get(family)
        if endpoints is not None:
            return endpoints
        opening = self._opening.get(family)
        if opening is not None:  # another query is opening them: wait for it
            await opening
            return self._endpoints[family]
        loop = asyncio.get_running_loop()
        self._opening[family] = opening = loop.create_future()
        made: list[tuple[socket.socket, asyncio.DatagramTransport]] = []
        try:
            for _ in range(self._nsock):
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sock.setblocking(False)
                try:
                    # Bursts of answers overflow the default buffer (~208 KB) on fast scans.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
                    index = len(made) + 10 * family  # unique across families
                    transport, _ = await loop.create_datagram_endpoint(
                        partial(_Shared, self, index), sock=sock
                    )
                except BaseException:
                    sock.close()
                    raise
                made.append((sock, transport))
            self._endpoints[family] = made
            opening.set_result(None)
        except BaseException as exc:
            for _, transport in made:
                transport.close()
            opening.set_exception(exc)
            opening.exception()  # mark retrieved: the waiting queries get it raised instead
            raise
        finally:
            del self._opening[family]
        return made

    async def _pace(self, server: tuple[str, int]) -> None:
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_send.get(server, now))
        self._next_send[server] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def _exchange(
        self,
        endpoints: list[tuple[socket.socket, asyncio.DatagramTransport]],
        family: int,
        addr: tuple[Any, ...],
        wire: bytes,
        qname: str,
        qtype: str,
        role: DnsRole,
        timeout: float,
        hold_on: float,
    ) -> tuple[Exchange, tuple[str, int], int]:
        """A new Exchange on the next shared socket, registered under its ids as it sends."""
        self._turn = (self._turn + 1) % len(endpoints)
        sock, transport = endpoints[self._turn]
        index = self._turn + 10 * family
        key = _addr_key(addr)
        pending = self._pending

        def alloc_id() -> int:
            while True:  # ids must be unique per (socket, server) among the open queries
                qid = random_id()
                if (index, key, qid) not in pending:
                    pending[(index, key, qid)] = exchange
                    return qid

        def send(data: bytes) -> None:
            try:
                sock.sendto(data, addr)
            except BlockingIOError:
                transport.sendto(data, addr)  # the transport buffers it until writable
            except OSError as exc:
                exchange.fail(exc)

        if self._timers is None:
            self._timers = _Timers(asyncio.get_running_loop())
        exchange = Exchange(
            wire, qname, qtype, timeout=timeout, hold_on=hold_on, alloc_id=alloc_id, send=send,
            retransmit=role != "injection", timers=self._timers,
        )
        return exchange, key, index

    def _forget(self, exchange: Exchange, key: tuple[str, int], index: int) -> None:
        for qid in exchange.ids:
            self._pending.pop((index, key, qid), None)

    # ------------------------------------------------------------------ queries

    def submit(
        self,
        server: tuple[str, int],
        qname: str,
        qtype: str,
        role: DnsRole,
        *,
        timeout: float,
        hold_on: float,
        query_wire: bytes | None = None,
    ) -> MuxQuery | None:
        """Start a query without a coroutine: the fast path of big scans.

        Returns None when it cannot (the mux paces sends, is closed, or the sockets of the
        server's family are not open yet: see `open()`); the caller then uses `query()`.
        Same semantics as `query()`: `MuxQuery.done` resolves when the query is over and
        `MuxQuery.result()` is then its DnsQuery; `on_answer` (set before the loop runs again)
        is called once with the accepted answer while its hold-on window runs.
        """
        if self._interval or self._closed:
            return None
        _check_qtype(qtype)
        family, addr = sockaddr(server)
        endpoints = self._endpoints.get(family)
        if endpoints is None:
            return None
        wire = query_wire if query_wire is not None else build_query(qname, qtype)
        exchange, key, index = self._exchange(
            endpoints, family, addr, wire, qname, qtype, role, timeout, hold_on
        )
        return MuxQuery(self, exchange, resolver_label(server), role, key, index)

    async def query(
        self,
        server: tuple[str, int],
        qname: str,
        qtype: str,
        role: DnsRole,
        *,
        timeout: float,
        hold_on: float,
        query_wire: bytes | None = None,
        on_answer: Callable[[DnsQuery], None] | None = None,
    ) -> DnsQuery:
        """Same contract as `query_udp` (but a closed port times out instead of "refused")."""
        _check_qtype(qtype)
        if self._closed:
            raise RuntimeError("UdpDnsMux is closed")
        wire = query_wire if query_wire is not None else build_query(qname, qtype)
        resolver = resolver_label(server)
        try:
            family, addr = sockaddr(server)
            endpoints = await self._sockets(family)
        except OSError as exc:
            return _failed(resolver, role, qname, qtype, exc)
        exchange, key, index = self._exchange(
            endpoints, family, addr, wire, qname, qtype, role, timeout, hold_on
        )
        await self._acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._release()

        def answered() -> None:
            release()
            if on_answer is not None:
                on_answer(exchange.result(resolver, role))

        exchange.on_answer = answered
        try:
            await self._pace(key)
            exchange.start()
            await exchange.done
        finally:
            exchange.finish()
            release()
            self._forget(exchange, key, index)
        return exchange.result(resolver, role)


class MuxQuery:
    """One query started by `UdpDnsMux.submit`: it starts as soon as a slot is free."""

    __slots__ = (
        "_mux", "exchange", "resolver", "role", "_key", "_index", "_slot", "on_answer",
        "on_done",
    )

    def __init__(
        self, mux: UdpDnsMux, exchange: Exchange, resolver: str, role: DnsRole,
        key: tuple[str, int], index: int,
    ) -> None:
        self._mux, self.exchange, self.resolver, self.role = mux, exchange, resolver, role
        self._key, self._index = key, index
        self._slot = False
        # Called once with the accepted answer (hold-on running) / once when the query ends.
        self.on_answer: Callable[[DnsQuery], None] | None = None
        self.on_done: Callable[[], None] | None = None
        exchange.on_answer = self._answered
        exchange.on_finish = self._finished
        if mux._free > 0 and not mux._waiting:
            mux._free -= 1
            self._begin()
        else:
            mux._waiting.append(self._grant)

    @property
    def done(self) -> asyncio.Future[None]:
        return self.exchange.done

    def _grant(self) -> bool:
        if self.exchange.done.done():  # cancelled while waiting for a slot
            return False
        self._begin()
        return True

    def _begin(self) -> None:
        self._slot = True
        self.exchange.start()

    def _release(self) -> None:
        if self._slot:
            self._slot = False
            self._mux._release()

    def _answered(self) -> None:
        self._release()
        if self.on_answer is not None:
            self.on_answer(self.result())

    def _finished(self) -> None:
        self._release()
        self._mux._forget(self.exchange, self._key, self._index)
        if self.on_done is not None:
            self.on_done()

    def cancel(self) -> None:
        """Stop the query (no result: the caller drops it)."""
        self.exchange.finish("error")

    def result(self) -> DnsQuery:
        return self.exchange.result(self.resolver, self.role)
