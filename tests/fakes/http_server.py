"""A tiny HTTP/1.1 app for FakeServer: per-Host pages, redirects, blockpages and faults.

    app = HttpApp({"site.test": {"/": Page("Site"), "/old": Redirect("/new")}})
    with FakeServer(tls=False, app=app) as srv: ...

Unknown hosts get ``Page(f"Welcome to {host}")``, so every host has a distinct title; a known
host with an unknown path gets a 404 page. Keep-alive is honoured (DoH clients reuse a
connection) unless the request says ``Connection: close``. Every request is appended to
``server.requests`` as a ``Request``.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.fakes.tls_server import reset_close

if TYPE_CHECKING:
    from tests.fakes.tls_server import FakeServer

MAX_HEAD = 65536
BLOCKPAGE_BODY = (
    "<html><head><title>Access Denied</title></head><body>"
    "<h1>The page you requested has been blocked</h1>"
    "<p>Access to requested resource has been blocked by decision of public authorities</p>"
    "</body></html>"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    host: str  # Host header without the port, lower case
    sni: str | None
    headers: dict[str, str]
    body: bytes = b""


class Behavior:
    """What the server does with one request. Returns True to keep the connection open."""

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        raise NotImplementedError


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden",
            404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway"}


@dataclass(frozen=True)
class Page(Behavior):
    """A page; without `body`, a small HTML document whose <title> is `title`."""

    title: str = "Page"
    body: str | bytes | None = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"
    gzip: bool = False

    def payload(self) -> bytes:
        body = self.body
        if body is None:
            body = f"<html><head><title>{self.title}</title></head><body>{self.title}</body></html>"
        data = body.encode("utf-8") if isinstance(body, str) else body
        return gzip.compress(data) if self.gzip else data

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        data = self.payload()
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(data))),
                   ("Server", "fake/1.0"), *self.headers]
        if self.gzip:
            headers.append(("Content-Encoding", "gzip"))
        sock.sendall(_head(self.status, headers) + data)
        return True


def blockpage(status: int = 403) -> Page:
    """A page that looks like an ISP blockpage."""
    return Page(body=BLOCKPAGE_BODY, status=status, headers=(("Server", "Olfeo"),))


@dataclass(frozen=True)
class Redirect(Behavior):
    location: str
    status: int = 302

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        head = _head(self.status, [("Location", self.location), ("Content-Length", "0")])
        sock.sendall(head)
        return True


@dataclass(frozen=True)
class Reset(Behavior):
    """An RST after the request (a censor matching the Host header)."""

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        reset_close(sock)  # on a TLS socket too: close() sends no close_notify
        return False


@dataclass(frozen=True)
class Close(Behavior):
    """Close without sending a response."""

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        return False


@dataclass(frozen=True)
class Stall(Behavior):
    """Never answer (until the server stops)."""

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        server.stopping.wait()
        return False


@dataclass(frozen=True)
class Raw(Behavior):
    """Send these exact bytes, then close (garbage, truncated or hostile responses)."""

    data: bytes = b"\x00\xff\xfeNOT HTTP AT ALL\r\n\r\n"

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        sock.sendall(self.data)
        return False


def huge_headers(count: int = 4000) -> Raw:
    """A response with far more header bytes than any client should accept."""
    lines = "".join(f"X-Filler-{i}: {'a' * 40}\r\n" for i in range(count))
    return Raw(f"HTTP/1.1 200 OK\r\n{lines}Content-Length: 0\r\n\r\n".encode())


@dataclass
class HttpApp:
    """Routes requests by Host then path (with, then without, the query)."""

    sites: Mapping[str, Mapping[str, Behavior]] = field(default_factory=dict)
    default: Callable[[Request], Behavior] | None = None

    def route(self, req: Request) -> Behavior:
        pages = self.sites.get(req.host)
        if pages is None:
            return self.default(req) if self.default else Page(f"Welcome to {req.host}")
        found = pages.get(req.path) or pages.get(req.path.split("?", 1)[0])
        return found if found is not None else Page("Not Found", status=404)

    def __call__(self, sock: socket.socket, server: FakeServer, sni: str | None) -> None:
        serve_http(sock, server, sni, self.route)


def serve_http(
    sock: socket.socket,
    server: FakeServer,
    sni: str | None,
    route: Callable[[Request], Behavior],
) -> None:
    """Read requests off `sock` and answer each with `route(request)` until told to close."""
    buf = b""
    while not server.stopping.is_set():
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk or len(buf) > MAX_HEAD:
                return
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = (lines[0].split(" ") + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(buf) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        body, buf = buf[:length], buf[length:]
        host = headers.get("host", "").lower()
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        req = Request(method, path, host.strip("[]"), sni, headers, body)
        server.requests.append(req)
        keep = route(req).respond(sock, req, server)
        if not keep or headers.get("connection", "").lower() == "close":
            return
