"""A loopback DoH server speaking HTTP/2 (asyncio + h2), or HTTP/1.1 (h11) for comparison.

    with DohH2Server({"site.test": ["198.18.0.10", "2001:db8::10"]}, max_streams=50) as srv:
        DohClient(srv.url("dns.test"), ("127.0.0.1",), ctx, timeout=2)

TLS with a trustme certificate from tests/fakes/pki.py (the test CA; `rogue=True` signs it with
the rogue CA) and ALPN `alpn` (("h2",) by default; ("http/1.1",) serves HTTP/1.1 keep-alive).
Answers come from `records` (name -> addresses; `default` answers every other name, else
NXDOMAIN), built by hand with tests/fakes/dns_server.py's encoder, so a benchmark measures the
client, not dnspython. Paths other than `path` misbehave: /status (500), /html (text/html),
/reset (RST_STREAM), /stall (never answers), /garbage (not DNS).
`goaway_after=N` sends GOAWAY after N answers on a connection (the streams it did not take
are left for the client to resend) and closes it. `delay` holds every answer that long.
Records `connections`, `sni_seen`, `requests` (path, authority) and `max_open` (streams open
at once on one connection). Runs its own event loop in a daemon thread; `python -m
tests.fakes.doh_h2_server [--http1]` serves until stdin closes, printing "PORT CA_PATH".
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import h11

from tests.fakes.dns_server import _A, _AAAA, NXDOMAIN, _norm, _parse_query, _response
from tests.fakes.pki import Pki, default_pki

CONTENT_TYPE = b"application/dns-message"
FAULTS = ("/status", "/html", "/reset", "/stall", "/garbage")


@dataclass
class DohH2Server:
    records: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default: Sequence[str] | None = None
    path: str = "/dns-query"
    max_streams: int = 100
    goaway_after: int | None = None
    delay: float = 0.0
    alpn: tuple[str, ...] = ("h2",)
    rogue: bool = False
    pki: Pki | None = None
    names: tuple[str, ...] = ("dns.test",)
    connections: int = 0
    sni_seen: list[str | None] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    max_open: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[asyncio.Transport] = set()
        self.port = 0

    def url(self, host: str = "dns.test", path: str | None = None) -> str:
        return f"https://{host}:{self.port}{self.path if path is None else path}"

    def start(self) -> DohH2Server:
        pki = self.pki or default_pki()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # our own: pki's cached ones have no ALPN
        (pki.rogue_ca if self.rogue else pki.ca).issue_cert(*self.names).configure_cert(ctx)
        ctx.set_alpn_protocols(list(self.alpn))
        ctx.sni_callback = lambda _obj, name, _ctx: self.sni_seen.append(name)  # type: ignore
        self._thread.start()
        coro = self._loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, ssl=ctx)
        self._server = asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for transport in list(self._transports):
                transport.abort()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> DohH2Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, wire: bytes) -> bytes:
        """The DNS response to a query (hand-built; NXDOMAIN for unknown names)."""
        parsed = _parse_query(wire)
        if parsed is None:
            return b"\x00\x00\x80\x01" + b"\x00" * 8  # FORMERR, no question
        qid, rd, question, labels, qtype, has_opt = parsed
        name = _norm(b".".join(labels).decode("ascii", "replace"))
        found = self.records.get(name, self.default)
        version = 4 if qtype == _A else 6 if qtype == _AAAA else 0
        addresses = tuple(a for a in (found or ()) if ip_address(a).version == version)
        rcode = NXDOMAIN if found is None else 0
        return _response(qid, rd, question, rcode, qtype, addresses, 300, None, None, has_opt)

    def reply(self, path: str, body: bytes) -> tuple[int, bytes, bytes] | str:
        """(status, content type, body) for a request, or "reset" / "stall"."""
        if path == "/reset" or path == "/stall":
            return path[1:]
        if path == "/status":
            return 500, b"text/plain", b"Oops"
        if path == "/html":
            return 200, b"text/html", b"<html><title>Captive portal</title></html>"
        if path == "/garbage":
            return 200, CONTENT_TYPE, b"\x00\x01garbage"
        if path != self.path:
            return 404, b"text/plain", b"not found"
        return 200, CONTENT_TYPE, self.answer(body)


class _Conn(asyncio.Protocol):
    """One server connection: dispatches to HTTP/2 or HTTP/1.1 by the negotiated ALPN."""

    def __init__(self, server: DohH2Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.h2: h2.connection.H2Connection | None = None
        self.h11 = h11.Connection(h11.SERVER)
        self.streams: dict[int, tuple[str, bytearray]] = {}
        self.answered = 0
        self.closing = False
        self.h1_req: tuple[str, bytearray] | None = None
        self.blocked: deque[tuple[int, bytes]] = deque()  # answers waiting for flow window

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server.connections += 1
        self.server._transports.add(transport)
        alpn = transport.get_extra_info("ssl_object").selected_alpn_protocol()
        if alpn == "h2":
            self.h2 = h2.connection.H2Connection(
                h2.config.H2Configuration(client_side=False, header_encoding=None)
            )
            limit = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.server.max_streams}
            self.h2.local_settings = h2.settings.Settings(client=False, initial_values=limit)
            self.h2.initiate_connection()
            transport.write(self.h2.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._transports.discard(self.transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self.h2 is None:
            self._h1_data(data)
            return
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                hdrs = dict(event.headers or ())
                path = hdrs.get(b":path", b"").decode()
                self.server.requests.append((path, hdrs.get(b":authority", b"").decode()))
                self.streams[event.stream_id or 0] = (path, bytearray())
                self.server.max_open = max(self.server.max_open, len(self.streams))
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(
                    event.flow_controlled_length or 0, event.stream_id or 0
                )
                if (event.stream_id or 0) in self.streams:
                    self.streams[event.stream_id or 0][1].extend(event.data or b"")
            elif isinstance(event, h2.events.StreamEnded):
                self._h2_request(event.stream_id or 0)
            elif isinstance(event, h2.events.StreamReset):
                self.streams.pop(event.stream_id or 0, None)
            elif isinstance(event, h2.events.WindowUpdated):
                self._send_blocked()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.h2.data_to_send())

    def _h2_request(self, sid: int) -> None:
        assert self.h2 is not None
        if self.closing:
            return  # after our GOAWAY: the client must resend it elsewhere
        path, body = self.streams[sid]
        result = self.server.reply(path, bytes(body))
        if result == "stall":
            return
        if result == "reset":
            self.streams.pop(sid)
            self.h2.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            return
        assert not isinstance(result, str)
        if self.server.delay:
            asyncio.get_running_loop().call_later(self.server.delay, self._h2_send, sid, result)
        else:
            self._h2_send(sid, result)

    def _h2_send(self, sid: int, result: tuple[int, bytes, bytes]) -> None:
        assert self.h2 is not None and self.transport is not None
        if sid not in self.streams or self.transport.is_closing():
            return
        status, ctype, body = result
        headers = [(b":status", str(status).encode()), (b"content-type", ctype),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        self.h2.send_headers(sid, headers)
        self.blocked.append((sid, body))  # DATA goes out as the client's flow window allows
        self._send_blocked()
        self.answered += 1
        if self._goaway_due():
            self.closing = True
            self.h2.close_connection(last_stream_id=sid)
            self.transport.write(self.h2.data_to_send())
            self.transport.close()
            return
        self.transport.write(self.h2.data_to_send())

    def _send_blocked(self) -> None:
        assert self.h2 is not None
        while self.blocked:
            sid, body = self.blocked[0]
            if sid in self.streams and self.h2.local_flow_control_window(sid) < len(body):
                return
            self.blocked.popleft()
            if self.streams.pop(sid, None) is not None:
                self.h2.send_data(sid, body, end_stream=True)

    def _goaway_due(self) -> bool:
        limit = self.server.goaway_after
        return limit is not None and self.answered >= limit

    def _h1_data(self, data: bytes) -> None:
        assert self.transport is not None
        self.h11.receive_data(data)
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                hdrs = dict(event.headers)
                self.h1_req = (event.target.decode(), bytearray())
                self.server.requests.append((self.h1_req[0], hdrs.get(b"host", b"").decode()))
            elif isinstance(event, h11.Data) and self.h1_req is not None:
                self.h1_req[1].extend(event.data)
            elif isinstance(event, h11.EndOfMessage) and self.h1_req is not None:
                result = self.server.reply(self.h1_req[0], bytes(self.h1_req[1]))
                if isinstance(result, str):  # no RST_STREAM in HTTP/1.1: stall either way
                    return
                status, ctype, body = result
                headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
                out = self.h11.send(h11.Response(status_code=status, headers=headers)) or b""
                out += self.h11.send(h11.Data(data=body)) or b""
                out += self.h11.send(h11.EndOfMessage()) or b""
                self.transport.write(out)
                self.answered += 1
                if self._goaway_due():
                    self.transport.close()  # the HTTP/1.1 way: close after the answer
                    return
                self.h11.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes; print "PORT CA_PATH" first (every name answers)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http1", action="store_true", help="ALPN http/1.1 only")
    parser.add_argument("--max-streams", type=int, default=1000)
    args = parser.parse_args(argv)
    pki = Pki()
    server = DohH2Server(default=("192.0.2.1", "2001:db8::1"), pki=pki,
                         max_streams=args.max_streams,
                         alpn=("http/1.1",) if args.http1 else ("h2",)).start()  # fmt: skip
    print(server.port, pki.ca_bundle, flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    finally:
        server.stop()
        pki.close()


if __name__ == "__main__":
    main()
