"""`reachcheck import ooni PATH...`: judge measurements that others made, with our analysis.

Same table, progress, outputs and exit codes as `check` (`reachcheck.cli_common`); after the
table comes the agreement matrix (OONI's verdict x ours), which the JSON document also holds
(`agreement`, with the read counts in `ingest`).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click
from rich.console import Console

from reachcheck.cli_common import (
    EXIT_CODES_HELP,
    InputError,
    check_output_paths,
    color_option,
    exit_code,
    isatty,
    json_option,
    jsonl_option,
    quiet_option,
)
from reachcheck.execute import console
from reachcheck.ingest.ooni.reader import InputPathError, expand
from reachcheck.ingest.ooni.run import MAX_TABLE_ROWS, StrictStop, discard, import_files
from reachcheck.output import JsonlWriter, JsonWriter, render_table
from reachcheck.output.progress import ProgressDisplay
from reachcheck.output.table import summary_line
from reachcheck.runner import RunSummary

MAX_MALFORMED_SHOWN = 10


@click.group("import", short_help="Judge measurements made by others (OONI).")
def import_group() -> None:
    """Judge measurements that other tools made, with reachcheck's analysis."""


@import_group.command(
    "ooni", epilog=EXIT_CODES_HELP, short_help="Judge OONI Web Connectivity measurements.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--strict", is_flag=True,
              help="Stop with exit code 2 at the first malformed measurement (no output "
                   "is left behind). [default: report it with file:line and skip it]")
@json_option
@jsonl_option
@color_option
@quiet_option
def ooni(paths: tuple[str, ...], strict: bool, json_path: str | None, jsonl_path: str | None,
         color: bool | None, quiet: bool) -> int:
    """Judge OONI Web Connectivity measurements (v0.4 and v0.5) with reachcheck's analysis.

    PATH is a measurement (JSON, or the API's answer with raw_measurement), a JSONL file of
    them, either gzipped, a directory of such files, or '-' for standard input. Other OONI
    tests are counted and skipped. OONI's verdict and ours are printed side by side.
    """
    try:
        files = expand(paths)
    except InputPathError as exc:
        raise InputError(str(exc)) from None
    check_output_paths(json_path, jsonl_path)
    show_table = not quiet and (isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
    settings = {"import": "ooni", "inputs": list(paths), "strict": strict}
    json_writer = jsonl_writer = None
    try:
        json_writer = JsonWriter(json_path, settings) if json_path else None
        jsonl_writer = JsonlWriter(jsonl_path) if jsonl_path else None
    except OSError as exc:
        discard(json_writer, None)
        raise InputError(f"cannot write output: {exc}") from None
    shown = 0

    def on_malformed(message: str) -> None:
        nonlocal shown
        shown += 1
        if not quiet and shown <= MAX_MALFORMED_SHOWN:
            click.echo(f"reachcheck: skipped {message}", err=True)

    # SIGTERM stops like Ctrl-C: the results so far are written, exit code 130.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ProgressDisplay(None, enabled=not quiet) as progress:
            summary = import_files(files, json_writer=json_writer, jsonl_writer=jsonl_writer,
                                   strict=strict, keep_rows=show_table, progress=progress.update,
                                   on_malformed=on_malformed)
    except StrictStop as exc:
        discard(json_writer, jsonl_writer)
        raise InputError(f"{exc} (--strict)") from None
    except OSError as exc:
        discard(json_writer, jsonl_writer)
        raise InputError(f"cannot read input: {exc}") from None
    except BaseException:
        discard(json_writer, jsonl_writer)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if summary.judged == 0 and not summary.interrupted:
        discard(json_writer, jsonl_writer)
        raise InputError(f"no Web Connectivity measurement in the input{_read_note(summary)}")
    try:
        if json_writer:
            json_writer.close(summary.counts, interrupted=summary.interrupted,
                              extra={"agreement": summary.agreement.as_json(),
                                     "ingest": summary.ingest_json()})
        if jsonl_writer:
            jsonl_writer.close()
    except OSError as exc:
        raise InputError(f"cannot write output: {exc}") from None
    if show_table:
        out = console(color)
        render_table(summary.rows, out, summary.counts)
        if summary.judged > len(summary.rows):
            out.print(f"(the table shows the first {MAX_TABLE_ROWS} of {summary.judged} "
                      "results; --json/--jsonl hold them all)")
        out.print(summary.agreement.headline())
        out.print(summary.agreement.table())
    elif not quiet:
        Console(stderr=True, highlight=False).print(summary_line(summary.counts))
    if not quiet:
        note = _read_parts(summary)
        if note:
            click.echo(f"reachcheck: note: {note}", err=True)
        if shown > MAX_MALFORMED_SHOWN:
            click.echo(f"reachcheck: ... and {shown - MAX_MALFORMED_SHOWN} more malformed "
                       "measurements (--strict makes them fatal)", err=True)
    if summary.interrupted:
        click.echo("reachcheck: interrupted; partial results written", err=True)
    return exit_code(RunSummary.from_counts(summary.counts, interrupted=summary.interrupted))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _read_note(summary: object) -> str:
    parts = _read_parts(summary)
    return f" ({parts})" if parts else ""


def _read_parts(summary: object) -> str:
    skipped = getattr(summary, "skipped_tests", {})
    malformed = getattr(summary, "malformed", 0)
    parts = []
    if skipped:
        detail = ", ".join(f"{name}: {n}" for name, n in sorted(skipped.items()))
        parts.append(f"skipped {sum(skipped.values())} measurements of other tests ({detail})")
    if malformed:
        parts.append(f"skipped {malformed} malformed")
    return "; ".join(parts)
