"""The human table: one row per site, then a line with the verdict counts.

Colour comes from rich, which already honours NO_COLOR, FORCE_COLOR and TERM=dumb. Text
columns fold instead of truncating: a piped rich console is 80 columns wide and would
otherwise cut addresses and names short ("coinmarketca...").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reachcheck.model import BLOCKED_VERDICTS, VERDICTS, SiteResult
from reachcheck.terminal import sanitize

VERDICT_STYLES: dict[str, str] = {
    "accessible": "green",
    "site_down": "yellow",
    "inconclusive": "magenta",
    **{v: "bold red" for v in BLOCKED_VERDICTS},
}
EVIDENCE_ITEMS = 2  # anomaly details shown per row; the JSON has them all


def key_evidence(result: SiteResult) -> str:
    """The first anomalies' details, or the verdict's reason when there are none; text the
    Mechanism column (the summary) already shows is not repeated."""
    shown = result.summary.strip()
    details = [a.detail for a in result.anomalies[:EVIDENCE_ITEMS]
               if a.detail and a.detail.strip() != shown]
    details = list(dict.fromkeys(details))
    extra = len(result.anomalies) - EVIDENCE_ITEMS
    if extra > 0:
        details.append(f"(+{extra} more)")
    reason = result.reason if result.reason.strip() != shown else ""
    return "; ".join(details) or reason


def count_verdicts(results: Iterable[SiteResult | Row]) -> dict[str, int]:
    """{verdict: count} for the verdicts present, in the canonical verdict order."""
    counts: Counter[str] = Counter(r.verdict for r in results)
    return {v: counts[v] for v in VERDICTS if counts[v]}


def summary_line(counts: Mapping[str, int]) -> Text:
    """'3 sites: 1 accessible, 2 dns_blocked', each verdict in its colour."""
    total = sum(counts.values())
    line = Text(f"{total} site{'s' if total != 1 else ''}")
    parts = [(v, n) for v, n in counts.items() if n]
    if parts:
        line.append(": ")
    for i, (verdict, n) in enumerate(parts):
        if i:
            line.append(", ")
        line.append(f"{n} {verdict}", style=VERDICT_STYLES.get(verdict, ""))
    return line


class Row(NamedTuple):
    """What the table shows of one result: a few strings, so a long run can keep every row
    until the end without keeping the observations."""

    site: str
    verdict: str
    confidence: str
    mechanism: str
    evidence: str

    @classmethod
    def of(cls, r: SiteResult) -> Row:
        return cls(r.target, r.verdict, r.confidence, r.summary, key_evidence(r))


def build_table(results: Iterable[SiteResult | Row]) -> Table:
    """The rich Table for `results` (in the order given)."""
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("Site", overflow="fold", ratio=2)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Confidence", no_wrap=True)
    table.add_column("Mechanism", overflow="fold", ratio=3)
    table.add_column("Evidence", overflow="fold", ratio=4)
    for item in results:
        r = item if isinstance(item, Row) else Row.of(item)
        table.add_row(
            Text(sanitize(r.site)),
            Text(sanitize(r.verdict), style=VERDICT_STYLES.get(r.verdict, "")),
            Text(sanitize(r.confidence) if r.confidence != "none" else "-"),
            Text(sanitize(r.mechanism)),
            Text(sanitize(r.evidence)),
        )
    return table


def render_table(results: Iterable[SiteResult | Row], console: Console,
                 counts: Mapping[str, int] | None = None) -> None:
    """Print the table and the counts line; `counts` defaults to counting `results`."""
    results = list(results)
    if results:
        console.print(build_table(results))
    if counts is None:
        counts = count_verdicts(r if isinstance(r, Row) else Row.of(r) for r in results)
    console.print(summary_line(counts))
