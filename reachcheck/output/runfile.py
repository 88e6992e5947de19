"""Reading saved runs back, streamed: `open_run(path)` -> a `SavedRun` to iterate.

A `SavedRun` gives `meta` (the document without its results; `{}` for JSONL) and yields one
validated `SiteResult` at a time, so memory stays flat however long the run:

- JSONL is read line by line (each line at most MAX_LINE_BYTES).
- A JSON document as `JsonWriter` lays it out (head line ending `"results":[`, one result per
  line, a closing `],...}` line) is streamed the same way; its closing fields (`finished_at`,
  `summary`, `interrupted`) join `meta` when the iteration ends.
- Any other JSON document (pretty-printed, say) is parsed whole, so it is refused past
  MAX_DOCUMENT_BYTES with advice to convert it to JSONL.

Every value is decoded strictly (`strictjson`: no NaN, duplicate keys or huge integers) and
every result is checked against the model's shapes (`shape.py`) before it is rebuilt, so a bad
file is one `RunFileError` line naming the file, the line and the JSON path of the bad field.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any

from reachcheck import strictjson
from reachcheck.model import SCHEMA, VERDICTS, SiteResult, from_json
from reachcheck.output.jsonout import RunFileError
from reachcheck.output.shape import ShapeError, check, check_object

MAX_LINE_BYTES = 64 * 1024 * 1024  # one result; the largest real ones are well under 1 MiB
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a JSON document not in the streamed layout
_OPEN_RESULTS = '"results":['
_BOM = b"\xef\xbb\xbf"

# The document fields outside the results, and their shapes (others are ignored).
META_SHAPES: dict[str, Any] = {
    "schema": str, "started_at": str, "finished_at": str, "interrupted": bool,
    "settings": dict[str, Any], "summary": dict[str, int], "tool": dict[str, Any],
}


def parse_result(data: Any, where: str) -> SiteResult:
    """A result from its decoded JSON, checked field by field; RunFileError naming `where`."""
    if not isinstance(data, dict):
        raise RunFileError(f"{where}: a result is not a JSON object")
    if data.get("verdict") not in VERDICTS:
        shown = str(data.get("verdict"))[:40]
        raise RunFileError(f"{where}: result has an unknown verdict {shown!r}")
    try:
        check_object(SiteResult, data)
        result: SiteResult = from_json(SiteResult, data)
    except ShapeError as exc:
        raise RunFileError(f"{where}: malformed result: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise RunFileError(f"{where}: malformed result: {exc}") from None
    return result


class SavedRun:
    """One saved run, open for reading; iterate it once for its results."""

    def __init__(self, path: str, stream: IO[bytes]) -> None:
        self.path = path
        self.meta: dict[str, Any] = {}
        self._stream = stream
        self._lineno = 0
        self._results: Iterator[SiteResult] = iter(())
        self._start()

    # -------------------------------------------------------------------------- reading

    def _line(self) -> bytes | None:
        """The next line (bytes, newline kept), None at the end; refuses over-long lines."""
        raw = self._stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return None
        self._lineno += 1
        if len(raw) > MAX_LINE_BYTES:
            raise self._error(f"line {self._lineno} is over {MAX_LINE_BYTES} bytes")
        if self._lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        return raw

    def _decode(self, raw: bytes | str) -> Any:
        try:
            return strictjson.loads(raw)
        except strictjson.StrictJsonError as exc:
            raise self._error(f"line {self._lineno}: {exc}") from None

    def _error(self, message: str) -> RunFileError:
        return RunFileError(f"{self.path}: {message}")

    def _start(self) -> None:
        first = self._line()
        while first is not None and not first.strip():
            first = self._line()
        if first is None:
            raise self._error("empty file")
        text = first.strip()
        if text.startswith(b"{") and text.endswith(_OPEN_RESULTS.encode()):
            self._set_meta(self._decode(_head_object(text.decode("utf-8", "replace"))))
            self._results = self._streamed_document()
            return
        try:
            data = strictjson.loads(text)
        except strictjson.StrictJsonError:
            self._results = self._whole_document(first)  # e.g. pretty-printed: parse it whole
            return
        if isinstance(data, dict) and "results" in data:
            self._results = self._document(data)
        elif isinstance(data, dict) and "verdict" in data:
            self._results = self._jsonl(data)
        else:
            raise self._error("not a reachcheck JSON or JSONL file")

    def _set_meta(self, meta: Any) -> None:
        if not isinstance(meta, dict):
            raise self._error("not a reachcheck JSON or JSONL file")
        if meta.get("schema") != SCHEMA:
            shown = str(meta.get("schema"))[:40]
            raise self._error(f"unsupported schema {shown!r} (want {SCHEMA})")
        for key, tp in META_SHAPES.items():
            if key in meta:
                try:
                    check(tp, meta[key], f"$.{key}")
                except ShapeError as exc:
                    raise self._error(str(exc)) from None
        self.meta.update(meta)

    def _jsonl(self, first: dict[str, Any]) -> Iterator[SiteResult]:
        yield parse_result(first, f"{self.path}: line {self._lineno}")
        while (raw := self._line()) is not None:
            if raw.strip():
                yield parse_result(self._decode(raw), f"{self.path}: line {self._lineno}")

    def _streamed_document(self) -> Iterator[SiteResult]:
        index = 0
        while (raw := self._line()) is not None:
            text = raw.strip()
            if not text:
                continue
            if text.startswith(b"]"):
                self._close_document(text[1:].strip())
                return
            index += 1
            where = f"{self.path}: line {self._lineno}: $.results[{index - 1}]"
            yield parse_result(self._decode(text.removesuffix(b",")), where)
        raise self._error("truncated: the results list is never closed")

    def _close_document(self, rest: bytes) -> None:
        tail: Any = {} if rest == b"}" else self._decode(b"{" + rest.removeprefix(b","))
        if not isinstance(tail, dict) or "results" in tail or set(tail) & set(self.meta):
            raise self._error(f"line {self._lineno}: malformed end of document")
        self._set_meta({**tail, "schema": self.meta.get("schema")})
        if any(raw.strip() for raw in iter(self._line, None)):
            raise self._error(f"line {self._lineno}: data after the end of the document")

    def _whole_document(self, first: bytes) -> Iterator[SiteResult]:
        rest = self._stream.read(MAX_DOCUMENT_BYTES + 1 - len(first))
        if len(first) + len(rest) > MAX_DOCUMENT_BYTES:
            raise self._error(
                f"a JSON document over {MAX_DOCUMENT_BYTES // 2**20} MiB that reachcheck did "
                "not write is not loaded whole: save runs with --jsonl, or convert this one "
                "with: jq -c '.results[]' FILE > FILE.jsonl")
        try:
            doc = strictjson.loads(first + rest)
        except strictjson.StrictJsonError as exc:
            raise self._error(str(exc)) from None
        if not (isinstance(doc, dict) and "results" in doc):
            raise self._error("not a reachcheck JSON or JSONL file")
        return self._document(doc)

    def _document(self, doc: dict[str, Any]) -> Iterator[SiteResult]:
        results = doc.pop("results")
        self._set_meta(doc)
        if not isinstance(results, list):
            raise self._error("'results' is not a list")
        return (parse_result(r, f"{self.path}: $.results[{i}]") for i, r in enumerate(results))

    # ------------------------------------------------------------------------ interface

    def __iter__(self) -> Iterator[SiteResult]:
        return self._results

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> SavedRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _head_object(line: str) -> str:
    """The head line of a streamed document made a complete object (its results dropped)."""
    head = line[: -len(_OPEN_RESULTS)].rstrip()
    return "{}" if head == "{" else head.removesuffix(",") + "}"


def open_run(path: str) -> SavedRun:
    """Open a saved JSON document or JSONL file for streaming; RunFileError (one line) if it
    is not a reachcheck/1 run, OSError if it cannot be read."""
    stream = open(path, "rb")  # noqa: SIM115 (SavedRun closes it)
    try:
        return SavedRun(path, stream)
    except BaseException:
        stream.close()
        raise


def load_run(path: str) -> tuple[dict[str, Any], list[SiteResult]]:
    """Read a whole saved run -> (meta, results): small files and tests; `report` streams."""
    with open_run(path) as run:
        results = list(run)
        return run.meta, results
