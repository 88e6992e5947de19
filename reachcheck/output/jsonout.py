"""JSON and JSONL writers (`runfile.py` reads them back).

The JSON document is streamed: results go into a temporary file beside the destination as
they arrive, and only `close()` fsyncs it and renames it over the destination. A crash or an
abort therefore never replaces a good earlier file with a half-written one. JSONL is written
in place, one flushed line per result, so `tail -f` and pipes see results as they come. Where
the bytes may go (FIFOs, devices, symlinks, permissions, temporary names) is `destination.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from typing import IO, Any

from reachcheck import __version__
from reachcheck.config import Config
from reachcheck.model import SCHEMA, VERDICTS, SiteResult, from_json, to_json
from reachcheck.output import destination

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
        elif f.name == "via" and value is not None:
            from reachcheck.probes.proxy import parse_proxy_url  # the password stays out

            value = parse_proxy_url(value).display
        elif isinstance(value, (set, frozenset)):
            value = sorted(value)
        out[f.name] = to_json(value)
    return out


def check_writable(path: str) -> None:
    """Raise OSError (one line) unless `path` can be written by the rules of
    `destination.resolve` (no FIFO/device replaced, symlinks checked); writes nothing."""
    destination.resolve(path)


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
        self._dest = destination.resolve(path)
        if self._dest.kind == "stdout":
            self._file: IO[str] = sys.stdout
        elif self._dest.kind == "stream":  # FIFO or device: written in place, never replaced
            self._file = os.fdopen(destination.open_stream(self._dest), "w", encoding="utf-8")
        else:
            fd, self._tmp = destination.create_part(self._dest)
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
            if self._dest.kind == "stream":
                self._file.close()
            return
        try:
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self._dest.target)
        except BaseException:
            self._discard()
            raise
        destination.part_done(self._tmp)
        self._tmp = None

    def abort(self) -> None:
        """Drop the partial document; an existing file at `path` stays as it was."""
        if self._closed:
            return
        self._closed = True
        if self._tmp is None:
            self._file.flush()
            if self._dest.kind == "stream":
                self._file.close()
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
                destination.part_done(self._tmp)
                self._tmp = None

    def __enter__(self) -> JsonWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()


class JsonlWriter:
    """One result object per line to `path` ("-" = stdout), flushed per line.

    With `atomic` (for re-exports, where nobody tails the file), a regular file is written
    through a temporary renamed into place by `close()`; `abort()` drops it instead.
    """

    def __init__(self, path: str, *, atomic: bool = False) -> None:
        self.path = path
        self._tmp: str | None = None
        self._dest = destination.resolve(path)
        if self._dest.kind == "stdout":
            self._file: IO[str] = sys.stdout
        elif self._dest.kind == "stream":
            self._file = os.fdopen(destination.open_stream(self._dest), "w", encoding="utf-8")
        elif atomic:
            fd, self._tmp = destination.create_part(self._dest)
            self._file = os.fdopen(fd, "w", encoding="utf-8")
        else:  # in place, so readers see each line; created 0600 like the JSON document
            fd = destination.open_new_or_truncate(self._dest)
            self._file = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, result: SiteResult) -> None:
        """Write and flush one line (buffered when atomic: nobody reads it before close)."""
        self._file.write(_dumps(result_to_dict(result)) + "\n")
        if self._tmp is None:
            self._file.flush()

    def close(self) -> None:
        """Flush, and close a file (never stdout); an atomic one moves into place."""
        if self._file.closed:
            return
        self._file.flush()
        if self.path == DASH:
            return
        if self._tmp is not None:
            try:
                os.fsync(self._file.fileno())
                self._file.close()
                os.replace(self._tmp, self._dest.target)
            except BaseException:
                self.abort()
                raise
            destination.part_done(self._tmp)
            self._tmp = None
        self._file.close()

    def abort(self) -> None:
        """Close; an atomic file's temporary is deleted and `path` stays as it was."""
        if self._tmp is None:
            self.close()
            return
        try:
            self._file.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            destination.part_done(self._tmp)
            self._tmp = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()
