"""The structural check of saved results (`output/shape.py`): what it passes, the model builds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachcheck.model import VERDICTS, SiteResult, from_json
from reachcheck.output import result_to_dict
from reachcheck.output.shape import ShapeError, check_object
from tests.output.samples import make_result

SAMPLES = [result_to_dict(make_result(f"{v}.test", v, full=full))
           for v in VERDICTS for full in (True, False)]


@pytest.mark.parametrize("data", SAMPLES)
def test_samples_pass_and_round_trip(data: dict[str, Any]) -> None:
    data = json.loads(json.dumps(data))
    check_object(SiteResult, data)
    assert result_to_dict(from_json(SiteResult, data)) == data


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.sampled_from(["dns", "tcp", "tls", "http", "control",
                                                 "anomalies", "elapsed_ms", "summary"]),
       st.none() | st.integers(-3, 3) | st.floats(-1, 1) | st.text(max_size=3)
       | st.lists(st.none() | st.integers(0, 3), max_size=2))
def test_the_model_builds_whatever_the_check_passes(
    data: dict[str, Any], key: str, value: Any
) -> None:
    mutated = {**data, key: value}
    try:
        check_object(SiteResult, mutated)
    except ShapeError as exc:
        assert str(exc).startswith(f"$.{key}")
        return
    assert isinstance(from_json(SiteResult, mutated), SiteResult)


def test_missing_required_field_is_named() -> None:
    data = dict(SAMPLES[0])
    del data["reason"]
    with pytest.raises(ShapeError, match=r"^\$\.reason: missing"):
        check_object(SiteResult, data)
