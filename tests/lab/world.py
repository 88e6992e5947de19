"""The lab's "world" (everything beyond the censor) as one process.

Run inside the world namespace: `python -m tests.lab.world CONFIG.json`. It binds UDP resolvers,
HTTP(S) listeners (sites, the DoH server, the blockpage server, the censor's TLS interceptor) on
the addresses the config names, prints `READY` on stdout and serves until killed.

Config (written by `tests.lab.netns`):
  {"dns":  [{"address", "port", "delay_ms", "zone": {name: [A...] | null}}],
   "http": [{"address", "port", "tls": [{"name", "cert", "key"}] | null,
             "pages": {host: html}, "default": html | null,
             "raw": {host: {"status", "body", "framing": "http11" | "http10"}} | null,
             "doh": {"path", "zone"} | null}]}
`raw` answers are what a filtering proxy sends: any status, its own header set (no Server;
Content-Length, Connection, Cache-Control), or with "http10" a bare HTTP/1.0 head (Content-Type
only) whose body ends with the connection, or with "site" exactly the sites' own header set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import sys
from typing import Any

import dns.message

from tests.lab.dnsproto import Zone, answer, norm, serve_udp

log = logging.getLogger("rclab.world")
MAX_HEADER = 16 * 1024


def server_context(certs: list[dict[str, str]]) -> ssl.SSLContext:
    """A server context presenting the cert whose name matches the SNI (first one otherwise:
    a benign or unknown SNI still completes a handshake, like a CDN edge)."""
    by_name: dict[str, ssl.SSLContext] = {}
    for c in certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(c["cert"], c["key"])
        ctx.set_alpn_protocols(["http/1.1"])  # no h2: these servers speak HTTP/1.1 only
        by_name[c["name"]] = ctx
    default = by_name[certs[0]["name"]]

    def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name and name.lower() in by_name:
            sslobj.context = by_name[name.lower()]

    default.sni_callback = pick  # type: ignore[assignment]
    return default


def _response(status: str, body: bytes, ctype: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\nServer: rclab\r\n\r\n"
    )
    return head.encode() + body


class HttpHandler:
    """Serves per-Host pages, and RFC 8484 POSTs when configured as a DoH server."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.pages: dict[str, str] = {norm(k): v for k, v in spec.get("pages", {}).items()}
        self.default: str | None = spec.get("default")
        raw = spec.get("raw") or {}
        self.raw: dict[str, dict[str, str]] = {norm(k): v for k, v in raw.items()}
        doh = spec.get("doh")
        self.doh_path: str | None = doh["path"] if doh else None
        self.doh_zone: Zone = {norm(k): v for k, v in doh["zone"].items()} if doh else {}

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # Keep-alive only for DoH: its client keeps one connection for the whole run.
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        except asyncio.LimitOverrunError:
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEADER:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path, *_ = lines[0].split(" ") + ["", ""]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        if self.doh_path and method == "POST" and path.split("?")[0] == self.doh_path:
            try:
                wire = answer(dns.message.from_wire(body), self.doh_zone)
                out = _response("200 OK", wire, "application/dns-message", True)
            except Exception:
                out = _response("400 Bad Request", b"", "text/plain", True)
            writer.write(out)
            await writer.drain()
            return headers.get("connection", "").lower() != "close"
        host = norm(headers.get("host", "").split(":")[0])  # lab hosts are names, not IPv6
        raw = self.raw.get(host)
        if raw is not None:
            page_bytes = raw["body"].encode()
            if raw.get("framing") == "site":  # the site's own server software and headers
                writer.write(_response(raw["status"], page_bytes, "text/html; charset=utf-8",
                                       False))
            elif raw.get("framing") == "http10":
                writer.write(f"HTTP/1.0 {raw['status']}\r\nContent-Type: text/html\r\n\r\n"
                             .encode() + page_bytes)
            else:  # the proxy's own header set: shares only Content-Length/Connection with sites
                writer.write(f"HTTP/1.1 {raw['status']}\r\nContent-Type: text/html\r\n"
                             f"Content-Length: {len(page_bytes)}\r\nConnection: close\r\n"
                             "Cache-Control: no-store\r\n\r\n".encode() + page_bytes)
            await writer.drain()
            return False
        page = self.pages.get(host, self.default)
        if page is None:
            writer.write(_response("404 Not Found", b"<html><title>Not found</title></html>",
                                   "text/html", False))
        else:
            writer.write(_response("200 OK", page.encode(), "text/html; charset=utf-8", False))
        await writer.drain()
        return False


async def serve(config: dict[str, Any]) -> None:
    """Bind everything in `config`, announce READY, then serve forever."""
    for d in config.get("dns", []):
        zone = {norm(k): v for k, v in d["zone"].items()}
        await serve_udp(d["address"], d["port"], zone, d.get("delay_ms", 0))
    for h in config.get("http", []):
        ctx = server_context(h["tls"]) if h.get("tls") else None
        await asyncio.start_server(HttpHandler(h), h["address"], h["port"], ssl=ctx,
                                   reuse_address=True, backlog=512)
    print("READY", flush=True)
    await asyncio.Event().wait()


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Failed handshakes (resets, MITM-rejecting clients) are the lab's daily bread: not errors.
    exc = context.get("exception")
    if isinstance(exc, (ssl.SSLError, ConnectionError, OSError)):
        return
    loop.default_exception_handler(context)


def main(argv: list[str]) -> None:
    with open(argv[0]) as f:
        config = json.load(f)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet)
    loop.run_until_complete(serve(config))


if __name__ == "__main__":
    main(sys.argv[1:])
