"""A threaded loopback TCP/TLS server with censor-like fault modes.

Usage::

    with FakeServer(tls=True, tls_modes={"blocked.test": "reset"}, app=HttpApp()) as srv:
        srv.port, srv.sni_seen, srv.requests

The server reads the ClientHello itself (MSG_PEEK) to learn the SNI, then chooses a TLS mode
for it. Modes:

- ``ok``: a certificate from the trusted test CA for the SNI (or for ``names`` if given)
- ``wrong_name``: a trusted certificate for ``wrong-name.test`` only
- ``unknown_ca`` / ``expired`` / ``not_yet_valid``: as named
- ``reset``: RST right after the ClientHello; ``fin``: a clean close after it
- ``stall``: read the ClientHello and never answer
- ``plaintext``: answer the ClientHello with a cleartext HTTP 400 (WRONG_VERSION_NUMBER)

After a completed handshake (or at once for ``tls=False``) the connection is handed to ``app``
(see ``http_server.HttpApp``); without an app it is held until the client closes it.
Blocking sockets in threads, so the same server works for async tests and for sync CLI tests
that call ``asyncio.run`` themselves.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakes.pki import WRONG_NAME, Pki, default_pki

TLS_MODES = frozenset(
    {"ok", "wrong_name", "unknown_ca", "expired", "not_yet_valid", "reset", "fin", "stall",
     "plaintext"}
)
CERT_MODES = frozenset({"ok", "wrong_name", "unknown_ca", "expired", "not_yet_valid"})
IO_TIMEOUT = 10.0  # per socket operation on the server side; tests never wait this long


def parse_sni(record: bytes) -> str | None:
    """The server_name of a TLS ClientHello record, lower case, or None."""
    try:
        if len(record) < 9 or record[0] != 0x16 or record[5] != 0x01:
            return None
        pos = 9 + 2 + 32  # record header 5 + handshake header 4; client_version; random
        pos += 1 + record[pos]  # session id
        pos += 2 + int.from_bytes(record[pos : pos + 2], "big")  # cipher suites
        pos += 1 + record[pos]  # compression methods
        end = pos + 2 + int.from_bytes(record[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            ext_type = int.from_bytes(record[pos : pos + 2], "big")
            ext_len = int.from_bytes(record[pos + 2 : pos + 4], "big")
            if ext_type == 0:  # server_name: list len 2, type 1, name len 2, name
                name_len = int.from_bytes(record[pos + 7 : pos + 9], "big")
                return record[pos + 9 : pos + 9 + name_len].decode("ascii").lower()
            pos += 4 + ext_len
    except (IndexError, UnicodeDecodeError):
        return None
    return None


def reset_close(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0) instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class FakeServer:
    """A loopback server; use as a context manager (starts on enter, stops on exit)."""

    def __init__(
        self,
        *,
        tls: bool = True,
        tls_mode: str = "ok",
        tls_modes: Mapping[str | None, str] | None = None,
        names: tuple[str, ...] | None = None,
        app: Callable[[socket.socket, FakeServer, str | None], None] | None = None,
        pki: Pki | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        for mode in [tls_mode, *(tls_modes or {}).values()]:
            if mode not in TLS_MODES:
                raise ValueError(f"unknown TLS mode {mode!r}")
        self.tls = tls
        self.tls_mode = tls_mode
        self.tls_modes = dict(tls_modes or {})
        self.names = names
        self.app = app
        self.pki = pki or default_pki()
        self.host = host
        self.sni_seen: list[str | None] = []  # one entry per TLS connection
        self.requests: list[Any] = []  # filled by the app (http_server.Request)
        self.connections = 0
        self.stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._socks: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._listener is not None, "server not started"
        return int(self._listener.getsockname()[1])

    def url(self, host: str, path: str = "/") -> str:
        """A URL naming `host` on this server's port (pin it to `self.host` when fetching)."""
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def start(self) -> FakeServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._listener = socket.create_server((self.host, 0), family=family, backlog=128)
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals
    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.add(sock)
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(IO_TIMEOUT)
        try:
            if self.tls:
                self._serve_tls(sock)
            elif self.app is not None:
                self.app(sock, self, None)
            else:
                self._hold(sock)
        except (OSError, ValueError):
            pass  # the client went away or misbehaved: nothing to report
        finally:
            with self._lock:
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _peek_client_hello(self, sock: socket.socket) -> bytes:
        data = b""
        for _ in range(2000):  # a client that sends half a ClientHello gets ~2 s
            data = sock.recv(16384, socket.MSG_PEEK)
            if not data:
                return b""
            need = 5 + int.from_bytes(data[3:5], "big") if len(data) >= 5 else 5
            if data[0] != 0x16 or len(data) >= need or len(data) >= 16384:
                return data
            if self.stopping.wait(0.001):
                return data
        return data

    def _serve_tls(self, sock: socket.socket) -> None:
        hello = self._peek_client_hello(sock)
        sni = parse_sni(hello)
        self.sni_seen.append(sni)
        mode = self.tls_modes.get(sni, self.tls_mode)
        if mode not in CERT_MODES:
            if hello:
                sock.recv(len(hello))  # consume it: unread data would turn close() into RST
            if mode == "reset":
                reset_close(sock)
            elif mode == "fin":
                sock.shutdown(socket.SHUT_RDWR)
            elif mode == "stall":
                self.stopping.wait()
            elif mode == "plaintext":
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        names = (WRONG_NAME,) if mode == "wrong_name" else (self.names or (sni or "localhost",))
        variant = "ok" if mode == "wrong_name" else mode
        ctx = self.pki.server_context(tuple(names), variant)
        tls_sock = ctx.wrap_socket(sock, server_side=True)  # raises if the client rejects us
        with self._lock:
            self._socks.add(tls_sock)
        try:
            if self.app is not None:
                self.app(tls_sock, self, sni)
            else:
                self._hold(tls_sock)
        finally:
            with self._lock:
                self._socks.discard(tls_sock)
            tls_sock.close()

    def _hold(self, sock: socket.socket) -> None:
        while not self.stopping.is_set() and sock.recv(4096):
            pass


class Blackhole:
    """A port whose SYNs go unanswered: a listener with a full accept queue.

    Connects to it time out, which stands in for a censor dropping packets.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listener = socket.socket()
        self._fill: list[socket.socket] = []

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> Blackhole:
        self._listener.bind((self.host, 0))
        self._listener.listen(0)
        for _ in range(3):  # Linux queues backlog + 1; the rest are dropped
            sock = socket.socket()
            sock.setblocking(False)
            try:
                sock.connect((self.host, self.port))
            except BlockingIOError:
                pass
            self._fill.append(sock)
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._fill:
            sock.close()
        self._listener.close()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port with nothing listening (connects are refused)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
