"""`reachcheck diff OLD NEW`: what changed between two saved runs (files or history ids)."""

from __future__ import annotations

import json

import click

from reachcheck.diff import CATEGORIES, RunDiff, SiteChange, diff_runs
from reachcheck.history.refs import RefError, RunLoader
from reachcheck.history.store import StoreError
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
            result = diff_runs(old_run.results, new_run.results)
    except (RunFileError, OSError, RefError, StoreError) as exc:
        raise DiffInputError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps({"old": old_run.source, "new": new_run.source,
                               **result.to_json()}, ensure_ascii=False))
    else:
        click.echo(render_text(result, old_run.source, new_run.source))
    return result.exit_status
