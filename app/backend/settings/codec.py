"""Lenient, typed decoding of JSON data into the settings dataclasses.

A hand-edited or older/newer settings file must never stop the app from starting: a value of
the wrong type (or out of its declared range) is reset to its default, unknown keys are
dropped, and each such repair is reported as a warning string rather than an exception.
"""

from __future__ import annotations

import types
from dataclasses import asdict, fields, is_dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

_INVALID = object()


def encode(obj: Any) -> dict[str, Any]:
    """A settings dataclass as plain JSON-ready data."""
    return asdict(obj)


def decode(cls: type[T], data: Any, warnings: list[str], path: str = "") -> T:
    """Build ``cls`` from ``data``, keeping what is valid and defaulting the rest."""
    where = path or "settings"
    if not isinstance(data, dict):
        warnings.append(f"{where}: expected an object, using defaults")
        return cls()
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            warnings.append(f"{_join(path, str(key))}: unknown setting ignored")
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            continue
        value = _coerce(hints[name], data[name], warnings, _join(path, name))
        if value is not _INVALID:
            value = _check_range(value, f.metadata)
        if value is _INVALID:
            warnings.append(f"{_join(path, name)}: invalid value reset to default")
            continue
        kwargs[name] = value
    return cls(**kwargs)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_range(value: Any, metadata: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        lo, hi = metadata.get("min"), metadata.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return _INVALID
    return value


def _coerce(tp: Any, value: Any, warnings: list[str], path: str) -> Any:
    """``value`` converted to ``tp``, or ``_INVALID``."""
    if tp is Any:
        return value
    if is_dataclass(tp) and isinstance(tp, type):
        return decode(tp, value, warnings, path) if isinstance(value, dict) else _INVALID
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None if type(None) in args else _INVALID
        for arg in args:
            if arg is type(None):
                continue
            out = _coerce(arg, value, warnings, path)
            if out is not _INVALID:
                return out
        return _INVALID
    if origin is Literal:
        return value if any(value == a and type(value) is type(a) for a in args) else _INVALID
    if origin is list or tp is list:
        if not isinstance(value, list):
            return _INVALID
        item_tp = args[0] if args else Any
        items = [_coerce(item_tp, v, warnings, path) for v in value]
        return _INVALID if any(i is _INVALID for i in items) else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            return _INVALID
        value_tp = args[1] if args else Any
        out_dict: dict[str, Any] = {}
        for k, v in value.items():
            item = _coerce(value_tp, v, warnings, _join(path, str(k)))
            if item is _INVALID:
                warnings.append(f"{_join(path, str(k))}: invalid entry dropped")
            else:
                out_dict[k] = item
        return out_dict
    if tp is bool:
        return value if isinstance(value, bool) else _INVALID
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _INVALID
    if tp is str:
        return value if isinstance(value, str) else _INVALID
    if tp is type(None):
        return None if value is None else _INVALID
    return _INVALID
