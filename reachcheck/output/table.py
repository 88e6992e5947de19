"""The human table: one row per site, then a line with the verdict counts.

Colours are rich's styles, rendered for the console (NO_COLOR, FORCE_COLOR, TERM=dumb honoured);
the grid itself is drawn by `grid.py` (rich's Table took seconds for a long run). The layout
is chosen for the console's width so that no word is split across lines ("tradingview.co" /
"m"): five columns when every word fits, three at about 80 columns (confidence under the
verdict, evidence under the mechanism), one block per site when narrower. Nothing is truncated.
Long runs show the sites that are not accessible; `full=True` shows every row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from reachcheck.i18n import _, ngettext, translate_mechanism
from reachcheck.model import BLOCKED_VERDICTS, VERDICTS, SiteResult
from reachcheck.output.grid import Cell, Line, draw_grid, emit
from reachcheck.output.wrap import text_width, tokens, wrap
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
    line = Text(ngettext("{n} site", "{n} sites", total).format(n=total))
    parts = [(v, n) for v, n in counts.items() if n]
    if parts:
        line.append(_(": "))
    for i, (verdict, n) in enumerate(parts):
        if i:
            line.append(_(", "))
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


# Runs longer than this show the counts and the sites that are not accessible, not every row:
# a 10,000-row rich table takes seconds to lay out and scrolls everything useful away.
LONG_RUN = 50
LONG_RUN_LISTED = 50  # at most this many not-accessible rows in the short form
BLOCK_INDENT = 2
# Narrowest a prose column may get before a narrower layout reads better (cells; in Chinese
# 10 characters): below it a sentence turns into a column of two-word lines.
TEXT_FLOOR = 20
DETAILS_FLOOR = 30
_BORDERS = 3  # per column: a rule and one space of padding either side ("│ x "), plus one


def cell_text(text: str) -> str:
    """Text put in a table cell or block. One place, so printing hygiene (escaping terminal
    control sequences) is applied to every string the table shows."""
    return sanitize(text)


def _longest_token(text: str) -> int:
    if text.isascii():  # the common case, without the CJK-aware tokenizer
        return max(map(len, text.split()), default=0)
    return max((text_width(t) for t in tokens(text)), default=0)


def _longest_line(text: str) -> int:
    return max((text_width(line) for line in text.splitlines()), default=0)


def fit_columns(columns: list[list[str]], width: int, weights: list[int],
                floors: list[int] | None = None) -> list[int] | None:
    """Widths for columns of cells (header first) in `width` cells, or None when they do
    not fit: a column is at least as wide as its header, its longest word and its floor
    (unless all its text is shorter: a text column narrower than that reads badly, in Chinese
    most of all, where every character is a break opportunity). Spare room goes by
    `weights`, up to each column's longest line."""
    floors = floors or [0] * len(columns)
    longest = [max(_longest_line(c) for c in cells) for cells in columns]
    lows = [max(cell_len(cells[0]), min(floor, top), max(_longest_token(c) for c in cells)) or 1
            for cells, floor, top in zip(columns, floors, longest, strict=True)]
    highs = [max(lo, top) for lo, top in zip(lows, longest, strict=True)]
    room = width - _BORDERS * len(columns) - 1
    if sum(lows) > room:
        return None
    widths = list(lows)
    spare = room - sum(widths)
    while spare > 0:
        open_ = [i for i in range(len(widths)) if widths[i] < highs[i]]
        if not open_:
            break
        total = sum(weights[i] for i in open_) or len(open_)
        given = 0
        for i in open_:
            share = max(1, spare * (weights[i] or 1) // total)
            add = min(share, highs[i] - widths[i], spare - given)
            widths[i] += add
            given += add
            if given >= spare:
                break
        spare -= given
        if given == 0:
            break
    return widths


def _cell(text: str, width: int, style: str = "") -> Cell:
    """A cell's lines, broken to fit `width` (so no word is ever split)."""
    return [[(line, style)] for line in wrap(text, width)]


def _confidence(value: str) -> str:
    return "-" if value == "none" else _(value)


def _verdict_style(r: Row) -> str:
    return VERDICT_STYLES.get(r.verdict, "")


def _wide_table(rows: list[Row], width: int) -> list[Line] | None:
    """Site | Verdict | Confidence | Mechanism | Evidence, if every word fits whole."""
    headers = [_("Site"), _("Verdict"), _("Confidence"), _("Mechanism"), _("Evidence")]
    cells = [[cell_text(r.site) for r in rows], [cell_text(r.verdict) for r in rows],
             [_confidence(r.confidence) for r in rows],
             [cell_text(translate_mechanism(r.mechanism)) for r in rows],
             [cell_text(r.evidence) for r in rows]]
    columns = [[h, *c] for h, c in zip(headers, cells, strict=True)]
    widths = fit_columns(columns, width, [2, 0, 0, 3, 4], [0, 0, 0, TEXT_FLOOR, TEXT_FLOOR])
    if widths is None:
        return None
    site_w, verdict_w, conf_w, mech_w, ev_w = widths
    grid = [[_cell(site, site_w), _cell(verdict, verdict_w, _verdict_style(r)),
             _cell(conf, conf_w), _cell(mech, mech_w), _cell(ev, ev_w)]
            for r, site, verdict, conf, mech, ev in zip(rows, *cells, strict=True)]
    return draw_grid(headers, grid, widths, separators=False)


def _compact_table(rows: list[Row], width: int) -> list[Line] | None:
    """Site | Verdict (confidence below) | Details (mechanism, evidence below), for ~80 columns."""
    headers = [_("Site"), _("Verdict"), _("Details")]
    sites = [cell_text(r.site) for r in rows]
    verdicts = [f"{cell_text(r.verdict)}\n{_confidence(r.confidence)}" for r in rows]
    mechanisms = [cell_text(translate_mechanism(r.mechanism)) for r in rows]
    evidence = [cell_text(r.evidence) for r in rows]
    details = [f"{m}\n{e}" if e else m for m, e in zip(mechanisms, evidence, strict=True)]
    widths = fit_columns([[headers[0], *sites], [headers[1], *verdicts], [headers[2], *details]],
                         width, [2, 0, 6], [0, 0, DETAILS_FLOOR])
    if widths is None:
        return None
    site_w, verdict_w, detail_w = widths
    grid = []
    for r, site, mech, ev in zip(rows, sites, mechanisms, evidence, strict=True):
        verdict = [*_cell(cell_text(r.verdict), verdict_w, _verdict_style(r)),
                   *_cell(_confidence(r.confidence), verdict_w)]
        detail = _cell(mech, detail_w) + (_cell(ev, detail_w, "dim") if ev else [])
        grid.append([_cell(site, site_w), verdict, detail])
    return draw_grid(headers, grid, widths, separators=True)


def _blocks(rows: list[Row], width: int) -> list[Line]:
    """One block per site, for terminals too narrow for any table: a head line, then the
    mechanism and the evidence indented."""
    lines: list[Line] = []
    inner = max(width - BLOCK_INDENT, 2)
    indent = " " * BLOCK_INDENT
    for i, r in enumerate(rows):
        if i:
            lines.append([])
        site, verdict = cell_text(r.site), cell_text(r.verdict)
        head: Line = [(site, "bold"), ("  ", ""), (verdict, _verdict_style(r))]
        if r.confidence != "none":
            head.append((f" ({_confidence(r.confidence)})", ""))
        if sum(cell_len(t) for t, _s in head) <= width:
            lines.append(head)
        else:
            lines.extend([(line, "bold")] for line in wrap(site, width))
            lines.append([(verdict, _verdict_style(r))])
        for text, style in ((translate_mechanism(r.mechanism), ""), (r.evidence, "dim")):
            lines.extend([(indent + line, style)] for line in wrap(cell_text(text), inner)
                         if line)
    return lines


def table_lines(results: Iterable[SiteResult | Row], width: int = 80) -> list[Line]:
    """The rows laid out for `width` cells without splitting a word: five columns when they
    fit, three (verdict and details stacked) at about 80, else one block per site."""
    rows = [item if isinstance(item, Row) else Row.of(item) for item in results]
    return _wide_table(rows, width) or _compact_table(rows, width) or _blocks(rows, width)


def build_table(results: Iterable[SiteResult | Row], width: int = 80) -> Text:
    """`table_lines` as one rich Text (for callers that compose renderables)."""
    text = Text()
    for i, line in enumerate(table_lines(results, width)):
        if i:
            text.append("\n")
        for segment, style in line:
            text.append(segment, style=style)
    return text


def render_table(results: Iterable[SiteResult | Row], console: Console,
                 counts: Mapping[str, int] | None = None, *, full: bool = False) -> None:
    """Print the table and the counts line; `counts` defaults to counting `results`.

    A run of more than LONG_RUN sites shows only the sites that are not accessible (at most
    LONG_RUN_LISTED of them) unless `full`; the JSON output has every one."""
    rows = [item if isinstance(item, Row) else Row.of(item) for item in results]
    if counts is None:
        counts = count_verdicts(rows)
    shown, hidden = rows, 0
    if not full and len(rows) > LONG_RUN:
        unusual = [r for r in rows if r.verdict != "accessible"]
        shown, hidden = unusual[:LONG_RUN_LISTED], max(0, len(unusual) - LONG_RUN_LISTED)
        console.print(Text(_("{total} sites: listing the ones not accessible (--table full "
                             "lists all)").format(total=sum(counts.values())), style="dim"))
    if shown:
        emit(console, table_lines(shown, console.width))
    if hidden:
        console.print(Text(_("... and {n} more not accessible (--table full, or the JSON "
                             "output)").format(n=hidden), style="dim"))
    console.print(summary_line(counts))
