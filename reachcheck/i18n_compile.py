"""Compile the gettext catalogs: `python -m reachcheck.i18n_compile` turns every
`reachcheck/locale/*/LC_MESSAGES/reachcheck.po` into the `.mo` beside it.

A small stand-in for GNU msgfmt (no extra tool to install): it reads the subset of the PO
format the catalogs use (comments, `msgctxt`-free entries, `msgid_plural`/`msgstr[N]`,
multi-line strings with C escapes) and writes the GNU MO format `gettext` reads, entries sorted
by msgid so the output is byte-for-byte reproducible. Fuzzy and empty translations are left out.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

from reachcheck.i18n import DOMAIN, LOCALE_DIR

MO_MAGIC = 0x950412DE


class PoError(ValueError):
    """A .po file this reader does not understand (message names file and line)."""


def parse_po(text: str, name: str = "<po>") -> dict[str, str]:
    """{msgid: msgstr} of a PO file; plural entries as 'singular\\0plural' -> 'form0\\0form1...'."""
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal current, fuzzy
        if "msgid" in current:
            msgid = current["msgid"]
            if "msgid_plural" in current:
                msgid += "\0" + current["msgid_plural"]
                forms = [current[k] for k in sorted(k for k in current if k.startswith("msgstr["))]
                msgstr = "\0".join(forms)
            else:
                msgstr = current.get("msgstr", "")
            if msgstr.strip("\0") and not (fuzzy and msgid):
                entries[msgid] = msgstr
        current, fuzzy = {}, False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            key = None
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise PoError(f"{name}:{lineno}: a string continues no keyword")
            current[key] += _unquote(line, name, lineno)
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and "msgid" in current:
            flush()
        if not (word in ("msgid", "msgid_plural", "msgstr") or word.startswith("msgstr[")):
            raise PoError(f"{name}:{lineno}: unknown keyword {word!r}")
        key = word
        current[key] = _unquote(rest.strip(), name, lineno)
    flush()
    return entries


def _unquote(token: str, name: str, lineno: int) -> str:
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise PoError(f"{name}:{lineno}: expected a quoted string")
    try:
        value = ast.literal_eval(token)  # PO strings use C escapes, a subset of Python's
    except (ValueError, SyntaxError) as exc:
        raise PoError(f"{name}:{lineno}: bad string: {exc}") from None
    if not isinstance(value, str):
        raise PoError(f"{name}:{lineno}: expected a string")
    return value


def build_mo(entries: dict[str, str]) -> bytes:
    """The GNU MO file for `entries` (no hash table: gettext does not need one)."""
    ids = sorted(entries)
    keys = [i.encode("utf-8") for i in ids]
    values = [entries[i].encode("utf-8") for i in ids]
    header_size = 7 * 4
    table_size = len(ids) * 8
    key_start = header_size + 2 * table_size
    value_start = key_start + sum(len(k) + 1 for k in keys)
    key_table, value_table = b"", b""
    position = key_start
    for k in keys:
        key_table += struct.pack("<II", len(k), position)
        position += len(k) + 1
    position = value_start
    for v in values:
        value_table += struct.pack("<II", len(v), position)
        position += len(v) + 1
    header = struct.pack("<7I", MO_MAGIC, 0, len(ids), header_size, header_size + table_size,
                         0, 0)
    return (header + key_table + value_table + b"".join(k + b"\0" for k in keys)
            + b"".join(v + b"\0" for v in values))


def catalogs() -> list[Path]:
    """Every shipped .po file."""
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_catalog(po: Path) -> bytes:
    return build_mo(parse_po(po.read_text("utf-8"), str(po)))


def main() -> int:
    for po in catalogs():
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_catalog(po))
        print(f"{po} -> {mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
