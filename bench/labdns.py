"""The benchmark lab's DNS: fast UDP resolvers and a DoH backend, in one process.

Run inside the world namespace: `python bench/labdns.py CONFIG.json`. Config:
  {"udp": [[address, port], ...], "doh": [address, port], "zone": {name: "A.B.C.D"}}
Answers A records from the zone, NOERROR/empty for AAAA (the lab is IPv4 only) and NXDOMAIN for
unknown names. Parsing and answering are done by hand on the wire (dnspython's from_wire manages
~9k messages/s, too slow to keep up with a 5,000-name scan on two shared cores). The DoH backend
speaks plain HTTP/1.1 with keep-alive; nginx terminates TLS in front of it. Prints READY and
serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys

TTL = 300
_OPT_RR = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # root, OPT, payload 1232, no options


def answer(query: bytes, zone: dict[bytes, bytes]) -> bytes | None:
    """The response to a wire query, or None when it is not a one-question query."""
    if len(query) < 17 or query[4:6] != b"\x00\x01":
        return None
    pos, labels = 12, []
    while True:
        n = query[pos]
        if n == 0:
            break
        if n > 63:
            return None
        labels.append(query[pos + 1 : pos + 1 + n])
        pos += 1 + n
    end = pos + 5
    if end > len(query):
        return None
    qtype = struct.unpack_from("!H", query, pos + 1)[0]
    question = query[12:end]
    edns = struct.unpack_from("!H", query, 10)[0] > 0
    addr = zone.get(b".".join(labels).lower())
    rd = query[2] & 0x01
    flags2 = 0x80 | (0 if addr is not None else 3)  # RA; NOERROR or NXDOMAIN
    records = b""
    count = 0
    if addr is not None and qtype == 1:
        records = b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", TTL, 4) + addr
        count = 1
    header = query[:2] + bytes((0x80 | rd, flags2)) + struct.pack("!HHHH", 1, count, 0, int(edns))
    return header + question + records + (_OPT_RR if edns else b"")


class Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: dict[bytes, bytes]) -> None:
        self.zone = zone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            out = answer(data, self.zone)
        except (IndexError, struct.error):
            return
        if out is not None:
            self.transport.sendto(out, addr)  # type: ignore[attr-defined]


def doh_handler(zone: dict[bytes, bytes]):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                out = answer(body, zone) if body else None
                if out is None:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(out) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
                ValueError, IndexError):
            pass
        finally:
            writer.close()

    return handle


async def serve(cfg: dict) -> None:
    zone = {k.lower().rstrip(".").encode(): socket.inet_aton(v) for k, v in cfg["zone"].items()}
    loop = asyncio.get_running_loop()
    for address, port in cfg["udp"]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        sock.bind((address, port))
        await loop.create_datagram_endpoint(lambda: Udp(zone), sock=sock)
    address, port = cfg["doh"]
    await asyncio.start_server(doh_handler(zone), address, port, backlog=256)
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        config = json.load(f)
    asyncio.run(serve(config))
