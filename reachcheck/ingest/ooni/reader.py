"""Reading OONI measurements from files as they are published, one at a time (streaming).

Accepted: a measurement document (pretty-printed or not), the measurement API's answer (an
object with `raw_measurement`, itself an object or a JSON string), a JSON array of either,
JSONL of either (OONI's S3 buckets and `oonidata` exports), any of these gzipped (detected by
the magic bytes, not the name), a directory of such files (walked in name order, hidden files
and other suffixes skipped), or `-` for standard input.

Each item comes with where it was found (`path:line`), so a bad one can be reported and
skipped. JSONL is read line by line: memory holds one measurement at a time. A document that
spans lines is read whole (capped at MAX_DOCUMENT_BYTES).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a single multi-line document; JSONL has no limit
SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".gz")
_GZIP_MAGIC = b"\x1f\x8b"
DASH = "-"


@dataclass(frozen=True, slots=True)
class Item:
    """One JSON value read from an input, or the reason it could not be read."""

    where: str  # "path:line" ("-" for stdin)
    value: Any = None
    error: str | None = None  # set when the text there is not valid JSON


class InputPathError(OSError):
    """A path given on the command line that cannot be read (one line)."""


def expand(paths: Iterable[str]) -> list[str]:
    """Check every path now (before any output exists) and expand directories into files."""
    files: list[str] = []
    for path in paths:
        if path == DASH:
            files.append(DASH)
        elif os.path.isdir(path):
            files.extend(_walk(path))
        elif os.path.isfile(path):
            if not os.access(path, os.R_OK):
                raise InputPathError(f"{path}: not readable")
            files.append(path)
        elif os.path.exists(path):
            raise InputPathError(f"{path}: not a regular file or directory")
        else:
            raise InputPathError(f"{path}: no such file or directory")
    if files.count(DASH) > 1:
        raise InputPathError("'-' (standard input) can be given only once")
    return files


def _walk(root: str) -> list[str]:
    found: list[str] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(
            os.path.join(directory, n)
            for n in sorted(names)
            if not n.startswith(".") and n.lower().endswith(SUFFIXES)
        )
    return found


def read_items(files: Iterable[str]) -> Iterator[Item]:
    """Every JSON value of every file, in order."""
    for path in files:
        if path == DASH:
            # Standard input is read, not closed: it is not ours.
            yield from _items(DASH, _decompressed(_peekable(sys.stdin.buffer)))
            continue
        with open(path, "rb") as raw:
            stream = _decompressed(raw)
            try:
                yield from _items(path, stream)
            finally:
                stream.close()


def _peekable(stream: IO[bytes]) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(stream)  # type: ignore[arg-type]  # any readable binary stream


def _decompressed(raw: io.BufferedReader) -> IO[bytes]:
    """`raw`, or a gunzipping reader over it when it starts with the gzip magic bytes."""
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _items(name: str, stream: IO[bytes]) -> Iterator[Item]:
    lineno = 0
    first: bytes | None = None
    for line in stream:
        lineno += 1
        if line.strip():
            first = line
            break
    if first is None:
        return
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        if _starts_document(first):
            yield from _document(name, lineno, first, stream)
            return
        yield Item(f"{name}:{lineno}", error="not valid JSON")
    else:
        yield from _values(f"{name}:{lineno}", value)
    for line in stream:
        lineno += 1
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            yield Item(f"{name}:{lineno}", error="not valid JSON")
            continue
        yield from _values(f"{name}:{lineno}", value)


def _starts_document(line: bytes) -> bool:
    """A line that opens a multi-line JSON value (a pretty-printed document)."""
    text = line.strip()
    return text[:1] in (b"{", b"[") and not (text.startswith(b"{") and text.endswith(b"}"))


def _document(name: str, lineno: int, first: bytes, stream: IO[bytes]) -> Iterator[Item]:
    rest = stream.read(MAX_DOCUMENT_BYTES + 1 - len(first))
    if len(first) + len(rest) > MAX_DOCUMENT_BYTES:
        yield Item(f"{name}:{lineno}", error=f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        return
    try:
        value = json.loads(first + rest)
    except json.JSONDecodeError as exc:
        yield Item(f"{name}:{lineno + exc.lineno - 1}", error=f"not valid JSON ({exc.msg})")
        return
    except (ValueError, RecursionError):
        yield Item(f"{name}:{lineno}", error="not valid JSON")
        return
    yield from _values(f"{name}:{lineno}", value)


def _values(where: str, value: Any) -> Iterator[Item]:
    if isinstance(value, list):  # an array of measurements
        for i, element in enumerate(value, 1):
            yield Item(f"{where} (item {i})", element)
    else:
        yield Item(where, value)
