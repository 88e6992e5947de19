"""Running an import: read, map, judge and write each measurement as it comes (streaming).

Memory holds one measurement at a time, the verdict counts, the agreement matrix and at most
MAX_TABLE_ROWS table rows. Outputs behave as for `check`: JSON is replaced atomically when the
run ends, JSONL is written line by line. A malformed item is reported (`path:line: why`) and
skipped; with `strict` it stops the run: the JSON is not written and a JSONL file that this
run created is removed, so no half-written output is left behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Iterable

from reachcheck.analysis import judge
from reachcheck.ingest.ooni.agreement import Agreement
from reachcheck.ingest.ooni.measurement import Mapped, OtherTest, map_measurement
from reachcheck.ingest.ooni.reader import Item, read_items
from reachcheck.ingest.ooni.values import Malformed
from reachcheck.model import VERDICTS, SiteResult
from reachcheck.output import JsonlWriter, JsonWriter
from reachcheck.output.table import Row, key_evidence

MAX_TABLE_ROWS = 1000  # rows kept for the table; the JSON/JSONL outputs hold every result


class StrictStop(ValueError):
    """--strict met a malformed item; the message is `path:line: why`."""


@dataclasses.dataclass
class ImportSummary:
    """What an import did (also what `exit_code` reads)."""

    counts: dict[str, int]
    interrupted: bool = False
    network_down: bool = False
    judged: int = 0
    malformed: int = 0
    skipped_tests: dict[str, int] = dataclasses.field(default_factory=dict)
    rows: list[Row] = dataclasses.field(default_factory=list)
    agreement: Agreement = dataclasses.field(default_factory=Agreement)

    def ingest_json(self) -> dict[str, object]:
        return {"judged": self.judged, "malformed": self.malformed,
                "skipped_tests": dict(sorted(self.skipped_tests.items()))}


def row_of(result: SiteResult) -> Row:
    """A table row naming the vantage point: "URL (CC ASN)"."""
    source = result.source or {}
    where = " ".join(str(x) for x in (source.get("probe_cc"), source.get("probe_asn")) if x)
    site = f"{result.target} ({where})" if where else result.target
    return Row(site, result.verdict, result.confidence, result.summary, key_evidence(result))


def judge_mapped(mapped: Mapped) -> SiteResult:
    """Our verdict on one mapped measurement, its source attached."""
    return dataclasses.replace(judge(mapped.observations), source=mapped.source)


def map_item(item: Item) -> Mapped:
    """Map one read item; raises Malformed (with the reason) or OtherTest."""
    if item.error is not None:
        raise Malformed(item.error)
    try:
        return map_measurement(item.value)
    except (Malformed, OtherTest):
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise Malformed(f"cannot be mapped ({type(exc).__name__})") from None


def import_files(files: Iterable[str], *, json_writer: JsonWriter | None,
                 jsonl_writer: JsonlWriter | None, strict: bool, keep_rows: bool,
                 progress: Callable[[int, int | None, dict[str, int]], None],
                 on_malformed: Callable[[str], None]) -> ImportSummary:
    """Judge every Web Connectivity measurement in `files`, streaming to the writers;
    `progress(judged, None, counts)` after each one (drawing it is the caller's business)."""
    counts: Counter[str] = Counter()
    summary = ImportSummary(counts={})
    skipped: Counter[str] = Counter()
    try:
        for item in read_items(files):
            try:
                mapped = map_item(item)
            except OtherTest as exc:
                skipped[str(exc.args[0])] += 1
                continue
            except Malformed as exc:
                summary.malformed += 1
                message = f"{item.where}: {exc}"
                if strict:
                    raise StrictStop(message) from None
                on_malformed(message)
                continue
            result = judge_mapped(mapped)
            if json_writer:
                json_writer.write(result)
            if jsonl_writer:
                jsonl_writer.write(result)
            counts[result.verdict] += 1
            summary.judged += 1
            summary.agreement.add(mapped.source, result.verdict)
            if keep_rows and len(summary.rows) < MAX_TABLE_ROWS:
                summary.rows.append(row_of(result))
            progress(summary.judged, None, counts)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.counts = {v: counts[v] for v in VERDICTS if counts[v]}
    summary.skipped_tests = dict(skipped)
    return summary


def discard(json_writer: JsonWriter | None, jsonl_writer: JsonlWriter | None) -> None:
    """Leave no half-written output: drop the JSON temp file, remove a JSONL file."""
    if json_writer:
        json_writer.abort()
    if jsonl_writer:
        with contextlib.suppress(OSError):
            jsonl_writer.close()
        if jsonl_writer.path != "-":
            with contextlib.suppress(OSError):
                os.unlink(jsonl_writer.path)
