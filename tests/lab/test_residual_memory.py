"""A second run inside the censor's residual window (design §5.1; issue 16), in the lab.

`sni-reset-residual` (okx.test): the censor resets the SNI, then drops the (client, address,
443) tuple for 30 s. Run 1 sees a clear SNI block and remembers its trigger under
$XDG_STATE_HOME/reachcheck/. Run 2, right after, finds the tuple still punished: it must not
turn the clear SNI block into an unexplained `inconclusive`; it says that our own earlier
probe put the address in the penalty box (and does not send the SNI there again). The clean
twin, on its own address, stays accessible in both runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.lab import netns
from tests.lab.conftest import Run, run_reachcheck
from tests.lab.scenarios import BY_NAME
from tests.lab.test_scenarios import SCHEMA

pytestmark = pytest.mark.lab
SITES = [BY_NAME["sni-reset-residual"].target, BY_NAME["sni-reset-residual~twin"].target]


@pytest.fixture(scope="module")
def two_runs(lab: netns.Lab, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Run, Run, Path]]:
    state = tmp_path_factory.mktemp("memory-state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)  # the reachcheck subprocesses inherit it
    lab.reset_residual()
    try:
        first = run_reachcheck(lab, SITES)
        second = run_reachcheck(lab, SITES)  # seconds later: inside the 30 s window
        yield first, second, state
    finally:
        os.environ["XDG_STATE_HOME"] = old or ""
        if old is None:
            del os.environ["XDG_STATE_HOME"]
        lab.reset_residual()


def _explain(r: dict[str, Any]) -> str:
    kinds = sorted({a["kind"] for a in r["anomalies"]})
    return f"{r['domain']}: verdict={r['verdict']} anomalies={kinds} reason={r['reason']!r}"


def test_first_run_sees_the_block_and_remembers_it(two_runs: tuple[Run, Run, Path]) -> None:
    first, _, state = two_runs
    r = first.by_domain[BY_NAME["sni-reset-residual"].domain]
    assert r["verdict"] == "tls_blocked", _explain(r)
    assert r["own_triggers"] == [], _explain(r)
    assert BY_NAME["sni-reset-residual"].address in (state / "reachcheck" / "triggers.json"
                                                     ).read_text()


def test_second_run_says_our_own_probe_is_why(two_runs: tuple[Run, Run, Path]) -> None:
    _, second, _ = two_runs
    s = BY_NAME["sni-reset-residual"]
    r = second.by_domain[s.domain]
    assert r["verdict"] == "inconclusive", _explain(r)
    assert "our own probe of" in r["reason"] and s.address in r["reason"], _explain(r)
    (trigger,) = r["own_triggers"]
    assert trigger["address"] == s.address and trigger["active"] is True, trigger
    assert trigger["sni"] == s.domain and trigger["age_s"] < 30, trigger
    # The site's own name was not sent into the penalty box again.
    assert not any(t["kind"] == "target" for t in r["tls"]) and r["http"] == [], _explain(r)


def test_clean_twin_is_accessible_in_both_runs(two_runs: tuple[Run, Run, Path]) -> None:
    for run in two_runs[:2]:
        r = run.by_domain[BY_NAME["sni-reset-residual~twin"].domain]
        assert r["verdict"] == "accessible" and r["anomalies"] == [], _explain(r)
        assert r["own_triggers"] == [], _explain(r)


def test_json_matches_schema(two_runs: tuple[Run, Run, Path]) -> None:
    for run in two_runs[:2]:
        jsonschema.validate(run.doc, json.loads(SCHEMA.read_text()))
