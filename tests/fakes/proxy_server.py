"""A threaded loopback proxy speaking SOCKS5 (RFC 1928/1929) and HTTP CONNECT, for probe tests.

It really connects to the destination and relays bytes both ways, so the probes' TLS
handshakes, certificates and HTTP fetches go through it as through any proxy.

    with ProxyServer(kind="socks5", auth=("u", "p")) as proxy:
        proxy.url  ->  "socks5://u:p@127.0.0.1:PORT"
        proxy.destinations  ->  [("127.0.0.1", 443), ...]

`refuse`: destinations (host, port) it answers with "connection refused" (SOCKS5 reply 5,
HTTP 502) without connecting. `dead=True`: it accepts and closes at once (a broken proxy).
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Literal

IO_TIMEOUT = 10.0


class ProxyServer:
    def __init__(
        self,
        kind: Literal["socks5", "http"] = "socks5",
        *,
        auth: tuple[str, str] | None = None,
        refuse: frozenset[tuple[str, int]] = frozenset(),
        connect_timeout: float = 3.0,
    ) -> None:
        self.kind = kind
        self.auth = auth
        self.refuse = refuse
        self.connect_timeout = connect_timeout
        self.destinations: list[tuple[str, int]] = []
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        cred = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"{self.kind}://{cred}127.0.0.1:{self.port}"

    def __enter__(self) -> ProxyServer:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._listener is not None
        self._listener.close()
        with self._lock:
            for s in list(self._socks):
                s.close()

    # ------------------------------------------------------------------ serving
    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.settimeout(IO_TIMEOUT)
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._socks.add(s)

    def _serve(self, client: socket.socket) -> None:
        try:
            dest = self._socks5(client) if self.kind == "socks5" else self._connect(client)
            if dest is None:
                return
            upstream, host, port = dest
            self._relay(client, upstream)
        except OSError:
            pass
        finally:
            client.close()

    def _open(self, host: str, port: int) -> socket.socket | None:
        with self._lock:
            self.destinations.append((host, port))
        if (host, port) in self.refuse:
            return None
        try:
            upstream = socket.create_connection((host, port), timeout=self.connect_timeout)
        except OSError:
            return None
        upstream.settimeout(IO_TIMEOUT)
        self._track(upstream)
        return upstream

    def _socks5(self, c: socket.socket) -> tuple[socket.socket, str, int] | None:
        ver, n = _read(c, 2)
        methods = _read(c, n)
        want = 2 if self.auth else 0
        if ver != 5 or want not in methods:
            c.sendall(b"\x05\xff")
            return None
        c.sendall(bytes([5, want]))
        if self.auth:
            _, ulen = _read(c, 2)
            user = _read(c, ulen).decode()
            (plen,) = _read(c, 1)
            password = _read(c, plen).decode()
            ok = (user, password) == self.auth
            c.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return None
        _, cmd, _, atyp = _read(c, 4)
        if atyp == 1:
            host = socket.inet_ntoa(_read(c, 4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, _read(c, 16))
        else:
            (length,) = _read(c, 1)
            host = _read(c, length).decode()
        (port,) = struct.unpack("!H", _read(c, 2))
        upstream = self._open(host, port) if cmd == 1 else None
        reply = 0 if upstream is not None else 5
        c.sendall(bytes([5, reply, 0, 1]) + b"\x00" * 6)
        return (upstream, host, port) if upstream is not None else None

    def _connect(self, c: socket.socket) -> tuple[socket.socket, str, int] | None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = c.recv(1024)
            if not chunk:
                return None
            head += chunk
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].decode().split(" ", 2)
        if self.auth:
            import base64

            want = b"basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode())
            given = [v.strip().lower() for k, _, v in (ln.partition(b":") for ln in lines[1:])
                     if k.strip().lower() == b"proxy-authorization"]
            if not given or given[0] != want.lower():
                c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                          b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
                return None
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        upstream = self._open(host, int(port_text)) if method == "CONNECT" else None
        if upstream is None:
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return None
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        return upstream, host, int(port_text)

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(b, a), daemon=True)
        t.start()
        pump(a, b)
        t.join(IO_TIMEOUT)
        b.close()


def _read(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("short read")
        data += chunk
    return data
