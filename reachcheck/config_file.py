"""The configuration file: defaults for the options people repeat, in TOML.

`$XDG_CONFIG_HOME/reachcheck/config.toml` (`~/.config/reachcheck/config.toml` when the
variable is unset), or the file named by `--config FILE` or `$REACHCHECK_CONFIG`. Keys are
option names without the dashes (`resolver`, `doh`, `control`, `control-token-file`,
`timeout`, ...); top-level keys are `check` options, plus `language`; `[report]` and
`[control.serve]` tables hold those commands' options (a `[check]` table is accepted too). A
value is what the option would take (a list for a repeatable option); `~` in a string is the
home directory.

Values become click's `default_map`, so the order is: the command line, then the
`REACHCHECK_<COMMAND>_<OPTION>` environment variables, then this file, then the built-in
default. Every problem is one line naming the file and the key (exit code 2).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

APP = "reachcheck"
FILE_NAME = "config.toml"
TOP_LEVEL_COMMAND = "check"
LANGUAGE_KEY = "language"


class ConfigFileError(click.ClickException):
    """A configuration file that cannot be used (exit code 2, one line)."""

    exit_code = 2


def default_path(environ: Mapping[str, str]) -> Path:
    """Where the configuration file is looked for when `--config` is not given."""
    base = environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / APP / FILE_NAME


@dataclass
class ConfigFile:
    """A loaded (possibly absent) configuration file."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str | None:
        value = self.data.get(LANGUAGE_KEY)
        if value is not None and not isinstance(value, str):
            raise ConfigFileError(f"{self.path}: key '{LANGUAGE_KEY}': expected a string "
                                  "such as \"zh-CN\" or \"en\"")
        return value

    def default_map(self, root: click.Group) -> dict[str, Any]:
        """click's default_map for the command tree under `root`."""
        sections: dict[tuple[str, ...], dict[str, Any]] = {(TOP_LEVEL_COMMAND,): {}}
        for key, value in self.data.items():
            if key == LANGUAGE_KEY:
                continue
            if isinstance(value, dict):
                for path, table in _tables((key,), value):
                    sections.setdefault(path, {}).update(table)
            else:
                sections[(TOP_LEVEL_COMMAND,)][key] = value
        out: dict[str, Any] = {}
        for path, table in sections.items():
            command = _command(root, path)
            if command is None:
                raise ConfigFileError(f"{self.path}: [{'.'.join(path)}] is not a reachcheck "
                                      "command with options")
            where = out
            for name in path:
                where = where.setdefault(name, {})
            where.update(self._values(command, path, table))
        return out

    def _values(self, command: click.Command, path: tuple[str, ...],
                table: Mapping[str, Any]) -> dict[str, Any]:
        names = _option_names(command)
        values: dict[str, Any] = {}
        for key, value in table.items():
            shown = ".".join((*path[1:], key)) if path != (TOP_LEVEL_COMMAND,) else key
            param = names.get(key)
            if param is None:
                raise ConfigFileError(
                    f"{self.path}: unknown key '{shown}' (not an option of "
                    f"'reachcheck {' '.join(path)}')")
            values[param.name or key] = self._value(param, value, shown)
        return values

    def _value(self, param: click.Option, value: Any, shown: str) -> Any:
        if isinstance(value, list):
            if not param.multiple:
                raise ConfigFileError(f"{self.path}: key '{shown}': one value expected, "
                                      "not a list")
            if not all(isinstance(v, str | int | float) and not isinstance(v, bool)
                       for v in value):
                raise ConfigFileError(f"{self.path}: key '{shown}': a list of strings or "
                                      "numbers expected")
            return [_expand(str(v)) for v in value]
        if isinstance(value, bool):
            if not (param.is_flag or param.is_bool_flag):
                raise ConfigFileError(f"{self.path}: key '{shown}': true/false is for "
                                      "on/off options")
            return value
        if isinstance(value, str | int | float):
            if param.is_flag:
                raise ConfigFileError(f"{self.path}: key '{shown}': use true or false")
            text = _expand(str(value)) if isinstance(value, str) else value
            return [text] if param.multiple else text
        raise ConfigFileError(f"{self.path}: key '{shown}': unsupported value "
                              f"({type(value).__name__})")


def _expand(text: str) -> str:
    return os.path.expanduser(text) if text.startswith("~") else text


def _tables(path: tuple[str, ...], table: dict[str, Any]
            ) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Nested tables ([control.serve]) flattened to (command path, plain keys)."""
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    out = [(path, plain)] if plain or not any(isinstance(v, dict) for v in table.values()) else []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend(_tables((*path, key), value))
    return out


def _command(root: click.Group, path: tuple[str, ...]) -> click.Command | None:
    command: click.Command = root
    for name in path:
        if not isinstance(command, click.Group) or name not in command.commands:
            return None
        command = command.commands[name]
    return None if isinstance(command, click.Group) else command


def _option_names(command: click.Command) -> dict[str, click.Option]:
    """Every spelling a key may use: `--control-token-file` -> control-token-file,
    control_token_file; `--resolver` (dest `resolvers`) -> resolver, resolvers."""
    names: dict[str, click.Option] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or not param.expose_value:
            continue
        spellings = {param.name or ""}
        for opt in param.opts:
            if opt.startswith("--"):
                spellings.add(opt[2:])
        for spelling in spellings:
            if spelling:
                names[spelling] = param
                names[spelling.replace("-", "_")] = param
                names[spelling.replace("_", "-")] = param
    return names


def load(explicit: str | None, environ: Mapping[str, str]) -> ConfigFile:
    """The configuration file named by `--config`, or the default one if it exists."""
    path = Path(os.path.expanduser(explicit)) if explicit else default_path(environ)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if explicit:
            raise ConfigFileError(f"{path}: no such configuration file") from None
        return ConfigFile(path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc}") from None
    return ConfigFile(path, data)


def config_option() -> click.Option:
    """`--config FILE` (read before parsing; declared so click accepts it anywhere)."""
    return click.Option(
        ["--config"], metavar="FILE", expose_value=False, is_eager=True,
        help="Read option defaults from this TOML file (also $REACHCHECK_CONFIG). "
             f"[default: $XDG_CONFIG_HOME/{APP}/{FILE_NAME}, else ~/.config/{APP}/{FILE_NAME}]")
