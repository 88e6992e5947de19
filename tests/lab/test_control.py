"""The control server end to end: `reachcheck control serve` runs in the world (HTTPS, lab-CA
certificate naming 198.18.0.80, a token, `--allow-private`, the honest resolver abroad) and
reachcheck runs with `--control https://198.18.0.80:8443/ --control-token-file F`.

- one run over EVERY scenario site with the control: each scenario's `control_verdicts` (what
  the control decides: a dead host or closed port -> site_down confirmed, a censor's blackhole or
  reset -> tcp_blocked confirmed, an unknown blockpage -> http_blocked by status/body diff), the
  plain expectations elsewhere, and clean twins accessible with no anomaly;
- a run with a wrong token: it completes, every control entry says ok=False (unauthorized), and
  the verdicts are those allowed without a control (a failed control never makes "blocked").
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from reachcheck.model import BLOCKED_VERDICTS
from tests.lab import netns
from tests.lab.conftest import Run, run_reachcheck
from tests.lab.scenarios import BY_NAME, SCENARIOS, Scenario
from tests.lab.test_scenarios import _explain, _has, _kinds, _unexpected

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def control(lab: netns.Lab) -> netns.Lab:
    lab.start_control()
    return lab


@pytest.fixture(scope="module")
def control_run(control: netns.Lab) -> Run:
    """One reachcheck run over every scenario site, with the control server."""
    control.reset_residual()
    return run_reachcheck(control, None, "--control", control.control_url,
                          "--control-token-file", str(control.control_token))


def test_control_server_itself(control: netns.Lab) -> None:
    """The control server seen through a minimal client (no reachcheck): if this fails, the
    tests below say nothing about reachcheck's client or analysis."""
    p = subprocess.run(control.client_command("-m", "tests.lab.clientprobe", "--control",
                                              str(control.ca_pem), str(control.control_token)),
                       cwd=netns.REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    facts = json.loads(p.stdout)
    assert facts["health"][0] == 200 and facts["health"][1]["status"] == "ok", facts
    status, measured = facts["measure"]
    assert status == 200 and measured["ok"] is True, facts
    assert any(c["ok"] for c in measured["tcp"]), measured  # the world reaches the site
    assert facts["wrong_token"][0] == 401, facts


def _params() -> list[object]:
    out = []
    for s in SCENARIOS:
        gap = s.control_gap or s.known_gap
        marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
        out.append(pytest.param(s, id=s.name, marks=marks))
    return out


@pytest.mark.parametrize("scenario", _params())
def test_with_control(scenario: Scenario, control_run: Run) -> None:
    result = control_run.by_domain[scenario.domain]
    why = f"{scenario.name} ({scenario.note}) with control: {_explain(result)}"
    ctrl = result["control"]
    assert ctrl is not None and ctrl["ok"] is True, f"control did not answer: {ctrl}; {why}"
    allowed = scenario.control_verdicts or scenario.verdicts
    if scenario.control_verdicts_one_fetch is not None and ctrl.get("http_repeat") is None:
        # The control fetched the page once: its own variance is unknown, so a page that
        # differs is never "blocked" nor "accessible" (design 5.1, dynamic pages).
        allowed = scenario.control_verdicts_one_fetch
    assert result["verdict"] in allowed, why
    kinds = _kinds(result)
    want = scenario.control_anomalies or scenario.anomalies
    missing = [k for k in sorted(want) if not _has(kinds, k)]
    assert not missing, f"missing anomalies {missing}: {why}"
    extra = _unexpected(kinds, want | scenario.optional_anomalies)
    assert not extra, f"unexpected anomalies {extra}: {why}"
    if scenario.twin_of is not None:
        assert kinds == [], f"a clean twin must show no anomaly: {why}"
    if scenario.control_confirmed:
        assert result["confidence"] == "confirmed", why
    if result["verdict"] in BLOCKED_VERDICTS:
        assert result["confidence"] in ("confirmed", "likely"), why


def test_control_run_summary(control_run: Run) -> None:
    assert sorted(r["domain"] for r in control_run.doc["results"]) == \
        sorted(s.domain for s in SCENARIOS)
    assert control_run.code == 1, control_run.stderr


# The sites whose verdict the control decides, and their twins.
WRONG_TOKEN = ["ip-blackhole", "ip-blackhole~twin", "ip-reset", "server-down",
               "server-blackholed", "unknown-blockpage", "unknown-blockpage~twin",
               "unknown-blockpage-403", "host-reset~twin"]


@pytest.fixture(scope="module")
def wrong_token_run(control: netns.Lab) -> Run:
    bad = control.workdir / "control-token-wrong"
    bad.write_text("not-the-token-of-this-server-0123456789\n")
    control.reset_residual()
    return run_reachcheck(control, [BY_NAME[n].target for n in WRONG_TOKEN], "--control",
                          control.control_url, "--control-token-file", str(bad))


@pytest.mark.parametrize("name", WRONG_TOKEN)
def test_wrong_token(name: str, wrong_token_run: Run) -> None:
    scenario = BY_NAME[name]
    result: dict[str, Any] = wrong_token_run.by_domain[scenario.domain]
    why = f"{name} with a rejected token: {_explain(result)}"
    ctrl = result["control"]
    assert ctrl is not None and ctrl["ok"] is False, why
    assert (ctrl["error"] or "").startswith("unauthorized"), ctrl
    # Judged as without a control: nothing turns blocked because the control failed.
    assert result["verdict"] in scenario.verdicts, why
    if scenario.twin_of is not None:
        assert result["verdict"] == "accessible" and _kinds(result) == [], why


def test_wrong_token_run_completes(wrong_token_run: Run) -> None:
    assert len(wrong_token_run.doc["results"]) == len(WRONG_TOKEN)
    assert wrong_token_run.code in (1, 3), wrong_token_run.stderr


def test_vantage_records_the_address_the_control_server_saw(control_run: Run) -> None:
    """Each result's vantage names the run and, with a control, the client's address as the
    control server saw it (the lab routes without NAT: the client's own address)."""
    from tests.lab.scenarios import CLIENT_ADDR

    results = control_run.doc["results"]
    answered = [r for r in results if r["control"] and r["control"]["ok"]]
    assert answered, "no control measurement succeeded"
    assert {r["vantage"]["public_address"] for r in answered} == {CLIENT_ADDR}
    assert {r["control"]["client_address"] for r in answered} == {CLIENT_ADDR}
    assert len({r["run_id"] for r in results}) == 1
    assert {r["vantage"]["control"] for r in results} == {control_run.doc["settings"]["control"]}
