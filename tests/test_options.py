"""Option-value parsers: good values convert, bad ones raise one-line click.BadParameter."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from reachcheck import options
from reachcheck.config import DohServer


def _rejects(parse: Callable[[Any], Any], value: Any, match: str | None = None) -> str:
    with pytest.raises(click.BadParameter, match=match) as info:
        parse(value)
    message = info.value.format_message()
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 127.0.0.53 ", ("127.0.0.53", 53)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[0::1]:5300", ("::1", 5300)),
    ],
)
def test_parse_resolver(text: str, expected: tuple[str, int]) -> None:
    assert options.parse_resolver(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
     "[::1", "[::1]5353", "[127.0.0.1]:53", "300.1.1.1", "::1:53:x", "1.2.3.4:-1",
     "127.0.0.1:٥٣"],
)
def test_parse_resolver_rejects(text: str) -> None:
    _rejects(options.parse_resolver, text)


@given(st.ip_addresses(), st.integers(1, 65535))
def test_resolver_round_trip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                             port: int) -> None:
    text = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    assert options.parse_resolver(text) == (ip.compressed, port)
    assert options.parse_resolver(str(ip)) == (ip.compressed, 53)


@given(st.text(max_size=80))
def test_resolver_arbitrary_text(text: str) -> None:
    try:
        host, port = options.parse_resolver(text)
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()
    else:
        ipaddress.ip_address(host)
        assert 1 <= port <= 65535


@given(domains())
def test_resolver_refuses_host_names(name: str) -> None:
    _rejects(options.parse_resolver, name)


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("127.0.0.1:8443", None, ("127.0.0.1", 8443)),
        ("127.0.0.1", 53, ("127.0.0.1", 53)),
        ("[::1]:5353", None, ("::1", 5353)),
        ("[0::1]", 53, ("::1", 53)),
        ("::1", 53, ("::1", 53)),
        ("localhost:80", None, ("localhost", 80)),
        ("[::]:8443", None, ("::", 8443)),
        (" control.test ", 443, ("control.test", 443)),
    ],
)
def test_parse_hostport_with_names(text: str, default: int | None,
                                   expected: tuple[str, int]) -> None:
    assert options.parse_hostport(text, default, names=True) == expected


@pytest.mark.parametrize(
    ("text", "names", "message"),
    [
        ("127.0.0.1:0", True, "bad port in '127.0.0.1:0' (use 1-65535)"),
        ("h:x", True, "bad port in 'h:x' (use 1-65535)"),
        ("h:٥٣", True, "bad port in 'h:٥٣' (use 1-65535)"),
        ("[::1", True, "'[::1' is not HOST:PORT or [IPv6]:PORT"),
        ("[::1", False, "'[::1' is not IP[:PORT] or [IPv6]:PORT"),
        ("[127.0.0.1]:80", True, "'[127.0.0.1]:80': brackets are for IPv6 addresses"),
        ("[site.test]:80", True, "'site.test' is not an IPv6 address"),
        (":80", True, "no host in ':80'"),
        (":80", False, "'' is not an IPv4 address"),
        ("localhost", True, "no port in 'localhost'"),
        ("::1", True, "no port in '::1'"),
        ("[::1]", False, "no port in '[::1]'"),
        ("site.test:80", False, "'site.test' is not an IPv4 address"),
    ],
)
def test_parse_hostport_messages(text: str, names: bool, message: str) -> None:
    got = _rejects(lambda t: options.parse_hostport(t, None, names=names), text)
    assert got == f"Invalid value: {message}"


def test_injection_probe() -> None:
    assert options.parse_injection_probe("none") is None
    assert options.parse_injection_probe("NONE") is None
    assert options.parse_injection_probe("127.0.0.9") == ("127.0.0.9", 53)
    assert options.parse_injection_probe("127.0.0.9:5300") == ("127.0.0.9", 5300)
    _rejects(options.parse_injection_probe, "probe.test")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://doh.test/dns-query", DohServer("https://doh.test/dns-query", ())),
        ("https://doh.test/dns-query@127.0.0.1", DohServer("https://doh.test/dns-query",
                                                           ("127.0.0.1",))),
        ("https://doh.test/q@127.0.0.1, ::1",
         DohServer("https://doh.test/q", ("127.0.0.1", "::1"))),
        ("https://127.0.0.1:8443/dns-query", DohServer("https://127.0.0.1:8443/dns-query",
                                                       ("127.0.0.1",))),
        ("https://[::1]:8443/q", DohServer("https://[::1]:8443/q", ("::1",))),
        ("none", None),
    ],
)
def test_parse_doh(text: str, expected: DohServer | None) -> None:
    assert options.parse_doh(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("http://127.0.0.1/dns-query", "https://"),
        ("doh.test/dns-query", "https://"),
        ("https:///dns-query", "no host"),
        ("https://doh.test:99999/q", "not a valid URL"),
        ("https://doh.test/q@doh-ip.test", "bootstrap IP"),
        ("https://doh.test/q@127.0.0.1,", "bootstrap IP"),
    ],
)
def test_parse_doh_rejects(text: str, match: str) -> None:
    _rejects(options.parse_doh, text, match)


def test_parse_doh_list() -> None:
    assert options.parse_doh_list(()) is None
    assert options.parse_doh_list(("none",)) == ()
    servers = options.parse_doh_list(("https://a.test/q@127.0.0.1", "https://b.test/q@::1"))
    assert servers is not None and [s.url for s in servers] == ["https://a.test/q",
                                                                "https://b.test/q"]
    _rejects(options.parse_doh_list, ("none", "https://a.test/q"), "cannot be combined")


@given(urls())
def test_doh_accepts_https_urls_only(url: str) -> None:
    url = url.split("#", 1)[0]
    if "@" in url:  # an "@" in a generated path would read as bootstrap syntax
        return
    if url.startswith("https://"):
        server = options.parse_doh(url)
        assert server is not None and server.url == url
    else:
        _rejects(options.parse_doh, url, "https://")


@given(st.text(max_size=80))
def test_doh_arbitrary_text(text: str) -> None:
    try:
        options.parse_doh(text)
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()


@pytest.mark.parametrize("value", ["0.001", "5", 300, "300.0"])
def test_timeout_accepts(value: Any) -> None:
    assert options.parse_timeout(value) == float(value)


@pytest.mark.parametrize("value", ["0", 0, "-1", "300.01", "nan", "inf", "abc", ""])
def test_timeout_rejects(value: Any) -> None:
    _rejects(options.parse_timeout, value)


def test_hold_on() -> None:
    assert options.parse_hold_on("0") == 0.0
    _rejects(options.parse_hold_on, "-0.1")
    _rejects(options.parse_hold_on, "301")


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("10000", True), (64, True),
                                           ("0", False), ("10001", False), ("1.5", False),
                                           ("-3", False), ("many", False)])
def test_concurrency(value: Any, ok: bool) -> None:
    if ok:
        assert options.parse_concurrency(value) == int(value)
    else:
        _rejects(options.parse_concurrency, value)


@given(st.integers())
def test_concurrency_range(n: int) -> None:
    if 1 <= n <= options.MAX_CONCURRENCY:
        assert options.parse_concurrency(str(n)) == n
    else:
        _rejects(options.parse_concurrency, str(n), "between 1 and")


def test_rate() -> None:
    assert options.parse_rate("0.5") == 0.5
    for bad in ("0", "-1", "nan", "x"):
        _rejects(options.parse_rate, bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("dns", {"dns"}), ("DNS, tls", {"dns", "tls"}), ("dns,tcp,tls,http", {"dns", "tcp", "tls",
                                                                         "http"})],
)
def test_stages(text: str, expected: set[str]) -> None:
    assert options.parse_stages(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["", ",", "dns,smtp", "all"])
def test_stages_reject(text: str) -> None:
    _rejects(options.parse_stages, text)


@given(st.text(max_size=40))
def test_stages_arbitrary_text(text: str) -> None:
    try:
        stages = options.parse_stages(text)
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()
    else:
        assert stages and stages <= {"dns", "tcp", "tls", "http"}


def test_ca_bundle(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(pem))
    assert options.parse_ca_bundle(str(pem)) == str(pem)


def test_ca_bundle_rejects(tmp_path: Path) -> None:
    _rejects(options.parse_ca_bundle, str(tmp_path / "missing.pem"), "no such file")
    _rejects(options.parse_ca_bundle, str(tmp_path), "no such file")  # a directory
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    _rejects(options.parse_ca_bundle, str(garbage), "no PEM certificates")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    _rejects(options.parse_ca_bundle, str(empty), "no PEM certificates")


def test_hostname() -> None:
    assert options.parse_hostname("Benign.TEST") == "benign.test"
    _rejects(options.parse_hostname, "127.0.0.1", "IP address")
    _rejects(options.parse_hostname, "not a name")


def test_control_url() -> None:
    assert options.parse_control_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"
    _rejects(options.parse_control_url, "ftp://127.0.0.1/")
    _rejects(options.parse_control_url, "127.0.0.1")


def test_token_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("  s3cret  \nsecond line\n")
    assert options.read_token_file(str(token)) == "s3cret"
    token.write_text("\n")
    _rejects(options.read_token_file, str(token), "empty")
    _rejects(options.read_token_file, str(tmp_path / "missing"), "cannot read")


def test_public_range() -> None:  # no-network: parsing only
    assert options.parse_public_range(" 10.1.2.3/8 ") == "10.0.0.0/8"
    assert options.parse_public_range("2001:db8::1/32") == "2001:db8::/32"
    message = _rejects(options.parse_public_range, "x" * 80, "is not an IP network")
    assert "x" * 60 + "..." in message and "x" * 61 not in message


def test_label() -> None:
    assert options.parse_label("  Shanghai, China Telecom ") == "Shanghai, China Telecom"
    _rejects(options.parse_label, "two\nlines")
