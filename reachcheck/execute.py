"""Running a check for the command line: output writers, progress, signals, the event loop.

`run_check` opens the JSON/JSONL writers, runs `reachcheck.runner.run` with SIGINT/SIGTERM
turned into a graceful stop (a second signal stops at once), streams every result to the
writers, the progress display and the table rows as it arrives, then closes the outputs
(atomically for JSON) and prints the table. Exit codes are the CLI's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import click
from rich.console import Console

from reachcheck.config import Config
from reachcheck.history.recorder import HistoryRecorder
from reachcheck.i18n import _
from reachcheck.model import VERDICTS, SiteResult, Target
from reachcheck.output import JsonlWriter, JsonWriter, render_table, settings_dict
from reachcheck.output.progress import ProgressDisplay
from reachcheck.output.table import Row, summary_line
from reachcheck.runinfo import RunStamp
from reachcheck.runner import RunSummary


class _Sink:
    """Receives results from the runner: writes outputs, keeps counts and table rows."""

    def __init__(self, json_writer: JsonWriter | None, jsonl_writer: JsonlWriter | None,
                 keep: bool, progress: ProgressDisplay, total: int) -> None:
        self.json_writer, self.jsonl_writer = json_writer, jsonl_writer
        self.keep = keep
        self.progress, self.total = progress, total
        # Table rows by the target's position in the input (results arrive in completion
        # order; the table lists them as given). Rows, not results: memory stays small.
        self.rows: dict[int, Row] = {}
        self.order: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.failure: OSError | None = None
        self.stop: asyncio.Event | None = None
        self.stamp: RunStamp | None = None
        self.history: HistoryRecorder | None = None
        self.local_proxy: str | None = None  # the first sign of a local proxy/VPN seen
        self.local_proxy_sites = 0

    def on_result(self, result: SiteResult) -> None:
        if self.failure is not None:
            return
        if self.stamp is not None:
            result = self.stamp.stamp(result)
        try:
            if self.json_writer:
                self.json_writer.write(result)
            if self.jsonl_writer:
                self.jsonl_writer.write(result)
        except OSError as exc:
            # Out of disk, a closed pipe: stop the run rather than measure into the void.
            self.failure = exc
            if self.stop is not None:
                self.stop.set()
            return
        if self.history is not None:
            self.history.add(result)
        self.counts[result.verdict] += 1
        if result.local_proxy:
            self.local_proxy_sites += 1
            self.local_proxy = self.local_proxy or result.local_proxy
        if self.keep:
            position = self.order.pop(result.target, len(self.order) + len(self.rows))
            self.rows[position] = Row.of(result)
        self.progress.update(sum(self.counts.values()), self.total, self.counts)

    def numbered(self, targets: Iterable[Target]) -> Iterator[Target]:
        """Pass `targets` through, noting each one's input position for the table."""
        for target in targets:
            if self.keep:
                self.order.setdefault(target.given, len(self.order) + len(self.rows))
            yield target

    @property
    def results(self) -> list[Row]:
        """The table rows in input order."""
        return [self.rows[k] for k in sorted(self.rows)]


async def _run_async(targets: Iterable[Target], config: Config, sink: _Sink) -> Any:
    from reachcheck import runner  # lazy: the probes stack is heavy and not needed for --help

    stop = asyncio.Event()
    sink.stop = stop
    loop = asyncio.get_running_loop()

    def first_signal(signum: int) -> None:
        # First Ctrl-C (or SIGTERM): finish gracefully with partial output. Removing the
        # handler brings back the default, so a second one stops at once.
        stop.set()
        loop.remove_signal_handler(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, first_signal, signum)
    try:
        # The progress display advances from on_result (it needs the verdicts anyway).
        return await runner.run(targets, config, on_result=sink.on_result, stop=stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


def _loop_factory(config: Config) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop for DNS-only runs when it is installed (the `fast` extra): it
    halves the loop's own cost per query. Full checks keep asyncio's loop (their TLS probes
    rely on its SSL transport). REACHCHECK_UVLOOP=0 turns it off."""
    if os.environ.get("REACHCHECK_UVLOOP", "1") == "0" or {"tcp", "tls", "http"} & config.stages:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_check(targets: Iterable[Target], total: int, config: Config, json_path: str | None,
              jsonl_path: str | None, show_table: bool, color: bool | None,
              quiet: bool, *, label: str | None = None, history: bool = False,
              full_table: bool = False) -> RunSummary:
    """Run the check, streaming results to the outputs; print the table and notes at the end.

    Every result is stamped with the run's id, its time and vantage (`label`); with `history`
    each is also committed to the history store as it arrives. Output files are opened before
    the run and replaced only when it ends; a failure to write them raises OSError (the CLI
    turns it into one line and exit code 2)."""
    json_writer = jsonl_writer = None
    stamp = RunStamp.create(config, label)
    try:
        if json_path:
            json_writer = JsonWriter(json_path, settings_dict(config),
                                     started_at=stamp.started_at)
        if jsonl_path:
            jsonl_writer = JsonlWriter(jsonl_path)
    except OSError as exc:
        if json_writer:
            json_writer.abort()
        raise OSError(f"cannot write output: {exc}") from None
    # Sites done/total, rate, verdict counts so far and ETA on stderr, only on a terminal.
    with ProgressDisplay(total, enabled=not quiet) as progress:
        sink = _Sink(json_writer, jsonl_writer, show_table, progress, total)
        sink.stamp = stamp
        if history:
            sink.history = HistoryRecorder.start(stamp, settings_dict(config), _warn)
        summary: RunSummary
        try:
            with asyncio.Runner(loop_factory=_loop_factory(config)) as runner:
                summary = runner.run(_run_async(sink.numbered(targets), config, sink))
        except KeyboardInterrupt:
            # A second Ctrl-C stopped the runner before it could sum up: the counts so far.
            summary = RunSummary.from_counts(sink.counts, interrupted=True)
        except BaseException:
            if sink.history:  # the results so far stay in the store, marked partial
                sink.history.finish(interrupted=True)
            if json_writer:
                json_writer.abort()  # never replace a good file with a broken run
            if jsonl_writer:
                jsonl_writer.close()
            raise
    counts = _ordered(sink.counts)
    if sink.history:
        sink.history.finish(interrupted=summary.interrupted or sink.failure is not None)
    if sink.failure is not None:
        if json_writer:
            json_writer.abort()
        with contextlib.suppress(OSError):
            if jsonl_writer:
                jsonl_writer.close()
        raise sink.failure
    try:
        if json_writer:
            json_writer.close(counts, interrupted=summary.interrupted)
        if jsonl_writer:
            jsonl_writer.close()
    except OSError as exc:
        raise OSError(f"cannot write output: {exc}") from None
    if show_table:
        render_table(sink.results, console(color), counts, full=full_table)
    elif not quiet:
        Console(stderr=True, highlight=False).print(summary_line(counts))
    if sink.local_proxy and not quiet:
        click.echo(_("reachcheck: warning: the path is not direct for {n} site(s): a local proxy "
                     "or VPN answers for this network ({why}). No blocking is claimed; to measure "
                     "this network, turn the proxy/VPN off, or pass it as --via URL.").format(
                         n=sink.local_proxy_sites, why=sink.local_proxy), err=True)
    if summary.network_down and not quiet:
        click.echo(_("reachcheck: the local network looks down (nothing answered, not even the "
                     "control); results are inconclusive"), err=True)
    if summary.interrupted and not quiet:
        click.echo(_("reachcheck: interrupted; partial results written"), err=True)
    return summary


def _warn(message: str) -> None:
    click.echo(f"reachcheck: warning: {message}", err=True)


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts in canonical verdict order, zero entries dropped."""
    return {v: counts[v] for v in VERDICTS if counts.get(v)}


class _StdoutConsole(Console):
    """rich's console, but a closed stdout raises BrokenPipeError (the CLI exits quietly with
    its documented code) instead of rich's own SystemExit(1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "stdout closed by its reader")


def console(color: bool | None) -> Console:
    """The stdout console: --color forces ANSI colour, --no-color removes it."""
    if color is None:
        return _StdoutConsole(highlight=False)
    return _StdoutConsole(highlight=False, force_terminal=color or None, no_color=not color)
