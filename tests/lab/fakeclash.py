"""A local proxy as Clash/Mihomo runs it in TUN + fake-ip mode, for the lab's client namespace.

Run inside the client namespace: `python -m tests.lab.fakeclash CONFIG.json`; prints `READY`.
iptables REDIRECTs every DNS query and every TCP connection of the client to it (set by
`tests.lab.proxies.local_vpn`); its own sockets carry a mark those rules skip.

- DNS (UDP): every A query, whatever server it was sent to, is answered at once with a fake-ip
  placeholder from `pool`, TTL 1 (one placeholder per name); AAAA gets an empty answer.
- TCP: the original destination (SO_ORIGINAL_DST) is a placeholder -> the name -> its real
  address (from `zone`, as the proxy's own remote DNS would say); any other address is used as
  is. The connection goes through the SOCKS5 server abroad, or DIRECT (from here, through the
  censor) for names listed in `direct`, as a rule-based proxy does.

Config: {"dns_port", "tcp_port", "pool", "mark", "socks": [addr, port], "zone", "direct"}
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import struct
import sys
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset

log = logging.getLogger("rclab.fakeclash")
SO_ORIGINAL_DST = 80


class FakeIp:
    """Placeholder addresses, one per name, both ways."""

    def __init__(self, pool: str) -> None:
        self.hosts = ipaddress.ip_network(pool).hosts()
        self.by_name: dict[str, str] = {}
        self.by_ip: dict[str, str] = {}

    def ip(self, name: str) -> str:
        name = name.lower().rstrip(".")
        if name not in self.by_name:
            ip = str(next(self.hosts))
            self.by_name[name], self.by_ip[ip] = ip, name
        return self.by_name[name]


class Dns(asyncio.DatagramProtocol):
    def __init__(self, fake: FakeIp) -> None:
        self.fake = fake
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
            q = query.question[0]
            resp = dns.message.make_response(query)
            if q.rdtype == dns.rdatatype.A:
                ip = self.fake.ip(q.name.to_text())
                resp.answer.append(dns.rrset.from_text_list(q.name, 1, "IN", "A", [ip]))
            self.transport.sendto(resp.to_wire(), addr)
        except Exception as exc:  # noqa: BLE001 - a bad query must not stop the proxy
            log.warning("bad query: %r", exc)


class Proxy:
    def __init__(self, cfg: dict[str, Any], fake: FakeIp) -> None:
        self.fake = fake
        self.zone: dict[str, list[str] | None] = cfg["zone"]
        self.direct = {d.lower() for d in cfg["direct"]}
        self.socks = (cfg["socks"][0], int(cfg["socks"][1]))
        self.mark = int(cfg["mark"])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, packed = struct.unpack("!2xH4s8x", raw)
        ip = socket.inet_ntoa(packed)
        name = self.fake.by_ip.get(ip)
        real = ip
        if name is not None:
            answers = self.zone.get(name) or []
            if not answers:
                writer.close()
                return
            real = answers[0]
        try:
            up_r, up_w = await asyncio.wait_for(self._open(real, port, name), 10)
        except (OSError, TimeoutError, ConnectionError) as exc:
            log.info("%s:%s (%s) failed: %r", real, port, name, exc)
            writer.transport.abort()
            return
        await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))

    async def _open(self, ip: str, port: int,
                    name: str | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, self.mark)  # skip the REDIRECT rules
        s.setblocking(False)
        direct = name is not None and name in self.direct
        try:
            await loop.sock_connect(s, (ip, port) if direct else self.socks)
        except BaseException:
            s.close()
            raise
        reader, writer = await asyncio.open_connection(sock=s)
        if not direct:  # SOCKS5, no auth, CONNECT to the real address
            writer.write(b"\x05\x01\x00")
            if await reader.readexactly(2) != b"\x05\x00":
                raise ConnectionError("socks greeting refused")
            writer.write(b"\x05\x01\x00\x01" + socket.inet_aton(ip) + struct.pack("!H", port))
            reply = await reader.readexactly(10)
            if reply[1] != 0:
                raise ConnectionError(f"socks reply {reply[1]}")
        return reader, writer


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (OSError, ConnectionError):
        pass
    finally:
        try:
            if dst.can_write_eof():
                dst.write_eof()
        except OSError:
            dst.transport.abort()


async def main(cfg: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    fake = FakeIp(cfg["pool"])
    await loop.create_datagram_endpoint(lambda: Dns(fake), local_addr=("0.0.0.0", cfg["dns_port"]))
    proxy = Proxy(cfg, fake)
    server = await asyncio.start_server(proxy.handle, "0.0.0.0", cfg["tcp_port"], backlog=512)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    with open(sys.argv[1]) as fh:
        asyncio.run(main(json.load(fh)))
