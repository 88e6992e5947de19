"""Line breaking for the table: at spaces in Latin text, between characters in CJK text.

rich breaks lines only at whitespace, so a Chinese sentence (no spaces) is one "word" that it
moves to a new line and then chops wherever the column ends. Here CJK characters are break
opportunities of their own, except that closing punctuation (，。）…) never starts a line and
opening punctuation never ends one. Widths are terminal cells (a CJK character takes two).
A word wider than the whole line is the only thing ever cut.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

# East Asian wide characters: Hangul Jamo, CJK radicals to Yi, Hangul syllables, CJK
# compatibility ideographs and forms, full-width forms.
WIDE = ("\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
        "\uffe0-\uffe6")
_UNITS = re.compile(rf"\n|[^\S\n]+|[{WIDE}]|[^\s{WIDE}]+")
_NO_LINE_START = set("，。、；：？！）」』】〉》”’…%,.;:?!)]}")
_NO_LINE_END = set("（「『【〈《“‘([{")


def text_width(text: str) -> int:
    """Terminal cells `text` takes (ASCII: its length, without rich's per-character lookup)."""
    return len(text) if text.isascii() else cell_len(text)


def tokens(text: str) -> list[str]:
    """The pieces of `text` that must stay on one line (words; single CJK characters)."""
    return [u for u in _UNITS.findall(text) if not u.isspace()]


def _fold(word: str, width: int) -> list[str]:
    """A word wider than a line, cut into line-wide pieces."""
    pieces, piece = [], ""
    for char in word:
        if piece and text_width(piece + char) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece] if piece else pieces


def wrap(text: str, width: int) -> list[str]:
    """`text` broken into lines of at most `width` cells (explicit newlines kept)."""
    width = max(width, 2)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []  # units of the current line (spaces included)
        used = 0
        for unit in _UNITS.findall(paragraph):
            if unit.isspace():
                if line:
                    line.append(" ")
                    used += 1
                continue
            size = text_width(unit)
            if used + size <= width:
                line.append(unit)
                used += size
                continue
            carried: list[str] = []
            while line and line[-1] == " ":
                line.pop()
            if unit in _NO_LINE_START:
                # No line starts with "，" or "）": take the closing marks before it and the
                # character they follow along to the next line.
                while line and line[-1] in _NO_LINE_START:
                    carried.insert(0, line.pop())
                if line and len(line[-1]) == 1 and line[-1] != " ":
                    carried.insert(0, line.pop())
            elif line and line[-1] in _NO_LINE_END:
                carried = [line.pop()]
            if carried and text_width("".join(carried)) + size > width:
                line.extend(carried)  # the rule cannot be kept in so narrow a line
                carried = []
            if line:
                lines.append("".join(line).rstrip())
            if size > width:
                *full, rest = _fold("".join(carried) + unit, width)
                lines.extend(full)
                line, used = [rest], text_width(rest)
            else:
                line = [*carried, unit]
                used = sum(text_width(u) for u in line)
        lines.append("".join(line).rstrip())
    return lines
