"""CSV: one row per result, for spreadsheets and pandas.

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) get a leading `'`: page titles and details come from servers (OWASP's
advice against CSV injection). Numbers and verdicts never start that way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from reachcheck.model import SiteResult
from reachcheck.output.table import key_evidence

COLUMNS = ("run_id", "measured_at", "label", "target", "domain", "url", "verdict",
           "confidence", "mechanism", "anomaly_kinds", "evidence", "reason",
           "reachable_with_trusted_dns", "elapsed_ms")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(r: SiteResult) -> list[str]:
    rwtd = r.reachable_with_trusted_dns
    return [
        r.run_id or "", r.measured_at or "", _cell(r.vantage.label or "") if r.vantage else "",
        _cell(r.target), r.domain, r.url, r.verdict, r.confidence, _cell(r.summary),
        ";".join(dict.fromkeys(a.kind for a in r.anomalies)), _cell(key_evidence(r)),
        _cell(r.reason), "" if rwtd is None else str(rwtd).lower(), f"{r.elapsed_ms:.1f}",
    ]


def write_csv(results: Iterable[SiteResult], out: IO[str]) -> int:
    """Write the header and one row per result; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = 0
    for result in results:
        writer.writerow(csv_row(result))
        n += 1
    return n
