"""Validation of `POST /v1/measure` bodies."""

from __future__ import annotations

import json

import pytest

from reachcheck.control.protocol import MAX_ADDRESSES, MAX_BODY, RequestError, parse_measure_request


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_valid_request_is_normalised() -> None:
    req = parse_measure_request(
        body(url="HTTPS://Example.COM", addresses=["192.0.2.1", "2001:DB8::1", "192.0.2.1"],
             future_field=True)
    )
    assert req.target.url == "https://example.com/"
    assert req.target.domain == "example.com"
    assert req.addresses == ("192.0.2.1", "2001:db8::1")  # canonical, deduplicated


def test_addresses_default_to_none() -> None:
    assert parse_measure_request(body(url="http://example.com/x")).addresses == ()


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (body(addresses=[]), "'url'"),
        (body(url=42), "'url'"),
        (body(url="ftp://example.com/"), "unsupported scheme"),
        (body(url="https://"), "'url'"),
        (body(url="https://" + "a" * 3000 + ".com/"), "longer than"),
        (body(url="https://example.com/", addresses="192.0.2.1"), "list"),
        (body(url="https://example.com/", addresses=["example.com"]), "not an IP"),
        (body(url="https://example.com/", addresses=[7]), "not an IP"),
        (body(url="https://example.com/", addresses=["fe80::1%eth0"]), "not an IP"),
        (body(url="https://a.test/", addresses=["192.0.2.1"] * (MAX_ADDRESSES + 1)), "more than"),
    ],
)
def test_bad_requests_name_the_problem(raw: bytes, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_measure_request(raw)
    assert info.value.status == 400
    assert info.value.name == "bad_request"
    assert fragment in info.value.reason


def test_oversized_body_is_413() -> None:
    with pytest.raises(RequestError) as info:
        parse_measure_request(b" " * (MAX_BODY + 1))
    assert info.value.status == 413
