"""A strict structural check of saved results against the model's own type hints.

A saved run is input from others: before a result is rebuilt and judged, every field must
have the type the model declares (the same shapes the JSON Schema states), so a wrong type
becomes one line naming the field by its JSON path (`$.dns[0].responses[1].ttls[0]`) and
exit code 2, never a crash deep in the analysis. Derived from `model.py`'s dataclasses, so a
new field is checked the day it is added. Unknown keys are allowed (newer writers).

Rules: `str`, `bool`, `int` (not a bool), `float` (an int is fine, NaN cannot occur after
`strictjson`), `Literal[...]` (one of the values, same type), `X | None`, `tuple[X, ...]` (a
list), `dict[str, X]` (an object), dataclasses (an object; fields without a default are
required). Integers that index or count must be >= 0 (`NON_NEGATIVE`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

# Integer fields where a negative value has no meaning and would index from the end.
NON_NEGATIVE = frozenset({"accepted", "port", "status", "body_length", "ttls", "ede"})


class ShapeError(ValueError):
    """A value of the wrong shape; the message starts with its JSON path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


_HINTS: dict[type, tuple[tuple[str, Any, bool], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type hint, required) per field of a model dataclass, cached."""
    found = _HINTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple(
            (f.name, hints[f.name],
             f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(cls)
        )
        _HINTS[cls] = found
    return found


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "?")


def check(tp: Any, value: Any, path: str = "$", name: str = "") -> None:
    """Raise ShapeError unless `value` (decoded JSON) has the shape of type `tp`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return
        others = [o for o in options if o is not type(None)]
        errors = []
        for option in others:
            try:
                check(option, value, path, name)
                return
            except ShapeError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if not any(value == a and type(value) is type(a) for a in allowed):
            raise ShapeError(path, f"{str(value)[:40]!r} is not one of {', '.join(allowed)}")
        return
    if origin is tuple:
        if type(value) is not list:
            raise ShapeError(path, f"expected a list, got {_kind(value)}")
        item = typing.get_args(tp)[0]
        for i, v in enumerate(value):
            check(item, v, f"{path}[{i}]", name)
        return
    if origin is dict:
        if type(value) is not dict:
            raise ShapeError(path, f"expected an object, got {_kind(value)}")
        item = typing.get_args(tp)[1]
        for k, v in value.items():
            check(item, v, f"{path}.{k}", name)
        return
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _walk_object(tp, value, path)
        return
    _check_scalar(tp, value, path, name)


def check_object(cls: type, value: Any, path: str = "$") -> None:
    """Raise ShapeError unless `value` is an object with `cls`'s fields, each well shaped.

    A compiled yes/no check runs first (most results are fine); only a result that fails it
    is walked again, slowly, to name the bad field."""
    if _compiled(cls, "")(value):
        return
    _walk_object(cls, value, path)


def _walk_object(cls: type, value: Any, path: str) -> None:
    if type(value) is not dict:
        raise ShapeError(path, f"expected an object, got {_kind(value)}")
    for name, tp, required in _fields(cls):
        if name in value:
            check(tp, value[name], f"{path}.{name}", name)
        elif required:
            raise ShapeError(f"{path}.{name}", "missing")


def _check_scalar(tp: Any, value: Any, path: str, name: str) -> None:
    if tp is Any:
        return
    if tp is float:
        ok = type(value) in (int, float)
    elif tp is int:
        ok = type(value) is int
        if ok and name in NON_NEGATIVE and value < 0:
            raise ShapeError(path, f"{value} is negative")
    else:
        ok = type(value) is tp
    if not ok:
        expected = _kind(tp()) if tp in (str, int, float, bool) else getattr(tp, "__name__", tp)
        raise ShapeError(path, f"expected {expected}, got {_kind(value)}")


# ------------------------------------------------------------------ compiled yes/no checks

Predicate = Callable[[Any], bool]
_PREDICATES: dict[tuple[Any, str], Predicate] = {}


def _compiled(tp: Any, name: str) -> Predicate:
    """A fast predicate for `check(tp, value, name=name)` passing (built once per type)."""
    key = (tp, name if tp is int else "")
    found = _PREDICATES.get(key)
    if found is None:
        found = _PREDICATES[key] = _compile(tp, name)
    return found


def _compile(tp: Any, name: str) -> Predicate:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        none_ok = type(None) in options
        parts = [_compiled(o, name) for o in options if o is not type(None)]
        return lambda v: (v is None and none_ok) or any(p(v) for p in parts)
    if origin is typing.Literal:
        allowed = {(type(a), a) for a in typing.get_args(tp)}
        return lambda v: type(v) in (str, int, bool) and (type(v), v) in allowed
    if origin is tuple:
        item = _compiled(typing.get_args(tp)[0], name)
        return lambda v: type(v) is list and all(map(item, v))
    if origin is dict:
        value_ok = _compiled(typing.get_args(tp)[1], name)
        return lambda v: type(v) is dict and all(map(value_ok, v.values()))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields = [(n, _compiled(t, n), required) for n, t, required in _fields(tp)]

        def object_ok(v: Any) -> bool:
            if type(v) is not dict:
                return False
            for n, ok, required in fields:
                if n in v:
                    if not ok(v[n]):
                        return False
                elif required:
                    return False
            return True

        return object_ok
    if tp is Any:
        return lambda v: True
    if tp is float:
        return lambda v: type(v) is float or type(v) is int
    if tp is int:
        if name in NON_NEGATIVE:
            return lambda v: type(v) is int and v >= 0
        return lambda v: type(v) is int
    return lambda v: type(v) is tp

