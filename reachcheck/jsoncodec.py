"""The JSON form of the model's dataclasses: `to_json` (objects to plain JSON values) and
`from_json` (back, unknown keys ignored). Generic over frozen dataclasses; the model re-exports
both, so `from reachcheck.model import to_json` keeps working."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
# Field names per dataclass type (dataclasses.fields() per object is the codec's hot spot:
# a result holds hundreds of model objects and big runs serialise thousands of results).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def to_json(obj: Any) -> Any:
    """Turn a model object (or a tuple/dict of them) into plain JSON values."""
    cls = type(obj)
    if cls in _SCALARS:
        return obj
    names = _FIELD_NAMES.get(cls)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {name: to_json(getattr(obj, name)) for name in names}
    if isinstance(obj, (tuple, list)):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


Decoder = typing.Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _decoder(tp: Any) -> Decoder:
    """A function turning a JSON value into type `tp` (None stays None). Built once per field
    type: decoding was the hot spot of loading a saved run (type inspection per value)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(args[0]) if len(args) == 1 else _identity
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])
        if item is _identity:
            return lambda v: None if v is None else tuple(v)
        return lambda v: None if v is None else tuple([item(x) for x in v])
    if origin is dict:
        return lambda v: None if v is None else dict(v)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda v: None if v is None else from_json(tp, v)
    return _identity


_DECODERS: dict[type, tuple[tuple[str, Decoder], ...]] = {}


def from_json(cls: type[Any], data: dict[str, Any]) -> Any:
    """Build a model dataclass from its JSON form; unknown keys are ignored (forward compat)."""
    decoders = _DECODERS.get(cls)
    if decoders is None:
        hints = _hints(cls)
        decoders = tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))
        _DECODERS[cls] = decoders
    return cls(**{name: decode(data[name]) for name, decode in decoders if name in data})
