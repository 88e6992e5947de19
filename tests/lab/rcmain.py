"""Compatibility shim: `python -m tests.lab.rcmain check ...` = `python -m reachcheck check ...
--public-range 198.18.0.0/15`.

The lab itself now runs reachcheck's own CLI with `--public-range 198.18.0.0/15` (in
`Lab.reachcheck_args()`): 198.18.0.0/15 plays the public internet there, 10.0.0.0/8 stays a
special-purpose range (the bogon and blockpage-IP scenarios rely on it). This module no longer
patches anything; it only adds that option for older callers (bench/run.py) that do not pass it.
"""

from __future__ import annotations

import sys

LAB_PUBLIC = "198.18.0.0/15"


def with_lab_range(argv: list[str]) -> list[str]:
    """`argv` plus `--public-range 198.18.0.0/15` for `check`, unless a range is given."""
    if argv[:1] == ["check"] and not any(a.startswith("--public-range") for a in argv):
        return [*argv, "--public-range", LAB_PUBLIC]
    return argv


if __name__ == "__main__":
    from reachcheck.cli import cli

    cli.main(args=with_lab_range(sys.argv[1:]), prog_name="reachcheck")
