"""One question to one server over UDP, with hold-on: keep listening after the first answer.

An on-path injector cannot suppress the real answer, so a censored query usually draws a forged
response first and the real one a little later. A stub resolver takes the first; we record all
of them for a short window (`hold_on`) after the first well-formed one. `accepted` points at the
response a stub resolver would have used.

`Exchange` is the state machine (ids, retransmit, retry, hold-on, responses) shared by
`udp.query_udp` (one connected socket) and `mux.UdpDnsMux` (shared sockets); it owns no socket.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from reachcheck.model import DnsQuery, DnsResponse, DnsRole
from reachcheck.probes.dns.timers import Timer, Timers
from reachcheck.probes.dns.wire import parse_response, with_id
from reachcheck.probes.errors import classify
from reachcheck.probes.timing import ms

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


def udp_error_name(exc: BaseException) -> str:
    """Error name of a UDP socket failure (the one mapping lives in `errors.classify`)."""
    return classify(exc)


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
        timers: Timers | None = None,
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
        self._timer: asyncio.TimerHandle | Timer | None = None
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
        self.responses.append(parsed.to_model(data, ms(now - self.t0)))
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
            elapsed = ms(end - self.t0)
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

