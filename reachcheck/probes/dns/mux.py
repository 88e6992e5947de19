"""Many concurrent UDP DNS queries over a few shared sockets, for large DNS-only scans.

Same contract as `udp.query_udp` (hold-on, every response recorded, `accepted`), built on
the same `Exchange` state machine, but queries share unconnected sockets and are matched by
(socket, source address, query id): thousands of queries in flight cost a handful of file
descriptors. An unconnected socket gets no ICMP port-unreachable, so a closed port reads as
"timeout" here rather than "refused".
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from reachcheck.model import DnsQuery, DnsRole
from reachcheck.probes.dns.exchange import DNS_ATTEMPTS, Exchange, random_id
from reachcheck.probes.dns.timers import Timers
from reachcheck.probes.dns.udp import check_qtype, failed_query, resolver_label, sockaddr
from reachcheck.probes.dns.wire import build_query

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
    timers, retransmit and hold-on window (on one shared loop timer, `Timers`). Differences
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
        self._timers: Timers | None = None
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
            self._timers = Timers(asyncio.get_running_loop())
        exchange = Exchange(
            wire, qname, qtype, timeout=timeout, hold_on=hold_on, alloc_id=alloc_id, send=send,
            retransmit=role != "injection", timers=self._timers,
            attempts=DNS_ATTEMPTS if role != "injection" else 1,
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
        check_qtype(qtype)
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
        check_qtype(qtype)
        if self._closed:
            raise RuntimeError("UdpDnsMux is closed")
        wire = query_wire if query_wire is not None else build_query(qname, qtype)
        resolver = resolver_label(server)
        try:
            family, addr = sockaddr(server)
            endpoints = await self._sockets(family)
        except OSError as exc:
            return failed_query(resolver, role, qname, qtype, exc)
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
