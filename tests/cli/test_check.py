"""`reachcheck check`: options -> Config, exit codes, outputs, one-line errors, nothing
written on bad input. The runner is faked (see conftest); every address is loopback."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import trustme
from click.testing import CliRunner, Result

from reachcheck.cli import cli
from reachcheck.config import DEFAULT_DOH, DEFAULT_RESOLVERS, Config, DohServer
from reachcheck.output import JsonlWriter, load_schema
from tests.cli.conftest import FakeRunner

LOOPBACK = ["--resolver", "127.0.0.1:5353", "--nameserver", "127.0.0.1:5354",
            "--doh", "https://127.0.0.1:8443/dns-query", "--injection-probe", "127.0.0.9"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("reachcheck: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output


# ----------------------------------------------------------------------- exit codes / config


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        ({}, 0),
        ({"b.test": "site_down"}, 0),
        ({"b.test": "inconclusive"}, 3),
        ({"b.test": "dns_blocked"}, 1),
        ({"a.test": "inconclusive", "b.test": "tls_blocked"}, 1),
    ],
)
def test_exit_code_follows_verdicts(fake_runner: Callable[..., FakeRunner],
                                    plan: dict[str, str], code: int) -> None:
    fake = fake_runner(plan=plan)
    result = invoke("check", *LOOPBACK, "a.test", "b.test")
    assert result.exit_code == code, result.output
    assert [t.domain for t in fake.targets] == ["a.test", "b.test"]


def test_options_become_config(fake_runner: Callable[..., FakeRunner], tmp_path: Path) -> None:
    fake = fake_runner()
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    result = invoke("check", "a.test", "--resolver", "127.0.0.1:5353", "--resolver", "[::1]",
                    "--nameserver", "127.0.0.1:5354", "--no-system-resolver",
                    "--doh", "https://doh.test/q@127.0.0.1", "--injection-probe", "none",
                    "--benign-sni", "benign.test", "--ca-bundle", str(ca), "--timeout", "2",
                    "--hold-on", "5", "--concurrency", "7", "--rate", "50", "--only", "dns",
                    "--no-ipv6", "--control", "http://127.0.0.1:9000/",
                    "--control-token-file", str(token))
    assert result.exit_code == 0, result.output
    assert fake.config == Config(
        resolvers=(("127.0.0.1", 5353), ("::1", 53)), system_resolver=False,
        system_nameservers=(("127.0.0.1", 5354),),
        doh=(DohServer("https://doh.test/q", ("127.0.0.1",)),), injection_probe=None,
        benign_sni="benign.test", ca_bundle=str(ca), timeout=2.0,
        hold_on=2.0,  # capped by the timeout
        concurrency=7, rate=50.0, stages=frozenset({"dns"}), ipv6=False,
        control="http://127.0.0.1:9000/", control_token="t0ken")


def test_defaults_reach_config_untouched(fake_runner: Callable[..., FakeRunner]) -> None:
    # Only checks what the CLI hands over; the fake runner sends nothing anywhere.
    fake = fake_runner()
    assert invoke("check", "a.test").exit_code == 0
    assert fake.config == Config()
    assert fake.config.resolvers == DEFAULT_RESOLVERS and fake.config.doh == DEFAULT_DOH


def test_no_residual_memory(fake_runner: Callable[..., FakeRunner]) -> None:
    fake = fake_runner()
    assert invoke("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.residual_memory is True
    assert invoke("check", *LOOPBACK, "--no-residual-memory", "a.test").exit_code == 0
    assert fake.config.residual_memory is False


def test_doh_none(fake_runner: Callable[..., FakeRunner]) -> None:
    fake = fake_runner()
    assert invoke("check", *LOOPBACK[:4], "--doh", "none", "a.test").exit_code == 0
    assert fake.config.doh == ()


def test_network_down_line(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(plan={"a.test": "inconclusive"}, network_down=True)
    result = invoke("check", *LOOPBACK, "a.test")
    assert result.exit_code == 3
    assert "local network looks down" in result.stderr


# --------------------------------------------------------------------------------- targets


def test_sites_file_with_bad_lines_runs_the_good_ones(fake_runner: Callable[..., FakeRunner],
                                                      tmp_path: Path) -> None:
    fake = fake_runner()
    sites = tmp_path / "list.txt"
    sites.write_text("a.test\nnot a host\nb.test # comment\na.test\n")
    result = invoke("check", *LOOPBACK, "--sites", str(sites))
    assert result.exit_code == 0
    assert [t.domain for t in fake.targets] == ["a.test", "b.test"]
    assert f"{sites}:2: invalid host name" in result.stderr
    assert "dropped 1 duplicate line" in result.stderr


def test_strict_sites_file_is_fatal_before_anything_runs(
        fake_runner: Callable[..., FakeRunner], tmp_path: Path) -> None:
    fake = fake_runner()
    sites = tmp_path / "list.txt"
    sites.write_text("a.test\nhttps://b.test:99999/\n")
    out = tmp_path / "out.json"
    result = invoke("check", *LOOPBACK, "--sites", str(sites), "--strict", "--json", str(out))
    assert_one_line_error(result, f"{sites}:2:", "Port out of range")
    assert fake.calls == [] and not out.exists()


def test_sites_file_without_valid_targets(fake_runner: Callable[..., FakeRunner],
                                          tmp_path: Path) -> None:
    sites = tmp_path / "list.txt"
    sites.write_bytes(b"\x00\xff garbage\n# only a comment\n")
    result = invoke("check", *LOOPBACK, "-q", "--sites", str(sites))
    assert_one_line_error(result, "no valid targets")


def test_targets_and_sites_combine(fake_runner: Callable[..., FakeRunner],
                                   tmp_path: Path) -> None:
    fake = fake_runner()
    sites = tmp_path / "list.txt"
    sites.write_text("b.test\na.test\n")
    assert invoke("check", *LOOPBACK, "a.test", "--sites", str(sites)).exit_code == 0
    assert [t.domain for t in fake.targets] == ["a.test", "b.test"]


def test_default_sites_from_working_directory(fake_runner: Callable[..., FakeRunner],
                                              tmp_path: Path) -> None:
    fake = fake_runner()
    (tmp_path / "sites.txt").write_text("local.test\n")
    result = invoke("check", *LOOPBACK)
    assert result.exit_code == 0
    assert [t.domain for t in fake.targets] == ["local.test"]
    assert "from sites.txt" in result.stderr


def test_default_sites_packaged(fake_runner: Callable[..., FakeRunner]) -> None:
    fake = fake_runner()
    assert invoke("check", *LOOPBACK).exit_code == 0  # the autouse fixture's cwd has no list
    packaged = Path(__file__).parents[2] / "reachcheck" / "data" / "sites.txt"
    expected = [line.strip() for line in packaged.read_text().splitlines() if line.strip()]
    assert [t.domain for t in fake.targets] == expected


def test_invalid_target_argument(fake_runner: Callable[..., FakeRunner]) -> None:
    fake = fake_runner()
    assert_one_line_error(invoke("check", *LOOPBACK, "a.test", "https://x.test:0/"),
                          "invalid target", "port 0")
    assert fake.calls == []


# ------------------------------------------------------------------- bad options: exit 2


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--resolver", "resolver.test"], ["--resolver", "not an IP"]),
        (["--resolver", "127.0.0.1:70000"], ["--resolver", "bad port"]),
        (["--doh", "http://127.0.0.1/dns-query"], ["--doh", "https://"]),
        (["--doh", "none", "--doh", "https://127.0.0.1/q"], ["cannot be combined"]),
        (["--timeout", "0"], ["--timeout", "> 0"]),
        (["--timeout", "abc"], ["--timeout", "not a number"]),
        (["--concurrency", "0"], ["--concurrency"]),
        (["--rate", "-1"], ["--rate"]),
        (["--only", "dns,ftp"], ["--only", "ftp"]),
        (["--ca-bundle", "missing.pem"], ["--ca-bundle", "no such file"]),
        (["--injection-probe", "probe.test"], ["--injection-probe"]),
        (["--benign-sni", "1.2.3.4"], ["--benign-sni"]),  # no-network: only parsed
        (["--json", "-", "--jsonl", "-"], ["cannot both write to stdout"]),
        (["--json", "same.out", "--jsonl", "same.out"], ["different files"]),
        (["--sites", "missing.txt"], ["--sites", "does not exist"]),
        (["--control-token-file", "missing-token"], ["--control-token-file"]),
        (["--no-such-option"], ["No such option"]),
    ],
)
def test_bad_options_exit_2_with_one_line(fake_runner: Callable[..., FakeRunner],
                                          tmp_path: Path, args: list[str],
                                          needles: list[str]) -> None:
    fake = fake_runner()
    result = invoke("check", "a.test", *args)
    assert_one_line_error(result, *needles)
    assert fake.calls == []
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_ca_bundle_that_is_not_pem(fake_runner: Callable[..., FakeRunner],
                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("hello\n")
    assert_one_line_error(invoke("check", *LOOPBACK, "a.test", "--ca-bundle", str(bad)),
                          "no PEM certificates")


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_unwritable_output_path(fake_runner: Callable[..., FakeRunner], tmp_path: Path,
                                flag: str) -> None:
    fake = fake_runner()
    other = "--jsonl" if flag == "--json" else "--json"
    good = tmp_path / "good.out"
    result = invoke("check", *LOOPBACK, "a.test", other, str(good),
                    flag, str(tmp_path / "no-such-dir" / "x.out"))
    assert_one_line_error(result, flag, "does not exist")
    assert fake.calls == [] and list(tmp_path.iterdir()) == []


def test_output_path_is_a_directory(fake_runner: Callable[..., FakeRunner],
                                    tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert_one_line_error(invoke("check", *LOOPBACK, "a.test", "--json", "dir"),
                          "is a directory")


# --------------------------------------------------------------------------------- outputs


def test_json_file_validates_and_keeps_settings(fake_runner: Callable[..., FakeRunner],
                                                tmp_path: Path) -> None:
    fake_runner(plan={"b.test": "dns_blocked"})
    out = tmp_path / "run.json"
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "--json", str(out))
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, load_schema())
    assert doc["summary"] == {"accessible": 1, "dns_blocked": 1}
    assert doc["interrupted"] is False
    assert doc["settings"]["resolvers"] == [["127.0.0.1", 5353]]
    assert "b.test" in result.stdout  # the table still goes to stdout


def test_json_to_stdout_is_pure_json(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner()
    result = invoke("check", *LOOPBACK, "a.test", "--json", "-")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)  # no table mixed in: stdout is not a terminal
    assert [r["target"] for r in doc["results"]] == ["a.test"]
    assert "1 site: 1 accessible" in result.stderr


def test_jsonl_to_stdout_one_object_per_line(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(plan={"b.test": "tls_blocked"})
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "--jsonl", "-")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["target"], r["verdict"]) for r in lines] == [("a.test", "accessible"),
                                                            ("b.test", "tls_blocked")]


def test_quiet_prints_nothing(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(plan={"a.test": "dns_blocked"})
    result = invoke("check", *LOOPBACK, "-q", "a.test")
    assert result.exit_code == 1 and result.output == ""


def test_color_flags(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(plan={"a.test": "dns_blocked"})
    assert "\x1b[" in invoke("check", *LOOPBACK, "--color", "a.test").stdout
    assert "\x1b[" not in invoke("check", *LOOPBACK, "--no-color", "a.test").stdout


# ---------------------------------------------------------------- interruption and failure


def test_interrupted_run_writes_partial_marked_output(fake_runner: Callable[..., FakeRunner],
                                                      tmp_path: Path) -> None:
    fake_runner(stop_after=1)
    out = tmp_path / "run.json"
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "--json", str(out))
    assert result.exit_code == 130
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True and len(doc["results"]) == 1
    assert "interrupted" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_sets_the_stop_event(fake_runner: Callable[..., FakeRunner],
                                    tmp_path: Path, signum: int) -> None:
    async def interrupt(stop: Any) -> None:
        os.kill(os.getpid(), signum)  # what Ctrl-C (or a service manager) does
        await stop.wait()

    fake = fake_runner(before=interrupt)
    out = tmp_path / "run.jsonl"
    result = invoke("check", *LOOPBACK, "a.test", "--jsonl", str(out))
    assert result.exit_code == 130 and fake.stop_seen
    assert out.read_text() == ""


def test_keyboard_interrupt_still_saves_partial_json(fake_runner: Callable[..., FakeRunner],
                                                     tmp_path: Path) -> None:
    async def second_ctrl_c(stop: Any) -> None:
        raise KeyboardInterrupt

    fake_runner(before=second_ctrl_c)
    out = tmp_path / "run.json"
    result = invoke("check", *LOOPBACK, "a.test", "--json", str(out))
    assert result.exit_code == 130
    assert json.loads(out.read_text())["interrupted"] is True


def test_runner_crash_keeps_previous_json(fake_runner: Callable[..., FakeRunner],
                                          tmp_path: Path) -> None:
    async def crash(stop: Any) -> None:
        raise RuntimeError("bug in the runner")

    fake_runner(before=crash)
    out = tmp_path / "run.json"
    out.write_text("previous run\n")
    result = CliRunner().invoke(cli, ["check", *LOOPBACK, "a.test", "--json", str(out)])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: bug in the runner" in result.stderr
    assert "Traceback" not in result.output
    assert out.read_text() == "previous run\n" and len(list(tmp_path.iterdir())) == 1


def test_write_failure_mid_run_stops_and_keeps_previous_json(
        fake_runner: Callable[..., FakeRunner], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: JsonlWriter, result: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(JsonlWriter, "write", disk_full)
    fake = fake_runner()
    out = tmp_path / "run.json"
    out.write_text("previous run\n")
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "--json", str(out),
                    "--jsonl", str(tmp_path / "run.jsonl"))
    assert_one_line_error(result, "No space left on device")
    assert fake.stop_seen
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.jsonl"]


# -------------------------------------------------------------------------------- the group


def test_version() -> None:
    from reachcheck import __version__

    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_states_every_default() -> None:
    result = invoke("check", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    options = [w for w in text.split() if w.startswith("--") and w[2:3].isalpha()]
    for option in {"--sites", "--resolver", "--doh", "--timeout", "--concurrency", "--json",
                   "--jsonl", "--injection-probe", "--benign-sni", "--hold-on", "--rate"}:
        assert option in options
    assert text.count("[default:") >= 20
    assert "Exit codes:" in result.stdout


def test_unknown_command() -> None:
    result = invoke("frobnicate")
    assert_one_line_error(result, "No such command")


def test_sites_from_a_pipe_are_read_once(fake_runner: Callable[..., FakeRunner],
                                         tmp_path: Path) -> None:
    fake = fake_runner()
    fifo = tmp_path / "sites.fifo"
    os.mkfifo(fifo)
    def feed() -> None:
        with open(fifo, "w") as f:
            f.write("a.test\nb.test\n")

    writer = threading.Thread(target=feed)
    writer.start()
    result = invoke("check", *LOOPBACK, "--sites", str(fifo))
    writer.join(timeout=5)
    assert result.exit_code == 0
    assert [t.domain for t in fake.targets] == ["a.test", "b.test"]


def test_console_script_usage_error_has_no_traceback() -> None:
    # Fails on the option before any run starts, so nothing touches the network.
    proc = subprocess.run([sys.executable, "-c", "from reachcheck.cli import main; main()",
                           "check", "--timeout", "0", "a.test"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "reachcheck: error: Invalid value for '--timeout': must be > 0 and <= 300 seconds "
        "(got 0) (see 'reachcheck check --help')"]


# ------------------------------------------------------------------------- --public-range


def test_public_range_reaches_config_and_settings(fake_runner: Callable[..., FakeRunner],
                                                  tmp_path: Path) -> None:
    fake = fake_runner()
    out = tmp_path / "run.json"
    result = invoke("check", *LOOPBACK, "a.test", "--public-range", "198.18.0.0/15",
                    "--public-range", "10.1.2.3/8", "--public-range", "198.18.0.0/15",
                    "--json", str(out))
    assert result.exit_code == 0, result.output
    # Host bits are allowed (strict=False) and normalised away; repeats kept once.
    assert fake.config.public_ranges == ("198.18.0.0/15", "10.0.0.0/8")
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, load_schema())
    assert doc["settings"]["public_ranges"] == ["198.18.0.0/15", "10.0.0.0/8"]


def test_public_range_defaults_to_none(fake_runner: Callable[..., FakeRunner]) -> None:
    fake = fake_runner()
    assert invoke("check", *LOOPBACK, "a.test").exit_code == 0
    assert fake.config.public_ranges == ()
    assert "--public-range" in invoke("check", "--help").stdout


@pytest.mark.parametrize("value", ["198.18.0.0/33", "not-a-cidr", "", "10.0.0.0/8/8", "::1/200"])
def test_bad_public_range_exit_2_with_one_line(fake_runner: Callable[..., FakeRunner],
                                               tmp_path: Path, value: str) -> None:
    fake = fake_runner()
    result = invoke("check", *LOOPBACK, "a.test", "--public-range", value,
                    "--json", str(tmp_path / "run.json"))
    assert_one_line_error(result, "--public-range")
    assert fake.calls == []
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_sites_from_standard_input() -> None:
    # A bad line under --strict stops the run before anything touches the network, so this
    # shows that '-' reads standard input (line numbers included) with a real process.
    proc = subprocess.run([sys.executable, "-m", "reachcheck", "check", "--sites", "-",
                           "--strict"], input="ok.test\nbad..name\n", capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert ":2:" in proc.stderr and "bad..name" in proc.stderr


def test_table_lists_sites_in_input_order(fake_runner: Callable[..., FakeRunner]) -> None:
    fake_runner(reverse=True, plan={"b.test": "dns_blocked"})
    result = invoke("check", *LOOPBACK, "a.test", "b.test", "c.test", "--no-color")
    first_rows = [result.stdout.index(f" {site} ") for site in ("a.test", "b.test", "c.test")]
    assert first_rows == sorted(first_rows), result.stdout
    assert result.exit_code == 1
