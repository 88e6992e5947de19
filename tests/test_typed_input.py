"""Input typed with a Chinese IME: full-width URL syntax, UTS 46 host names, errors naming the
character at fault."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import domains

from reachcheck.targets import TargetError, check_hostname, parse_target
from reachcheck.typed_input import HostNameError, idna_host, normalise_url_syntax


def full_width(text: str) -> str:
    """What a Chinese IME in full-width mode types for ASCII `text`."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("https：//coingecko.com", "https://coingecko.com/"),  # the report
        ("https：／／coingecko．com／", "https://coingecko.com/"),
        ("coingecko。com", "https://coingecko.com/"),  # ideographic full stop
        ("ｃｏｉｎｇｅｃｋｏ．ｃｏｍ", "https://coingecko.com/"),
        ("http：//example.test：8080/a", "http://example.test:8080/a"),
        ("https﹕//example.test", "https://example.test/"),  # small-form colon
        ("　example.test　", "https://example.test/"),  # ideographic spaces around it
        ("［：：1］：8443", "https://[::1]:8443/"),
    ],
)
def test_ime_punctuation_is_read_as_ascii(typed: str, url: str) -> None:
    target = parse_target(typed)
    assert target.url == url
    assert target.given == typed  # the record keeps what the user typed


def test_path_and_query_keep_their_full_width_text() -> None:
    # A search term may be full-width on purpose: only scheme and host are URL syntax.
    target = parse_target("https：//例子.测试/搜索？q＝１")
    assert target.url == "https://xn--fsqu00a.xn--0zwm56d/搜索？q＝１"


@given(domains())
def test_full_width_domain_equals_ascii_domain(domain: str) -> None:
    assert parse_target(full_width(domain)).url == parse_target(domain).url


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_text_is_never_changed(text: str) -> None:
    assert normalise_url_syntax(text) == text


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("faß.de", "xn--fa-hia.de"),  # UTS 46 non-transitional, as browsers; IDNA 2003: fass.de
        ("FAß.DE", "xn--fa-hia.de"),
        ("βόλος.test", "xn--nxasmm1c.test"),  # final sigma kept (transitional would map it)
        ("bücher.test", "xn--bcher-kva.test"),
        ("例子。测试", "xn--fsqu00a.xn--0zwm56d"),
        ("xn--fa-hia.de", "xn--fa-hia.de"),
        ("under_score.test", "under_score.test"),  # real names use '_' (kept as before)
    ],
)
def test_uts46(name: str, encoded: str) -> None:
    assert idna_host(name) == encoded
    assert check_hostname(name) == encoded


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("a b.test", "' ' (U+0020 SPACE)"),
        ("exa$mple.test", "'$' (U+0024 DOLLAR SIGN)"),
        ("love❤.test", "'❤' (U+2764 HEAVY BLACK HEART)"),
        ("x\u00a0y.test", r"'\xa0' (U+00A0 NO-BREAK SPACE)"),  # named as typed, not as mapped
        ("x\x00y.test", r"'\x00' (U+0000)"),
    ],
)
def test_errors_name_the_offending_character(typed: str, named: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_target(typed)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


@pytest.mark.parametrize("typed", ["a..test", "-a.test", "x" * 64 + ".test",
                                   ".".join(["abcdefghi"] * 30)])
def test_malformed_names_are_refused(typed: str) -> None:
    with pytest.raises(HostNameError):
        idna_host(typed)


def test_contextual_rule_failures_say_why() -> None:
    # A zero-width joiner is allowed only after a virama: the message is idna's own reason.
    with pytest.raises(HostNameError, match="joiner"):
        idna_host("ex\u200dample.test")


def test_ascii_shortcut_matches_uts46() -> None:
    """idna_host lower-cases ASCII instead of running UTS 46's table: the same thing."""
    import idna

    for code in range(0x20, 0x7F):
        char = chr(code)
        assert idna.uts46_remap(char, std3_rules=False, transitional=False) == char.lower()
