"""A reader that leaves early (`| head`), usage errors and missing extras (exit 2), and the note
about an unreadable system resolver. Real child processes on loopback: nothing answers on the
resolver port, so every site ends quickly as inconclusive."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import reachcheck.cli_support
from reachcheck.cli import EXIT_PIPE, cli
from tests.cli.conftest import FakeRunner
from tests.e2e.conftest import closed_udp_port
from tests.e2e.support import COMMAND, env

SITES = 300  # far more JSONL than the 100 bytes the reader takes


def quick_args(sites: Path) -> list[str]:
    port = closed_udp_port()
    return ["check", "--sites", str(sites), "--nameserver", f"127.0.0.1:{port}",
            "--resolver", f"127.0.0.1:{port}", "--doh", "none", "--injection-probe", "none",
            "--benign-sni", "benign.test", "--timeout", "0.3", "--hold-on", "0"]


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.txt"
    path.write_text("".join(f"site{i}.test\n" for i in range(SITES)))
    return path


@pytest.mark.parametrize(("extra", "read"), [(["--jsonl", "-"], 100), (["--json", "-"], 100),
                                             (["--table", "full"], 0), ([], 0)])
def test_reader_leaving_early_ends_the_run_quietly(sites: Path, tmp_path: Path,
                                                   extra: list[str], read: int) -> None:
    """`reachcheck check --jsonl - | head -c 100`: exit 141, nothing on stderr."""
    proc = subprocess.Popen([*COMMAND, *quick_args(sites), *extra], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(read) if read else b""
    proc.stdout.close()  # the reader leaves
    stderr = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert len(head) == read
    if read:
        assert head.startswith(b"{")
    assert code == EXIT_PIPE, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert "rror" not in stderr  # no "error", no "BrokenPipeError"


def test_reader_that_reads_everything_sees_the_verdict_code(sites: Path, tmp_path: Path) -> None:
    done = subprocess.run([*COMMAND, *quick_args(sites), "--jsonl", "-"], cwd=tmp_path,
                          env=env(), capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 3  # every site inconclusive: nothing answers
    assert done.stdout.count(b"\n") == SITES


def test_help_into_a_closed_pipe(tmp_path: Path) -> None:
    proc = subprocess.Popen([*COMMAND, "check", "--help"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=30) in (0, EXIT_PIPE)  # help may fit in the pipe buffer
    assert stderr == ""


def test_missing_control_extra_is_a_usage_error(tmp_path: Path) -> None:
    # `sys.modules[name] = None` makes importing the server library fail as if not installed.
    code = ("import sys; sys.modules['uvicorn'] = None; "
            "from reachcheck.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code, "control", "serve", "--plain-http",
                           "--listen", "127.0.0.1:1", "--resolver", "127.0.0.1:53"],
                          cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "pip install 'reachcheck[control]'" in done.stderr


def test_exit_codes_are_in_help() -> None:
    text = CliRunner().invoke(cli, ["check", "--help"]).output
    for code in (0, 1, 2, 3, 70, 130, 141):
        assert re.search(rf"\n +{code} +\w", text), code


def test_note_when_resolv_conf_has_no_nameserver(
        fake_runner: Callable[..., FakeRunner], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# managed by nothing\nsearch example.test\n")
    monkeypatch.setattr(reachcheck.cli_support, "RESOLV_CONF", str(resolv))
    args = ["check", "a.test", "--resolver", "127.0.0.1:5353", "--doh", "none",
            "--injection-probe", "none"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"no nameserver could be read from {resolv}" in result.stderr
    resolv.write_text("nameserver 127.0.0.53\n")
    result = CliRunner().invoke(cli, args)
    assert "no nameserver" not in result.stderr
    # With --nameserver or --no-system-resolver there is nothing to say.
    resolv.write_text("")
    for extra in (["--nameserver", "127.0.0.1:5354"], ["--no-system-resolver"]):
        result = CliRunner().invoke(cli, [*args, *extra])
        assert "no nameserver" not in result.stderr
