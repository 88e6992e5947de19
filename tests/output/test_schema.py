"""The shipped JSON Schema: it accepts what the writers produce and catches broken results."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reachcheck import model
from reachcheck.model import VERDICTS
from reachcheck.output import JsonlWriter, JsonWriter, load_schema, result_to_dict
from tests.output.samples import make_result

SCHEMA = load_schema()
# One result (a JSONL line): the document's $defs, rooted at the result definition.
RESULT_SCHEMA = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/result"}
# Schema $defs name for each model dataclass (the sync test keeps them from drifting apart).
DEFS = {
    "result": model.SiteResult,
    "anomaly": model.Anomaly,
    "dns_query": model.DnsQuery,
    "dns_response": model.DnsResponse,
    "tcp_connect": model.TcpConnect,
    "tls_handshake": model.TlsHandshake,
    "cert_info": model.CertInfo,
    "http_fetch": model.HttpFetch,
    "http_hop": model.HttpHop,
    "control_measurement": model.ControlMeasurement,
    "vantage": model.Vantage,
}


def _errors(instance: Any, schema: dict[str, Any] = RESULT_SCHEMA) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [e.message for e in validator.iter_errors(instance)]


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(DEFS))
def test_schema_matches_model_fields(name: str) -> None:
    fields = {f.name for f in dataclasses.fields(DEFS[name])}
    assert set(SCHEMA["$defs"][name]["properties"]) == fields


def test_schema_verdicts_match_model() -> None:
    assert SCHEMA["$defs"]["verdict"]["enum"] == list(VERDICTS)


def test_written_document_validates(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    with JsonWriter(str(path), {"timeout": 2.0}) as writer:
        for i, verdict in enumerate(VERDICTS):
            writer.write(make_result(f"s{i}.test", verdict))
            writer.write(make_result(f"bare{i}.test", verdict, full=False))
        writer.close({v: 2 for v in VERDICTS}, interrupted=True)
    assert _errors(json.loads(path.read_text()), SCHEMA) == []


def test_written_jsonl_lines_validate(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with JsonlWriter(str(path)) as writer:
        for verdict in VERDICTS:
            writer.write(make_result("https://[::1]:8443/x", verdict))
    lines = path.read_text().splitlines()
    assert len(lines) == len(VERDICTS)
    for line in lines:
        assert _errors(json.loads(line)) == []


def _good() -> dict[str, Any]:
    return result_to_dict(make_result("a.test", "tls_blocked"))


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("verdict"),
        lambda d: d.update(verdict="blocked"),
        lambda d: d.update(confidence="certain"),
        lambda d: d.update(elapsed_ms="fast"),
        lambda d: d.update(anomalies=[{"stage": "dns", "kind": "x"}]),
        lambda d: d.update(anomalies=[{"stage": "smtp", "kind": "x", "detail": "y"}]),
        lambda d: d.update(surprise=1),
        lambda d: d["tcp"][0].update(port="443"),
        lambda d: d["dns"][0].update(qtype="MX"),
        lambda d: d["tls"][0].update(ok="yes"),
        lambda d: d["http"][0]["redirects"][0].pop("url"),
    ],
)
def test_schema_rejects_broken_results(breakage: Any) -> None:
    data = _good()
    assert _errors(data) == []  # so each failure below is the breakage's doing
    breakage(data)
    assert _errors(data) != []


def test_schema_rejects_broken_documents() -> None:
    doc = {"schema": "reachcheck/1", "tool": {"name": "reachcheck", "version": "0"},
           "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01.5Z",
           "settings": {}, "results": [_good()], "summary": {"tls_blocked": 1},
           "interrupted": False}
    assert _errors(doc, SCHEMA) == []
    for key in ("summary", "interrupted", "results", "finished_at"):
        assert _errors({k: v for k, v in doc.items() if k != key}, SCHEMA) != []
    assert _errors({**doc, "summary": {"blocked": 1}}, SCHEMA) != []
    assert _errors({**doc, "started_at": "yesterday"}, SCHEMA) != []
