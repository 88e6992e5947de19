"""Run reachcheck's CLI for the lab, with the lab's "internet" counted as public address space.

The strict network rule confines the lab to 10.0.0.0/8 and 198.18.0.0/15, and reachcheck rightly
calls both special-purpose (bogon) ranges: a public name resolving only there looks like a dead or
forged site. So the lab plays the public internet in 198.18.0.0/15 and tells the analysis so
here; 10.0.0.0/8 stays a bogon range, which the bogon and blockpage-IP scenarios rely on.
Nothing else of reachcheck is changed: this is the CLI the user runs.

Usage (inside the client namespace): python -m tests.lab.rcmain check ...
"""

from __future__ import annotations

import ipaddress

from reachcheck.analysis import bogons

LAB_PUBLIC = ipaddress.IPv4Network("198.18.0.0/15")


def treat_lab_range_as_public() -> None:
    """Drop the lab's world range from reachcheck's bogon list (fails loudly if it moved)."""
    nets = bogons._V4_NETS
    if LAB_PUBLIC not in nets:
        raise RuntimeError("reachcheck.analysis.bogons._V4_NETS changed: update tests.lab.rcmain")
    bogons._V4_NETS = tuple(n for n in nets if n != LAB_PUBLIC)
    bogons.is_bogon.cache_clear()


if __name__ == "__main__":
    treat_lab_range_as_public()
    from reachcheck.cli import main

    main()
