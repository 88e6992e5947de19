"""Text as people type it -> URL syntax and host names a resolver understands.

Two jobs for `reachcheck.targets`, both about input typed with an East Asian input method:

- `normalise_url_syntax`: a Chinese IME types full-width punctuation (`https：／／coingecko．com`).
  The characters whose compatibility form (NFKC) is an ASCII character are mapped to it, but
  only in the scheme and the authority (`scheme://host:port`) and the one delimiter that ends
  it: a path or query may hold full-width text on purpose (a search term) and is left as typed.
  The mapping is one character to one character, so positions in the text do not move.
- `idna_host`: a host name -> its ASCII (A-label) form per UTS 46 (non-transitional, as browsers
  do: `faß.de` -> `xn--fa-hia.de`, not IDNA 2003's `fass.de`), or `HostNameError` naming the
  first character that is not allowed.
"""

from __future__ import annotations

import unicodedata

import idna
from idna import idnadata
from idna.intranges import intranges_contain

from reachcheck.i18n import _

MAX_NAME = 253  # RFC 1035 presentation length without the final dot
MAX_LABEL = 63


class HostNameError(ValueError):
    """A host name that cannot be encoded; the message (one line) names the offending character."""


def _url_syntax_map() -> dict[int, str]:
    """Characters whose NFKC form is one ASCII character, from the blocks IMEs type from."""
    table: dict[int, str] = {}
    blocks = (
        (0xFF01, 0xFF5E),  # full-width ASCII: ！ … ～ (letters, digits, ：／．？＃＠［］)
        (0xFE10, 0xFE19),  # vertical forms: ︓ ︔
        (0xFE30, 0xFE4F),  # CJK compatibility forms
        (0xFE50, 0xFE6B),  # small forms: ﹒ ﹕ ﹖ ﹟ ﹫
        (0x2024, 0x2024),  # one dot leader
        (0x2044, 0x2044),  # fraction slash
    )
    for first, last in blocks:
        for code in range(first, last + 1):
            folded = unicodedata.normalize("NFKC", chr(code))
            if len(folded) == 1 and folded.isascii() and folded.isprintable():
                table[code] = folded
    # Ideographic full stops: not NFKC dots, but what a Chinese IME types for "." (UTS 46
    # maps them to "." in host names too). An ideographic space is a space.
    table.update({0x3002: ".", 0xFF61: ".", 0x3000: " "})
    return table


_URL_SYNTAX = _url_syntax_map()
_AUTHORITY_END = "/?#"


def normalise_url_syntax(text: str) -> str:
    """`text` with IME full-width punctuation in its scheme and authority mapped to ASCII."""
    if text.isascii():
        return text
    mapped = text.translate(_URL_SYNTAX)  # one character for one: indexes agree with `text`
    start = mapped.find("://")
    start = start + 3 if start >= 0 and mapped[:start].isalpha() else 0
    ends = [i for i in (mapped.find(c, start) for c in _AUTHORITY_END) if i >= 0]
    end = min(ends) + 1 if ends else len(text)  # the delimiter itself is syntax too
    return mapped[:end] + text[end:]


def describe_char(char: str) -> str:
    """`'ß' (U+00DF LATIN SMALL LETTER SHARP S)`: a character named so anyone can find it."""
    shown = char if char.isprintable() and not char.isspace() else ascii(char)[1:-1]
    name = unicodedata.name(char, "")
    return f"'{shown}' (U+{ord(char):04X}{' ' + name if name else ''})"


def _ascii_label_ok(label: str) -> str | None:
    """None if an ASCII label is usable, else the first bad character."""
    for char in label:
        if not (char.isalnum() or char in "-_"):
            return char
    return None


def _idna2008_allowed(char: str) -> bool:
    """IDNA 2008 lets the code point into a label (always, or in some contexts)."""
    classes = idnadata.codepoint_classes
    return any(intranges_contain(ord(char), classes[c]) for c in ("PVALID", "CONTEXTJ", "CONTEXTO"))


def _disallowed(label: str) -> str | None:
    """The first character of a non-ASCII label that IDNA 2008 never allows, if any."""
    for char in label:
        if char.isascii():
            if _ascii_label_ok(char) is not None:
                return char
        elif not _idna2008_allowed(char):
            return char
    return None


def idna_host(host: str) -> str:
    """The A-label form of a host name (lower case, final dot dropped), per UTS 46."""
    shown = host if len(host) <= 60 else host[:60] + "..."
    try:
        # UTS 46 maps ASCII by lower-casing it only: skip its per-character table (8x slower).
        mapped = (host.lower() if host.isascii()
                  else idna.uts46_remap(host, std3_rules=False, transitional=False))
    except idna.IDNAError:
        bad = next((c for c in host if not _remaps(c)), None)
        if bad:
            raise HostNameError(_("invalid host name {name}: character {char} is not allowed"
                                  ).format(name=repr(shown), char=describe_char(bad))) from None
        raise HostNameError(f"invalid host name {shown!r}: not a host name") from None
    mapped = mapped.rstrip(".")
    labels = mapped.split(".")
    encoded: list[str] = []
    for label in labels:
        if not label:
            raise HostNameError(f"invalid host name {shown!r}: empty label")
        if label.isascii():
            bad = _ascii_label_ok(label)
            if bad is not None:
                bad = _as_typed(host, bad)
                raise HostNameError(
                    _("invalid host name {name}: character {char} is not allowed").format(
                        name=repr(shown), char=describe_char(bad)))
            ascii_label = label
        else:
            try:
                ascii_label = idna.alabel(label).decode("ascii")
            except (idna.IDNAError, UnicodeError) as exc:
                bad = _disallowed(label)
                bad = _as_typed(host, bad) if bad else None
                if bad:
                    raise HostNameError(_("invalid host name {name}: character {char} is not "
                                          "allowed").format(name=repr(shown),
                                                            char=describe_char(bad))) from None
                raise HostNameError(_("invalid host name {name}: {reason}").format(
                    name=repr(shown), reason=" ".join(str(exc).split()))) from None
        if ascii_label.startswith("-"):
            raise HostNameError(f"invalid host name {shown!r}: a label starts with '-'")
        if len(ascii_label) > MAX_LABEL:
            raise HostNameError(f"invalid host name {shown!r}: a label is longer than "
                                f"{MAX_LABEL} characters")
        encoded.append(ascii_label.lower())
    name = ".".join(encoded)
    if len(name) > MAX_NAME:
        raise HostNameError(f"invalid host name {shown!r}: longer than {MAX_NAME} characters")
    return name


def _remaps(char: str) -> bool:
    try:
        idna.uts46_remap(char, std3_rules=False, transitional=False)
    except idna.IDNAError:
        return False
    return True


def _as_typed(host: str, mapped_char: str) -> str:
    """The character of `host` that UTS 46 mapped to `mapped_char` (a no-break space, not
    the space it became), so the message names what the user typed."""
    for char in host:
        if _remaps(char) and mapped_char in idna.uts46_remap(char, False, False):
            return char
    return mapped_char
