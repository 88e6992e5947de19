"""Pure helpers for HTTP responses from hostile servers: title, headers, bounded body decoding.

Rule: nothing here raises on any input bytes, and every output is size-capped.
"""

from __future__ import annotations

import codecs
import html
import re
import zlib
from collections.abc import Iterable

TITLE_MAX = 200
HEAD_BYTES = 4096  # body_head: kept so fingerprints can be re-matched from a saved run
MAX_HEADERS = 32  # kept header values
MAX_HEADER_NAMES = 64
MAX_HEADER_VALUE = 512
MAX_NAME = 64
SKIPPED_HEADERS = frozenset({"set-cookie"})  # session tokens: no evidence value, privacy cost

_TITLE_OPEN = re.compile(rb"<title\b[^>]{0,128}>", re.IGNORECASE)
_TITLE_CLOSE = re.compile(rb"</title", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def charset_of(content_type: str | None) -> str:
    """The text codec named by a Content-Type header, or utf-8 when absent or unknown."""
    if content_type:
        match = _CHARSET.search(content_type)
        if match:
            try:
                info = codecs.lookup(match.group(1))
            except LookupError:
                return "utf-8"
            # Only real text encodings: codecs.lookup also knows rot13, base64, zlib...
            if getattr(info, "_is_text_encoding", True):
                return info.name
    return "utf-8"


def _decode(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except Exception:  # noqa: BLE001 - a codec that misbehaves on garbage
        return data.decode("utf-8", errors="replace")


def extract_title(body: bytes, content_type: str | None = None) -> str | None:
    """The first <title>, entity-unescaped, whitespace-collapsed, at most 200 chars."""
    opening = _TITLE_OPEN.search(body)
    if opening is None:
        return None
    start = opening.end()
    closing = _TITLE_CLOSE.search(body, start, start + 8192)
    raw = body[start : closing.start() if closing else start + 1024]
    text = html.unescape(_decode(raw[:4096], charset_of(content_type)))
    return " ".join(text.split())[:TITLE_MAX]


def body_head(body: bytes) -> str:
    """The start of the body as text (utf-8, undecodable bytes replaced)."""
    return body[:HEAD_BYTES].decode("utf-8", errors="replace")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # never fails: every byte is a code point


def select_headers(
    raw: Iterable[tuple[bytes, bytes]],
) -> tuple[dict[str, str], tuple[str, ...]]:
    """(kept headers, every distinct name), both lower-case and capped.

    Repeated headers are joined with ", ". Values are kept for all but cookies because
    blockpage fingerprints match arbitrary headers (mostly Location and Server).
    """
    kept: dict[str, str] = {}
    names: list[str] = []
    for raw_name, raw_value in raw:
        name = _text(raw_name).strip().lower()[:MAX_NAME]
        if name not in names and len(names) < MAX_HEADER_NAMES:
            names.append(name)
        if name in SKIPPED_HEADERS:
            continue
        value = _text(raw_value).strip()
        if name in kept:
            kept[name] = (kept[name] + ", " + value)[:MAX_HEADER_VALUE]
        elif len(kept) < MAX_HEADERS:
            kept[name] = value[:MAX_HEADER_VALUE]
    return kept, tuple(names)


class BodyDecoder:
    """Decodes gzip/deflate with a bound on the output (a 64 KiB chunk can inflate to 64 MiB).

    Other or broken encodings pass through as raw bytes: the body is evidence, not content.
    """

    def __init__(self, content_encoding: str | None) -> None:
        encoding = (content_encoding or "").strip().lower()
        # 32 + MAX_WBITS: accept a zlib or a gzip header.
        self._zlib = (
            zlib.decompressobj(32 + zlib.MAX_WBITS)
            if encoding in ("gzip", "x-gzip", "deflate")
            else None
        )

    def feed(self, chunk: bytes, limit: int) -> bytes:
        """Decoded bytes for `chunk`, at most `limit` of them (more means: truncate)."""
        limit = max(limit, 1)  # zlib reads max_length 0 as "no limit"
        if self._zlib is None:
            return chunk[:limit]
        try:
            return self._zlib.decompress(chunk, limit)
        except zlib.error:
            self._zlib = None
            return chunk[:limit]
