"""Markdown: a summary and a table per site, to paste into an issue, a chat or a notebook.

Every cell is escaped (pipes, markup characters, HTML, line breaks): titles and details come
from servers. With several runs, the table shows each site's latest verdict, when it last
changed, and the verdicts per run in order.
"""

from __future__ import annotations

import re
from itertools import groupby

from reachcheck.model import VERDICTS
from reachcheck.output.timeline import MISSING, Timeline

EVIDENCE_SHOWN = 2
# What can start markup inside a table cell (cells never start a line, so list and heading
# markers need nothing); `&` so that text like "&lt;" is not read as an entity.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def md(text: str) -> str:
    """One table cell: escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _runs_of(verdicts: list[str]) -> str:
    """'accessible ×3 → dns_blocked ×2': the verdict sequence, run-length encoded."""
    groups = [(verdict, len(list(same))) for verdict, same in groupby(verdicts)]
    return " → ".join(f"{v} ×{n}" if n > 1 else v for v, n in groups)


def render_markdown(timeline: Timeline) -> str:
    runs = timeline.runs()
    several = len(runs) > 1
    rows = list(timeline.sites())
    counts = {v: 0 for v in VERDICTS}
    for row in rows:
        counts[row.verdict] += 1
    lines = ["# reachcheck report", ""]
    starts = [r.started_at for r in runs if r.started_at]
    when = f", {min(starts)} to {max(starts)}" if starts else ""
    lines.append(f"{len(rows)} sites, {len(runs)} run{'s' if len(runs) != 1 else ''}{when}.")
    labels = sorted({r.label for r in runs if r.label})
    if labels:
        lines.append(f"Vantage: {md(', '.join(labels))}.")
    lines += ["", "| verdict | sites |", "|---|---:|"]
    lines += [f"| {v} | {n} |" for v, n in counts.items() if n]
    if several:
        lines += ["", "## Runs", "", "| run started | label | sites | "
                  + " | ".join(VERDICTS) + " |", "|---|---|---:|" + "---:|" * len(VERDICTS)]
        for run in runs:
            lines.append(f"| {md(run.started_at or run.source)} | {md(run.label or '')} | "
                         f"{sum(run.counts.values())} | "
                         + " | ".join(str(run.counts.get(v, 0)) for v in VERDICTS) + " |")
    lines += ["", "## Sites", ""]
    head = "| site | verdict | confidence | mechanism | evidence |"
    rule = "|---|---|---|---|---|"
    if several:
        head += " since | verdicts per run |"
        rule += "---|---|"
    lines += [head, rule]
    for row in rows:
        evidence = "; ".join(d for _, _, d, _ in row.evidence[:EVIDENCE_SHOWN]) or row.reason
        extra = len(row.evidence) + row.more_evidence - EVIDENCE_SHOWN
        if extra > 0 and row.evidence:
            evidence += f" (+{extra} more)"
        cells = [md(row.target), row.verdict,
                 md(row.confidence) if row.confidence != "none" else "-", md(row.summary),
                 md(evidence)]
        if several:
            codes = timeline.cells(row)
            since = None
            for run, code in zip(runs, codes, strict=True):
                if code != MISSING and timeline.verdict_of(code) != row.verdict:
                    since = None
                elif code != MISSING and since is None:
                    since = run.started_at
            cells.append(md(since or ""))
            cells.append(md(_runs_of(
                [timeline.verdict_of(c) if c != MISSING else "-" for c in codes])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
