"""Targets and sites files: every input case, plus property tests of the parsers."""

from __future__ import annotations

import io
import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from reachcheck.targets import (
    MAX_LINE_BYTES,
    BadLine,
    SiteList,
    SitesFileError,
    TargetError,
    _read_lines,
    check_hostname,
    parse_target,
    read_sites,
)

# ------------------------------------------------------------------------------ parse_target


@pytest.mark.parametrize(
    ("text", "url", "domain", "port"),
    [
        ("example.test", "https://example.test/", "example.test", 443),
        ("  Example.TEST.  ", "https://example.test/", "example.test", 443),
        ("http://example.test", "http://example.test/", "example.test", 80),
        ("https://example.test:8443/a?b=1#frag", "https://example.test:8443/a?b=1",
         "example.test", 8443),
        ("example.test:443", "https://example.test/", "example.test", 443),
        ("bücher.test", "https://xn--bcher-kva.test/", "xn--bcher-kva.test", 443),
        ("https://ÉCOLE.test/ü", "https://xn--cole-9oa.test/ü", "xn--cole-9oa.test", 443),
    ],
)
def test_parse_target(text: str, url: str, domain: str, port: int) -> None:
    target = parse_target(text)
    assert (target.url, target.domain, target.port, target.is_ip) == (url, domain, port, False)
    assert target.given == text


@pytest.mark.parametrize(
    ("text", "domain", "url"),
    [
        ("127.0.0.1", "127.0.0.1", "https://127.0.0.1/"),
        ("http://127.0.0.1:8080/x", "127.0.0.1", "http://127.0.0.1:8080/x"),
        ("[::1]", "::1", "https://[::1]/"),
        ("https://[0:0::1]:8443", "::1", "https://[::1]:8443/"),
    ],
)
def test_ip_literals_are_allowed_and_flagged(text: str, domain: str, url: str) -> None:
    target = parse_target(text)
    assert target.is_ip and target.domain == domain and target.url == url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("example.test:99999", "not a valid URL"),
        ("example.test:0", "port 0"),
        ("example.test:http", "not a valid URL"),
        ("ftp://example.test/", "unsupported scheme"),
        ("https://", "no host"),
        ("exa mple.test", "invalid host name"),
        ("-bad.test", "invalid host name"),
        ("a..b.test", "invalid host name"),
        ("x" * 64 + ".test", "invalid host name"),
        (".".join(["abcdefgh"] * 30), "invalid host name"),
        ("[::1", "not a valid URL"),
        ("exa$mple.test", "invalid host name"),
    ],
)
def test_parse_target_rejects(text: str, reason: str) -> None:
    with pytest.raises(TargetError, match=reason) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_check_hostname() -> None:
    assert check_hostname("Bücher.test") == "xn--bcher-kva.test"
    with pytest.raises(TargetError, match="IP address"):
        check_hostname("127.0.0.1")


@given(domains(max_length=253))
def test_any_domain_parses(name: str) -> None:
    target = parse_target(name)
    assert target.domain == name.lower().rstrip(".")
    assert target.url == f"https://{target.domain}/" and not target.is_ip


@given(urls())
def test_any_url_parses(url: str) -> None:
    target = parse_target(url)
    assert target.scheme == url.split(":", 1)[0]
    assert 1 <= target.port <= 65535
    assert target.url.startswith(f"{target.scheme}://{target.domain}")
    assert "#" not in target.url  # fragments are never sent


@given(st.ip_addresses())
def test_any_ip_parses(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    text = f"[{ip}]" if ip.version == 6 else str(ip)
    target = parse_target(text)
    assert target.is_ip and target.domain == ip.compressed


@given(st.text())
def test_arbitrary_text_raises_only_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError as exc:
        assert "\n" not in str(exc)
    else:
        assert target.scheme in ("http", "https") and target.domain


# ------------------------------------------------------------------------------ sites files


def _sites(tmp_path: Path, content: str | bytes, **kwargs: object) -> SiteList:
    path = tmp_path / "sites.txt"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return SiteList(path, **kwargs)  # type: ignore[arg-type]


def test_comments_blank_lines_and_fragments(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "# header comment\n\n  a.test   # trailing\n"
                             "b.test\t# tab comment\nhttps://c.test/page#frag\n   \n")
    assert [t.url for t in sites] == ["https://a.test/", "https://b.test/", "https://c.test/page"]
    assert sites.bad == [] and sites.duplicates == []


def test_bom_and_crlf(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "\ufeffa.test\r\nb.test\r\n")
    assert [t.domain for t in sites] == ["a.test", "b.test"]


def test_idn_and_ip_lines(tmp_path: Path) -> None:
    targets = list(_sites(tmp_path, "bücher.test\n127.0.0.1\n[::1]:8443\n"))
    assert [(t.domain, t.is_ip) for t in targets] == [
        ("xn--bcher-kva.test", False), ("127.0.0.1", True), ("::1", True)]


def test_bad_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "good.test\nhttps://bad.test:70000/\nfoo bar baz\n"
                             "ftp://x.test\nalso-good.test\n")
    assert [t.domain for t in sites] == ["good.test", "also-good.test"]
    assert [(b.lineno, b.text_preview) for b in sites.bad] == [
        (2, "https://bad.test:70000/"), (3, "foo bar baz"), (4, "ftp://x.test")]
    assert all(isinstance(b, BadLine) and b.path.endswith("sites.txt") for b in sites.bad)
    assert "Port out of range" in sites.bad[0].reason
    assert str(sites.bad[1]).startswith(f"{sites.path}:3: ")


def test_duplicates_are_dropped_with_a_note(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "a.test\nhttps://a.test/\nA.TEST\nhttp://a.test\n")
    assert [t.url for t in sites] == ["https://a.test/", "http://a.test/"]
    assert [(d.lineno, d.reason) for d in sites.duplicates] == [
        (2, "duplicate of line 1"), (3, "duplicate of line 1")]
    assert sites.bad == []


def test_strict_makes_a_bad_line_fatal(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "a.test\n\nnot a host\n", strict=True)
    with pytest.raises(SitesFileError, match=r"sites\.txt:3: invalid host name"):
        list(sites)


def test_strict_allows_duplicates(tmp_path: Path) -> None:
    assert len(list(_sites(tmp_path, "a.test\na.test\n", strict=True))) == 1


def test_non_utf8_line(tmp_path: Path) -> None:
    sites = _sites(tmp_path, b"a.test\n\xff\xfe.test\nb.test\n")
    assert [t.domain for t in sites] == ["a.test", "b.test"]
    assert [(b.lineno, b.reason) for b in sites.bad] == [(2, "not UTF-8 text")]


def test_control_characters_are_escaped_in_previews(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "bad\x1b[31mhost\n")
    list(sites)
    assert "\x1b" not in sites.bad[0].text_preview and "\\x1b" in sites.bad[0].text_preview


def test_ten_megabyte_line_is_rejected(tmp_path: Path) -> None:
    sites = _sites(tmp_path, b"a.test\n" + b"x" * 10_000_000 + b"\nb.test\n")
    assert [t.domain for t in sites] == ["a.test", "b.test"]
    [bad] = sites.bad
    assert bad.lineno == 2 and "longer than" in bad.reason and len(bad.text_preview) < 100


def test_long_line_is_read_in_bounded_pieces() -> None:
    class Recording(io.BytesIO):
        largest = 0

        def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
            assert size is not None and size > 0  # never an unbounded read
            line = super().readline(size)
            Recording.largest = max(Recording.largest, len(line))
            return line

    stream = Recording(b"x" * 1_000_000 + b"\nshort\n")
    lines = [(n, raw) for n, raw, _head in _read_lines(stream, MAX_LINE_BYTES)]
    assert lines == [(1, None), (2, b"short\n")]
    assert Recording.largest <= 1 << 16


def test_line_exactly_at_the_limit_without_newline(tmp_path: Path) -> None:
    name = ("a" * 60 + ".") * 4 + "test"
    sites = _sites(tmp_path, name.encode(), max_line=len(name))
    assert [t.domain for t in sites] == [name]


def test_citizen_lab_csv(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "url,category_code,category_description,date_added,source,notes\n"
                             "http://a.test/,NEWS,News Media,2017-04-12,,\n"
                             '"https://b.test/x,y",HUMR,"Human Rights, Issues",2018-01-01,cl,\n'
                             "\n"
                             ",NEWS,News Media,2017-04-12,,\n"
                             "https://a.test/,NEWS,News,2017-04-12,,\n")
    assert [t.url for t in sites] == ["http://a.test/", "https://b.test/x,y", "https://a.test/"]
    assert [(b.lineno, b.reason) for b in sites.bad] == [(5, "CSV row has no url")]


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "\ufeffurl,category_code\r\nhttps://a.test/,NEWS\r\n")
    assert [t.url for t in sites] == ["https://a.test/"]


def test_plain_file_with_a_comma_is_not_csv(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "a.test,b.test\nc.test\n")
    assert [t.domain for t in sites] == ["c.test"]
    assert sites.bad[0].lineno == 1


def test_iteration_is_lazy_and_repeatable(tmp_path: Path) -> None:
    sites = _sites(tmp_path, "a.test\nbad host\nb.test\n")
    stream = iter(sites)
    assert next(stream).domain == "a.test"  # a generator: yields before reading everything
    assert sites.bad == []
    assert [t.domain for t in stream] == ["b.test"]
    assert [t.domain for t in sites] == ["a.test", "b.test"]  # a second pass starts afresh
    assert len(sites.bad) == 1


def test_read_sites(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("a.test\nnope nope\n")
    targets, bad = read_sites(path)
    assert [t.domain for t in targets] == ["a.test"] and [b.lineno for b in bad] == [2]


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        list(SiteList(tmp_path / "missing.txt"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(domains(max_length=253), urls()), max_size=20))
def test_generated_lists_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                    names: list[str]) -> None:
    path = tmp_path_factory.mktemp("sites") / "sites.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    sites = SiteList(path)
    targets = list(sites)
    assert sites.bad == []
    urls_seen = [parse_target(n).url for n in names]
    assert [t.url for t in targets] == list(dict.fromkeys(urls_seen))
    assert sites.duplicate_count == len(urls_seen) - len(set(urls_seen))


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_arbitrary_bytes_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                     content: bytes, strict: bool) -> None:
    path = tmp_path_factory.mktemp("sites") / "sites.txt"
    path.write_bytes(content)
    sites = SiteList(path, strict=strict, max_line=64)
    try:
        targets = list(sites)
    except SitesFileError as exc:
        assert strict and "\n" not in str(exc)
    else:
        assert all(t.scheme in ("http", "https") for t in targets)
        assert all("\n" not in b.text_preview for b in sites.bad)
