"""The `reachcheck` command line: the command group, its one-line errors and exit codes.

Each command lives in its own module and is registered here: `check` (`check_cli.py`),
`report` (`report_cli.py`), `diff` (`diff_cli.py`), `history` (`history/cli.py`), `import`
(`ingest/cli.py`), `control` (`control/cli.py`); what several share is `cli_common.py`.

Nothing here measures or judges. Every expected failure (bad option, bad sites file, an output
path that cannot be written) becomes one line on stderr and exit code 2, before any output file
is touched. Data goes to stdout, everything else to stderr, so `--jsonl - | jq` always works.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from reachcheck import __version__, config_file
from reachcheck.check_cli import check, default_sites_path
from reachcheck.cli_common import (
    EXIT_BLOCKED,
    EXIT_CODES_HELP,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_USAGE,
    InputError,
    exit_code,
)
from reachcheck.cli_i18n import install_click_translations
from reachcheck.cli_support import (
    StdoutClosed,
    add_global_options,
    config_path_given,
    from_config,
    pipe_guard,
    prepare,
)
from reachcheck.diff_cli import diff
from reachcheck.history.cli import history
from reachcheck.i18n import _
from reachcheck.ingest.cli import import_group
from reachcheck.report_cli import report
from reachcheck.terminal import sanitize


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


@click.group("reachcheck", cls=ReachcheckGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="reachcheck")
def cli() -> None:
    """Tell whether websites are reachable from this network and, when not, how they are
    blocked: DNS poisoning or injection, IP blocking, SNI filtering, TLS interception, HTTP
    blockpages, or whether the site is simply down."""


cli.add_command(check)  # reachcheck/check_cli.py
cli.add_command(report)  # reachcheck/report_cli.py


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
cli.add_command(import_group)  # reachcheck/ingest/cli.py (after the global options, as always)


def main() -> NoReturn:
    """Console-script entry point."""
    cli.main(prog_name="reachcheck")
    raise AssertionError("unreachable")  # cli.main exits


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = [
    "EXIT_BLOCKED", "EXIT_CODES_HELP", "EXIT_INCONCLUSIVE", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
    "EXIT_OK", "EXIT_PIPE", "EXIT_USAGE", "InputError", "cli", "default_sites_path",
    "exit_code", "main",
]
