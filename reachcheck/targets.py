"""Targets: a domain or URL as a user writes it -> `Target`.

Sites files are parsed here too: one domain or URL per line, `#` comments (whole line, or after
whitespace, so a URL fragment `page#x` stays part of the URL), blank lines, and Citizen Lab
test-list CSVs (header `url,category_code,...`). `SiteList` reads a file lazily, in bounded
pieces, so a huge list or a giant garbage line never sits in memory as one string.
"""

from __future__ import annotations

import csv
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from reachcheck.model import Target
from reachcheck.typed_input import HostNameError, idna_host, normalise_url_syntax

# Longest line read as a target. Browsers cap URLs near 2-64 KiB; test lists stay far below.
MAX_LINE_BYTES = 8192
_PREVIEW = 60
_PARSE_CACHE = 100_000  # distinct lines remembered to skip re-parsing their duplicates
KEPT_EXAMPLES = 20  # bad and duplicate lines kept as examples; the rest are only counted
_BOM = b"\xef\xbb\xbf"


class TargetError(ValueError):
    """A target that cannot be checked; the message says why in one line."""


class SitesFileError(TargetError):
    """A sites file that cannot be used (with `--strict`: any bad line)."""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of a sites file that was skipped, and why."""

    path: str
    lineno: int
    text_preview: str  # the start of the line, printable (control characters escaped)
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.reason}: {self.text_preview}"


# ASCII labels of 1-63 letters, digits, '-' or '_' (not starting with '-'), an optional final
# dot, and a last label that is not all digits (those may be IPv4 literals: general path).
_PLAIN_NAME = re.compile(
    r"(?:[A-Za-z0-9_][A-Za-z0-9_-]{0,62}\.)*(?=[0-9]*[A-Za-z_-])[A-Za-z0-9_][A-Za-z0-9_-]{0,62}\.?"
)


def parse_target(text: str) -> Target:
    """Parse a bare domain, a host:port or an http(s) URL into a Target.

    A bare domain means https://DOMAIN/. Names are IDNA-encoded (UTS 46) and lower-cased; IP
    literals are allowed and flagged `is_ip`. Full-width punctuation typed with an IME
    (`https：／／`) is read as ASCII in the scheme and host.
    """
    given = text
    text = normalise_url_syntax(text.strip()).strip()
    if not text:
        raise TargetError("empty target")
    if _PLAIN_NAME.fullmatch(text) and len(text) <= 253:
        # A bare ASCII host name (the usual sites-file line): what the general path below
        # makes of it, without a URL parse (big lists are read twice: counted, then run).
        domain = text.rstrip(".").lower()
        return Target(given=given, domain=domain, url=f"https://{domain}/")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetError(f"unsupported scheme {scheme!r} (use http or https)")
    if port == 0:
        raise TargetError("port 0 is not a valid port")
    host = parts.hostname
    if not host:
        raise TargetError("no host name")
    is_ip = False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        domain = _idna(host)
    else:
        domain, is_ip = ip.compressed, True
    port = port or (443 if scheme == "https" else 80)
    netloc = f"[{domain}]" if ":" in domain else domain
    if port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    path = parts.path or "/"
    url = urllib.parse.urlunsplit((scheme, netloc, path, parts.query, ""))
    return Target(given=given, domain=domain, url=url, scheme=scheme, port=port, is_ip=is_ip)  # type: ignore[arg-type]


def _idna(host: str) -> str:
    try:
        return idna_host(host)
    except HostNameError as exc:
        raise TargetError(str(exc)) from None


def check_hostname(name: str) -> str:
    """Validate a DNS host name (not an IP, not a URL) and return its IDNA form."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return _idna(name)
    raise TargetError(f"{name!r} is an IP address, not a host name")


# ------------------------------------------------------------------------------ sites files


def _preview(text: str) -> str:
    """The start of `text`, with control characters escaped so a terminal stays sane."""
    short = text[:_PREVIEW]
    cleaned = "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)
    return cleaned + ("..." if len(text) > _PREVIEW else "")


def _strip_comment(line: str) -> str:
    """Drop a whole-line comment or a trailing one that follows whitespace."""
    if line.lstrip().startswith("#"):
        return ""
    for sep in (" #", "\t#"):
        cut = line.find(sep)
        if cut >= 0:
            line = line[:cut]
    return line.strip()


def _read_lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None, bytes]]:
    """Yield (lineno, line or None if longer than `limit`, first bytes) reading in bounded pieces.

    An over-long line is skipped chunk by chunk up to its newline, never held whole.
    """
    lineno = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        lineno += 1
        if len(chunk) <= limit or chunk.endswith(b"\n"):
            yield lineno, chunk, chunk
            continue
        head = chunk
        while chunk and not chunk.endswith(b"\n"):
            chunk = stream.readline(1 << 16)
        yield lineno, None, head


class SiteList:
    """The targets of a sites file, parsed lazily (iterate it; each pass re-reads the file).

    Bad lines are counted in `bad_count` and dropped duplicates (same normalised URL as an
    earlier line) in `duplicate_count`; only the first KEPT_EXAMPLES of each are kept, in `bad`
    and `duplicates`, so a file of a million duplicate or garbage lines costs no memory for
    them. With `strict`, the first bad line raises `SitesFileError`. Opening or reading the
    file may raise OSError.
    """

    def __init__(self, path: str | os.PathLike[str], *, strict: bool = False,
                 max_line: int = MAX_LINE_BYTES) -> None:
        self.path = os.fspath(path)
        self.strict = strict
        self.max_line = max_line
        self.bad: list[BadLine] = []
        self.duplicates: list[BadLine] = []
        self.bad_count = 0
        self.duplicate_count = 0

    def __iter__(self) -> Iterator[Target]:
        self.bad, self.duplicates = [], []
        self.bad_count = self.duplicate_count = 0
        seen: dict[str, int] = {}  # normalised URL -> first line number
        url_of: dict[str, str] = {}  # line text -> its normalised URL (bounded cache)
        url_column: int | None = None  # set when the file is a Citizen Lab CSV
        first = True
        with open(self.path, "rb") as stream:
            for lineno, raw, head in _read_lines(stream, self.max_line):
                if lineno == 1 and head.startswith(_BOM):
                    raw = raw[len(_BOM):] if raw is not None else None
                    head = head[len(_BOM):]
                if raw is None:
                    self._bad(lineno, head.decode("utf-8", "replace"),
                              f"line longer than {self.max_line} bytes")
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self._bad(lineno, raw.decode("utf-8", "replace"), "not UTF-8 text")
                    continue
                text = text.rstrip("\r\n")
                if first and text.strip() and not text.lstrip().startswith("#"):
                    first = False
                    url_column = _csv_url_column(text)
                    if url_column is not None:
                        continue  # the header
                entry = self._entry(lineno, text, url_column)
                if entry is None:
                    continue
                known = url_of.get(entry)  # a line seen before: a duplicate, no re-parse
                if known is not None:
                    self._duplicate(lineno, text, seen[known])
                    continue
                try:
                    target = parse_target(entry)
                except TargetError as exc:
                    self._bad(lineno, text, str(exc))
                    continue
                if len(url_of) < _PARSE_CACHE:
                    url_of[entry] = target.url
                earlier = seen.get(target.url)
                if earlier is not None:
                    self._duplicate(lineno, text, earlier)
                    continue
                seen[target.url] = lineno
                yield target

    def _entry(self, lineno: int, text: str, url_column: int | None) -> str | None:
        """The target text of one line, or None for blank, comment or bad lines."""
        if url_column is None:
            entry = _strip_comment(text)
            return entry or None
        if not text.strip() or text.lstrip().startswith("#"):
            return None
        try:
            row = next(csv.reader([text]))
        except csv.Error as exc:
            self._bad(lineno, text, f"malformed CSV row: {exc}")
            return None
        if len(row) <= url_column or not row[url_column].strip():
            self._bad(lineno, text, "CSV row has no url")
            return None
        return row[url_column].strip()

    def _duplicate(self, lineno: int, text: str, earlier: int) -> None:
        self.duplicate_count += 1
        if len(self.duplicates) < KEPT_EXAMPLES:
            self.duplicates.append(
                BadLine(self.path, lineno, _preview(text), f"duplicate of line {earlier}"))

    def _bad(self, lineno: int, text: str, reason: str) -> None:
        self.bad_count += 1
        if not self.strict and len(self.bad) >= KEPT_EXAMPLES:
            return
        bad = BadLine(self.path, lineno, _preview(text.strip()), reason)
        if self.strict:
            raise SitesFileError(str(bad))
        self.bad.append(bad)


def _csv_url_column(first_line: str) -> int | None:
    """Index of the `url` column when the first line is a test-list CSV header."""
    if "," not in first_line:
        return None
    header = [c.strip().lower() for c in first_line.split(",")]
    if header[0] != "url" and not ("url" in header and "category_code" in header):
        return None
    return header.index("url")


def read_sites(path: str | os.PathLike[str], *, strict: bool = False
               ) -> tuple[list[Target], list[BadLine]]:
    """All targets of a sites file plus its bad lines (duplicates are dropped silently)."""
    sites = SiteList(path, strict=strict)
    targets = list(sites)
    return targets, sites.bad
