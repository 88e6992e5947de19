"""Durations as the observations record them."""

from __future__ import annotations


def ms(seconds: float) -> float:
    """Seconds as milliseconds, to the microsecond (the precision of every `*_ms` field)."""
    return round(seconds * 1000, 3)
