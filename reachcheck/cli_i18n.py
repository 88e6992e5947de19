"""The command line in the interface language: help texts, click's own words, `--lang`.

click builds help from strings fixed when the commands are defined, so `localise_commands`
rewrites them (from the English kept aside) once the language is known. An option's help is
translated without its "[default: ...]" part, which is translated on its own: a changed
default value does not orphan the translation. click's own words ("Usage:", "No such option")
go through its module-level gettext functions, pointed here at our catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

import click

from reachcheck import i18n
from reachcheck.i18n import _
from reachcheck.output.wrap import wrap

_DEFAULT = re.compile(r"(?s)^(.*?)\s*\[default: (.*)\]\s*$")
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "utils",
                  "termui", "shell_completion")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def translate_help(text: str) -> str:
    """An option's help: body and "[default: VALUE]" translated separately."""
    match = _DEFAULT.match(text)
    if not match:
        return _(_one_line(text))
    body, value = match.group(1), _one_line(match.group(2))
    return f"{_(_one_line(body))} {_('[default: {value}]').format(value=_(value))}"


def _translate_doc(text: str) -> str:
    """A command's docstring, paragraph by paragraph (\\b blocks are kept as they are)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(p if p.lstrip().startswith("\b") else _(_one_line(p))
                       for p in paragraphs)


def _translate_epilog(text: str) -> str:
    """The exit-code list: a \\b block of 'CODE  meaning' lines under a title."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^(\s*)(\d+)(\s+)(.*)$", line)
        if match:
            indent, code, gap, meaning = match.groups()
            out.append(f"{indent}{code}{gap}{_(meaning)}")
        elif line.strip() and line.strip() != "\b":
            out.append(_(line.strip()))
        else:
            out.append(line)
    return "\n".join(out)


def _walk(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub)


def localise_commands(root: click.Command) -> None:
    """Put every help text of the command tree in the current language."""
    for command in _walk(root):
        english = command.__dict__.setdefault(
            "_english", (command.help, command.short_help, command.epilog))
        help_text, short_help, epilog = english
        command.help = _translate_doc(help_text) if help_text else help_text
        command.short_help = _(short_help) if short_help else short_help
        command.epilog = _translate_epilog(epilog) if epilog else epilog
        for param in command.params:
            if isinstance(param, click.Option):
                original = param.__dict__.setdefault("_english", param.help)
                param.help = translate_help(original) if original else original


_click_wrap_text = click.formatting.wrap_text


def wrap_text(text: str, width: int = 78, initial_indent: str = "",
              subsequent_indent: str = "", preserve_paragraphs: bool = False) -> str:
    """click's help wrapper, measuring terminal cells and breaking Chinese between
    characters (click's own counts characters and breaks only at spaces, so Chinese help
    ran to twice the terminal width). ASCII text goes to click's own."""
    if text.isascii() or "\b" in text:
        return _click_wrap_text(text, width, initial_indent, subsequent_indent,
                                preserve_paragraphs)
    paragraphs = re.split(r"\n\s*\n", text) if preserve_paragraphs else [text]
    out = []
    for paragraph in paragraphs:
        lines = wrap(_one_line(paragraph), width - max(len(initial_indent),
                                                       len(subsequent_indent)))
        out.append("\n".join((initial_indent if i == 0 else subsequent_indent) + line
                             for i, line in enumerate(lines)))
    return "\n\n".join(out)


def install_click_translations() -> None:
    """Route click's own messages through our catalog (English when not translated), and
    wrap help text by terminal cells."""
    import importlib

    click.formatting.wrap_text = wrap_text  # HelpFormatter looks it up in its module

    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - a click without that module
            continue
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def option_from_argv(args: Sequence[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in `args` (before any `--`), if given:
    the language and config file must be known before click parses (help is printed while
    parsing)."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


def choose_language(cli_value: str | None, config_value: str | None,
                    environ: Mapping[str, str], config_path: object = None) -> str:
    """--lang, then REACHCHECK_LANG, then the config file's `language`, then the locale."""
    for given, source in ((cli_value, "'--lang'"), (environ.get("REACHCHECK_LANG"),
                                                     "REACHCHECK_LANG"),
                          (config_value, None)):
        if given:
            language = i18n.normalise_language(given)
            if language is not None:
                return language
            problem = f"{given!r} is not a supported language (zh-CN or en)"
            if source is None:  # the config file's: name the file and the key
                raise click.UsageError(f"{config_path}: key 'language': {problem}")
            raise click.BadParameter(problem, param_hint=source)
    return i18n.language_from_locale(environ)


def lang_option() -> click.Option:
    """`--lang` (read before parsing; declared so click accepts it anywhere)."""
    return click.Option(
        ["--lang"], metavar="zh-CN|en", expose_value=False, is_eager=True,
        help="Interface language: zh-CN (Simplified Chinese) or en. Verdict names and the "
             "JSON stay English. [default: from LC_ALL/LC_MESSAGES/LANG]")
