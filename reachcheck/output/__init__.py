"""Renderers: the human table, the JSON document and JSONL, plus the shipped JSON Schema.

May import: reachcheck.config, reachcheck.i18n, reachcheck.model, reachcheck.probes.proxy,
reachcheck.strictjson, reachcheck.terminal (the proxy URL parser keeps passwords out of the
saved settings). (Enforced by tests/test_layering.py.)
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from reachcheck.output.jsonout import (
    JsonlWriter,
    JsonWriter,
    RunFileError,
    check_writable,
    result_from_dict,
    result_to_dict,
    settings_dict,
)
from reachcheck.output.runfile import SavedRun, load_run, open_run
from reachcheck.output.table import count_verdicts, render_table

SCHEMA_FILE = "reachcheck-1.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of a `reachcheck/1` document (and, via `$defs/result`, of a JSONL line)."""
    import json

    text = resources.files("reachcheck.output").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "JsonWriter",
    "JsonlWriter",
    "RunFileError",
    "check_writable",
    "count_verdicts",
    "load_run",
    "load_schema",
    "open_run",
    "SavedRun",
    "render_table",
    "result_from_dict",
    "result_to_dict",
    "settings_dict",
]
