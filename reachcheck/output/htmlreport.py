"""The HTML report: one self-contained file a person can open, search and share.

No network at view time: styles, script, data and charts (inline SVG) are all in the page, and
a Content-Security-Policy (`default-src 'none'`, the one script allowed by its hash) makes the
browser refuse anything else, including markup smuggled in through a hostile page title. Site
data sits in a JSON block the script renders a page of rows at a time, so 10,000 sites stay
quick to open and filter; the summary, charts and the list of changes are plain HTML and SVG.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from html import escape
from importlib import resources

from reachcheck import __version__
from reachcheck.model import BLOCKED_VERDICTS, VERDICTS
from reachcheck.output.svgcharts import (
    MISSING_COLOR,
    VERDICT_COLORS,
    legend,
    runs_stacked,
    verdict_bars,
)
from reachcheck.output.timeline import SiteRow, Timeline

MAX_CHANGES_LISTED = 1000  # verdict changes written out as rows; the table filter finds all
# Table order: the worst news first.
_SEVERITY = {v: i for i, v in enumerate(
    ["dns_blocked", "tcp_blocked", "tls_blocked", "http_blocked", "inconclusive", "site_down",
     "accessible"])}


def _asset(name: str) -> str:
    return resources.files("reachcheck.output").joinpath("assets", name).read_text("utf-8")


def _json_for_script(value: object) -> str:
    """JSON that cannot end its <script> block or open a comment, whatever the strings hold."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _site_json(row: SiteRow, cells: list[int] | None) -> dict[str, object]:
    site: dict[str, object] = {
        "t": row.target, "u": row.url, "v": row.verdict, "c": row.confidence,
        "m": row.summary, "r": row.reason, "a": row.measured_at,
        "w": row.reachable_with_trusted_dns,
        "e": [[stage, kind, detail, confirmed] for stage, kind, detail, confirmed
              in row.evidence],
        "x": row.more_evidence,
    }
    if cells is not None:
        site["h"] = cells
    return site


def _counts_table(counts: Counter[str]) -> str:
    rows = "".join(
        f'<tr><td class="v v-{v}">{v}</td><td class="num count" id="count-{v}" '
        f'data-verdict="{v}">{counts.get(v, 0)}</td></tr>' for v in VERDICTS)
    total = sum(counts.values())
    return (f'<table class="counts" style="width:auto"><tbody>{rows}<tr><th>total</th>'
            f'<td class="num" id="count-total">{total}</td></tr></tbody></table>')


def _changes(timeline: Timeline) -> str:
    rows: list[str] = []
    count = 0
    for change in sorted(timeline.transitions(), key=lambda c: (c.at or "", c.target)):
        count += 1
        if count > MAX_CHANGES_LISTED:
            continue
        became = "became blocked" if change.new in BLOCKED_VERDICTS else ""
        rows.append(f'<tr><td class="muted">{escape(change.at or "?")}</td>'
                    f'<td class="site">{escape(change.target)}</td>'
                    f'<td class="v v-{change.old}">{change.old}</td>'
                    f'<td class="v v-{change.new}">{change.new}</td>'
                    f"<td>{escape(change.summary)}"
                    f'{" <span class=muted>(" + became + ")</span>" if became else ""}</td></tr>')
    if not count:
        return '<p id="changes-none">No site changed its verdict between these runs.</p>'
    more = (f'<p class="muted">{count - MAX_CHANGES_LISTED} more changes: filter the table '
            "with \u201conly sites that changed\u201d.</p>" if count > MAX_CHANGES_LISTED else "")
    return ('<table id="changes"><thead><tr><th>Run started</th><th>Site</th><th>From</th>'
            "<th>To</th><th>How (the newer run\u2019s mechanism)</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + more)


def render_html(timeline: Timeline, *, generated_at: str) -> str:
    """The whole report page."""
    runs = timeline.runs()
    several = len(runs) > 1
    rows = sorted(timeline.sites(), key=lambda r: (_SEVERITY.get(r.verdict, 9), r.target))
    counts: Counter[str] = Counter(r.verdict for r in rows)
    data = {
        "verdicts": list(VERDICTS), "colors": VERDICT_COLORS, "missing": MISSING_COLOR,
        "runs": [{"at": run.started_at, "label": run.label} for run in runs],
        "summaries": timeline.summaries,
        "sites": [_site_json(r, timeline.cells(r) if several else None) for r in rows],
    }
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    labels = sorted({run.label for run in runs if run.label})
    starts = [run.started_at for run in runs if run.started_at]
    span = (f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
            + (f", {escape(min(starts))} to {escape(max(starts))}" if starts else ""))
    vantage = (f"; vantage: {escape(', '.join(labels))}" if labels else "")
    partial = sum(1 for run in runs if run.interrupted)
    partial_note = (f'<p class="muted">{partial} of these runs were interrupted: their results '
                    "are partial.</p>" if partial else "")
    over_time = ""
    if several:
        columns = [(run.started_at or run.source, run.counts) for run in runs]
        over_time = ('<section id="over-time"><h2>Verdicts over time</h2>'
                     f"{runs_stacked(columns)}<p>{legend()}</p>"
                     "<h3>When each site changed</h3>" + _changes(timeline) + "</section>")
    options = "".join(f'<option value="{v}">{v} ({counts.get(v, 0)})</option>'
                      for v in VERDICTS)
    changed_filter = ('<label><input type="checkbox" id="changed-filter"> only sites that '
                      "changed</label>" if several else "")
    timeline_head = "<th>Verdict per run</th>" if several else ""
    latest_note = " (each site\u2019s latest result)" if several else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="reachcheck {escape(__version__)}">
<title>reachcheck report: {len(rows)} sites</title>
<style>{_asset("report.css")}</style></head>
<body>
<h1>reachcheck report</h1>
<p class="meta">{len(rows)} site{'s' if len(rows) != 1 else ''}; {span}{vantage}.
Generated {escape(generated_at)} by reachcheck {escape(__version__)}.</p>
{partial_note}
<section id="summary"><h2>Verdicts{latest_note}</h2>
{_counts_table(counts)}
{verdict_bars(counts)}
</section>
{over_time}
<section id="sites-section" hidden><h2>Sites</h2>
<div class="controls">
<input type="search" id="site-filter" placeholder="Search sites, mechanisms, evidence"
 aria-label="search">
<select id="verdict-filter" aria-label="verdict"><option value="">all verdicts</option>
{options}</select>
{changed_filter}
<span><span id="shown-count">{len(rows)}</span> of {len(rows)} sites shown</span>
<span class="pager"><button id="prev-page" type="button">&larr;</button><span id="page-info">
</span><button id="next-page" type="button">&rarr;</button></span>
</div>
<table id="sites"><thead><tr><th>Site</th><th>Verdict</th><th>Confidence</th><th>Mechanism</th>
<th>Evidence</th><th>Measured</th>{timeline_head}</tr></thead><tbody id="site-rows"></tbody>
</table>
</section>
<noscript><p>The site table needs JavaScript; the summary above and the JSON hold the same
results.</p></noscript>
<script type="application/json" id="report-data">{_json_for_script(data)}</script>
<script>{script}</script>
</body></html>
"""
