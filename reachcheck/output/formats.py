"""`report --format`: every output format, written from saved runs to stdout or a file.

Formats read the runs as iterables of SiteResult (plus each run's meta), so they work on
streamed input; only markdown and HTML fold the runs into a per-site Timeline first. A file
named with `--output` is written to a temporary file beside it and renamed into place only
when complete: a failure never leaves half a report, nor replaces a good one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from rich.console import Console

from reachcheck.output.csvout import write_csv
from reachcheck.output.jsonout import DASH, JsonlWriter, JsonWriter, check_writable, now_rfc3339
from reachcheck.output.table import render_table
from reachcheck.output.timeline import RunInput, collect

FORMATS = ("table", "json", "jsonl", "csv", "markdown", "html")
TABLE_FILE_WIDTH = 160  # columns of a table written to a file (no terminal to ask)


@contextlib.contextmanager
def atomic_text(path: str | None) -> Iterator[IO[str]]:
    """A text stream for `path` (None or "-": stdout) that replaces the file only on success."""
    if path is None or path == DASH:
        yield sys.stdout
        sys.stdout.flush()
        return
    check_writable(path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    try:
        # mkstemp makes the file private (0600); a report is made to be shared, so give it
        # the mode a plain open() would (an existing file keeps its own).
        os.chmod(tmp, _mode_for(path))
        # errors="replace": a lone surrogate (valid in JSON, not in UTF-8) from a hostile file
        # becomes U+FFFD instead of aborting the report.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mode_for(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_format(fmt: str, runs: Sequence[RunInput], output: str | None, *,
                 console: Console, counts: Mapping[str, int],
                 settings: dict[str, Any] | None = None, started_at: str | None = None,
                 interrupted: bool = False) -> None:
    """Write `runs` as `fmt` to `output` (None: stdout). Raises OSError when it cannot."""
    results = itertools.chain.from_iterable(run.results for run in runs)
    if fmt == "json":
        with JsonWriter(output or DASH, settings or {}, started_at=started_at) as writer:
            for result in results:
                writer.write(result)
            writer.close(dict(counts), interrupted=interrupted)
    elif fmt == "jsonl":
        with JsonlWriter(output or DASH) as lines:
            for result in results:
                lines.write(result)
    elif fmt == "csv":
        with atomic_text(output) as out:
            write_csv(results, out)
    elif fmt == "markdown":
        from reachcheck.output.markdown import render_markdown

        text = render_markdown(collect(runs))
        with atomic_text(output) as out:
            out.write(text)
    elif fmt == "html":
        from reachcheck.output.htmlreport import render_html

        page = render_html(collect(runs), generated_at=now_rfc3339())
        with atomic_text(output) as out:
            out.write(page)
    elif fmt == "table":
        if output is None or output == DASH:
            render_table(results, console, counts)
        else:
            with atomic_text(output) as out:
                render_table(results, Console(file=out, width=TABLE_FILE_WIDTH,
                                              no_color=True, highlight=False), counts)
    else:
        raise ValueError(f"unknown format {fmt!r}")
