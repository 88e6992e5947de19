"""JSON and JSONL writers, and the loader that reads either back.

The JSON document is streamed: results go into a temporary file beside the destination as
they arrive, and only `close()` fsyncs it and renames it over the destination. A crash or an
abort therefore never replaces a good earlier file with a half-written one. JSONL is written
in place, one flushed line per result, so `tail -f` and pipes see results as they come.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from reachcheck import __version__
from reachcheck.config import Config
from reachcheck.model import SCHEMA, VERDICTS, SiteResult, from_json, to_json

DASH = "-"


class RunFileError(ValueError):
    """A saved run that cannot be read; the message says why in one line."""


def now_rfc3339() -> str:
    """The current time, RFC 3339 UTC with a `Z` and millisecond precision."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def result_to_dict(result: SiteResult) -> dict[str, Any]:
    """One result as its JSON object (the model's field names are the contract)."""
    data: dict[str, Any] = to_json(result)
    return data


def result_from_dict(data: Any) -> SiteResult:
    """Rebuild a SiteResult from its JSON object; raises RunFileError when it is not one."""
    if not isinstance(data, dict):
        raise RunFileError("a result is not a JSON object")
    if data.get("verdict") not in VERDICTS:
        raise RunFileError(f"result has an unknown verdict {data.get('verdict')!r}")
    try:
        result: SiteResult = from_json(SiteResult, data)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise RunFileError(f"malformed result: {exc}") from None
    return result


def settings_dict(config: Config) -> dict[str, Any]:
    """The run settings as JSON, the control token left out (it is a secret)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "control_token":
            value = value is not None  # record only whether one was used
        elif isinstance(value, (set, frozenset)):
            value = sorted(value)
        out[f.name] = to_json(value)
    return out


def check_writable(path: str) -> None:
    """Raise OSError (one line) unless `path` can be created or replaced; writes nothing."""
    if path == DASH:
        return
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: directory {parent} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise PermissionError(f"{path}: file is not writable")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class JsonWriter:
    """Stream one `reachcheck/1` document to `path` ("-" = stdout), atomically for files.

    Use `write()` per result, then `close(summary, interrupted)`; `abort()` (or leaving a
    `with` block by an exception) drops the temporary file and leaves `path` untouched.
    """

    def __init__(self, path: str, settings: dict[str, Any], *,
                 started_at: str | None = None) -> None:
        self.path = path
        self._tmp: str | None = None
        self._count = 0
        self._closed = False
        if path == DASH:
            self._file: IO[str] = sys.stdout
        else:
            check_writable(path)
            directory, name = os.path.split(os.path.abspath(path))
            fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
            self._file = os.fdopen(fd, "w", encoding="utf-8")
        head = {
            "schema": SCHEMA,
            "tool": {"name": "reachcheck", "version": __version__},
            "started_at": started_at or now_rfc3339(),
            "settings": settings,
        }
        # The head is written as an object missing its closing brace; "results" stays open
        # until close() so results can be appended as they arrive.
        self._file.write(_dumps(head)[:-1] + ',"results":[')

    def write(self, result: SiteResult) -> None:
        """Append one result."""
        self._file.write(("," if self._count else "") + "\n" + _dumps(result_to_dict(result)))
        self._count += 1

    def close(self, summary: dict[str, int], *, interrupted: bool = False,
              extra: dict[str, Any] | None = None) -> None:
        """Finish the document and (for files) move it into place; `extra` adds top-level
        keys after the summary (each must be in the schema, e.g. `agreement`)."""
        if self._closed:
            return
        tail = {"finished_at": now_rfc3339(), "summary": summary, "interrupted": interrupted,
                **(extra or {})}
        self._file.write("\n]," + _dumps(tail)[1:] + "\n")
        self._file.flush()
        self._closed = True
        if self._tmp is None:
            return
        try:
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._discard()
            raise
        self._tmp = None

    def abort(self) -> None:
        """Drop the partial document; an existing file at `path` stays as it was."""
        if self._closed:
            return
        self._closed = True
        if self._tmp is None:
            self._file.flush()
            return
        self._discard()

    def _discard(self) -> None:
        try:
            self._file.close()
        finally:
            if self._tmp is not None:
                try:
                    os.unlink(self._tmp)
                except FileNotFoundError:
                    pass
                self._tmp = None

    def __enter__(self) -> JsonWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


class JsonlWriter:
    """One result object per line to `path` ("-" = stdout), flushed per line."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path == DASH:
            self._file: IO[str] = sys.stdout
        else:
            check_writable(path)
            self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, result: SiteResult) -> None:
        """Write and flush one line."""
        self._file.write(_dumps(result_to_dict(result)) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Flush, and close a file (never stdout)."""
        self._file.flush()
        if self.path != DASH and not self._file.closed:
            self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------- loading


def load_run(path: str) -> tuple[dict[str, Any], list[SiteResult]]:
    """Read a saved JSON document or JSONL file -> (meta, results).

    `meta` is the document without its results (empty for JSONL). Raises RunFileError (one
    line, naming the file) for anything that is not a reachcheck/1 run, OSError if unreadable.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            first = f.read(1)
            while first and first.isspace():
                first = f.read(1)
            f.seek(0)
            if not first:
                raise RunFileError(f"{path}: empty file")
            try:
                doc = json.load(f)
            except json.JSONDecodeError:
                f.seek(0)
                return {}, list(_jsonl_results(path, f))
    except UnicodeDecodeError:
        raise RunFileError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise RunFileError(f"{path}: JSON nested too deeply") from None
    if isinstance(doc, dict) and "results" in doc:
        return _document(path, doc)
    if isinstance(doc, dict) and "verdict" in doc:  # a JSONL file of a single result
        return {}, [_result(path, doc, "result 1")]
    raise RunFileError(f"{path}: not a reachcheck JSON or JSONL file")


def _document(path: str, doc: dict[str, Any]) -> tuple[dict[str, Any], list[SiteResult]]:
    if doc.get("schema") != SCHEMA:
        raise RunFileError(f"{path}: unsupported schema {doc.get('schema')!r} (want {SCHEMA})")
    results = doc["results"]
    if not isinstance(results, list):
        raise RunFileError(f"{path}: 'results' is not a list")
    meta = {k: v for k, v in doc.items() if k != "results"}
    return meta, [_result(path, r, f"result {i}") for i, r in enumerate(results, 1)]


def _jsonl_results(path: str, f: IO[str]) -> Iterator[SiteResult]:
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise RunFileError(f"{path}:{lineno}: not valid JSON") from None
        yield _result(path, data, f"line {lineno}")


def _result(path: str, data: Any, where: str) -> SiteResult:
    try:
        return result_from_dict(data)
    except RunFileError as exc:
        raise RunFileError(f"{path}: {where}: {exc}") from None
