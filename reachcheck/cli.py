"""The `reachcheck` command line: options -> Config, sites -> targets, summary -> exit code.

Running the check itself (writers, progress, signals, the event loop) is `reachcheck.execute`.

Nothing here measures or judges. Every expected failure (bad option, bad sites file, an output
path that cannot be written) becomes one line on stderr and exit code 2, before any output file
is touched. Data goes to stdout, everything else to stderr, so `--jsonl - | jq` always works.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from reachcheck import __version__, options
from reachcheck.config import DEFAULT_DOH, DEFAULT_INJECTION_PROBE, DEFAULT_RESOLVERS, Config
from reachcheck.execute import Summary, console, run_check
from reachcheck.model import BLOCKED_VERDICTS, SiteResult, Target
from reachcheck.output import (
    JsonlWriter,
    JsonWriter,
    RunFileError,
    check_writable,
    count_verdicts,
    load_run,
    render_table,
)
from reachcheck.targets import BadLine, SiteList, TargetError, parse_target

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE); set REACHCHECK_DEBUG=1 for the traceback
MAX_BAD_LINES_SHOWN = 10

EXIT_CODES_HELP = """\b
Exit codes:
  0    nothing blocked (every site accessible or down)
  1    at least one site blocked
  2    usage or input error (nothing was written)
  3    nothing blocked, but some results inconclusive
  130  interrupted (partial results written, marked "interrupted": true)"""


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
    click.echo(f"reachcheck: error: {_one_line(message)}", err=True)


class ReachcheckGroup(click.Group):
    """A group whose errors are one line each, never a traceback or a usage dump."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else EXIT_OK
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            code = EXIT_USAGE
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _error(exc.format_message() + hint)
            code = EXIT_USAGE
        except click.ClickException as exc:
            _error(exc.format_message())
            code = exc.exit_code
        except click.Abort:
            click.echo("reachcheck: interrupted", err=True)
            code = EXIT_INTERRUPTED
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `reachcheck ... | head`: the reader left; say nothing
                _silence_stdout()
                code = EXIT_OK
            else:
                _error(str(exc))
                code = EXIT_USAGE
        except Exception as exc:  # a bug: one line unless asked for the traceback
            if os.environ.get("REACHCHECK_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} "
                   "(please report it; REACHCHECK_DEBUG=1 shows the traceback)")
            code = EXIT_INTERNAL
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
@public_range_option
@json_option
@jsonl_option
@color_option
@quiet_option
def check(targets: tuple[str, ...], sites_path: str | None, strict: bool,
          resolvers: tuple[tuple[str, int], ...], no_system_resolver: bool,
          nameservers: tuple[tuple[str, int], ...], doh: Any,
          injection_probe: tuple[str, int] | None, benign_sni: str | None,
          ca_bundle: str | None, timeout: float, hold_on: float, concurrency: int,
          rate: float | None, stages: frozenset[str] | None, no_ipv6: bool,
          control: str | None, control_token_file: str | None, no_residual_memory: bool,
          public_ranges: tuple[str, ...], json_path: str | None,
          jsonl_path: str | None, color: bool | None, quiet: bool) -> int:
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
        residual_memory=not no_residual_memory,
    )
    if control_token_file and not control:
        raise click.UsageError("--control-token-file needs --control")
    _check_output_paths(json_path, jsonl_path)
    target_iter, total = _collect_targets(targets, sites_path, strict, quiet)
    show_table = not quiet and (_isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
    summary = run_check(target_iter, total, config, json_path, jsonl_path, show_table,
                        color, quiet)
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
            raise InputError(f"invalid target {text!r}: {exc}") from None
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
        raise InputError(f"cannot read sites file: {exc}") from None
    if not quiet:
        _report_bad_lines(sites.bad, len(sites.duplicates))
    total += len(arg_targets)
    if total == 0:
        raise InputError(f"no valid targets in {path}")
    if not quiet and sites_path is None:
        click.echo(f"reachcheck: checking {total} sites from {path}", err=True)

    def lazy() -> Iterator[Target]:
        yield from arg_targets.values()
        yield from (t for t in sites if t.url not in arg_targets) if replayable else held

    return lazy(), total


def _report_bad_lines(bad: Sequence[BadLine], duplicates: int) -> None:
    for line in bad[:MAX_BAD_LINES_SHOWN]:
        click.echo(f"reachcheck: skipped {line}", err=True)
    if len(bad) > MAX_BAD_LINES_SHOWN:
        click.echo(f"reachcheck: ... and {len(bad) - MAX_BAD_LINES_SHOWN} more bad lines "
                   "(--strict makes them fatal)", err=True)
    if duplicates:
        click.echo(f"reachcheck: note: dropped {duplicates} duplicate line"
                   f"{'s' if duplicates != 1 else ''}", err=True)


# ---------------------------------------------------------------------------------- report


@cli.command(epilog=EXIT_CODES_HELP, short_help="Show a saved JSON/JSONL run as the table.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--rejudge", is_flag=True,
              help="Re-run the current analysis on the saved observations instead of showing "
                   "the saved verdicts. [default: off]")
@public_range_option
@json_option
@jsonl_option
@color_option
@quiet_option
def report(files: tuple[str, ...], rejudge: bool, public_ranges: tuple[str, ...],
           json_path: str | None, jsonl_path: str | None, color: bool | None,
           quiet: bool) -> int:
    """Show saved runs (JSON or JSONL files) as the table, optionally re-judged or re-exported.

    --rejudge uses each run's saved --public-range settings unless --public-range is given.
    """
    if public_ranges and not rejudge:
        raise click.UsageError("--public-range needs --rejudge")
    _check_output_paths(json_path, jsonl_path)
    metas: list[dict[str, Any]] = []
    results: list[SiteResult] = []
    for path in files:
        try:
            meta, loaded = load_run(path)
        except (RunFileError, OSError) as exc:
            raise InputError(str(exc)) from None
        metas.append(meta)
        if rejudge:
            ranges = public_ranges or _saved_public_ranges(meta, path)
            loaded = _rejudge(loaded, ranges)
        results.extend(loaded)
    counts = count_verdicts(results)
    interrupted = any(m.get("interrupted") for m in metas)
    first = metas[0] if metas else {}
    settings = dict(first.get("settings") or {})
    if rejudge and public_ranges:
        settings["public_ranges"] = list(public_ranges)  # what the results were judged with
    try:
        if json_path:
            with JsonWriter(json_path, settings,
                            started_at=first.get("started_at")) as writer:
                for r in results:
                    writer.write(r)
                writer.close(counts, interrupted=interrupted)
        if jsonl_path:
            with JsonlWriter(jsonl_path) as lines:
                for r in results:
                    lines.write(r)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc}") from None
    if not quiet and (_isatty(sys.stdout) or "-" not in (json_path, jsonl_path)):
        render_table(results, console(color), counts)
    if interrupted and not quiet:
        click.echo("reachcheck: note: a saved run was interrupted; it is incomplete", err=True)
    return exit_code(_Report(counts))


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


def _rejudge(results: list[SiteResult], public_ranges: tuple[str, ...] = ()) -> list[SiteResult]:
    from reachcheck.analysis import judge  # lazy: only --rejudge needs it
    from reachcheck.runner.clusters import whole_run  # same page for unrelated sites

    saved = []
    for r in results:
        try:
            saved.append(r.observations())
        except TargetError as exc:
            raise InputError(f"saved target {r.target!r} cannot be re-judged: {exc}") from None
    out = []
    for observations in whole_run(saved):
        # Without ranges, call judge(obs) exactly as before (stand-ins take one argument).
        out.append(judge(observations, public_ranges=public_ranges) if public_ranges
                   else judge(observations))
    return out


def _add_control() -> None:
    # The control server needs the optional starlette/uvicorn extra only when it is served;
    # its click group imports neither at load time.
    from reachcheck.control.cli import control

    cli.add_command(control)


_add_control()


def main() -> NoReturn:
    """Console-script entry point."""
    cli.main(prog_name="reachcheck")
    raise AssertionError("unreachable")  # cli.main exits


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["cli", "exit_code", "main", "default_sites_path", "InputError"]
