"""The `reachcheck` command line: options -> Config, sites -> targets, summary -> exit code.

Running the check itself (writers, progress, signals, the event loop) is `reachcheck.execute`.

Nothing here measures or judges. Every expected failure (bad option, bad sites file, an output
path that cannot be written) becomes one line on stderr and exit code 2, before any output file
is touched. Data goes to stdout, everything else to stderr, so `--jsonl - | jq` always works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import ipaddress
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from reachcheck import __version__, config_file, options, viaopts
from reachcheck.cli_i18n import install_click_translations
from reachcheck.cli_support import (
    StdoutClosed,
    add_global_options,
    config_path_given,
    from_config,
    note_unreadable_system_resolver,
    pipe_guard,
    prepare,
)
from reachcheck.config import DEFAULT_DOH, DEFAULT_INJECTION_PROBE, DEFAULT_RESOLVERS, Config
from reachcheck.diff_cli import diff
from reachcheck.execute import Summary, console, run_check
from reachcheck.history.cli import history
from reachcheck.history.refs import RefError, RunLoader
from reachcheck.history.store import StoreError
from reachcheck.i18n import _
from reachcheck.model import BLOCKED_VERDICTS, VERDICTS, SiteResult, Target
from reachcheck.output import (
    JsonlWriter,
    JsonWriter,
    RunFileError,
    check_writable,
    count_verdicts,
    render_table,
)
from reachcheck.output.formats import FORMATS, write_format
from reachcheck.output.table import LONG_RUN
from reachcheck.output.tablerows import TableRows
from reachcheck.output.timeline import RunInput
from reachcheck.runinfo import LabelError, parse_label
from reachcheck.targets import BadLine, SiteList, TargetError, parse_target
from reachcheck.terminal import sanitize

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE); set REACHCHECK_DEBUG=1 for the traceback
# stdout closed by its reader (`| head`): 128 + SIGPIPE, what a shell reports for a program the
# signal ended (`yes | head`). Not 0: the run stopped early, so "nothing blocked" is unknown.
EXIT_PIPE = 141
MAX_BAD_LINES_SHOWN = 10
REPORT_TABLE_ROWS = 2_000  # rows `report` keeps for its table; the counts cover every site

EXIT_CODES_HELP = """\b
Exit codes:
  0    nothing blocked (every site accessible or down)
  1    at least one site blocked
  2    usage or input error (nothing was written)
  3    nothing blocked, but some results inconclusive
  70   internal error (a bug; REACHCHECK_DEBUG=1 shows the traceback)
  130  interrupted (partial results written, marked "interrupted": true)
  141  stdout closed early (e.g. '| head'): the run stopped quietly"""


def exit_code(summary: Summary) -> int:
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


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(message: str) -> None:
    click.echo(_("reachcheck: error: {message}").format(
        message=sanitize(_one_line(message))), err=True)


class ReachcheckGroup(click.Group):
    """A group whose errors are one line each, never a traceback or a usage dump."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return pipe_guard(lambda: super(ReachcheckGroup, self).make_context(  # type: ignore[no-any-return]
            info_name, args, parent, **extra))

    def invoke(self, ctx: click.Context) -> Any:
        return pipe_guard(lambda: super(ReachcheckGroup, self).invoke(ctx))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        try:
            extra["default_map"] = prepare(self, args)
            extra.setdefault("auto_envvar_prefix", "REACHCHECK")
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else EXIT_OK
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            code = EXIT_USAGE
        except click.BadParameter as exc:
            if from_config(exc, args):
                path = config_file.load(config_path_given(args), os.environ).path
                key = exc.param.opts[0].lstrip("-") if exc.param and exc.param.opts else "?"
                _error(f"{path}: key '{key}': {exc.message}")
            else:
                hint = (_(" (see '{command} --help')").format(command=exc.ctx.command_path)
                        if exc.ctx else "")
                _error(exc.format_message() + hint)
            code = EXIT_USAGE
        except click.UsageError as exc:
            hint = (_(" (see '{command} --help')").format(command=exc.ctx.command_path)
                    if exc.ctx else "")
            _error(exc.format_message() + hint)
            code = EXIT_USAGE
        except click.ClickException as exc:
            _error(exc.format_message())
            code = exc.exit_code
        except click.Abort:
            click.echo(_("reachcheck: interrupted"), err=True)
            code = EXIT_INTERRUPTED
        except StdoutClosed:  # `reachcheck ... | head`: the reader left; say nothing
            _silence_stdout()
            code = EXIT_PIPE
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                _silence_stdout()
                code = EXIT_PIPE
            else:
                _error(str(exc))
                code = EXIT_USAGE
        except Exception as exc:  # a bug: one line unless asked for the traceback
            if os.environ.get("REACHCHECK_DEBUG"):
                raise
            _error(_("internal error: {error} (please report it; REACHCHECK_DEBUG=1 shows "
                     "the traceback)").format(error=f"{type(exc).__name__}: {exc}"))
            code = EXIT_INTERNAL
        try:  # data still buffered for a reader that left would fail at exit: say nothing
            sys.stdout.flush()
        except OSError:
            _silence_stdout()
            code = EXIT_PIPE if code in (EXIT_OK, EXIT_BLOCKED, EXIT_INCONCLUSIVE) else code
        except ValueError:
            pass  # stdout already closed
        if not standalone_mode:
            return code
        sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# ---------------------------------------------------------------------------- option plumbing


def _cb(parse: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback applying `parse` to a value (to each value of a multiple option)."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, tuple):
            return tuple(parse(v) for v in value)
        return parse(value)

    return callback


def _doh_cb(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    return options.parse_doh_list(value)


def _fmt_servers(servers: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{h}:{p}" if ":" not in h else f"[{h}]:{p}" for h, p in servers)


def parse_public_range(text: str) -> str:
    """`--public-range CIDR` -> the normalised network ("10.1.2.3/8" -> "10.0.0.0/8")."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False).compressed
    except ValueError:
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise click.BadParameter(
            f"{shown!r} is not an IP network (CIDR, e.g. 198.18.0.0/15)") from None


def _parse_label(text: str) -> str:
    try:
        return parse_label(text)
    except LabelError as exc:
        raise click.BadParameter(str(exc)) from None


def _public_ranges_cb(ctx: click.Context, param: click.Parameter,
                      value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(parse_public_range(v) for v in value or ()))


public_range_option = click.option(
    "--public-range", "public_ranges", metavar="CIDR", multiple=True, callback=_public_ranges_cb,
    help="Treat addresses in CIDR as public, not special-purpose (for labs and test networks "
         "that use 198.18.0.0/15 or 10.0.0.0/8); repeatable. [default: none]")

_DEFAULTS = Config()  # slotted: read defaults from an instance
_DEFAULT_DOH_TEXT = ", ".join(s.url for s in DEFAULT_DOH)

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


@click.group("reachcheck", cls=ReachcheckGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="reachcheck")
def cli() -> None:
    """Tell whether websites are reachable from this network and, when not, how they are
    blocked: DNS poisoning or injection, IP blocking, SNI filtering, TLS interception, HTTP
    blockpages, or whether the site is simply down."""


@cli.command(epilog=EXIT_CODES_HELP,
             short_help="Check whether sites are reachable, or how they are blocked.")
@click.argument("targets", nargs=-1, metavar="[TARGET]...")
@click.option("--sites", "sites_path", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, readable=True, allow_dash=True),
              help="Read targets from FILE ('-' = standard input): one domain or URL per line, "
                   "'#' comments, or a Citizen Lab test-list CSV. [default: ./sites.txt if "
                   "present, else the packaged list, when no TARGET is given]")
@click.option("--strict", is_flag=True,
              help="Stop with exit code 2 on any bad line of the sites file. [default: skip "
                   "bad lines with a note]")
@click.option("--resolver", "resolvers", metavar="IP[:PORT]", multiple=True,
              callback=_cb(options.parse_resolver),
              help="A UDP resolver to probe; repeat for several; replaces the defaults. "
                   f"[default: {_fmt_servers(DEFAULT_RESOLVERS)}]")
@click.option("--no-system-resolver", is_flag=True,
              help="Do not ask the system's configured resolver. [default: ask it]")
@click.option("--nameserver", "nameservers", metavar="IP[:PORT]", multiple=True,
              callback=_cb(options.parse_resolver),
              help="Use these as the 'system' resolver instead of /etc/resolv.conf (labs and "
                   "tests); repeatable. [default: read resolv.conf]")
@click.option("--doh", "doh", metavar="URL[@IP,...]|none", multiple=True, callback=_doh_cb,
              help="A DNS-over-HTTPS control resolver (https:// only), optionally with "
                   "bootstrap IPs after '@'; repeatable; 'none' disables the control. "
                   f"[default: {_DEFAULT_DOH_TEXT}]")
@click.option("--injection-probe", metavar="IP[:PORT]|none",
              callback=_cb(options.parse_injection_probe),
              help="An address running no DNS service: any answer from it is forged on the "
                   f"path; 'none' skips this probe. [default: {DEFAULT_INJECTION_PROBE}]")
@click.option("--benign-sni", metavar="NAME", callback=_cb(options.parse_hostname),
              help="A harmless TLS server name, to tell SNI filtering from IP blocking. "
                   f"[default: {_DEFAULTS.benign_sni}]")
@click.option("--ca-bundle", metavar="PEM", callback=_cb(options.parse_ca_bundle),
              help="Trust these CA certificates instead of the default store, everywhere. "
                   "[default: the system/certifi store]")
@click.option("--timeout", type=str, metavar="S", default=_DEFAULTS.timeout,
              callback=_cb(options.parse_timeout),
              help=f"Seconds allowed per stage, > 0 and <= 300. [default: {_DEFAULTS.timeout:g}]")
@click.option("--hold-on", type=str, metavar="S", default=_DEFAULTS.hold_on,
              callback=_cb(options.parse_hold_on),
              help="Seconds to keep listening for more DNS answers after the first one "
                   f"(injection shows as several). [default: {_DEFAULTS.hold_on:g}]")
@click.option("--concurrency", type=str, metavar="N", default=_DEFAULTS.concurrency,
              callback=_cb(options.parse_concurrency),
              help=f"Sites checked at once, 1-10000. [default: {_DEFAULTS.concurrency}]")
@click.option("--rate", metavar="QPS", callback=_cb(options.parse_rate),
              help="Most DNS queries per second sent to each resolver. [default: unlimited]")
@click.option("--only", "stages", metavar="STAGES", callback=_cb(options.parse_stages),
              help="Run only these stages, comma separated from dns,tcp,tls,http ('dns' alone "
                   "is a DNS-only scan). [default: all]")
@click.option("--no-ipv6", is_flag=True,
              help="Do not ask AAAA records or connect over IPv6. [default: use IPv6]")
@click.option("--control", metavar="URL", callback=_cb(options.parse_control_url),
              help="A reachcheck control server measuring from outside, to tell blocked from "
                   "down. [default: none]")
@click.option("--control-token-file", metavar="FILE", callback=_cb(options.read_token_file),
              help="File holding the control server's access token. [default: none]")
@click.option("--no-residual-memory", is_flag=True,
              help="Neither read nor write the record of our own recent triggers (addresses, "
                   "names) under $XDG_STATE_HOME/reachcheck/. [default: keep it]")
@viaopts.via_option
@viaopts.fake_ip_pool_option
@public_range_option
@click.option("--label", metavar="TEXT", callback=_cb(_parse_label),
              help="Name this vantage point (a city, an ISP); stored on every result and in "
                   "the history. [default: none]")
@click.option("--no-history", is_flag=True,
              help="Do not keep this run in the history store ($XDG_DATA_HOME/reachcheck/). "
                   "[default: keep it]")
@json_option
@jsonl_option
@table_option
@color_option
@quiet_option
def check(targets: tuple[str, ...], sites_path: str | None, strict: bool,
          resolvers: tuple[tuple[str, int], ...], no_system_resolver: bool,
          nameservers: tuple[tuple[str, int], ...], doh: Any,
          injection_probe: tuple[str, int] | None, benign_sni: str | None,
          ca_bundle: str | None, timeout: float, hold_on: float, concurrency: int,
          rate: float | None, stages: frozenset[str] | None, no_ipv6: bool,
          control: str | None, control_token_file: str | None, no_residual_memory: bool,
          via: str | None, fake_ip_pools: tuple[str, ...] | None,
          public_ranges: tuple[str, ...], label: str | None, no_history: bool,
          json_path: str | None, jsonl_path: str | None, table_mode: str,
          color: bool | None, quiet: bool) -> int:
    """Check TARGETs (domains or URLs; a bare domain means https://DOMAIN/)."""
    ctx = click.get_current_context()
    # None means both "not given" and "none": ask click which one it was.
    probe_given = ctx.get_parameter_source("injection_probe") is not ParameterSource.DEFAULT
    config = Config(
        resolvers=resolvers or DEFAULT_RESOLVERS,
        system_resolver=not no_system_resolver,
        system_nameservers=nameservers or None,
        doh=DEFAULT_DOH if doh is None else doh,
        injection_probe=injection_probe if probe_given else _DEFAULTS.injection_probe,
        benign_sni=benign_sni or _DEFAULTS.benign_sni,
        ca_bundle=ca_bundle,
        timeout=timeout,
        hold_on=min(hold_on, timeout),  # hold-on never outlasts the stage timeout
        concurrency=concurrency,
        rate=rate,
        stages=stages or _DEFAULTS.stages,
        ipv6=not no_ipv6,
        control=control,
        control_token=control_token_file,
        public_ranges=public_ranges,
        via=via,
        fake_ip_pools=viaopts.fake_ip_pools(fake_ip_pools),
        ignored_proxy_env=viaopts.proxy_env(),
        residual_memory=not no_residual_memory,
    )
    if control_token_file and not control:
        raise click.UsageError("--control-token-file needs --control")
    if via and control:
        raise click.UsageError("--via and --control are two outside views: give one")
    _check_output_paths(json_path, jsonl_path)
    target_iter, total = _collect_targets(targets, sites_path, strict, quiet)
    if not {"tcp", "tls", "http"} & config.stages:
        config = dataclasses.replace(config, via=None)  # a DNS-only scan connects nowhere
    viaopts.check_via(config)  # an unusable proxy: one line, exit 2, before any output
    if config.ignored_proxy_env and not quiet:
        viaopts.note_proxy_env(config.ignored_proxy_env, config.via)
    if config.system_resolver and config.system_nameservers is None and not quiet:
        note_unreadable_system_resolver()
    show_table = not quiet and (_isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
    summary = run_check(target_iter, total, config, json_path, jsonl_path, show_table,
                        color, quiet, label=label, history=not no_history,
                        full_table=table_mode == "full")
    return exit_code(summary)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _check_output_paths(json_path: str | None, jsonl_path: str | None) -> None:
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


# ------------------------------------------------------------------------------------ targets


def default_sites_path() -> str:
    """./sites.txt when present, else the packaged default list."""
    if os.path.isfile("sites.txt"):
        return "sites.txt"
    return str(resources.files("reachcheck").joinpath("data", "sites.txt"))


def _collect_targets(args: Sequence[str], sites_path: str | None, strict: bool,
                     quiet: bool) -> tuple[Iterable[Target], int]:
    """The targets to check (lazy) and how many there are.

    A sites file is read twice: once now, to count it and report bad lines before any output
    exists, and again lazily while the run consumes it, so a long list is never held whole.
    """
    arg_targets: dict[str, Target] = {}
    for text in args:
        try:
            target = parse_target(text)
        except TargetError as exc:
            raise InputError(_("invalid target {target}: {reason}").format(
                target=repr(text), reason=exc)) from None
        arg_targets.setdefault(target.url, target)
    if sites_path is None and args:
        return list(arg_targets.values()), len(arg_targets)
    path = sites_path or default_sites_path()
    if path == "-":
        path = "/dev/stdin"  # read like any other file; not replayable, so held below
    sites = SiteList(path, strict=strict)
    # A pipe or device (/dev/stdin) cannot be read twice: hold its targets instead.
    replayable = os.path.isfile(path)
    held: list[Target] = []
    try:
        if replayable:
            total = sum(1 for t in sites if t.url not in arg_targets)
        else:
            held = [t for t in sites if t.url not in arg_targets]
            total = len(held)
    except TargetError as exc:
        raise InputError(str(exc)) from None
    except OSError as exc:
        raise InputError(_("cannot read sites file: {error}").format(error=exc)) from None
    if not quiet:
        _report_bad_lines(sites.bad, sites.duplicate_count, sites.bad_count)
    total += len(arg_targets)
    if total == 0:
        raise InputError(_("no valid targets in {path}").format(path=path))
    if not quiet and sites_path is None:
        click.echo(_("reachcheck: checking {total} sites from {path}").format(
            total=total, path=sanitize(path)), err=True)

    def lazy() -> Iterator[Target]:
        yield from arg_targets.values()
        yield from (t for t in sites if t.url not in arg_targets) if replayable else held

    return lazy(), total


def _report_bad_lines(bad: Sequence[BadLine], duplicates: int,
                      bad_count: int | None = None) -> None:
    bad_count = len(bad) if bad_count is None else bad_count
    for line in bad[:MAX_BAD_LINES_SHOWN]:
        click.echo(_("reachcheck: skipped {line}").format(line=sanitize(str(line))), err=True)
    if bad_count > MAX_BAD_LINES_SHOWN:
        click.echo(_("reachcheck: ... and {n} more bad lines (--strict makes them fatal)"
                     ).format(n=bad_count - MAX_BAD_LINES_SHOWN), err=True)
    if duplicates:
        click.echo(f"reachcheck: note: dropped {duplicates} duplicate line"
                   f"{'s' if duplicates != 1 else ''}", err=True)


# ---------------------------------------------------------------------------------- report


@cli.command(epilog=EXIT_CODES_HELP,
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
    _check_output_paths(json_path, jsonl_path)
    _check_format_output(fmt, output, json_path, jsonl_path)
    if fmt == "table" and not output:
        show_table = not quiet and (_isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
        counts, interrupted = _report_streamed(files, rejudge, public_ranges, json_path,
                                               jsonl_path, color, show_table,
                                               full_table=table_mode == "full")
    else:
        counts, interrupted = _report_format(files, fmt, output, rejudge, public_ranges,
                                             json_path, jsonl_path, color)
    if interrupted and not quiet:
        click.echo("reachcheck: note: a saved run was interrupted; it is incomplete", err=True)
    return exit_code(_Report(counts))


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
                        results = _rejudge(results, public_ranges
                                           or _saved_public_ranges(run.meta, ref))
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
                loaded = list(_rejudge(loaded, public_ranges
                                       or _saved_public_ranges(run.meta, ref)))
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
    if isinstance(exc, (RunFileError, RefError, StoreError)):
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


class _Report:
    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts, self.interrupted, self.network_down = dict(counts), False, False


def _saved_public_ranges(meta: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The --public-range values a saved run was judged with (none in a JSONL file)."""
    settings = meta.get("settings") or {}
    saved = settings.get("public_ranges") if isinstance(settings, Mapping) else None
    if saved is None:
        return ()
    if not isinstance(saved, list) or not all(isinstance(v, str) for v in saved):
        raise InputError(f"{path}: settings.public_ranges is not a list of CIDR strings")
    try:
        return tuple(dict.fromkeys(parse_public_range(v) for v in saved))
    except click.BadParameter as exc:
        raise InputError(f"{path}: settings.public_ranges: {exc.format_message()}") from None


def _rejudge(results: Iterable[SiteResult], public_ranges: tuple[str, ...] = ()
             ) -> Iterator[SiteResult]:
    """Judge a saved run again. Its observations are held in memory: a page served for
    unrelated sites anywhere in the file is a cluster, so every site is seen before any is
    judged (unlike a live run, earlier members learn of later ones)."""
    from reachcheck.analysis import judge  # lazy: only --rejudge needs it
    from reachcheck.rejudge import observations_of
    from reachcheck.runner.clusters import whole_run  # same page for unrelated sites

    saved = []
    kept = []  # what the judgement does not decide: run, time, vantage, origin
    for r in results:
        try:
            saved.append(observations_of(r))
        except TargetError as exc:
            raise InputError(f"saved target {r.target!r} cannot be re-judged: {exc}") from None
        kept.append((r.run_id, r.measured_at, r.vantage, r.source))
    for observations, (run_id, measured_at, vantage, source) in zip(whole_run(saved), kept,
                                                                    strict=True):
        # Without ranges, call judge(obs) exactly as before (stand-ins take one argument).
        judged = (judge(observations, public_ranges=public_ranges) if public_ranges
                  else judge(observations))
        yield dataclasses.replace(judged, run_id=run_id, measured_at=measured_at,
                                  vantage=vantage, source=source)


def _add_control() -> None:
    # The control server needs the optional starlette/uvicorn extra only when it is served;
    # its click group imports neither at load time.
    from reachcheck.control.cli import control

    cli.add_command(control)


_add_control()
cli.add_command(diff)  # reachcheck/diff_cli.py
cli.add_command(history)  # reachcheck/history/cli.py


add_global_options(cli)
install_click_translations()


def _add_import() -> None:
    from reachcheck.ingest.cli import build_import_group  # built from this module's options

    cli.add_command(build_import_group())


_add_import()


def main() -> NoReturn:
    """Console-script entry point."""
    cli.main(prog_name="reachcheck")
    raise AssertionError("unreachable")  # cli.main exits


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["cli", "exit_code", "main", "default_sites_path", "InputError"]
