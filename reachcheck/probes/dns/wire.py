"""DNS wire format: build a query once, parse answers fast and safely, convert to the model.

Rules of this module:
1. Pure functions: no sockets, no clocks. Input is bytes; output is values.
2. `parse_response` reads bytes from anyone on the path, injectors included, so it never
   raises: whatever is wrong with a datagram that claims to answer our query becomes a
   `ParsedResponse` with `error` set (rcode "MALFORMED" in the model).
3. It is the hot path of big scans (dnspython's `from_wire` parses ~9k messages/s; this reads
   only what the judgement needs and runs far faster). Queries are built once with dnspython and
   only their 2-byte id is rewritten per send.

Name decoding follows dnspython's rules (pointers must point strictly backwards and never into
the name being read, at most 16 hops, names of at most 255 bytes), which rules out
compression loops and keeps the two parsers in agreement (a differential test checks it).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import struct
from dataclasses import dataclass
from functools import cache, lru_cache

import dns.message
import dns.name

from reachcheck.model import DnsResponse

QTYPES: dict[str, int] = {"A": 1, "AAAA": 28}
_RDLEN = {1: 4, 28: 16}
_CNAME = 5
_OPT = 41
_EDE = 15  # EDNS option code of Extended DNS Errors (RFC 8914)
_CLASS_IN = 1

# Bytes of a response kept as evidence, UDP datagram or DoH body alike. Every honest UDP answer
# fits in the 1232 bytes our EDNS payload advertises; a DoH answer may be larger (HTTP has no
# such limit). The cap only bounds what a hostile sender can add to the record.
RAW_CAP = 4096
_MAX_HOPS = 16  # compression pointers followed per name (dnspython's limit)
_MAX_RECORDS = 1024  # records parsed per message: more is hostile, not DNS
_MAX_KEPT = 64  # addresses / CNAMEs / EDE codes kept per response

_RCODES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
    16: "BADVERS",
}
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_OPTHDR = struct.Struct("!HH")


class _Malformed(Exception):
    """Internal: the datagram is not valid DNS; the message says where."""


def rcode_text(value: int) -> str:
    """Text of an (extended) rcode: "NXDOMAIN", or "RCODE23" for unassigned values."""
    return _RCODES.get(value, f"RCODE{value}")


def _make_query(qname: str, qtype: str) -> bytes:
    query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    query.id = 0
    return query.to_wire()


@cache
def _template(qtype: str) -> tuple[bytes, bytes]:
    """(header, question tail + OPT) of dnspython's query, around the name's wire form."""
    wire = _make_query("a", qtype)
    return wire[:12], wire[12 + 3 :]  # the name "a" is 3 bytes: \x01 a \x00


# Host names as they appear in site lists; anything else (IDN, escapes, odd bytes) goes the
# slow way through dnspython.
_PLAIN = re.compile(r"(?:[A-Za-z0-9_*-]{1,63}\.)*[A-Za-z0-9_*-]{1,63}\.?")


def _plain_labels(qname: str) -> list[bytes] | None:
    """Labels of a plain ASCII host name, or None (then dnspython decides)."""
    if len(qname) > 254 or not _PLAIN.fullmatch(qname):
        return None
    name = qname.encode("ascii")
    if name.endswith(b"."):
        name = name[:-1]
    if len(name) > 253:  # 255 bytes on the wire: length bytes plus the root
        return None
    return name.split(b".")


def build_query(qname: str, qtype: str) -> bytes:
    """Wire form of a recursive query with EDNS (payload 1232) and id 0; see `with_id`.

    Byte for byte what `dns.message.make_query(qname, qtype, use_edns=0, payload=1232)` gives
    (a test checks it); plain ASCII names are spliced into dnspython's template directly
    because make_query costs ~100 us, the largest client cost of a big scan.
    """
    if qtype not in QTYPES:
        raise ValueError(f"unsupported query type {qtype!r}")
    labels = _plain_labels(qname)
    if labels is None:
        return _make_query(qname, qtype)
    header, tail = _template(qtype)
    return header + b"".join(bytes((len(x),)) + x for x in labels) + b"\x00" + tail


def with_id(wire: bytes, qid: int) -> bytes:
    """The same message with its 2-byte id replaced (cheap: one slice and one concat)."""
    return qid.to_bytes(2, "big") + wire[2:]


@lru_cache(maxsize=4096)
def qname_labels(qname: str) -> tuple[bytes, ...]:
    """Lower-case wire labels of a name (IDNA and escapes handled by dnspython), root omitted."""
    labels = _plain_labels(qname)
    if labels is None:
        labels = list(dns.name.from_text(qname).labels[:-1])
    return tuple(label.lower() for label in labels)


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """What the judgement needs from one response; `error` set means it was not valid DNS."""

    qid: int
    rcode: str
    addresses: tuple[str, ...] = ()
    ttls: tuple[int, ...] = ()
    cnames: tuple[str, ...] = ()
    has_opt: bool = False
    ede: tuple[int, ...] = ()
    truncated: bool = False  # TC bit: the answer did not fit (the sections may be partial)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A well-formed response: one a stub resolver would accept."""
        return self.error is None

    def to_model(self, wire: bytes, arrived_ms: float) -> DnsResponse:
        """The model's `DnsResponse`, with the message (capped) kept as evidence: the one
        conversion of an answer, UDP datagram or DoH body."""
        return DnsResponse(
            arrived_ms=arrived_ms,
            rcode="MALFORMED" if self.error else self.rcode,
            addresses=self.addresses,
            cnames=self.cnames,
            ttls=self.ttls,
            has_opt=self.has_opt,
            ede=self.ede,
            error=self.error,
            raw_b64=base64.b64encode(wire[:RAW_CAP]).decode("ascii"),
        )


def _read_name(wire: bytes, off: int, end: int) -> tuple[list[bytes], int]:
    """Labels of the name at `off` and the offset just after it in place.

    `end` bounds the in-place part (the rdata end for names inside rdata); a pointer target
    must lie before the start of the segment that led to it, so no loop is possible.
    """
    labels: list[bytes] = []
    after = -1
    limit = end
    start = off
    lowest = off
    hops = 0
    size = 1
    while True:
        if off >= limit:
            raise _Malformed("name runs past its end")
        length = wire[off]
        if length == 0:
            return labels, (off + 1 if after < 0 else after)
        if length < 64:
            stop = off + 1 + length
            if stop > limit:
                raise _Malformed("label runs past its end")
            size += length + 1
            if size > 255:
                raise _Malformed("name longer than 255 bytes")
            labels.append(wire[off + 1 : stop])
            off = stop
        elif length >= 192:
            if off + 1 >= limit:
                raise _Malformed("truncated compression pointer")
            target = ((length & 0x3F) << 8) | wire[off + 1]
            if after < 0:
                after = off + 2
            if target >= lowest:
                raise _Malformed("compression pointer does not point backwards")
            hops += 1
            if hops > _MAX_HOPS:
                raise _Malformed("compression pointer chain too long")
            # The target must not overlap the part of the name already read.
            limit = start
            lowest = start = off = target
        else:
            raise _Malformed("bad label type")


def _name_text(labels: list[bytes]) -> str:
    """Lower-case presentation form without the final dot (dnspython escapes odd bytes)."""
    if not labels:
        return ""
    return dns.name.Name([*labels, b""]).to_text(omit_final_dot=True).lower()


def parse_response(wire: bytes, qname: str, qtype: str, qid: int) -> ParsedResponse | None:
    """Parse a datagram that may answer the query (`qid`, `qname`, `qtype`).

    Returns None when the datagram is not an answer to this query (a different id, not a
    response, or a readable question that differs): the caller ignores it.
    Returns a `ParsedResponse` with `error` set when the id matches but the rest is not valid
    DNS (garbage is evidence too). Never raises for any input bytes.
    """
    n = len(wire)
    if n < 12:
        # A runt bearing our id is kept as evidence (it cannot be accepted); fewer than 2
        # bytes cannot even claim to be ours.
        if n < 2 or int.from_bytes(wire[:2], "big") != qid:
            return None
        return ParsedResponse(qid=qid, rcode="MALFORMED", error="shorter than a DNS header")
    rid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire)
    if rid != qid or not flags & 0x8000:
        return None
    want = QTYPES[qtype]
    rcode = flags & 0x000F
    truncated = bool(flags & 0x0200)
    try:
        if qdcount != 1:
            raise _Malformed(f"question count {qdcount}")
        labels, off = _read_name(wire, 12, n)
        if off + 4 > n:
            raise _Malformed("question truncated")
        rtype, rclass = _OPTHDR.unpack_from(wire, off)
        off += 4
        if (
            rtype != want
            or rclass != _CLASS_IN
            or len(labels) != len(wanted := qname_labels(qname))
            or any(a.lower() != b for a, b in zip(labels, wanted, strict=True))
        ):
            return None
        return _parse_sections(wire, off, rid, rcode, truncated, want, ancount, nscount, arcount)
    except (_Malformed, IndexError, struct.error, ValueError, UnicodeError) as exc:
        # IndexError/struct.error/ValueError are backstops: the checks above should come first.
        detail = str(exc) if isinstance(exc, _Malformed) else f"{type(exc).__name__}: {exc}"
        return ParsedResponse(qid=rid, rcode=rcode_text(rcode), truncated=truncated, error=detail)


def _parse_sections(
    wire: bytes,
    off: int,
    rid: int,
    rcode: int,
    truncated: bool,
    want: int,
    ancount: int,
    nscount: int,
    arcount: int,
) -> ParsedResponse:
    """Read answer, authority and additional records after the question (raises _Malformed)."""
    n = len(wire)
    if ancount + nscount + arcount > _MAX_RECORDS:
        raise _Malformed(f"absurd record count {ancount + nscount + arcount}")
    addresses: list[str] = []
    ttls: list[int] = []
    cnames: list[str] = []
    ede: list[int] = []
    has_opt = False
    ext_rcode = 0
    for index in range(ancount + nscount + arcount):
        _, off = _read_name(wire, off, n)
        if off + 10 > n:
            raise _Malformed("record header truncated")
        rtype, rclass, ttl, rdlen = _RR.unpack_from(wire, off)
        rdata = off + 10
        off = rdata + rdlen
        if off > n:
            raise _Malformed("record data truncated")
        if rtype == _OPT:
            if index < ancount + nscount or has_opt:
                raise _Malformed("OPT record misplaced or repeated")
            has_opt = True
            ext_rcode = ttl >> 24
            _read_options(wire, rdata, off, ede)
        elif index < ancount and rclass == _CLASS_IN:
            if rtype == want:
                if rdlen != _RDLEN[want]:
                    raise _Malformed(f"address record of {rdlen} bytes")
                if len(addresses) < _MAX_KEPT:
                    addresses.append(
                        "{}.{}.{}.{}".format(*wire[rdata:off])  # 3x faster than ipaddress
                        if want == 1
                        else ipaddress.IPv6Address(wire[rdata:off]).compressed
                    )
                    ttls.append(ttl)
            elif rtype == _CNAME:
                target, stop = _read_name(wire, rdata, off)
                if stop != off:
                    raise _Malformed("CNAME data longer than its name")
                if len(cnames) < _MAX_KEPT:
                    cnames.append(_name_text(target))
    return ParsedResponse(
        qid=rid,
        rcode=rcode_text((ext_rcode << 4) | rcode),
        addresses=tuple(addresses),
        ttls=tuple(ttls),
        cnames=tuple(cnames),
        has_opt=has_opt,
        ede=tuple(ede),
        truncated=truncated,
    )


def _read_options(wire: bytes, off: int, end: int, ede: list[int]) -> None:
    """Collect EDE info codes from OPT rdata; options must tile the rdata exactly."""
    while off < end:
        if off + 4 > end:
            raise _Malformed("EDNS option header truncated")
        code, length = _OPTHDR.unpack_from(wire, off)
        off += 4
        if off + length > end:
            raise _Malformed("EDNS option truncated")
        if code == _EDE:
            if length < 2:
                raise _Malformed("EDE option too short")
            if len(ede) < _MAX_KEPT:
                ede.append(int.from_bytes(wire[off : off + 2], "big"))
        off += length
