"""What the command line does before and around click's own parsing.

- `prepare`: before click parses, load the config file, choose the language and translate the
  help (help is printed while parsing); returns the config file as click's default_map.
- `from_config`: whether a bad option value came from the config file (to name file and key).
- `pipe_guard` / `StdoutClosed`: stdout's reader leaving (EPIPE) becomes an exception click
  does not swallow (it would exit 1), so the CLI can exit quietly with its own code.
- `note_unreadable_system_resolver`, `add_global_options` (--lang, --config everywhere).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Sequence
from typing import Any

import click

from reachcheck import config_file
from reachcheck.cli_i18n import choose_language, lang_option, localise_commands, option_from_argv
from reachcheck.i18n import _, set_language

RESOLV_CONF = "/etc/resolv.conf"  # where the runner's system resolver comes from


def prepare(group: click.Group, args: Sequence[str]) -> dict[str, Any]:
    """Before click parses: load the config file, pick the language, translate the help.
    Returns click's default_map (the config file's values)."""
    lang = option_from_argv(args, "--lang")
    with contextlib.suppress(click.ClickException):  # so a bad config file is reported in it
        set_language(choose_language(lang, None, os.environ))
    loaded = config_file.load(config_path_given(args), os.environ)
    set_language(choose_language(lang, loaded.language, os.environ, loaded.path))
    localise_commands(group)
    return loaded.default_map(group)


def config_path_given(args: Sequence[str]) -> str | None:
    """`--config FILE`, else $REACHCHECK_CONFIG, else None (the default file)."""
    return option_from_argv(args, "--config") or os.environ.get("REACHCHECK_CONFIG") or None


def from_config(exc: click.BadParameter, args: Sequence[str]) -> bool:
    """The bad value came from the config file: the option has a value there and was given
    neither on the command line nor in the environment (click records where a value came
    from only after checking it)."""
    ctx, param = exc.ctx, exc.param
    if not (ctx and param and param.name and ctx.default_map and param.name in ctx.default_map):
        return False
    names = [*param.opts, *param.secondary_opts]
    if any(arg == name or arg.startswith(name + "=") for arg in args for name in names):
        return False
    return param.resolve_envvar_value(ctx) is None


class StdoutClosed(Exception):
    """stdout's reader went away (EPIPE). Not an OSError, so click does not swallow it with
    its own exit code 1."""


def pipe_guard(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise StdoutClosed() from None
        raise


def note_unreadable_system_resolver() -> None:
    """Say so when resolv.conf names no usable nameserver: the run silently lacks one."""
    from reachcheck.probes.dns.resolvconf import system_nameservers  # lazy: --help stays light

    if not system_nameservers(RESOLV_CONF):
        click.echo(_("reachcheck: note: no nameserver could be read from {path}; this run "
                     "leaves the system resolver out (--nameserver IP[:PORT] names one)"
                     ).format(path=RESOLV_CONF), err=True)


def add_global_options(group: click.Group) -> None:
    """--lang and --config on every command (they are read before parsing, see prepare)."""
    commands: list[click.Command] = [group]
    while commands:
        command = commands.pop()
        command.params.extend([lang_option(), config_file.config_option()])
        if isinstance(command, click.Group):
            commands.extend(command.commands.values())
