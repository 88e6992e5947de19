"""Strict JSON decoding for input from others (saved runs, control requests).

Python's `json` accepts things no reachcheck file or request contains and some that cost a
lot: NaN and Infinity (not JSON at all), duplicate keys (the last one silently wins, so two
readers can disagree on what a file says), integers of any length (a 5,000-digit one raises a
bare ValueError from the int parser) and nesting deep enough to raise RecursionError. `loads`
refuses all of them with one `StrictJsonError` whose message says what and, where the decoder
knows, where.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 40  # the largest integer in a reachcheck document is a 64-bit counter (20)


class StrictJsonError(ValueError):
    """Input that is not strict JSON; the message is one line."""


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJsonError(f"integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError(f"number {text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJsonError(f"duplicate key {key[:60]!r}")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_int=_bounded_int,
    parse_float=_finite_float,
    parse_constant=_no_constant,
)


def loads(text: str | bytes) -> Any:
    """Decode `text` (bytes must be UTF-8) strictly; raise StrictJsonError otherwise."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _DECODER.decode(text)
    except StrictJsonError:
        raise
    except UnicodeDecodeError:
        raise StrictJsonError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StrictJsonError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise StrictJsonError("JSON nested too deeply") from None
    except ValueError as exc:  # int/float conversion limits
        raise StrictJsonError(f"bad number: {str(exc)[:80]}") from None
