"""A real UDP DNS server on 127.0.0.1 for tests, with the misbehaviours censors show.

Usage::

    from tests.fakes.dns_server import FakeDnsServer, Rule

    with FakeDnsServer({"example.test": Rule(a=("192.0.2.1",))}) as srv:
        host, port = srv.address                     # ("127.0.0.1", ephemeral port)
        srv.set("blocked.test", Rule.inject(forged=("10.1.1.1",), real=("192.0.2.7",)))
        ...                                          # query it; srv.queries lists what arrived

    # pytest:  @pytest.fixture
    #          def dns_server():
    #              with FakeDnsServer() as srv:
    #                  yield srv

Names without a rule get `default` (NXDOMAIN unless given). The server runs an asyncio loop in
a daemon thread, so it serves sync tests, async tests and subprocess clients alike.
`python -m tests.fakes.dns_server [--answer IP]` runs it standalone and prints its port (for
benchmarks in another process). Responses are built by hand so that forged ones can look like
the real thing minus the details injectors leave out (no OPT record, odd TTL).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
_A, _AAAA, _CNAME, _OPT = 1, 28, 5, 41
_TYPE_NAMES = {_A: "A", _AAAA: "AAAA"}


@dataclass(frozen=True)
class Rule:
    """How the server answers one name.

    Sends at once, in this order: the forged answer (`forged`), `garbage` (after the query's
    id), a copy with a wrong id, a copy with a wrong question. Then, after `delay_ms`, the real
    answer `copies` times unless `silent`.
    """

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    rcode: int = NOERROR
    ttl: int = 300
    cname: str | None = None  # answer through this CNAME (addresses owned by the target)
    ede: int | None = None  # EDE info code in the OPT record
    opt: bool = True  # echo an OPT record when the query had one
    silent: bool = False
    delay_ms: float = 0.0
    copies: int = 1
    forged: tuple[str, ...] | None = None  # injected A/AAAA answer sent first (no OPT)
    forged_ttl: int = 3600
    garbage: bytes | None = None
    drop: int = 0  # ignore this many queries for the name first (packet loss)
    wrong_id: bool = False
    wrong_question: bool = False

    @classmethod
    def answer(cls, *addresses: str, ttl: int = 300) -> Rule:
        """Answer with these addresses (A or AAAA by their form)."""
        return cls(
            a=tuple(x for x in addresses if ":" not in x),
            aaaa=tuple(x for x in addresses if ":" in x),
            ttl=ttl,
        )

    @classmethod
    def nxdomain(cls) -> Rule:
        return cls(rcode=NXDOMAIN)

    @classmethod
    def servfail(cls) -> Rule:
        return cls(rcode=SERVFAIL)

    @classmethod
    def refused(cls) -> Rule:
        return cls(rcode=REFUSED)

    @classmethod
    def no_answer(cls) -> Rule:
        """NOERROR with an empty answer section."""
        return cls()

    @classmethod
    def quiet(cls) -> Rule:
        """Never answer (the client times out)."""
        return cls(silent=True)

    @classmethod
    def inject(
        cls, forged: tuple[str, ...], real: tuple[str, ...], delay_ms: float = 20.0
    ) -> Rule:
        """A forged answer at once, then the real one `delay_ms` later (on-path injection)."""
        return replace(cls.answer(*real), forged=forged, delay_ms=delay_ms)


@dataclass(frozen=True)
class ReceivedQuery:
    """A query the server received."""

    qid: int
    qname: str
    qtype: str
    has_opt: bool
    source: tuple[str, int]


@dataclass
class FakeDnsServer:
    """UDP DNS server on 127.0.0.1, ephemeral port; `start()`/`stop()` or a `with` block."""

    rules: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule = field(default_factory=Rule.nxdomain)
    host: str = "127.0.0.1"
    record: bool = True  # keep `queries` (turn off for long benchmarks)
    queries: list[ReceivedQuery] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._rules: dict[str, Rule] = {_norm(k): v for k, v in self.rules.items()}
        self._seen: dict[str, int] = {}  # queries per name, for `drop`
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.address: tuple[str, int] = (self.host, 0)

    def set(self, name: str, rule: Rule) -> None:
        """Add or replace the rule for `name` (safe while running)."""
        self._rules[_norm(name)] = rule

    def rule_for(self, name: str) -> Rule:
        return self._rules.get(_norm(name), self.default)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeDnsServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("fake DNS server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = self._thread = None

    def __enter__(self) -> FakeDnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        # A big receive buffer: bursts from throughput tests otherwise overflow the default.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((self.host, 0))
        self.address = (self.host, sock.getsockname()[1])
        transport, _ = loop.run_until_complete(
            loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        )
        self._transport = transport
        ready.set()
        try:
            loop.run_forever()
        finally:
            transport.close()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # ------------------------------------------------------------------ answering

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        query = _parse_query(data)
        if query is None:
            return
        qid, rd, question, labels, qtype, has_opt = query
        qname = b".".join(labels).decode("ascii", "replace").lower()
        if self.record:
            self.queries.append(
                ReceivedQuery(qid, qname, _TYPE_NAMES.get(qtype, str(qtype)), has_opt, source)
            )
        rule = self.rule_for(qname)
        if rule.drop:
            self._seen[qname] = seen = self._seen.get(qname, 0) + 1
            if seen <= rule.drop:
                return
        assert self._transport is not None and self._loop is not None
        send = self._transport.sendto
        if rule.forged is not None:
            forged = tuple(x for x in rule.forged if (":" in x) == (qtype == _AAAA))
            send(
                _response(
                    qid, rd, question, NOERROR, qtype, forged, rule.forged_ttl, None, None, False
                ),
                source,
            )
        if rule.garbage is not None:
            send(qid.to_bytes(2, "big") + rule.garbage, source)
        real = _response(
            qid,
            rd,
            question,
            rule.rcode,
            qtype,
            rule.aaaa if qtype == _AAAA else rule.a if qtype == _A else (),
            rule.ttl,
            rule.cname,
            rule.ede,
            rule.opt and has_opt,
        )
        if rule.wrong_id:
            send(((qid + 1) & 0xFFFF).to_bytes(2, "big") + real[2:], source)
        if rule.wrong_question:
            other = _encode_name(["wrong"] + [x.decode() for x in labels]) + question[-4:]
            send(real[:12] + other + real[12 + len(question) :], source)
        if rule.silent:
            return
        for _ in range(rule.copies):
            if rule.delay_ms > 0:
                self._loop.call_later(rule.delay_ms / 1000, send, real, source)
            else:
                send(real, source)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDnsServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server._handle(data, addr)


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _parse_query(data: bytes) -> tuple[int, int, bytes, list[bytes], int, bool] | None:
    """(id, RD bit, raw question, labels, qtype, has OPT) of a plain query, or None."""
    if len(data) < 12:
        return None
    qid, flags, qd, _an, _ns, ar = struct.unpack_from("!HHHHHH", data)
    if flags & 0x8000 or qd != 1:
        return None
    off, labels = 12, []
    while off < len(data) and data[off] != 0:
        length = data[off]
        if length >= 64:
            return None
        labels.append(data[off + 1 : off + 1 + length])
        off += 1 + length
    off += 1
    if off + 4 > len(data):
        return None
    qtype = struct.unpack_from("!H", data, off)[0]
    question = data[12 : off + 4]
    has_opt = ar > 0 and data[off + 4 : off + 7] == b"\x00\x00\x29"  # root owner, type OPT
    return qid, flags & 0x0100, question, labels, qtype, has_opt


def _encode_name(labels: list[str]) -> bytes:
    return b"".join(bytes([len(x)]) + x.encode() for x in labels) + b"\x00"


def _response(
    qid: int,
    rd: int,
    question: bytes,
    rcode: int,
    qtype: int,
    addresses: tuple[str, ...],
    ttl: int,
    cname: str | None,
    ede: int | None,
    opt: bool,
) -> bytes:
    """A response to `question` (addresses only for the asked type, owned by name or CNAME)."""
    records = []
    owner = b"\xc0\x0c"  # pointer to the question name
    if cname is not None and rcode == NOERROR:
        target = _encode_name(cname.rstrip(".").split("."))
        records.append(owner + struct.pack("!HHIH", _CNAME, 1, ttl, len(target)) + target)
        owner = struct.pack("!H", 0xC000 | (12 + len(question) + 12))
    if rcode == NOERROR:
        for address in addresses:
            raw = IPv6Address(address).packed if qtype == _AAAA else IPv4Address(address).packed
            records.append(owner + struct.pack("!HHIH", qtype, 1, ttl, len(raw)) + raw)
    additional = b""
    if opt:
        options = b"" if ede is None else struct.pack("!HHH", 15, 2, ede)
        additional = b"\x00" + struct.pack("!HHIH", _OPT, 1232, 0, len(options)) + options
    flags = 0x8080 | rd | rcode  # QR, RA
    header = struct.pack("!HHHHHH", qid, flags, 1, len(records), 0, 1 if opt else 0)
    return header + question + b"".join(records) + additional


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes; print the port first. `--answer IP` answers every name."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer", default="192.0.2.1", help="address answered for every A query")
    args = parser.parse_args(argv)
    server = FakeDnsServer(default=Rule.answer(args.answer), record=False).start()
    print(server.address[1], flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    finally:
        server.stop()


if __name__ == "__main__":
    main()
