"""`reachcheck report FILE|ID...`: saved runs as a table or another --format, re-exported to
--json/--jsonl, optionally judged again (`reachcheck.rejudge`).

The table streams one result at a time (memory stays flat); the other formats load the runs
whole, since Markdown and HTML fold every run per site. A bad input or an unwritable output is
one line and exit code 2, and leaves no half-written output behind.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from reachcheck.cli_common import (
    EXIT_CODES_HELP,
    InputError,
    check_output_paths,
    color_option,
    exit_code,
    isatty,
    json_option,
    jsonl_option,
    public_range_option,
    quiet_option,
    table_option,
)
from reachcheck.execute import console
from reachcheck.history.refs import RefError, RunLoader
from reachcheck.history.store import StoreError
from reachcheck.model import VERDICTS
from reachcheck.output import (
    JsonlWriter,
    JsonWriter,
    RunFileError,
    check_writable,
    count_verdicts,
    render_table,
)
from reachcheck.output.formats import FORMATS, write_format
from reachcheck.output.tablerows import TableRows
from reachcheck.output.timeline import RunInput
from reachcheck.rejudge import RejudgeError, saved_public_ranges
from reachcheck.rejudge import rejudge as judge_again  # `rejudge` is the --rejudge flag here
from reachcheck.runner import RunSummary

REPORT_TABLE_ROWS = 2_000  # rows `report` keeps for its table; the counts cover every site


@click.command(epilog=EXIT_CODES_HELP,
               short_help="Show saved runs as a table, JSON, JSONL, CSV, Markdown or HTML.")
@click.argument("files", nargs=-1, required=True, metavar="FILE|ID...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              help="Output format; html is one self-contained page with charts and, for "
                   "several runs, each site's verdict over time. [default: table]")
@click.option("--output", "-o", "output", metavar="FILE",
              help="Write the --format output to FILE (replaced only when complete). "
                   "[default: stdout]")
@click.option("--rejudge", is_flag=True,
              help="Re-run the current analysis on the saved observations instead of showing "
                   "the saved verdicts. [default: off]")
@public_range_option
@json_option
@jsonl_option
@table_option
@color_option
@quiet_option
def report(files: tuple[str, ...], fmt: str, output: str | None, rejudge: bool,
           public_ranges: tuple[str, ...], json_path: str | None, jsonl_path: str | None,
           table_mode: str, color: bool | None, quiet: bool) -> int:
    """Show saved runs (JSON or JSONL files, or history ids: see 'reachcheck history list')
    as a table or another --format, optionally re-judged or re-exported.

    --rejudge uses each run's saved --public-range settings unless --public-range is given.
    """
    if public_ranges and not rejudge:
        raise click.UsageError("--public-range needs --rejudge")
    check_output_paths(json_path, jsonl_path)
    _check_format_output(fmt, output, json_path, jsonl_path)
    if fmt == "table" and not output:
        show_table = not quiet and (isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
        counts, interrupted = _report_streamed(files, rejudge, public_ranges, json_path,
                                               jsonl_path, color, show_table,
                                               full_table=table_mode == "full")
    else:
        counts, interrupted = _report_format(files, fmt, output, rejudge, public_ranges,
                                             json_path, jsonl_path, color)
    if interrupted and not quiet:
        click.echo("reachcheck: note: a saved run was interrupted; it is incomplete", err=True)
    return exit_code(RunSummary.from_counts(counts))


def _report_streamed(files: tuple[str, ...], rejudge: bool, public_ranges: tuple[str, ...],
                     json_path: str | None, jsonl_path: str | None, color: bool | None,
                     show_table: bool, full_table: bool = False) -> tuple[dict[str, int], bool]:
    """The table (and --json/--jsonl re-exports), one result at a time: memory stays flat."""
    rows = TableRows(REPORT_TABLE_ROWS if show_table else 0)
    counts: Counter[str] = Counter()
    interrupted = False
    json_writer = jsonl_writer = None
    try:
        with RunLoader() as loader:
            for index, ref in enumerate(files):
                with loader.stream(ref) as run:
                    if index == 0:
                        json_writer, jsonl_writer = _report_writers(
                            run.meta, rejudge, public_ranges, json_path, jsonl_path)
                    results = run.results
                    if rejudge:
                        results = judge_again(results, public_ranges
                                              or saved_public_ranges(run.meta, ref))
                    for r in results:
                        if json_writer:
                            json_writer.write(r)
                        if jsonl_writer:
                            jsonl_writer.write(r)
                        counts[r.verdict] += 1
                        rows.add(r)
                    interrupted = interrupted or bool(run.meta.get("interrupted"))
        ordered = {v: counts[v] for v in VERDICTS if counts[v]}
        if json_writer:
            json_writer.close(ordered, interrupted=interrupted)
        if jsonl_writer:
            jsonl_writer.close()
    except BaseException as exc:
        _abandon(exc, json_writer, jsonl_writer)
    if show_table:
        render_table(rows.rows, console(color), ordered, full=full_table)
        if rows.dropped:
            click.echo(f"reachcheck: note: the table shows the first {len(rows.rows)} of "
                       f"{len(rows.rows) + rows.dropped} sites; the counts cover all", err=True)
    return ordered, interrupted


def _report_format(files: tuple[str, ...], fmt: str, output: str | None, rejudge: bool,
                   public_ranges: tuple[str, ...], json_path: str | None,
                   jsonl_path: str | None, color: bool | None) -> tuple[dict[str, int], bool]:
    """Another --format (or the table into --output): the runs are loaded whole, since
    Markdown and HTML fold every run per site."""
    inputs: list[RunInput] = []
    with RunLoader() as loader:
        for ref in files:
            try:
                run = loader.load(ref)
            except (RunFileError, OSError, RefError, StoreError) as exc:
                raise InputError(str(exc)) from None
            loaded = list(run.results)
            if rejudge:
                try:
                    loaded = list(judge_again(loaded, public_ranges
                                              or saved_public_ranges(run.meta, ref)))
                except RejudgeError as exc:
                    raise InputError(str(exc)) from None
            inputs.append(RunInput(run.source, run.meta, loaded))
    results = [r for run in inputs for r in run.results]
    counts = count_verdicts(results)
    interrupted = any(run.meta.get("interrupted") for run in inputs)
    first = inputs[0].meta if inputs else {}
    json_writer = jsonl_writer = None
    try:
        json_writer, jsonl_writer = _report_writers(first, rejudge, public_ranges, json_path,
                                                    jsonl_path)
        for r in results:
            if json_writer:
                json_writer.write(r)
            if jsonl_writer:
                jsonl_writer.write(r)
        if json_writer:
            json_writer.close(counts, interrupted=interrupted)
        if jsonl_writer:
            jsonl_writer.close()
        settings = dict(first.get("settings") or {})
        if rejudge and public_ranges:
            settings["public_ranges"] = list(public_ranges)  # what the results were judged with
        write_format(fmt, inputs, output, console=console(color), counts=counts,
                     settings=settings, started_at=first.get("started_at"),
                     interrupted=interrupted)
    except BaseException as exc:
        _abandon(exc, json_writer, jsonl_writer)
    return counts, interrupted


def _abandon(exc: BaseException, *writers: JsonWriter | JsonlWriter | None) -> NoReturn:
    """A report that failed: remove its unfinished outputs (no half-written file), and turn a
    bad input or an unwritable output into one line (exit 2); anything else goes on up."""
    for writer in writers:
        if writer:
            writer.abort()
    if isinstance(exc, (RunFileError, RefError, StoreError, RejudgeError)):
        raise InputError(str(exc)) from None
    if isinstance(exc, OSError):
        raise InputError(f"cannot write output: {exc}") from None
    raise exc


def _report_writers(meta: Mapping[str, Any], rejudge: bool, public_ranges: tuple[str, ...],
                    json_path: str | None, jsonl_path: str | None
                    ) -> tuple[JsonWriter | None, JsonlWriter | None]:
    """The re-export writers, headed with the first run's settings."""
    settings = dict(meta.get("settings") or {})
    if rejudge and public_ranges:
        settings["public_ranges"] = list(public_ranges)  # what the results were judged with
    json_writer = JsonWriter(json_path, settings, started_at=meta.get("started_at")) \
        if json_path else None
    try:
        jsonl_writer = JsonlWriter(jsonl_path, atomic=True) if jsonl_path else None
    except BaseException:
        if json_writer:
            json_writer.abort()
        raise
    return json_writer, jsonl_writer


def _check_format_output(fmt: str, output: str | None, json_path: str | None,
                         jsonl_path: str | None) -> None:
    """Usage errors about --format/--output, and writability, before anything is read."""
    to_stdout = fmt != "table" and output in (None, "-")
    if to_stdout and "-" in (json_path, jsonl_path):
        raise click.UsageError(f"--format {fmt} and --json/--jsonl - cannot both write to "
                               "stdout (use --output FILE)")
    if output and output != "-":
        for flag, path in (("--json", json_path), ("--jsonl", jsonl_path)):
            if path and path != "-" and os.path.abspath(path) == os.path.abspath(output):
                raise click.UsageError(f"--output and {flag} must name different files")
        try:
            check_writable(output)
        except OSError as exc:
            raise InputError(f"cannot write --output {exc}") from None
