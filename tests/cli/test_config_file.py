"""The configuration file: where it is found, what it may say, and precedence
(command line > REACHCHECK_* environment > config file > built-in default)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reachcheck.cli import cli
from reachcheck.config import Config
from reachcheck.config_file import default_path
from tests.cli.conftest import FakeRunner

LOOPBACK = ["--resolver", "127.0.0.1:5353", "--nameserver", "127.0.0.1:5354",
            "--doh", "none", "--injection-probe", "none"]


@pytest.fixture
def user_config(_isolated_user_settings: Path) -> Path:
    """The file reachcheck reads by default (under the test's own XDG_CONFIG_HOME)."""
    path = _isolated_user_settings / "reachcheck" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_default_path_honours_xdg(tmp_path: Path) -> None:
    assert default_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "reachcheck" / "config.toml")
    assert default_path({}) == Path.home() / ".config" / "reachcheck" / "config.toml"
    assert default_path({"XDG_CONFIG_HOME": "relative"}).is_relative_to(Path.home())


def test_precedence(fake_runner: Callable[..., FakeRunner], user_config: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_runner()
    assert run("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.timeout == Config().timeout  # built-in default
    user_config.write_text("timeout = 3\n")
    assert run("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.timeout == 3.0  # config file over the default
    monkeypatch.setenv("REACHCHECK_CHECK_TIMEOUT", "4")
    assert run("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.timeout == 4.0  # environment over the config file
    assert run("check", *LOOPBACK, "--timeout", "2", "a.test").exit_code == 0
    assert fake.config.timeout == 2.0  # command line over everything


def test_repeated_options_and_paths(fake_runner: Callable[..., FakeRunner], user_config: Path,
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_runner()
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "token").write_text("s3cret\n")
    user_config.write_text(
        '# my usual settings\n'
        'resolver = ["127.0.0.1:5353", "[::1]:5300"]\n'
        'nameserver = "127.0.0.1:5354"\n'
        'doh = "none"\n'
        'injection-probe = "none"\n'
        'control = "http://127.0.0.1:9000/"\n'
        'control_token_file = "~/token"\n'
        'concurrency = 7\n'
        'no-ipv6 = true\n')
    result = run("check", "a.test")
    assert result.exit_code == 0, result.output
    config = fake.config
    assert config.resolvers == (("127.0.0.1", 5353), ("::1", 5300))
    assert config.system_nameservers == (("127.0.0.1", 5354),)
    assert config.doh == () and config.injection_probe is None
    assert config.control == "http://127.0.0.1:9000/" and config.control_token == "s3cret"
    assert config.concurrency == 7 and config.ipv6 is False
    # A command-line list replaces the file's list, it does not add to it.
    assert run("check", "--resolver", "127.0.0.1:5399", "a.test").exit_code == 0
    assert fake.config.resolvers == (("127.0.0.1", 5399),)


def test_explicit_config_file_and_check_table(fake_runner: Callable[..., FakeRunner],
                                              tmp_path: Path, user_config: Path) -> None:
    fake = fake_runner()
    user_config.write_text("concurrency = 9\n")
    other = tmp_path / "lab.toml"
    other.write_text('[check]\nconcurrency = 11\nresolver = "127.0.0.1:5353"\n')
    assert run("check", *LOOPBACK, "--config", str(other), "a.test").exit_code == 0
    assert fake.config.concurrency == 11  # --config replaces the default file
    assert run("--config", str(other), "check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.concurrency == 11


def test_config_file_from_the_environment(fake_runner: Callable[..., FakeRunner],
                                          tmp_path: Path, user_config: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_runner()
    user_config.write_text("concurrency = 9\n")
    other = tmp_path / "env.toml"
    other.write_text("concurrency = 12\n")
    monkeypatch.setenv("REACHCHECK_CONFIG", str(other))
    assert run("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.concurrency == 12
    assert run("check", *LOOPBACK, "--config", str(user_config), "a.test").exit_code == 0
    assert fake.config.concurrency == 9  # --config beats the environment


def test_language_from_config(fake_runner: Callable[..., FakeRunner],
                              user_config: Path) -> None:
    fake_runner()
    user_config.write_text('language = "zh-CN"\n')
    assert "共 1 个网站" in run("check", *LOOPBACK, "a.test").stdout
    assert "1 site" in run("check", "--lang", "en", *LOOPBACK, "a.test").stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [("timout = 3\n", "unknown key 'timout' (not an option of 'reachcheck check')"),
     ("timeout = -1\n", "key 'timeout': must be > 0"),
     ("timeout = [1, 2]\n", "key 'timeout': one value expected, not a list"),
     ("concurrency = true\n", "key 'concurrency': true/false is for on/off options"),
     ('benign-sni = "no such"\n', "key 'benign-sni': "),
     ("timeout = \n", "not valid TOML"),
     ("[nonsense]\nx = 1\n", "[nonsense] is not a reachcheck command"),
     ("[report]\nrejudge = 3\n", "key 'rejudge': use true or false"),
     ('language = "tlh"\n', "'tlh' is not a supported language"),
     ("language = 1\n", "key 'language': expected a string")],
)
def test_bad_config_is_one_line_naming_file_and_key(fake_runner: Callable[..., FakeRunner],
                                                    user_config: Path, text: str,
                                                    needle: str) -> None:
    fake = fake_runner()
    user_config.write_text(text)
    result = run("check", *LOOPBACK, "a.test")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert str(user_config) in lines[0]
    assert fake.calls == []  # nothing ran


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    result = run("check", "--config", str(tmp_path / "nope.toml"), "a.test")
    assert result.exit_code == 2
    assert "nope.toml: no such configuration file" in result.stderr


def test_report_and_control_tables(user_config: Path, tmp_path: Path) -> None:
    user_config.write_text("[report]\ntable = \"full\"\n[control.serve]\nmax-inflight = 0\n")
    # control serve reads its table: the bad value is reported as the config's.
    result = run("control", "serve", "--plain-http", "--listen", "127.0.0.1:1")
    assert result.exit_code == 2
    assert "max-inflight" in result.stderr


def test_help_names_the_config_file() -> None:
    text = run("check", "--help").output
    assert "--config FILE" in text and "reachcheck/config.toml" in text
