"""The code base stays lint- and type-clean: ruff over the sources, tests and bench, and mypy
(strict, configured in pyproject.toml) over the package."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _require(module: str, extra: str = "test") -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[{extra}]' brings it)")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_clean() -> None:
    _require("ruff")
    # --no-cache: nothing written into the checkout.
    proc = _run("ruff", "check", "--no-cache", "reachcheck", "tests", "bench")
    assert proc.returncode == 0, f"ruff findings:\n{proc.stdout}{proc.stderr}"


def test_mypy_clean() -> None:
    _require("mypy")
    for module in ("starlette", "uvicorn"):  # reachcheck/control imports them
        _require(module, "control")
    # The incremental cache lives outside the checkout, one per checkout.
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    cache = Path(tempfile.gettempdir()) / f"reachcheck-mypy-{uid}-{tag}"
    proc = _run("mypy", "--cache-dir", str(cache), "reachcheck")
    assert proc.returncode == 0, f"mypy errors:\n{proc.stdout}{proc.stderr}"
