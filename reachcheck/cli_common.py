"""What several commands share: exit codes, the input error, the output options and their checks.

`check` (`check_cli.py`), `report` (`report_cli.py`) and `import ooni` (`ingest/cli.py`) take
the same --json/--jsonl/--table/--color/--quiet options and end with the same exit codes; the
group in `cli.py` turns `InputError` into one line and exit code 2. This module imports no
command module, so every command module may import it.
"""

from __future__ import annotations

import os
from typing import Any

import click

from reachcheck import options
from reachcheck.model import BLOCKED_VERDICTS
from reachcheck.output import check_writable
from reachcheck.output.table import LONG_RUN
from reachcheck.runner import RunSummary

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE); set REACHCHECK_DEBUG=1 for the traceback
# stdout closed by its reader (`| head`): 128 + SIGPIPE, what a shell reports for a program the
# signal ended (`yes | head`). Not 0: the run stopped early, so "nothing blocked" is unknown.
EXIT_PIPE = 141

EXIT_CODES_HELP = """\b
Exit codes:
  0    nothing blocked (every site accessible or down)
  1    at least one site blocked
  2    usage or input error (nothing was written)
  3    nothing blocked, but some results inconclusive
  70   internal error (a bug; REACHCHECK_DEBUG=1 shows the traceback)
  130  interrupted (partial results written, marked "interrupted": true)
  141  stdout closed early (e.g. '| head'): the run stopped quietly"""


def exit_code(summary: RunSummary) -> int:
    """The process exit code for a finished (or interrupted) run."""
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if any(summary.counts.get(v, 0) for v in BLOCKED_VERDICTS):
        return EXIT_BLOCKED
    if summary.counts.get("inconclusive", 0):
        return EXIT_INCONCLUSIVE
    return EXIT_OK


class InputError(click.ClickException):
    """A problem with the user's input or files (exit 2, one line)."""

    exit_code = EXIT_USAGE


def _public_ranges_cb(ctx: click.Context, param: click.Parameter,
                      value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(options.parse_public_range(v) for v in value or ()))


public_range_option = click.option(
    "--public-range", "public_ranges", metavar="CIDR", multiple=True, callback=_public_ranges_cb,
    help="Treat addresses in CIDR as public, not special-purpose (for labs and test networks "
         "that use 198.18.0.0/15 or 10.0.0.0/8); repeatable. [default: none]")

color_option = click.option(
    "--color/--no-color", default=None,
    help="Colour the table. [default: when stdout is a terminal and NO_COLOR is unset]")
quiet_option = click.option(
    "-q", "--quiet", is_flag=True,
    help="Print nothing but errors (no table, progress or notes); use the exit code or "
         "--json/--jsonl. [default: off]")
json_option = click.option(
    "--json", "json_path", metavar="FILE|-",
    help="Write one JSON document (schema reachcheck/1) to FILE, or to stdout with '-'. The "
         "file is replaced only when the run ends. [default: none]")
table_option = click.option(
    "--table", "table_mode", type=click.Choice(["auto", "full"]), default="auto",
    help=f"'full' lists every site in the table; 'auto' lists every site up to {LONG_RUN}, "
         "and only the sites that are not accessible in longer runs. [default: auto]")
jsonl_option = click.option(
    "--jsonl", "jsonl_path", metavar="FILE|-",
    help="Write one JSON result per line as each site finishes, to FILE or stdout ('-'). "
         "[default: none]")


def isatty(stream: Any) -> bool:
    """`stream` is a terminal (False for a closed or fake stream)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def check_output_paths(json_path: str | None, jsonl_path: str | None) -> None:
    """Usage errors about --json/--jsonl, and writability, before anything runs."""
    if json_path == "-" and jsonl_path == "-":
        raise click.UsageError("--json - and --jsonl - cannot both write to stdout")
    if json_path and jsonl_path and json_path != "-" and (
        os.path.abspath(json_path) == os.path.abspath(jsonl_path)
    ):
        raise click.UsageError("--json and --jsonl must name different files")
    for flag, path in (("--json", json_path), ("--jsonl", jsonl_path)):
        if path:
            try:
                check_writable(path)
            except OSError as exc:
                raise InputError(f"cannot write {flag} {exc}") from None
