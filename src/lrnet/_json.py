"""Strict JSON for model-file headers: non-finite floats and non-string keys, tagged."""

from __future__ import annotations

import numpy as np


def to_json(value):
    """``value`` as strict JSON data: non-finite floats and non-string keys are tagged."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: to_json(v) for k, v in value.items()}
        return {"__items__": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a model file")


def from_json(value):
    """Undo :func:`to_json`."""
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        if set(value) == {"__items__"}:
            return {_hashable(from_json(k)): from_json(v) for k, v in value["__items__"]}
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


class TagError(ValueError):
    """A malformed tagged value in a model file's header."""


def untag(value: dict):
    """Undo :func:`to_json` while parsing: ``json.loads(text, object_hook=untag)``.

    One pass inside the parser, instead of a second walk (:func:`from_json`) over a
    header that may hold millions of values.
    """
    if len(value) == 1 and ("__float__" in value or "__items__" in value):
        try:
            if "__float__" in value:
                return float(value["__float__"])
            return {_hashable(k): v for k, v in value["__items__"]}
        except (ValueError, TypeError) as err:
            raise TagError(f"malformed tagged value in the header ({err})") from None
    return value


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
