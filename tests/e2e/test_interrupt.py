"""Interrupting a real run: SIGINT / SIGTERM give exit 130 and complete partial output quickly;
SIGKILL never replaces a good earlier --json file with a broken one.

The run checks ~30 sites: a few answer at once (so results exist when the signal comes), the
rest stall (a TLS server that never answers the ClientHello, an HTTP server that never
answers the request) so that sites are in flight when the signal arrives.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reachcheck.history.store import HistoryStore
from tests.e2e.support import (
    RESULT_VALIDATOR,
    assert_clean_stderr,
    assert_loopback_settings,
    load_document,
    load_jsonl,
    loopback_args,
    start,
)
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import HttpApp, Page, Stall
from tests.fakes.pki import Pki
from tests.fakes.tls_server import FakeServer

FAST, TLS_STALL, HTTP_STALL = "127.0.0.30", "127.0.0.31", "127.0.0.32"
STAGE_TIMEOUT = 5.0
SIGNAL_DEADLINE = 5.0  # seconds an interrupted run may take to exit (generous for slow CI)
WAIT_FOR_FIRST = 20.0


@dataclass
class SlowWorld:
    args: list[str]
    urls: list[str]


@pytest.fixture(scope="module")
def slow_world(pki: Pki) -> Iterator[SlowWorld]:
    names: dict[str, str] = {f"fast{i}.test": FAST for i in range(2)}
    names |= {f"tstall{i}.test": TLS_STALL for i in range(14)}
    names |= {f"hstall{i}.test": HTTP_STALL for i in range(14)}
    with contextlib.ExitStack() as stack:
        fast = stack.enter_context(
            FakeServer(host=FAST, pki=pki, app=HttpApp(default=lambda r: Page("fast")))
        )
        tls_stall = stack.enter_context(FakeServer(host=TLS_STALL, pki=pki, tls_mode="stall",
                                                   tls_modes={"benign.test": "ok"}))
        http_stall = stack.enter_context(
            FakeServer(host=HTTP_STALL, pki=pki, app=HttpApp(default=lambda r: Stall()))
        )
        ports = {FAST: fast.port, TLS_STALL: tls_stall.port, HTTP_STALL: http_stall.port}
        dns = stack.enter_context(
            FakeDnsServer({name: Rule.answer(addr) for name, addr in names.items()})
        )
        doh = stack.enter_context(FakeServer(pki=pki, app=DohApp(
            {name: [addr] for name, addr in names.items()}
        )))
        args = loopback_args(
            nameserver=dns.address, doh=f"https://dns.test:{doh.port}/dns-query@127.0.0.1",
            injection_probe=None, ca_bundle=pki.ca_bundle, timeout=STAGE_TIMEOUT, hold_on=0.1,
        )
        urls = [f"https://{name}:{ports[addr]}/" for name, addr in names.items()]
        yield SlowWorld([*args, "--concurrency", "4"], urls)


def _sites_file(world: SlowWorld, directory: Path) -> Path:
    path = directory / "sites.txt"
    path.write_text("".join(u + "\n" for u in world.urls))
    return path


def _wait_for_line(proc: subprocess.Popen[str], path: Path) -> None:
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while time.monotonic() < deadline:
        if path.exists() and b"\n" in path.read_bytes():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the signal: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no JSONL line within {WAIT_FOR_FIRST} s: {proc.communicate()}")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=SIGNAL_DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {SIGNAL_DEADLINE} s after the signal: {err}")
    return proc.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_writes_partial_results(slow_world: SlowWorld, workdir: Path,
                                       signum: int) -> None:
    sites = _sites_file(slow_world, workdir)
    out, lines = workdir / "run.json", workdir / "run.jsonl"
    proc = start(["check", *slow_world.args, "--sites", str(sites), "--json", str(out),
                  "--jsonl", str(lines)], workdir)
    _wait_for_line(proc, lines)
    proc.send_signal(signum)
    code, _stdout, stderr = _finish(proc)
    assert code == 130, stderr
    assert_clean_stderr(stderr)
    assert "interrupted" in stderr

    doc = load_document(out)  # parses and validates, every result included
    assert_loopback_settings(doc["settings"])
    assert doc["interrupted"] is True
    results = doc["results"]
    assert 1 <= len(results) < len(slow_world.urls)
    assert len({r["url"] for r in results}) == len(results)
    assert set(r["url"] for r in results) <= set(slow_world.urls)
    # Only complete results: a cancelled site is left out, not written as a stub.
    for r in results:
        assert "internal error" not in r["reason"], r["reason"]
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    assert doc["summary"] == counts

    text = lines.read_text("utf-8")
    assert text.endswith("\n")
    streamed = load_jsonl(text)  # every line one complete, valid result
    assert sorted(r["url"] for r in streamed) == sorted(r["url"] for r in results)

    # The history keeps the partial run, marked as such, with the same results.
    with HistoryStore(create=False) as store:
        (run,) = store.runs()
        kept = list(store.results(run.id))
    assert run.status == "interrupted" and run.run_id == results[0]["run_id"]
    assert sorted(r.url for r in kept) == sorted(r["url"] for r in results)


def test_second_sigint_stops_at_once(slow_world: SlowWorld, workdir: Path) -> None:
    sites = _sites_file(slow_world, workdir)
    out, lines = workdir / "run.json", workdir / "run.jsonl"
    proc = start(["check", *slow_world.args, "--sites", str(sites), "--json", str(out),
                  "--jsonl", str(lines)], workdir)
    _wait_for_line(proc, lines)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    code, _stdout, stderr = _finish(proc)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    # Whatever exists afterwards is whole: either no document or a valid interrupted one.
    if out.exists():
        assert load_document(out)["interrupted"] is True
    for line in lines.read_text("utf-8").splitlines():
        RESULT_VALIDATOR.validate(json.loads(line))


def test_sigkill_keeps_previous_json(slow_world: SlowWorld, workdir: Path) -> None:
    sites = _sites_file(slow_world, workdir)
    out, lines = workdir / "run.json", workdir / "run.jsonl"
    # A good document from an earlier run (a short one: the fast sites only).
    earlier = start(["check", *slow_world.args, *slow_world.urls[:2], "--json", str(out), "-q"],
                    workdir)
    code, _stdout, stderr = _finish_normal(earlier)
    assert code == 0, stderr
    before = out.read_bytes()
    assert load_document(out)["interrupted"] is False

    proc = start(["check", *slow_world.args, "--sites", str(sites), "--json", str(out),
                  "--jsonl", str(lines)], workdir)
    _wait_for_line(proc, lines)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=SIGNAL_DEADLINE)
    assert out.read_bytes() == before
    load_document(out)
    # The lines written before the kill are whole (flushed one at a time).
    text = lines.read_text("utf-8")
    complete = text[: text.rfind("\n") + 1]
    streamed = load_jsonl(complete)
    assert streamed
    # The history kept what was committed (each result is committed right after its line).
    with HistoryStore() as store:
        killed = store.runs()[-1]
        assert killed.status == "running" and killed.run_id == streamed[0]["run_id"]
        assert store.mark_dead_runs() == 1  # its process is gone
        killed = store.runs()[-1]
        kept = {r.url for r in store.results(killed.id)}
    assert killed.status == "interrupted"
    assert len(streamed) - 1 <= len(kept) <= len(streamed)
    assert kept <= {r["url"] for r in streamed}


def _finish_normal(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err
