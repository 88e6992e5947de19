"""The stderr progress display: on only for terminals, and it shows counts as they come."""

from __future__ import annotations

import io

from rich.console import Console

from reachcheck.output.progress import ProgressDisplay, format_counts


def test_counts_are_shown_in_verdict_order_without_zeros() -> None:
    text = format_counts({"inconclusive": 1, "accessible": 3, "dns_blocked": 0, "tls_blocked": 2})
    assert text == "ok 3 · tls 2 · ? 1"
    assert format_counts({}) == ""


def test_display_is_off_when_stderr_is_not_a_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    with ProgressDisplay(3, enabled=True, console=console) as display:
        display.update(1, 3, {"accessible": 1})
    assert not display.enabled and console.file.getvalue() == ""


def test_display_is_off_when_quiet_even_on_a_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    with ProgressDisplay(3, enabled=False, console=console) as display:
        display.update(1, 3, {"accessible": 1})
    assert console.file.getvalue() == ""


def test_display_on_a_terminal_shows_done_total_and_counts() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with ProgressDisplay(None, enabled=True, console=console) as display:
        display.update(2, 5, {"accessible": 1, "dns_blocked": 1})
        display._progress.refresh()  # type: ignore[union-attr]  # render now, not on a timer
    out = console.file.getvalue()
    assert "2/5" in out and "ok 1 · dns 1" in out
