"""Re-judging a saved run without the command line: `reachcheck.rejudge`."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import judge
from reachcheck.model import Vantage
from reachcheck.rejudge import RejudgeError, rejudge, saved_public_ranges
from tests.analysis.builders import obs, system

LAB_ADDRESS = "198.18.0.7"  # a benchmark-range address: special-purpose unless declared public


def _saved() -> list:  # type: ignore[type-arg]
    result = judge(obs(system(LAB_ADDRESS)))
    return [dataclasses.replace(result, run_id="r1", measured_at="2026-01-02T03:04:05Z",
                                vantage=Vantage(label="lab"), source={"from": "test"})]


def test_the_ranges_decide_and_the_run_facts_are_kept() -> None:
    saved = _saved()
    assert saved[0].verdict == "dns_blocked"  # a bogon answer for a public name
    [again] = rejudge(saved, ("198.18.0.0/15",))
    assert again.verdict == "inconclusive"  # the same answer, now a public address
    assert (again.run_id, again.measured_at, again.vantage, again.source) == (
        "r1", "2026-01-02T03:04:05Z", Vantage(label="lab"), {"from": "test"})
    [same] = rejudge(saved)
    assert same.verdict == "dns_blocked"


def test_saved_ranges_are_read_and_normalised() -> None:
    meta = {"settings": {"public_ranges": ["198.18.1.2/15", "198.18.0.0/15"]}}
    assert saved_public_ranges(meta, "run.json") == ("198.18.0.0/15",)
    assert saved_public_ranges({}, "run.jsonl") == ()


@pytest.mark.parametrize(("ranges", "why"), [
    (["300.0.0.0/8"], "Invalid value: '300.0.0.0/8' is not an IP network"),
    ("198.18.0.0/15", "is not a list of CIDR strings"),
    ([15], "is not a list of CIDR strings"),
])
def test_bad_saved_ranges_are_one_line_naming_the_file(ranges: object, why: str) -> None:
    with pytest.raises(RejudgeError) as info:
        saved_public_ranges({"settings": {"public_ranges": ranges}}, "run.json")
    message = str(info.value)
    assert message.startswith("run.json: settings.public_ranges") and why in message
    assert "\n" not in message


def test_a_saved_target_that_no_longer_parses_is_an_error() -> None:
    bad = dataclasses.replace(_saved()[0], target="https://bad host!/")
    with pytest.raises(RejudgeError, match="cannot be re-judged"):
        list(rejudge([bad]))
