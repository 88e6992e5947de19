"""`python -m reachcheck.control serve ...` (the same command as `reachcheck control serve`)."""

from __future__ import annotations

from reachcheck.control.cli import control

if __name__ == "__main__":
    control(prog_name="reachcheck control")
