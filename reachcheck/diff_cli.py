"""`reachcheck diff OLD NEW`: what changed between two saved runs (files or history ids)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from reachcheck.diff import CATEGORIES, RunDiff, SiteChange, diff_runs
from reachcheck.history.refs import RefError, RunLoader
from reachcheck.history.store import StoreError
from reachcheck.model import SiteResult
from reachcheck.output.jsonout import RunFileError

EXIT_USAGE = 2
DIFF_EXIT_HELP = """\b
Exit codes:
  0  nothing changed
  1  at least one site is blocked now that was not before (or was not measured)
  2  usage or input error
  3  something changed, but nothing became blocked"""

HEADINGS = {
    "newly_blocked": "Newly blocked",
    "unblocked": "No longer blocked",
    "mechanism_changed": "Blocked differently",
    "new_evidence": "Same verdict, new evidence",
    "verdict_changed": "Other verdict changes",
    "removed": "Not in the new run",
}


class DiffInputError(click.ClickException):
    exit_code = EXIT_USAGE


def _line(change: SiteChange) -> str:
    old, new = change.old_verdict or "(not measured)", change.new_verdict or "-"
    text = f"  {change.target}: {old} -> {new}"
    if change.new_kinds:
        text += f" [new: {', '.join(change.new_kinds)}]"
    if change.summary and change.category != "removed":
        text += f" ({change.summary})"
    return text


def render_text(result: RunDiff, old_name: str, new_name: str) -> str:
    lines = [f"{old_name} -> {new_name}: {result.compared} sites in both runs"]
    for category in CATEGORIES:
        changes = [c for c in result.changes if c.category == category]
        if changes:
            lines.append(f"{HEADINGS[category]} ({len(changes)}):")
            lines.extend(_line(c) for c in changes)
    parts = [f"{result.by_category[c]} {HEADINGS[c].lower()}" for c in CATEGORIES
             if result.by_category.get(c)]
    parts.append(f"{result.unchanged} unchanged")
    if result.added_unblocked:
        parts.append(f"{result.added_unblocked} new and not blocked")
    lines.append("; ".join(parts))
    return "\n".join(lines)


@click.command("diff", epilog=DIFF_EXIT_HELP,
               short_help="What changed between two runs (files or history ids).")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="Output format. [default: text]")
def diff(old: str, new: str, fmt: str) -> int:
    """Compare two runs site by site: newly blocked, no longer blocked, blocked by another
    mechanism, new evidence. OLD and NEW are JSON/JSONL files or history runs (an id from
    'reachcheck history list', 'last', 'last~1', or a run id), e.g. `diff last~1 last`."""
    try:
        with RunLoader() as loader:
            old_run, new_run = loader.load(old), loader.load(new)
            # Held: read twice below (and loading may become a stream).
            old_results, new_results = list(old_run.results), list(new_run.results)
            result = diff_runs(old_results, new_results)
    except (RunFileError, OSError, RefError, StoreError) as exc:
        raise DiffInputError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps({"old": old_run.source, "new": new_run.source,
                               **result.to_json()}, ensure_ascii=False))
    else:
        click.echo(render_text(result, old_run.source, new_run.source))
    old_labels, new_labels = _labels(old_results), _labels(new_results)
    if old_labels and new_labels and old_labels != new_labels:
        # A change may then be the place, not the time: say so (on stderr, data stays clean).
        click.echo(f"reachcheck: note: the runs come from different vantage points "
                   f"({', '.join(sorted(old_labels))} vs {', '.join(sorted(new_labels))})",
                   err=True)
    return result.exit_status


def _labels(results: Iterable[SiteResult]) -> set[str]:
    return {r.vantage.label for r in results if r.vantage and r.vantage.label}
