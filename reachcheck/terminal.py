"""Text made safe for a terminal: the one sanitiser for every string reachcheck prints there.

Strings from a sites file, a saved run or the network (page titles, certificate names, error
texts) can carry escape sequences: an OSC 52 write to the clipboard, `ESC[2J` clearing the
screen, a bidi override making `evil.test` read as `tset.live`. rich strips only a few control
characters and click none, so every such string goes through `sanitize` before it is printed:
C0 and C1 control characters (tab and newline included: one value, one line) and the Unicode
bidi controls become visible escapes like `\\x1b` or `\\u202e`. The JSON keeps the raw text.
"""

from __future__ import annotations

import re

# C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F); bidi embeddings/overrides (U+202A-U+202E),
# isolates (U+2066-U+2069), marks (U+200E, U+200F, U+061C); line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: str) -> str:
    """`text` with every control and bidi character replaced by a visible escape."""
    return _UNSAFE.sub(_escape, text)
