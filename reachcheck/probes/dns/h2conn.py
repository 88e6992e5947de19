"""One HTTP/2 connection carrying many concurrent DoH POSTs (the `h2` state machine, sans-IO).

Rules:
1. Streams beyond the server's MAX_CONCURRENT_STREAMS wait in a FIFO of futures: admitting one
   is O(1), never a scan of the queue (httpcore's pool rescans it per request, which was half
   the client CPU of a big run).
2. Writes are batched: every stream started in one event-loop iteration goes out in one
   `transport.write` (`call_soon` flush), so 500 queries cost one syscall, not 500.
3. Hostile peers: header lists are capped (MAX_HEADER_LIST_SIZE, enforced by hpack) and so are
   bodies (`MAX_BODY`, then the stream is reset); push is disabled.
4. GOAWAY stops new streams; streams the server did not take (id > last_stream_id) and streams
   refused (REFUSED_STREAM) fail with `DohFailure(retry=True)` so the client resends them on a
   new connection. Nothing here times out: the caller wraps every await in `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hpack

from reachcheck.probes.dns.h1conn import CONTENT_TYPE, MAX_BODY, MAX_HEAD, DohFailure, Response
from reachcheck.probes.errors import classify

# A server whose SETTINGS name no stream limit allows "unlimited" (RFC 9113); we still stay at
# 100 (the minimum the RFC recommends servers allow) then, and never exceed MAX_STREAMS.
INITIAL_STREAMS = 100
MAX_STREAMS = 1000
CONNECTION_WINDOW = 2**24
_LAST_STREAM_ID = 2**31 - 1


class _State(h2.connection.H2Connection):
    """h2's state machine minus one O(n) scan.

    h2 counts open streams by walking all of them on every `send_headers` (and deletes closed
    ones lazily there): 1,000 streams in flight made that walk most of the client's CPU. We
    delete each stream as it closes (`forget`, same bookkeeping as h2's own cleanup), so the
    count is the size of the dict.
    """

    @property
    def open_outbound_streams(self) -> int:
        return len(self.streams)

    def forget(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is not None and stream.closed:
            del self.streams[stream_id]
            self._closed_streams[stream_id] = stream.closed_by


class _MemoEncoder(hpack.Encoder):
    """An hpack encoder that reuses the block of a header list it already sent fully indexed.

    Every request carries the same headers; from the second one on hpack encodes them as
    indexed references (one byte each), which leave the table unchanged, so the bytes can be
    reused until the table size changes (a SETTINGS from the server).
    """

    def __init__(self) -> None:
        super().__init__()
        self._key: tuple[object, ...] = ()
        self._block = b""

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        key = tuple(headers)
        if self._block and key == self._key and not self.table_size_changes:
            return self._block
        block: bytes = super().encode(key, huffman)
        # Only indexed fields (1 byte each, high bit set) are safe to replay.
        fully_indexed = len(block) == len(key) and all(b & 0x80 for b in block)
        self._key, self._block = key, block if fully_indexed else b""
        return block

    @property
    def header_table_size(self) -> int:
        return int(self.header_table.maxsize)

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._block = b""  # indexes may shift: encode afresh
        hpack.Encoder.header_table_size.fset(self, value)  # type: ignore[attr-defined]


class _Stream:
    """The response being assembled on one stream."""

    __slots__ = ("waiter", "status", "ctype", "body")

    def __init__(self, waiter: asyncio.Future[Response]) -> None:
        self.waiter = waiter
        self.status = 0
        self.ctype = ""
        self.body = bytearray()


class H2Connection(asyncio.Protocol):
    """A client HTTP/2 connection; `request()` may be called by thousands of tasks at once."""

    def __init__(self, authority: str, path: str) -> None:
        # Our request headers are constant and valid: checking them per request is waste.
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            # We read only :status and content-type, tolerantly; hpack still caps the size.
            validate_inbound_headers=False,
        )
        self._h2 = _State(config=config)
        self._h2.encoder = _MemoEncoder()
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 0,  # no server push
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEAD,
                # Room for a whole capped body per stream, so streams never need WINDOW_UPDATEs
                # (only the connection does: acknowledged once per read, see data_received).
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2 * MAX_BODY,
            },
        )
        self._h2.decoder.max_header_list_size = MAX_HEAD  # before the server acks it, too
        # The request headers are the same for every query (hpack indexes them after the first).
        self._headers = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", authority.encode("ascii")),
            (b":path", path.encode("ascii")),
            (b"content-type", CONTENT_TYPE.encode()),
            (b"accept", CONTENT_TYPE.encode()),
        ]
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._blocked: deque[tuple[int, bytes]] = deque()  # bodies waiting for window
        self._limit = INITIAL_STREAMS
        self._active = 0  # streams admitted (open in h2's view)
        self._queue: deque[asyncio.Future[None]] = deque()  # tasks waiting for a stream slot
        self._flush_pending = False
        self._unacked = 0  # flow-controlled bytes received in the current read
        self._last_data_sid = 0
        # Streams open only after the server's first SETTINGS (its stream limit): a burst sent
        # before it can exceed the limit, and some servers answer that with a connection error.
        self._ready = asyncio.Event()
        self._failure: DohFailure | None = None  # set once the connection is unusable
        self._goaway = False

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._transport = transport
        self._h2.initiate_connection()
        # A big connection window: a thousand answers in flight must not wait for our
        # WINDOW_UPDATEs (each stream keeps the default 64 KiB, more than any answer).
        self._h2.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        transport.write(self._h2.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        self._die(DohFailure("eof" if exc is None else classify(exc), retry=True))

    def eof_received(self) -> bool | None:
        self._die(DohFailure("eof", retry=True))
        return None

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._die(DohFailure("http_protocol", retry=True))
            return
        self._unacked = 0
        for event in events:
            self._on_event(event)
        if self._unacked:  # one connection-level ack per read, not one per DATA frame
            self._h2.acknowledge_received_data(self._unacked, self._last_data_sid)
        self._flush()

    # ------------------------------------------------------------------ API

    @property
    def closed(self) -> bool:
        """The connection is dead (lost, failed or aborted)."""
        return self._failure is not None

    @property
    def usable(self) -> bool:
        """New requests may start here (not dead, no GOAWAY, stream ids left)."""
        used = self._h2.highest_outbound_stream_id or 0
        return self._failure is None and not self._goaway and used < _LAST_STREAM_ID - 2**16

    async def request(self, body: bytes) -> Response:
        """POST `body` on a new stream; raises DohFailure. The caller bounds it with a timeout."""
        if not self._ready.is_set():
            await self._ready.wait()
        await self._admit()
        try:
            if self._failure is not None or self._goaway:
                raise self._failure or DohFailure("eof", retry=True)
            loop = asyncio.get_running_loop()
            stream_id = self._h2.get_next_available_stream_id()
            # No content-length: END_STREAM delimits the body, and constant headers let
            # _MemoEncoder replay one 6-byte block.
            self._h2.send_headers(stream_id, self._headers)
            stream = self._streams[stream_id] = _Stream(loop.create_future())
            if self._blocked or self._h2.local_flow_control_window(stream_id) < len(body):
                self._blocked.append((stream_id, body))  # wait for WINDOW_UPDATE, in order
            else:
                self._h2.send_data(stream_id, body, end_stream=True)
            self._schedule_flush()
            try:
                return await stream.waiter
            except asyncio.CancelledError:
                self._cancel(stream_id)
                raise
        except h2.exceptions.ProtocolError as exc:  # e.g. stream ids exhausted
            raise DohFailure("http_protocol", retry=True) from exc
        finally:
            self._release()

    def close(self) -> None:
        """Abort the connection; pending requests fail with a retryable DohFailure."""
        if self._transport is not None:
            self._transport.abort()
        self._die(DohFailure("eof", retry=True))

    # ------------------------------------------------------------------ stream slots

    async def _admit(self) -> None:
        if self._active < self._limit and not self._queue:
            self._active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            await waiter  # _wake() counted us in before setting the result
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release()  # admitted, then cancelled before we could use the slot
            raise

    def _release(self) -> None:
        self._active -= 1
        self._wake()

    def _wake(self) -> None:
        while self._queue and self._active < self._limit:
            waiter = self._queue.popleft()
            if not waiter.done():
                self._active += 1
                waiter.set_result(None)

    # ------------------------------------------------------------------ events

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None:
                for name, value in event.headers or ():
                    if name == b":status":
                        stream.status = int(value) if value.isdigit() else 0
                    elif name == b"content-type":
                        stream.ctype = bytes(value).decode("latin-1")
        elif isinstance(event, h2.events.DataReceived):
            sid = event.stream_id or 0
            self._unacked += event.flow_controlled_length or 0
            self._last_data_sid = sid
            stream = self._streams.get(sid)
            if stream is not None:
                stream.body += event.data or b""
                if len(stream.body) > MAX_BODY:  # garbage: keep the cap's worth, stop reading
                    self._reset(sid)
                    self._finish(sid, bytes(stream.body[: MAX_BODY + 1]))
        elif isinstance(event, h2.events.StreamEnded):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None:
                self._finish(event.stream_id or 0, bytes(stream.body))
        elif isinstance(event, h2.events.StreamReset):
            refused = event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM
            # REFUSED_STREAM means "not processed, try again"; any other reset is the server
            # failing this request (not a TCP reset: nothing on the path can forge it).
            failure = DohFailure("eof", retry=True) if refused else DohFailure("http_protocol")
            self._fail(event.stream_id or 0, failure)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self._ready.set()
            changed = event.changed_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS)
            if changed is not None and changed.new_value is not None:
                self._limit = max(1, min(changed.new_value, MAX_STREAMS))
                self._wake()
        elif isinstance(event, h2.events.WindowUpdated):
            self._send_blocked()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._goaway = True
            last = event.last_stream_id or 0
            for sid in [s for s in self._streams if s > last]:
                self._fail(sid, DohFailure("eof", retry=True))  # never processed: resend
            self._drain_queue()
            self._maybe_close()

    def _send_blocked(self) -> None:
        while self._blocked:
            sid, body = self._blocked[0]
            if sid not in self._streams:
                self._blocked.popleft()  # cancelled or failed meanwhile
                continue
            if self._h2.local_flow_control_window(sid) < len(body):
                return
            self._blocked.popleft()
            self._h2.send_data(sid, body, end_stream=True)

    def _finish(self, sid: int, body: bytes) -> None:
        stream = self._streams.pop(sid)
        self._h2.forget(sid)
        if not stream.waiter.done():
            stream.waiter.set_result(Response(stream.status, stream.ctype, body))
        self._maybe_close()

    def _fail(self, sid: int, exc: DohFailure) -> None:
        stream = self._streams.pop(sid, None)
        self._h2.forget(sid)
        if stream is not None and not stream.waiter.done():
            stream.waiter.set_exception(exc)
        self._maybe_close()

    def _cancel(self, sid: int) -> None:
        """Our side gave up on a stream (timeout): tell the server, forget the stream."""
        if self._streams.pop(sid, None) is not None and self._failure is None:
            self._reset(sid)
            self._h2.forget(sid)
            self._schedule_flush()
        self._maybe_close()

    def _reset(self, sid: int) -> None:
        try:
            self._h2.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.ProtocolError:
            pass  # already closed in h2's view

    def _maybe_close(self) -> None:
        if self._goaway and not self._streams and self._transport is not None:
            self._schedule_flush()
            asyncio.get_running_loop().call_soon(self._transport.close)

    def _drain_queue(self) -> None:
        """Admit every task waiting for a slot: each finds the connection unusable and raises
        a retryable DohFailure (see `request`), so the client resends it elsewhere."""
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.done():
                self._active += 1
                waiter.set_result(None)

    def _die(self, exc: DohFailure) -> None:
        if self._failure is not None:
            return
        self._failure = exc
        self._ready.set()  # waiters wake up and find the failure
        for sid in list(self._streams):
            self._fail(sid, exc)
        self._drain_queue()

    # ------------------------------------------------------------------ writes

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
