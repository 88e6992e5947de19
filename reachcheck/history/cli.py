"""`reachcheck history`: list, show, export and prune the runs kept in the history store."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.console import Console
from rich.table import Table

from reachcheck.history.refs import RefError, resolve
from reachcheck.history.schema import StoreVersionError
from reachcheck.history.store import HistoryStore, RunInfo, StoreError, default_path
from reachcheck.model import BLOCKED_VERDICTS, VERDICTS
from reachcheck.output.formats import FORMATS, atomic_text, write_format
from reachcheck.output.jsonout import DASH, result_to_dict
from reachcheck.output.timeline import RunInput
from reachcheck.runinfo import now_utc, rfc3339

EXIT_USAGE = 2


class HistoryInputError(click.ClickException):
    """A problem with the arguments or the store (exit 2, one line)."""

    exit_code = EXIT_USAGE


def _open(create: bool = False) -> HistoryStore:
    try:
        return HistoryStore(create=create)
    except (StoreError, StoreVersionError) as exc:
        raise HistoryInputError(str(exc)) from None


def _find(store: HistoryStore, ref: str) -> RunInfo:
    try:
        return resolve(store, ref)
    except RefError as exc:
        raise HistoryInputError(str(exc)) from None


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts.get(v)) or "-"


@click.group("history", short_help="Runs kept over time: list, show, export, prune.")
def history() -> None:
    """Runs kept in the history store ($XDG_DATA_HOME/reachcheck/history.sqlite3, default
    ~/.local/share/reachcheck/). `reachcheck check` adds each run as its results arrive
    (--no-history skips it). A run is named by its id (the ID column), `last`, `last~N`, or
    its run id (or a unique prefix of it); `report` and `diff` accept the same names."""


@history.command("path")
def path_cmd() -> None:
    """Print where the history store is (or would be)."""
    click.echo(default_path())


@history.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run, per line.")
def list_cmd(as_json: bool) -> None:
    """List the runs, oldest first."""
    try:
        store = HistoryStore(create=False)
    except StoreError:
        if not as_json:
            click.echo(f"no runs yet (the store {default_path()} does not exist)", err=True)
        return
    except StoreVersionError as exc:
        raise HistoryInputError(str(exc)) from None
    with store:
        runs = store.runs()
    if as_json:
        for run in runs:
            click.echo(json.dumps({
                "id": run.id, "run_id": run.run_id, "started_at": run.started_at,
                "finished_at": run.finished_at, "status": run.status, "label": run.label,
                "sites": run.sites, "counts": run.counts}))
        return
    table = Table(header_style="bold")
    for name in ("ID", "Started (UTC)", "Status", "Label", "Sites", "Blocked", "Verdicts"):
        table.add_column(name, overflow="fold")
    for run in runs:
        blocked = sum(n for v, n in run.counts.items() if v in BLOCKED_VERDICTS)
        table.add_row(str(run.id), run.started_at, run.status, run.label or "",
                      str(run.sites), str(blocked), _counts_text(run.counts))
    Console(highlight=False).print(table)


@history.command("show")
@click.argument("ref", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              help="Output format. [default: table]")
@click.option("--output", "-o", metavar="FILE", help="Write to FILE. [default: stdout]")
def show_cmd(ref: str, fmt: str, output: str | None) -> None:
    """Show one run (as `reachcheck report ID` does)."""
    with _open() as store:
        info = _find(store, ref)
        results = list(store.results(info.id))
    if fmt == "table" and not output:
        click.echo(f"run {info.id} ({info.run_id}), started {info.started_at}, {info.status}"
                   + (f", label {info.label}" if info.label else ""), err=True)
    try:
        write_format(fmt, [RunInput(f"history:{info.id}", info.meta(), results)], output,
                     console=Console(highlight=False), counts=_ordered(info.counts),
                     settings=info.settings, started_at=info.started_at,
                     interrupted=info.status != "finished")
    except OSError as exc:
        raise HistoryInputError(f"cannot write output: {exc}") from None


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    return {v: counts[v] for v in VERDICTS if counts.get(v)}


@history.command("export")
@click.argument("refs", nargs=-1, metavar="[ID]...")
@click.option("--since", "days", type=click.FloatRange(min=0), metavar="DAYS",
              help="Only runs started in the last DAYS days. [default: all]")
@click.option("--output", "-o", metavar="FILE|-", default=DASH,
              help="Write JSONL to FILE. [default: stdout]")
def export_cmd(refs: tuple[str, ...], days: float | None, output: str) -> None:
    """Export results as JSONL (every run, or the runs named), oldest run first. Each line is
    one result carrying its run_id, measured_at and vantage; `reachcheck report` reads the
    file back as separate runs."""
    with _open() as store:
        runs = [_find(store, ref) for ref in refs] if refs else store.runs()
        if days is not None:
            cutoff = rfc3339(now_utc() - dt.timedelta(days=days))
            runs = [run for run in runs if run.started_at >= cutoff]
        try:
            with atomic_text(output) as handle:
                for run in runs:
                    for result in store.results(run.id):
                        handle.write(json.dumps(result_to_dict(result), ensure_ascii=False,
                                                separators=(",", ":")) + "\n")
        except OSError as exc:
            raise HistoryInputError(f"cannot write output: {exc}") from None


@history.command("prune")
@click.option("--keep", "keep", type=click.IntRange(min=0), metavar="N",
              help="Keep the newest N runs.")
@click.option("--older-than", "days", type=click.FloatRange(min=0), metavar="DAYS",
              help="Delete runs started more than DAYS days ago.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
def prune_cmd(keep: int | None, days: float | None, dry_run: bool) -> None:
    """Delete old runs and their results (--keep N and/or --older-than DAYS)."""
    if keep is None and days is None:
        raise click.UsageError("give --keep N or --older-than DAYS")
    with _open() as store:
        runs = store.runs()
        doomed: dict[int, RunInfo] = {}
        if keep is not None:
            doomed.update((r.id, r) for r in runs[:max(0, len(runs) - keep)])
        if days is not None:
            cutoff = rfc3339(now_utc() - dt.timedelta(days=days))
            doomed.update((r.id, r) for r in runs if r.started_at < cutoff)
        if not dry_run:
            try:
                store.delete_runs(sorted(doomed))
            except StoreError as exc:
                raise HistoryInputError(str(exc)) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(doomed)} of {len(runs)} runs", err=True)
