"""`reachcheck check TARGET...`: options -> `Config`, sites -> targets, the run -> exit code.

Running the check itself (writers, progress, signals, the event loop) is `reachcheck.execute`.
Every expected failure (bad option, bad sites file, an output path that cannot be written)
becomes one line on stderr and exit code 2, before any output file is touched.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from typing import Any

import click
from click.core import ParameterSource

from reachcheck import options, viaopts
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
from reachcheck.cli_support import note_unreadable_system_resolver
from reachcheck.config import DEFAULT_DOH, DEFAULT_INJECTION_PROBE, DEFAULT_RESOLVERS, Config
from reachcheck.execute import run_check
from reachcheck.i18n import _
from reachcheck.model import Target
from reachcheck.targets import BadLine, SiteList, TargetError, parse_target
from reachcheck.terminal import sanitize

MAX_BAD_LINES_SHOWN = 10


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


_DEFAULTS = Config()  # slotted: read defaults from an instance
_DEFAULT_DOH_TEXT = ", ".join(s.url for s in DEFAULT_DOH)


@click.command(epilog=EXIT_CODES_HELP,
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
@click.option("--label", metavar="TEXT", callback=_cb(options.parse_label),
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
    check_output_paths(json_path, jsonl_path)
    target_iter, total = _collect_targets(targets, sites_path, strict, quiet)
    if not {"tcp", "tls", "http"} & config.stages:
        config = dataclasses.replace(config, via=None)  # a DNS-only scan connects nowhere
    viaopts.check_via(config)  # an unusable proxy: one line, exit 2, before any output
    if config.ignored_proxy_env and not quiet:
        viaopts.note_proxy_env(config.ignored_proxy_env, config.via)
    if config.system_resolver and config.system_nameservers is None and not quiet:
        note_unreadable_system_resolver()
    show_table = not quiet and (isatty(sys.stdout) or "-" not in (json_path, jsonl_path))
    summary = run_check(target_iter, total, config, json_path, jsonl_path, show_table,
                        color, quiet, label=label, history=not no_history,
                        full_table=table_mode == "full")
    return exit_code(summary)


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
