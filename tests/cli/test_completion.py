"""Shell completion as the README documents it (click's _REACHCHECK_COMPLETE protocol)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.support import COMMAND, env


def complete(tmp_path: Path, words: str, cword: int, shell: str = "bash") -> str:
    child = env()
    child.update({"_REACHCHECK_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                  "COMP_CWORD": str(cword)})
    done = subprocess.run(COMMAND, cwd=tmp_path, env=child, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_commands_and_options_complete(tmp_path: Path) -> None:
    assert "plain,check" in complete(tmp_path, "reachcheck ch", 1).splitlines()
    assert "plain,--table" in complete(tmp_path, "reachcheck check --tab", 2).splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(tmp_path: Path, shell: str) -> None:
    child = env()
    child["_REACHCHECK_COMPLETE"] = f"{shell}_source"
    done = subprocess.run(COMMAND, cwd=tmp_path, env=child, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and "_REACHCHECK_COMPLETE" in done.stdout
