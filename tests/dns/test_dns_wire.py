"""The wire helpers: query building, the fast response parser, its hardening and fuzzing."""

from __future__ import annotations

import base64
import ipaddress
import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachcheck.probes.dns.wire import (
    RAW_CAP,
    build_query,
    parse_response,
    qname_labels,
    with_id,
)

QID = 0x1234


def _header(ancount: int = 1, nscount: int = 0, arcount: int = 0, qdcount: int = 1) -> bytes:
    return struct.pack("!HHHHHH", QID, 0x8180, qdcount, ancount, nscount, arcount)


QUESTION = b"\x07example\x04test\x00" + struct.pack("!HH", 1, 1)


def _rr(owner: bytes, rtype: int, rdata: bytes, rclass: int = 1, ttl: int = 60) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def make_response(
    qname: str = "example.test",
    qtype: str = "A",
    *,
    addresses: tuple[str, ...] = (),
    cname: str | None = None,
    rcode: int = dns.rcode.NOERROR,
    edns: bool = True,
    ede: int | None = None,
    ttl: int = 300,
) -> bytes:
    """A response built by dnspython, the reference implementation."""
    query = dns.message.make_query(qname, qtype, use_edns=0 if edns else None)
    query.id = QID
    response = dns.message.make_response(query)
    owner = query.question[0].name
    if cname is not None:
        response.answer.append(dns.rrset.from_text(owner, ttl, "IN", "CNAME", cname + "."))
        owner = dns.name.from_text(cname)
    if addresses:
        response.answer.append(dns.rrset.from_text(owner, ttl, "IN", qtype, *addresses))
    response.set_rcode(rcode)
    if ede is not None:
        response.use_edns(0, options=[dns.edns.EDEOption(ede)])
    return response.to_wire()


def test_build_query_is_a_plain_edns_query_and_with_id_only_changes_the_id() -> None:
    wire = build_query("Example.TEST", "AAAA")
    sent = with_id(wire, 0xBEEF)
    message = dns.message.from_wire(sent)
    assert message.id == 0xBEEF
    assert sent[2:] == wire[2:]
    assert str(message.question[0].name) == "Example.TEST."
    assert message.question[0].rdtype == 28
    assert message.edns == 0 and message.payload == 1232
    assert message.flags & dns.flags.RD


_NAME_CHARS = st.sampled_from(list("abcXYZ019-_*.") + ["\u00fc", "\\", "\\.", "\\065"])


@given(st.lists(_NAME_CHARS, min_size=1, max_size=70).map("".join), st.sampled_from(["A", "AAAA"]))
def test_build_query_matches_make_query_byte_for_byte(qname: str, qtype: str) -> None:
    try:
        query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    except Exception as exc:  # not a valid name for dnspython: ours must refuse too
        with pytest.raises(type(exc)):
            build_query(qname, qtype)
        return
    query.id = 0
    assert build_query(qname, qtype) == query.to_wire()
    labels = query.question[0].name.labels[:-1]
    assert qname_labels(qname) == tuple(label.lower() for label in labels)


def test_long_names_are_built_exactly() -> None:
    for qname in ("a" * 63 + ".b", ".".join(["a" * 63] * 3) + "." + "b" * 61):
        query = dns.message.make_query(qname, "A", use_edns=0, payload=1232)
        query.id = 0
        assert build_query(qname, "A") == query.to_wire()


def test_a_answer_in_wire_order_with_ttls_and_opt() -> None:
    wire = make_response(addresses=("192.0.2.1",), ttl=77)
    parsed = parse_response(wire, "example.test", "A", QID)
    assert parsed is not None and parsed.ok
    assert parsed.rcode == "NOERROR"
    assert parsed.addresses == ("192.0.2.1",) and parsed.ttls == (77,)
    assert parsed.has_opt and parsed.ede == ()
    # Wire order is kept (dnspython would reorder the set); each address keeps its own TTL.
    raw = (
        _header(ancount=2)
        + QUESTION
        + _rr(b"\xc0\x0c", 1, bytes([192, 0, 2, 9]), ttl=5)
        + _rr(b"\xc0\x0c", 1, bytes([192, 0, 2, 1]), ttl=6)
    )
    parsed = parse_response(raw, "example.test", "A", QID)
    assert parsed is not None and parsed.ok and not parsed.has_opt
    assert parsed.addresses == ("192.0.2.9", "192.0.2.1") and parsed.ttls == (5, 6)


def test_aaaa_through_cname_without_opt() -> None:
    wire = make_response(
        qtype="AAAA", addresses=("2001:db8::1",), cname="Edge.CDN.test", edns=False
    )
    parsed = parse_response(wire, "example.test.", "AAAA", QID)
    assert parsed is not None and parsed.ok
    assert parsed.addresses == ("2001:db8::1",)
    assert parsed.cnames == ("edge.cdn.test",)
    assert not parsed.has_opt


def test_rcodes_and_extended_dns_errors() -> None:
    nx = parse_response(make_response(rcode=dns.rcode.NXDOMAIN), "example.test", "A", QID)
    assert nx is not None and nx.rcode == "NXDOMAIN" and nx.addresses == ()
    blocked = parse_response(
        make_response(rcode=dns.rcode.REFUSED, ede=15), "example.test", "A", QID
    )
    assert blocked is not None and blocked.rcode == "REFUSED" and blocked.ede == (15,)
    badvers = parse_response(make_response(rcode=dns.rcode.BADVERS), "example.test", "A", QID)
    assert badvers is not None and badvers.rcode == "BADVERS"  # extended rcode from OPT


def test_question_match_ignores_case_but_not_name_or_type() -> None:
    wire = make_response(qname="ExAmPlE.TeSt", addresses=("192.0.2.1",))
    assert parse_response(wire, "example.test", "A", QID) is not None
    assert parse_response(wire, "other.test", "A", QID) is None
    assert parse_response(wire, "sub.example.test", "A", QID) is None
    assert parse_response(wire, "example.test", "AAAA", QID) is None


def test_not_an_answer_to_this_query_is_none() -> None:
    wire = make_response(addresses=("192.0.2.1",))
    assert parse_response(wire, "example.test", "A", QID + 1) is None  # wrong id
    assert parse_response(wire[:1], "example.test", "A", QID) is None  # not even an id
    query = with_id(build_query("example.test", "A"), QID)
    assert parse_response(query, "example.test", "A", QID) is None  # QR bit clear


def test_model_conversion_keeps_capped_evidence() -> None:
    wire = make_response(addresses=("192.0.2.1",))
    parsed = parse_response(wire, "example.test", "A", QID)
    assert parsed is not None
    response = parsed.to_model(wire, 1.5)
    assert response.arrived_ms == 1.5 and response.rcode == "NOERROR"
    assert base64.b64decode(response.raw_b64 or "") == wire
    big = wire + b"\x00" * (RAW_CAP + 1000)  # trailing junk is tolerated, evidence is capped
    parsed = parse_response(big, "example.test", "A", QID)
    assert parsed is not None and parsed.ok
    response = parsed.to_model(big, 0.0)
    assert len(base64.b64decode(response.raw_b64 or "")) == RAW_CAP


MALFORMED_CASES = {
    "pointer to itself": _header() + QUESTION + b"\xc0\x21" + b"\x00" * 10,
    "forward pointer": _header() + QUESTION + b"\xc0\x30" + b"\x00" * 30,
    "pointer out of range": _header() + QUESTION + b"\xff\xff" + b"\x00" * 10,
    "question pointer loop": _header(0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
    "truncated rdata": _header() + QUESTION + _rr(b"\xc0\x0c", 1, b"\xc0\x00\x02\x01")[:-2],
    "truncated rr header": _header() + QUESTION + b"\xc0\x0c\x00\x01",
    "absurd count": _header(ancount=65535, arcount=65535) + QUESTION,
    "bad A length": _header() + QUESTION + _rr(b"\xc0\x0c", 1, b"\x01\x02\x03"),
    "bad label type": _header() + QUESTION + b"\x41abc" + b"\x00" * 10,
    "opt in answer": _header() + QUESTION + _rr(b"\x00", 41, b""),
    "two opts": _header(0, 0, 2) + QUESTION + _rr(b"\x00", 41, b"") * 2,
    "truncated option": _header(0, 0, 1) + QUESTION + _rr(b"\x00", 41, b"\x00\x0f\x00\x09\x00"),
    "short ede": _header(0, 0, 1) + QUESTION + _rr(b"\x00", 41, b"\x00\x0f\x00\x01\x00"),
    "cname data too long": _header() + QUESTION + _rr(b"\xc0\x0c", 5, b"\xc0\x0c\x00"),
    "no question": _header(0, qdcount=0),
    "runt with our id": _header()[:7],
    "question cut": _header(0) + QUESTION[:-3],
    "name over 255 bytes": _header(0) + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63
    + b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63 + b"\x00" + struct.pack("!HH", 1, 1),
}


def test_hostile_datagrams_with_our_id_are_malformed_not_exceptions() -> None:
    for case, wire in MALFORMED_CASES.items():
        parsed = parse_response(wire, "example.test", "A", QID)
        assert parsed is not None, case
        assert not parsed.ok and parsed.error, case
        response = parsed.to_model(wire, 0.0)
        assert response.rcode == "MALFORMED" and response.error == parsed.error, case


def test_backward_pointer_and_unused_record_types_are_fine() -> None:
    wire = (
        _header(ancount=2)
        + QUESTION
        + _rr(b"\xc0\x0c", 16, b"\x03txt")  # TXT in the answer: skipped
        + _rr(b"\x03www\xc0\x0c", 1, bytes([192, 0, 2, 5]))
    )
    parsed = parse_response(wire, "example.test", "A", QID)
    assert parsed is not None and parsed.ok and parsed.addresses == ("192.0.2.5",)


# ------------------------------------------------------------------------------ fuzzing

@given(st.binary(max_size=600), st.integers(0, 0xFFFF))
def test_parse_never_raises_on_arbitrary_bytes(data: bytes, qid: int) -> None:
    parsed = parse_response(data, "example.test", "A", qid)
    assert parsed is None or isinstance(parsed.rcode, str)


@given(st.binary(max_size=400))
def test_parse_never_raises_after_a_matching_header_and_question(tail: bytes) -> None:
    wire = _header(ancount=3, nscount=1, arcount=2) + QUESTION + tail
    parsed = parse_response(wire, "example.test", "A", QID)
    assert parsed is not None
    assert parsed.ok or parsed.error


VALID = [
    ("A", make_response(addresses=("192.0.2.1", "198.51.100.2"), ede=16)),
    ("AAAA", make_response(qtype="AAAA", addresses=("2001:db8::7",), cname="cdn.test")),
]


@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 200),
)
def test_parse_never_raises_on_mutated_responses(
    valid: tuple[str, bytes], flips: list[tuple[int, int]], cut: int
) -> None:
    qtype, wire = valid
    mutated = bytearray(wire)
    for position, value in flips:
        if position < len(mutated):
            mutated[position] = value
    data = bytes(mutated[: len(mutated) - cut % len(mutated)])
    parsed = parse_response(data, "example.test", qtype, QID)
    if parsed is not None and parsed.ok:
        try:
            reference = dns.message.from_wire(data, ignore_trailing=True)
        except Exception:  # dnspython is stricter about record data we do not read
            return
        reference_addresses = {
            ipaddress.ip_address(item.address).compressed
            for rrset in reference.answer
            if rrset.rdtype == (28 if qtype == "AAAA" else 1) and rrset.rdclass == 1
            for item in rrset
        }
        assert set(parsed.addresses) == reference_addresses


_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
_NAME = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=100)
@given(
    qname=_NAME,
    qtype=st.sampled_from(["A", "AAAA"]),
    v4=st.lists(st.ip_addresses(v=4).map(str), max_size=6, unique=True),
    v6=st.lists(st.ip_addresses(v=6).map(str), max_size=6, unique=True),
    cname=st.none() | _NAME,
    rcode=st.sampled_from([0, 2, 3, 5]),
    edns=st.booleans(),
    ttl=st.integers(0, 2**31 - 1),
)
def test_differential_against_dnspython(
    qname: str,
    qtype: str,
    v4: list[str],
    v6: list[str],
    cname: str | None,
    rcode: int,
    edns: bool,
    ttl: int,
) -> None:
    addresses = tuple(v4 if qtype == "A" else v6)
    wire = make_response(
        qname, qtype, addresses=addresses, cname=cname, rcode=rcode, edns=edns, ttl=ttl
    )
    parsed = parse_response(wire, qname, qtype, QID)
    reference = dns.message.from_wire(wire)
    assert parsed is not None and parsed.ok
    assert parsed.rcode == dns.rcode.to_text(reference.rcode())
    expected = [
        (ipaddress.ip_address(item.address).compressed, rrset.ttl)
        for rrset in reference.answer
        if rrset.rdtype == reference.question[0].rdtype
        for item in rrset
    ]
    assert list(zip(parsed.addresses, parsed.ttls, strict=True)) == expected
    assert parsed.cnames == tuple(
        item.target.to_text(omit_final_dot=True).lower()
        for rrset in reference.answer
        if rrset.rdtype == 5
        for item in rrset
    )
    assert parsed.has_opt == (reference.opt is not None)
