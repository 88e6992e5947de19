"""Charts for the HTML report, drawn as inline SVG strings (no script, no network at view time).

Every text is escaped: site names and run labels come from users and servers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from reachcheck.model import VERDICTS

VERDICT_COLORS: dict[str, str] = {
    "accessible": "#2e7d32",
    "dns_blocked": "#c62828",
    "tcp_blocked": "#ad1457",
    "tls_blocked": "#6a1b9a",
    "http_blocked": "#e65100",
    "site_down": "#b08900",
    "inconclusive": "#757575",
}
MISSING_COLOR = "#e0e0e0"
WIDTH = 720
MAX_COLUMNS = 400  # runs drawn in the over-time chart (the newest ones)


def verdict_bars(counts: Mapping[str, int]) -> str:
    """Horizontal bars, one per verdict present, labelled with the count and share."""
    rows = [(v, counts.get(v, 0)) for v in VERDICTS if counts.get(v, 0)]
    total = sum(n for _, n in rows) or 1
    bar_h, gap, left, right = 20, 6, 120, 110
    height = max(1, len(rows)) * (bar_h + gap)
    parts = [f'<svg class="chart" role="img" aria-label="verdict counts" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    span = WIDTH - left - right
    for i, (verdict, n) in enumerate(rows):
        y = i * (bar_h + gap)
        w = max(1.0, span * n / total)
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(verdict)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
            f'fill="{VERDICT_COLORS[verdict]}"><title>{n} {escape(verdict)}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}">{n} ({100 * n / total:.0f}%)</text>')
    parts.append("</svg>")
    return "".join(parts)


def runs_stacked(columns: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """One stacked column per run (oldest left): the share of each verdict in that run.
    `columns` holds (caption, counts); only the newest MAX_COLUMNS are drawn."""
    columns = list(columns)[-MAX_COLUMNS:]
    top, plot_h, axis_h, left = 8, 160, 34, 36
    height = top + plot_h + axis_h
    span = WIDTH - left - 8
    step = span / max(1, len(columns))
    bar_w = max(1.0, step * 0.85)
    parts = [f'<svg class="chart" role="img" aria-label="verdicts per run" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">100%</text>'
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, (caption, counts) in enumerate(columns):
        total = sum(counts.values()) or 1
        x = left + i * step
        y = float(top + plot_h)
        tip = escape(caption) + ": " + ", ".join(
            f"{counts[v]} {v}" for v in VERDICTS if counts.get(v))
        parts.append(f"<g><title>{tip}</title>")
        for verdict in VERDICTS:
            n = counts.get(verdict, 0)
            if not n:
                continue
            h = plot_h * n / total
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{VERDICT_COLORS[verdict]}"/>')
        parts.append("</g>")
    if columns:  # first and last run named under the axis
        parts.append(f'<text x="{left}" y="{top + plot_h + 16}">{escape(columns[0][0])}</text>')
        if len(columns) > 1:
            parts.append(f'<text x="{left + span}" y="{top + plot_h + 16}" text-anchor="end">'
                         f"{escape(columns[-1][0])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    """The verdict colours, as HTML."""
    return "".join(f'<span class="key"><i style="background:{VERDICT_COLORS[v]}"></i>'
                   f"{escape(v)}</span>" for v in VERDICTS)
