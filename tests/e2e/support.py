"""Helpers for end-to-end runs of the real `reachcheck` command against loopback servers.

Every run goes through `check_args`, which always names loopback resolvers, a loopback DoH
control (or none), a loopback injection probe (or none), a benign SNI and the test CA: the
defaults point at public servers, and this machine may only talk to 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from reachcheck.output import load_schema

SCHEMA = load_schema()
_VALIDATOR = jsonschema.validators.validator_for(SCHEMA)
_VALIDATOR.check_schema(SCHEMA)
DOCUMENT_VALIDATOR = _VALIDATOR(SCHEMA)
# One result (a JSONL line): the document's $defs, rooted at the result definition.
RESULT_VALIDATOR = _VALIDATOR(
    {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/result"}
)
EXIT_CODES = {0, 1, 3}
BENIGN_SNI = "benign.test"
# The console script may be missing from PATH in some environments; the entry point is not.
COMMAND = [sys.executable, "-c", "from reachcheck.cli import main; main()"]
RUN_TIMEOUT = 60.0  # a hung run fails the test instead of hanging the suite


def loopback_args(
    *,
    nameserver: tuple[str, int],
    resolver: tuple[str, int] | None = None,
    doh: str | None,
    injection_probe: tuple[str, int] | None,
    ca_bundle: str,
    timeout: float = 2.0,
    hold_on: float = 0.2,
) -> list[str]:
    """The options that keep a run on loopback (every public default replaced)."""
    resolver = resolver or nameserver
    for host, _port in (nameserver, resolver, *([injection_probe] if injection_probe else [])):
        assert ipaddress.ip_address(host).is_loopback, host
    return [
        "--nameserver", f"{nameserver[0]}:{nameserver[1]}",
        "--resolver", f"{resolver[0]}:{resolver[1]}",
        "--doh", doh if doh is not None else "none",
        "--injection-probe",
        f"{injection_probe[0]}:{injection_probe[1]}" if injection_probe else "none",
        "--benign-sni", BENIGN_SNI,
        "--ca-bundle", ca_bundle,
        "--timeout", str(timeout),
        "--hold-on", str(hold_on),
        # Loopback plays the public internet here (as 198.18.0.0/15 does in the lab): without
        # this, every site's own DNS would point at a special-purpose address (site_down).
        "--public-range", "127.0.0.0/8",
    ]  # fmt: skip


def env() -> dict[str, str]:
    """The child's environment: no proxies, no colour, the checkout importable."""
    out = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for name in ("NO_COLOR", "FORCE_COLOR", "SSL_CERT_FILE", "REACHCHECK_DEBUG"):
        out.pop(name, None)
    root = str(Path(__file__).resolve().parents[2])
    out["PYTHONPATH"] = root + os.pathsep + out.get("PYTHONPATH", "")
    return out


def run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`reachcheck ARGS...` to completion."""
    return subprocess.run(
        [*COMMAND, *args], cwd=cwd, env=env(), capture_output=True, text=True,
        timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def start(args: Sequence[str], cwd: Path) -> subprocess.Popen[str]:
    """`reachcheck ARGS...` in the background (for signals)."""
    return subprocess.Popen(
        [*COMMAND, *args], cwd=cwd, env=env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def assert_clean_stderr(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr.lower(), stderr


def load_document(path: Path) -> dict[str, Any]:
    """Parse and schema-validate a `--json` document."""
    doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
    DOCUMENT_VALIDATOR.validate(doc)
    for result in doc["results"]:
        RESULT_VALIDATOR.validate(result)
    return doc


def load_jsonl(text: str) -> list[dict[str, Any]]:
    """Parse JSONL text: every line one complete, schema-valid result; nothing else."""
    lines = text.splitlines()
    out = []
    for line in lines:
        assert line.strip(), "blank line in JSONL output"
        obj = json.loads(line)
        RESULT_VALIDATOR.validate(obj)
        out.append(obj)
    return out


def assert_loopback_settings(settings: Mapping[str, Any]) -> None:
    """No public address anywhere in the run's recorded settings."""
    hosts = [ns[0] for ns in settings["resolvers"]]
    hosts += [ns[0] for ns in settings["system_nameservers"] or []]
    for server in settings["doh"]:
        hosts += list(server["bootstrap"])
    if settings["injection_probe"]:
        hosts.append(settings["injection_probe"][0])
    assert hosts, settings
    for host in hosts:
        assert ipaddress.ip_address(host).is_loopback, (host, settings)
    assert settings["system_nameservers"], "the system resolver would read resolv.conf"
    assert settings["benign_sni"] == BENIGN_SNI


def by_domain(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        assert r["domain"] not in out, f"two results for {r['domain']}"
        out[r["domain"]] = dict(r)
    return out


def kinds(result: Mapping[str, Any]) -> set[str]:
    return {a["kind"] for a in result["anomalies"]}
