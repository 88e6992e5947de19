"""Line breaking for the table: Latin at spaces, CJK between characters, by terminal cells."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from reachcheck.output.wrap import tokens, wrap

TEXT = st.text(alphabet=st.sampled_from(list("ab cd-:;.，。（）中文字 ")), max_size=120)


@given(TEXT, st.integers(min_value=2, max_value=60))
def test_lines_fit_and_lose_nothing_but_spaces(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(cell_len(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "udp:127.0.0.1:53;"]), max_size=30),
       st.integers(min_value=17, max_value=80))
def test_latin_words_are_never_split(words: list[str], width: int) -> None:
    assert wrap(" ".join(words), width) == (wrap(" ".join(words), width))
    printed = [w for line in wrap(" ".join(words), width) for w in line.split()]
    assert printed == words


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [("DNS 应答在传输路径上被伪造（3 个应答）；另外", 36,
      ["DNS 应答在传输路径上被伪造（3 个应", "答）；另外"]),
     ("中文中文，", 8, ["中文中", "文，"]),  # "，" never starts a line
     ("一二三（四", 8, ["一二三", "（四"]),  # "（" never ends one
     ("abcdefghij", 4, ["abcd", "efgh", "ij"]),  # only a word wider than the line is cut
     ("one\ntwo", 10, ["one", "two"])],
)
def test_examples(text: str, width: int, lines: list[str]) -> None:
    assert wrap(text, width) == lines


def test_tokens() -> None:
    assert tokens("SNI 为该 cert_unknown_ca") == ["SNI", "为", "该", "cert_unknown_ca"]
