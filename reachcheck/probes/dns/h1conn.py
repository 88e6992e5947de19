"""One keep-alive HTTP/1.1 connection for the DoH client (h11 over an asyncio.Protocol).

Also holds what both connection kinds (this one and `h2conn`) share: `Response`, the
`DohFailure` they raise and the response caps.

Rules:
1. One request at a time: the DoH client keeps a small pool of these and makes requests wait on
   a semaphore (HTTP/1.1 has no multiplexing; pipelining is too fragile to rely on).
2. The server is hostile until proven otherwise: the head is capped (h11's
   max_incomplete_event_size) and so is the body (`MAX_BODY`, then the connection is dropped).
3. A connection that dies before the answer is complete raises `DohFailure(retry=True)`: the
   client retries such a request once on a fresh connection (keep-alive races are normal).
4. Nothing here times out: the caller wraps every await in `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple, cast

import h11

from reachcheck.probes.errors import classify

MAX_BODY = 65536  # larger than any DNS message: the rest is not read
MAX_HEAD = 16384  # bytes of response head (status line + headers)
CONTENT_TYPE = "application/dns-message"


class Response(NamedTuple):
    """What the DoH client needs of an HTTP response."""

    status: int
    content_type: str
    body: bytes


class DohFailure(Exception):
    """A request failed; `name` is the error name (errors.py vocabulary).

    `retry` is True when the connection went away before the answer arrived (EOF, GOAWAY,
    REFUSED_STREAM, reset): the request may be sent again on a new connection.
    """

    def __init__(self, name: str, *, retry: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.retry = retry


class H1Connection(asyncio.Protocol):
    """A client HTTP/1.1 connection carrying DoH POSTs, one at a time."""

    def __init__(self, authority: str, path: str) -> None:
        self._authority = authority.encode("ascii")
        self._path = path.encode("ascii")
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._status = 0
        self._ctype = ""
        self._body = bytearray()
        self.closed = False

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(DohFailure("eof" if exc is None else classify(exc), retry=True))

    def eof_received(self) -> bool | None:
        try:
            self._h11.receive_data(b"")
            self._drain()  # a body delimited by the close ends here
        except h11.RemoteProtocolError:
            pass
        self._fail(DohFailure("eof", retry=True))
        return None  # let the transport close itself

    def data_received(self, data: bytes) -> None:
        try:
            self._h11.receive_data(data)
            self._drain()
        except h11.RemoteProtocolError as exc:
            self._fail(DohFailure(classify(exc)))
            self.close()

    # ------------------------------------------------------------------ API

    @property
    def idle(self) -> bool:
        """Ready for another request (keep-alive honoured, nothing in flight)."""
        return not self.closed and self._waiter is None and self._h11.our_state is h11.IDLE

    async def request(self, body: bytes) -> Response:
        """POST `body`; raises DohFailure. The caller bounds the wait with a timeout."""
        if not self.idle or self._transport is None:
            raise DohFailure("eof", retry=True)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        self._status, self._ctype, self._body = 0, "", bytearray()
        headers = [
            (b"host", self._authority),
            (b"content-type", CONTENT_TYPE.encode()),
            (b"accept", CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        try:
            out = self._h11.send(h11.Request(method=b"POST", target=self._path, headers=headers))
            out = (out or b"") + (self._h11.send(h11.Data(data=body)) or b"")
            out += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            self._waiter = None
            raise DohFailure(classify(exc)) from exc
        self._transport.write(out)
        try:
            return await waiter
        except BaseException:
            if not waiter.done():  # cancelled (timeout): the response would desynchronise us
                self.close()
            raise
        finally:
            self._waiter = None

    def close(self) -> None:
        """Drop the connection (abort: no close_notify dance with a possibly hostile peer)."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    # ------------------------------------------------------------------ internals

    def _drain(self) -> None:
        """Consume h11 events; resolve the waiter at the end of the response."""
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                self._status = event.status_code
                for name, value in event.headers:
                    if name == b"content-type":
                        self._ctype = value.decode("latin-1")
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > MAX_BODY:
                    # Garbage: keep the cap's worth as evidence and stop reading.
                    self._resolve(bytes(self._body[: MAX_BODY + 1]))
                    self.close()
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._resolve(bytes(self._body))
                if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                    self._h11.start_next_cycle()
                else:  # Connection: close, HTTP/1.0, ...
                    self.close()
                return
            elif isinstance(event, h11.ConnectionClosed):
                self._fail(DohFailure("eof", retry=True))
                return

    def _resolve(self, body: bytes) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._ctype, body))

    def _fail(self, exc: DohFailure) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
