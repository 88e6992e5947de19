"""Every lab scenario, judged from ONE reachcheck run over all scenario sites.

Each site has its own address, so one run covers them all; the assertions are per scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reachcheck.model import BLOCKED_VERDICTS
from tests.lab.conftest import Run
from tests.lab.scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.lab
SCHEMA = Path(__file__).resolve().parents[2] / "reachcheck/output/schema/reachcheck-1.schema.json"


def _kinds(result: dict[str, Any]) -> list[str]:
    return sorted({a["kind"] for a in result["anomalies"]})


def _explain(result: dict[str, Any]) -> str:
    return (f"verdict={result['verdict']} ({result['confidence']}) anomalies={_kinds(result)} "
            f"reason={result['reason']!r}")


def _has(kinds: list[str], want: str) -> bool:
    """`want` is a kind, or `stage.*` for any kind of that stage."""
    if want.endswith(".*"):
        return any(k.startswith(want[:-1]) for k in kinds)
    return want in kinds


def _unexpected(kinds: list[str], wanted: frozenset[str]) -> list[str]:
    """The kinds found that no expected pattern covers: the expected set is exact (a `stage.*`
    pattern allows any kind of that stage), so a false extra anomaly fails the scenario."""
    return [k for k in kinds if not any(_has([k], w) for w in wanted)]


def _params() -> list[object]:
    return [
        pytest.param(s, id=s.name, marks=[pytest.mark.xfail(reason=s.known_gap, strict=True)]
                     if s.known_gap else [])
        for s in SCENARIOS
    ]


@pytest.mark.parametrize("scenario", _params())
def test_scenario(scenario: Scenario, scenario_results: dict[str, dict[str, Any]]) -> None:
    result = scenario_results.get(scenario.name)
    assert result is not None, f"{scenario.domain} missing from the run"
    why = f"{scenario.name} ({scenario.note}): {_explain(result)}"
    assert result["verdict"] in scenario.verdicts, why
    kinds = _kinds(result)
    missing = [k for k in sorted(scenario.anomalies) if not _has(kinds, k)]
    assert not missing, f"missing anomalies {missing}: {why}"
    extra = _unexpected(kinds, scenario.anomalies | scenario.optional_anomalies)
    assert not extra, f"unexpected anomalies {extra}: {why}"
    if scenario.twin_of is not None:
        assert kinds == [], f"a clean twin must show no anomaly: {why}"
    if result["verdict"] in BLOCKED_VERDICTS:
        assert result["confidence"] in ("confirmed", "likely"), why
    if scenario.reachable_with_trusted_dns is not None:
        assert result["reachable_with_trusted_dns"] is scenario.reachable_with_trusted_dns, why


def test_injection_evidence_is_recorded(scenario_results: dict[str, dict[str, Any]]) -> None:
    """The forged and the real answer both appear in the JSON (design §3: hold-on)."""
    result = scenario_results["dns-injection"]
    raced = [q for q in result["dns"] if q["role"] == "probe" and q["qtype"] == "A"]
    assert raced, _explain(result)
    answers = [tuple(r["addresses"]) for r in raced[0]["responses"]]
    assert len(set(answers)) >= 2, answers
    accepted = raced[0]["responses"][raced[0]["accepted"]]
    assert accepted["has_opt"] is False, "the first (accepted) answer is the forged one"


def test_run_summary(main_run: Run) -> None:
    """One result per site, the summary counts them, exit code 1 (something is blocked)."""
    results = main_run.doc["results"]
    assert sorted(r["domain"] for r in results) == sorted(s.domain for s in SCENARIOS)
    assert sum(main_run.doc["summary"].values()) == len(SCENARIOS)
    assert main_run.code == 1, main_run.stderr


def test_json_matches_schema(main_run: Run) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(main_run.doc, schema)
