"""Drawing the table: styled lines of text in a box-drawn grid, written in one go.

rich's Table lays out and measures every cell again on each print: 10,000 rows took 6-13 s.
The table module already knows each column's width and has broken every cell into lines, so
here the grid is plain string work, with rich's own styles rendered once per style (so colour
follows the console exactly: NO_COLOR keeps bold and drops colours, a pipe gets no escapes).
The look is rich's default table: heavy header box, light body.
"""

from __future__ import annotations

from rich.console import COLOR_SYSTEMS, Console
from rich.style import Style

from reachcheck.output.wrap import text_width

Segment = tuple[str, str]  # text, rich style name ("" = plain)
Line = list[Segment]
Cell = list[Line]  # the lines of one cell, each already within the column's width


def _rule(left: str, fill: str, cross: str, right: str, widths: list[int]) -> Line:
    return [(left + cross.join(fill * (w + 2) for w in widths) + right, "")]


def _row(cells: list[Cell], widths: list[int], bar: str) -> list[Line]:
    height = max((len(c) for c in cells), default=1) or 1
    out: list[Line] = []
    for i in range(height):
        line: Line = [(bar, "")]
        for cell, width in zip(cells, widths, strict=True):
            segments = cell[i] if i < len(cell) else []
            used = sum(text_width(text) for text, _ in segments)
            line.append((" ", ""))
            line.extend(segments)
            line.append((" " * (width - used) + " " + bar, ""))
        out.append(line)
    return out


def draw_grid(headers: list[str], rows: list[list[Cell]], widths: list[int], *,
              separators: bool) -> list[Line]:
    """The grid's lines: a bold header, then the rows (a rule between rows if `separators`)."""
    lines = [_rule("┏", "━", "┳", "┓", widths)]
    lines += _row([[[(h, "bold")]] for h in headers], widths, "┃")
    lines.append(_rule("┡", "━", "╇", "┩", widths))
    for i, row in enumerate(rows):
        if i and separators:
            lines.append(_rule("├", "─", "┼", "┤", widths))
        lines += _row(row, widths, "│")
    lines.append(_rule("└", "─", "┴", "┘", widths))
    return lines


def emit(console: Console, lines: list[Line]) -> None:
    """Write `lines` to the console's file, styled as the console would style them."""
    if console.quiet:
        return
    name = None if console.is_dumb_terminal else console.color_system
    color_system = COLOR_SYSTEMS.get(name) if name else None
    rendered: dict[str, Style] = {}

    def styled(text: str, name: str) -> str:
        if not name or color_system is None or not text:
            return text
        style = rendered.get(name)
        if style is None:
            style = Style.parse(name)
            rendered[name] = style.without_color if console.no_color else style
            style = rendered[name]
        return style.render(text, color_system=color_system)

    text = "\n".join("".join(styled(t, s) for t, s in line).rstrip() for line in lines)
    if text:
        console.file.write(text + "\n")
        console.file.flush()
