"""`report` on hostile saved runs (issue 17): one line and exit 2, never exit 70; streamed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reachcheck import report_cli
from reachcheck.cli import cli
from reachcheck.output import (
    JsonWriter,
    RunFileError,
    load_schema,
    open_run,
    result_to_dict,
    runfile,
)
from reachcheck.output.shape import NON_NEGATIVE
from tests.output.samples import make_result

SAMPLES = [result_to_dict(make_result(d, v)) for d, v in
           (("a.test", "tls_blocked"), ("https://b.test:8443/x", "dns_blocked"),
            ("c.test", "accessible"))]
SCHEMA = load_schema()
# JSON Schema counts 1.0 as an integer; Python reads it as a float and reachcheck never writes
# one, so the loader wants a JSON integer: judge "valid" with that one difference.
_StrictInts = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: type(value) is int),
)
RESULT_VALIDATOR = _StrictInts({**SCHEMA["$defs"]["result"], "$defs": SCHEMA["$defs"]})


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key/index path into a JSON value (the root excluded)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def mutate(doc: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    out = copy.deepcopy(doc)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**39, max_value=10**39)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=6,
)


@st.composite
def mutations(draw: Any) -> tuple[int, dict[str, Any]]:
    index = draw(st.integers(0, len(SAMPLES) - 1))
    sample = SAMPLES[index]
    path = draw(st.sampled_from(sorted(paths(sample), key=repr)))
    delete = draw(st.booleans())
    return index, mutate(sample, path, draw(json_values), delete)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations(), st.booleans())
@example((0, mutate(SAMPLES[0], ("dns", 0, "accepted"), 99, False)), True)
@example((0, mutate(SAMPLES[0], ("dns", 0, "responses", 0, "ttls"), "x", False)), False)
def test_no_single_field_mutation_is_an_internal_error(
    tmp_path: Path, case: tuple[int, dict[str, Any]], rejudge: bool
) -> None:
    _, mutated = case
    saved = tmp_path / "run.jsonl"
    saved.write_text(json.dumps(mutated) + "\n")
    result = invoke("report", *(["--rejudge"] if rejudge else []), str(saved))
    assert result.exit_code in (0, 1, 2, 3), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("reachcheck: error: ")
    if RESULT_VALIDATOR.is_valid(mutated) and not _negative_int(mutated):
        assert result.exit_code != 2, result.stderr  # a valid result is never refused


def _negative_int(value: Any) -> bool:
    """An integer below 0 where the loader requires >= 0 (stricter than the schema)."""
    if isinstance(value, dict):
        return any((k in NON_NEGATIVE and _has_negative(v)) or _negative_int(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_negative_int(v) for v in value)
    return False


def _has_negative(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(type(v) is int and v < 0 for v in items)


@pytest.mark.parametrize(("path", "value", "where"), [
    (("dns", 0, "responses", 0, "ttls", 0), "300", "$.dns[0].responses[0].ttls[0]"),
    (("tls", 0, "cert"), ["x"], "$.tls[0].cert"),
    (("anomalies", 0, "confirmed"), 1, "$.anomalies[0].confirmed"),
    (("http", 0, "headers"), {"server": 7}, "$.http[0].headers.server"),
    (("dns", 0, "accepted"), -1, "$.dns[0].accepted"),
])
def test_bad_field_is_exit_2_naming_its_json_path(
    tmp_path: Path, path: tuple[Any, ...], value: Any, where: str
) -> None:
    saved = tmp_path / "run.jsonl"
    saved.write_text(json.dumps(SAMPLES[0]) + "\n" + json.dumps(mutate(SAMPLES[0], path, value,
                                                                       False)) + "\n")
    result = invoke("report", str(saved))
    assert result.exit_code == 2
    assert f"line 2: malformed result: {where}:" in result.stderr


@pytest.mark.parametrize(("text", "message"), [
    ('{"verdict": "accessible", "elapsed_ms": NaN}', "NaN"),
    ('{"verdict": "accessible", "elapsed_ms": Infinity}', "Infinity"),
    ('{"verdict": "accessible", "elapsed_ms": 1e999}', "out of range"),
    ('{"verdict": "accessible", "verdict": "dns_blocked"}', "duplicate key"),
    ('{"verdict": "accessible", "elapsed_ms": ' + "9" * 5000 + "}", "digits"),
    ("[" * 5000, "nested too deeply"),
])
def test_non_json_values_are_exit_2(tmp_path: Path, text: str, message: str) -> None:
    saved = tmp_path / "run.jsonl"
    saved.write_text(text + "\n")
    result = invoke("report", str(saved))
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ streaming


def write_document(path: Path, n: int) -> None:
    with JsonWriter(str(path), {"timeout": 3.0}) as writer:
        for i in range(n):
            writer.write(make_result(f"s{i}.test"))
        writer.close({"accessible": n})


def test_results_stream_one_at_a_time(tmp_path: Path) -> None:
    saved = tmp_path / "run.jsonl"
    saved.write_text(json.dumps(SAMPLES[0]) + "\n" + json.dumps(SAMPLES[1]) + "\nnot json\n")
    with open_run(str(saved)) as run:
        first = next(iter(run))  # yielded before the bad third line is read
        assert first.target == "a.test"
        next(iter(run))
        with pytest.raises(RunFileError, match="line 3"):
            next(iter(run))


def test_writer_layout_streams_and_keeps_its_closing_fields(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    write_document(saved, 3)
    with open_run(str(saved)) as run:
        assert run.meta["settings"] == {"timeout": 3.0} and "finished_at" not in run.meta
        assert [r.target for r in run] == ["s0.test", "s1.test", "s2.test"]
        assert run.meta["summary"] == {"accessible": 3} and run.meta["interrupted"] is False


@pytest.mark.parametrize("n", [0, 1])
def test_pretty_printed_document_is_read_whole(tmp_path: Path, n: int) -> None:
    saved, pretty = tmp_path / "run.json", tmp_path / "pretty.json"
    write_document(saved, n)
    pretty.write_text(json.dumps(json.loads(saved.read_text()), indent=2))
    with open_run(str(pretty)) as run:
        assert len(list(run)) == n and run.meta["summary"] == {"accessible": n} if n else True


def test_big_foreign_document_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved, pretty = tmp_path / "run.json", tmp_path / "pretty.json"
    write_document(saved, 3)
    pretty.write_text(json.dumps(json.loads(saved.read_text()), indent=2))
    monkeypatch.setattr(runfile, "MAX_DOCUMENT_BYTES", 1000)
    result = invoke("report", str(pretty))
    assert result.exit_code == 2 and "--jsonl" in result.stderr and "jq -c" in result.stderr
    assert invoke("report", str(saved)).exit_code == 0  # our own layout streams at any size


def test_truncated_document_writes_no_output(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    write_document(saved, 3)
    saved.write_text("\n".join(saved.read_text().splitlines()[:-1]) + "\n")
    out_json, out_jsonl = tmp_path / "out.json", tmp_path / "out.jsonl"
    result = invoke("report", str(saved), "--json", str(out_json), "--jsonl", str(out_jsonl))
    assert result.exit_code == 2 and "truncated" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_table_is_bounded_but_counts_cover_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "run.json"
    write_document(saved, 5)
    monkeypatch.setattr(report_cli, "REPORT_TABLE_ROWS", 3)
    result = invoke("report", str(saved))
    assert result.exit_code == 0
    assert "s2.test" in result.stdout and "s3.test" not in result.stdout
    assert "5 sites: 5 accessible" in result.stdout
    assert "first 3 of 5 sites" in result.stderr


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["schema", "tool", "started_at", "settings", "finished_at", "summary",
                        "interrupted", "results"]),
       json_values, st.sampled_from(["compact", "pretty", "writer"]), st.booleans())
def test_no_document_field_mutation_is_an_internal_error(
    tmp_path: Path, key: str, value: Any, layout: str, rejudge: bool
) -> None:
    original = tmp_path / "orig.json"
    write_document(original, 2)
    doc = json.loads(original.read_text())
    doc[key] = value
    saved = tmp_path / "run.json"
    if layout == "writer":  # JsonWriter's streamed layout, the mutated value in its place
        head = {k: v for k, v in doc.items() if k in ("schema", "tool", "started_at", "settings")}
        tail = {k: v for k, v in doc.items() if k in ("finished_at", "summary", "interrupted")}
        results = doc["results"] if isinstance(doc["results"], list) else []
        lines = [json.dumps(head)[:-1] + ',"results":[']
        lines += [json.dumps(r) + ("," if i < len(results) - 1 else "")
                  for i, r in enumerate(results)]
        lines.append("]," + json.dumps(tail)[1:])
        saved.write_text("\n".join(lines) + "\n")
    else:
        saved.write_text(json.dumps(doc, indent=2 if layout == "pretty" else None))
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)  # tmp_path is shared by the examples
    result = invoke("report", *(["--rejudge"] if rejudge else []), str(saved), "--json", str(out))
    assert result.exit_code in (0, 1, 2, 3), result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1
        assert not out.exists()
