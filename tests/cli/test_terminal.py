"""No terminal takeover (issue 17): hostile strings reach the terminal escaped, and -q is quiet."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from reachcheck.cli import cli
from reachcheck.output import result_to_dict
from reachcheck.output.progress import format_counts
from reachcheck.terminal import sanitize
from tests.cli.conftest import FakeRunner
from tests.cli.test_check import LOOPBACK
from tests.output.samples import make_result

OSC52 = "\x1b]52;c;cHduZWQ=\x1b\\"  # write "pwned" to the clipboard
CLEAR = "\x1b[2J"
RLO = "\u202e"  # right-to-left override


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, color=True)


def assert_clean(text: str) -> None:
    assert "\x1b]" not in text and CLEAR not in text and RLO not in text and "\x07" not in text


@given(st.text())
def test_sanitize_leaves_no_control_or_bidi_character(text: str) -> None:
    out = sanitize(text)
    for ch in out:
        code = ord(ch)
        assert code >= 0x20 and not 0x7F <= code <= 0x9F
        assert ch not in "\u061c\u200e\u200f\u2028\u2029" and not 0x202A <= code <= 0x202E
        assert not 0x2066 <= code <= 0x2069
    assert sanitize(out) == out  # escapes are plain text: sanitising twice changes nothing


def test_sanitize_makes_escapes_visible() -> None:
    assert sanitize(f"a{OSC52}b") == "a\\x1b]52;c;cHduZWQ=\\x1b\\b"
    assert sanitize(f"x{RLO}y\u0085z\tw") == "x\\u202ey\\x85z\\x09w"
    assert sanitize("ordinary.example — ünïcode") == "ordinary.example — ünïcode"


def test_sites_file_escapes_do_not_reach_the_terminal(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path
) -> None:
    # The reproduction: printf 'http://e.invalid/\e]52;c;cHduZWQ=\e\\\n' > esc.txt
    sites = tmp_path / "esc.txt"
    sites.write_text(f"http://e.invalid/{OSC52}\n{CLEAR}bad line\nhttp://{RLO}x.test/\n")
    fake_runner()
    result = invoke("check", *LOOPBACK, "--sites", str(sites))
    assert_clean(result.stdout)
    assert_clean(result.stderr)
    assert "\\x1b]52" in result.stdout  # the row is there, escaped


def test_saved_run_escapes_do_not_reach_the_terminal(tmp_path: Path) -> None:
    result = make_result("hostile.test", "http_blocked")
    result = dataclasses.replace(result, summary=f"blockpage {CLEAR}", reason=OSC52,
                                 target=f"hostile.test{RLO}")
    anomaly = dataclasses.replace(result.anomalies[0], detail=f"title {OSC52}")
    result = dataclasses.replace(result, anomalies=(anomaly,))
    saved = tmp_path / "run.jsonl"
    saved.write_text(json.dumps(result_to_dict(result)) + "\n")
    out = invoke("report", str(saved))
    assert out.exit_code == 1, out.output
    assert_clean(out.stdout)
    assert "\\x1b[2J" in out.stdout.replace("\n", "").replace("│", "").replace(" ", "")


def test_errors_are_sanitised(tmp_path: Path) -> None:
    out = invoke("check", *LOOPBACK, "--json", str(tmp_path / f"no{CLEAR}dir" / "x.json"), "a.test")
    assert out.exit_code == 2
    assert_clean(out.stderr)
    assert "\\x1b[2J" in out.stderr


def test_progress_counts_are_sanitised() -> None:
    assert_clean(format_counts({f"weird{CLEAR}": 2, "accessible": 1}))


# ------------------------------------------------------------------------------------- -q


@pytest.mark.parametrize("network_down", [True, False])
def test_quiet_silences_notes(fake_runner: Callable[..., FakeRunner], tmp_path: Path,
                              network_down: bool) -> None:
    fake_runner(plan={"a.test": "inconclusive"}, network_down=network_down)
    sites = tmp_path / "sites.txt"
    sites.write_text("a.test\na.test\nnot a host!\n")
    loud = invoke("check", *LOOPBACK, "--sites", str(sites))
    quiet = invoke("check", *LOOPBACK, "--sites", str(sites), "-q")
    assert loud.exit_code == quiet.exit_code == 3
    assert loud.stderr  # there were notes to silence
    assert ("network looks down" in loud.stderr) is network_down
    assert quiet.stderr == "" and quiet.stdout == ""


def test_quiet_still_prints_errors() -> None:
    out = invoke("check", *LOOPBACK, "-q", "bad host!")
    assert out.exit_code == 2 and out.stderr.startswith("reachcheck: error:")
