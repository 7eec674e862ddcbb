"""Rebuild a fitted :class:`~lrnet.data.preprocessing.Preprocessor` from plain data.

No pickle and no code from the file: the stored numbers are checked for type and shape,
fresh scikit-learn transformers are fitted on a few synthetic rows with the same
columns, categories and missing-value indicators, their fitted statistics
(``statistics_``, ``mean_``, ``var_``, ``scale_``, ``categories_``) are replaced by the
stored ones, and the result must reproduce the stored probe output.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .columns import ColumnPlan
from .preprocessing import SPEC_VERSION, build_transformer


class SpecError(ValueError):
    """Malformed preprocessing data."""


def rebuild_preprocessor(cls, spec: dict, source: str):
    """Validate ``spec`` and return ``cls(plan, transformer, target)``, probe-checked."""
    try:
        plan, num, cat = _read_spec(spec)
        transformer = build_transformer(plan.numeric, plan.categorical)
        transformer.fit(_synthetic_frame(num, cat))
        if num:
            _restore_numeric(transformer.named_transformers_["num"], num)
        if cat:
            _restore_categorical(transformer.named_transformers_["cat"], cat)
        rebuilt = cls(plan, transformer, spec.get("target"))
        _check_probe(rebuilt, spec["probe"])
    except SpecError as err:
        raise ValueError(f"{source}: invalid preprocessing data: {err}") from None
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise ValueError(
            f"{source}: invalid preprocessing data ({type(err).__name__}: {err})."
        ) from None
    return rebuilt


# ---------------------------------------------------------------------- checking
def _require(ok: bool, message: str) -> None:
    if not ok:
        raise SpecError(message)


def _strings(value, what: str) -> list[str]:
    _require(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        f"{what} must be a list of strings",
    )
    return value


def _numbers(value, n: int, what: str, positive: bool = False) -> np.ndarray:
    _require(
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value),
        f"{what} must be a list of {n} numbers",
    )
    array = np.asarray(value, dtype=np.float64)
    _require(bool(np.isfinite(array).all()), f"{what} holds a non-finite number")
    _require(not positive or bool((array > 0).all()), f"{what} must be positive")
    return array


def _indices(value, n: int, what: str) -> list[int]:
    _require(
        isinstance(value, list)
        and all(isinstance(v, int) and 0 <= v < n for v in value)
        and value == sorted(set(value)),
        f"{what} must be sorted column indices",
    )
    return value


def _read_spec(spec: dict):
    _require(isinstance(spec, dict), "expected an object")
    version = spec.get("version")
    _require(
        isinstance(version, int) and 1 <= version <= SPEC_VERSION,
        f"unsupported preprocessing version {version!r}",
    )
    dropped = spec.get("dropped", {})
    _require(isinstance(dropped, dict), "dropped must be an object")
    num, cat = spec.get("numeric"), spec.get("categorical")
    plan = ColumnPlan(dropped={str(k): str(v) for k, v in dropped.items()})
    if num is not None:
        plan.numeric = _strings(num["columns"], "numeric columns")
        num = _read_numeric(num)
    if cat is not None:
        plan.categorical = _strings(cat["columns"], "categorical columns")
        cat = _read_categorical(cat)
    _require(bool(plan.columns), "no input columns")
    _require(len(set(plan.columns)) == len(plan.columns), "duplicate column names")
    return plan, num, cat


def _read_numeric(num: dict) -> dict:
    n = len(num["columns"])
    missing = _indices(num["missing_indicator"], n, "numeric missing_indicator")
    width = n + len(missing)
    seen = num["n_samples_seen"]
    _require(isinstance(seen, int) and seen > 0, "n_samples_seen must be a positive integer")
    return {
        "columns": num["columns"],
        "missing": missing,
        "n_samples_seen": seen,
        "medians": _numbers(num["medians"], n, "medians"),
        "mean": _numbers(num["mean"], width, "mean"),
        "var": _numbers(num["var"], width, "var"),
        "scale": _numbers(num["scale"], width, "scale", positive=True),
    }


def _read_categorical(cat: dict) -> dict:
    n = len(cat["columns"])
    missing = _indices(cat["missing_indicator"], n, "categorical missing_indicator")
    categories = cat["categories"]
    _require(
        isinstance(categories, list) and len(categories) == n + len(missing),
        f"categories must hold {n + len(missing)} lists",
    )
    for i, values in enumerate(categories[:n]):
        _strings(values, f"categories of column {i}")
        _require(
            len(values) > 0 and values == sorted(set(values)),
            f"categories of column {i} must be sorted and unique",
        )
    for values in categories[n:]:
        _require(values == [False, True], "indicator categories must be [false, true]")
    frequent = _strings(cat["most_frequent"], "most_frequent")
    _require(len(frequent) == n, f"most_frequent must hold {n} values")
    return {
        "columns": cat["columns"],
        "missing": missing,
        "categories": categories,
        "most_frequent": frequent,
    }


# ---------------------------------------------------------------------- rebuilding
def _synthetic_frame(num: dict | None, cat: dict | None) -> pd.DataFrame:
    """Rows whose fit gives the stored structure: same indicators, same categories."""
    n_cat = len(cat["columns"]) if cat else 0
    longest = max((len(c) for c in cat["categories"][:n_cat]), default=1) if cat else 1
    n_rows = max(2, longest + 1)
    data = {}
    if num:
        for i, name in enumerate(num["columns"]):
            column = np.full(n_rows, num["medians"][i])
            if i in num["missing"]:
                column[0] = np.nan
            data[name] = column
    if cat:
        for j, name in enumerate(cat["columns"]):
            values = cat["categories"][j]
            column = np.array(
                [values[k % len(values)] for k in range(-1, n_rows - 1)], dtype=object
            )
            if j in cat["missing"]:
                column[0] = np.nan
            data[name] = column
    return pd.DataFrame(data)


def _restore_numeric(pipeline, num: dict) -> None:
    imputer, scaler = pipeline["impute"], pipeline["scale"]
    fitted = [] if imputer.indicator_ is None else imputer.indicator_.features_.tolist()
    _require(fitted == num["missing"], "numeric indicator columns do not rebuild")
    imputer.statistics_ = num["medians"].copy()
    scaler.mean_, scaler.var_ = num["mean"].copy(), num["var"].copy()
    scaler.scale_ = num["scale"].copy()
    scaler.n_samples_seen_ = num["n_samples_seen"]


def _restore_categorical(pipeline, cat: dict) -> None:
    imputer, encoder = pipeline["impute"], pipeline["onehot"]
    fitted = [] if imputer.indicator_ is None else imputer.indicator_.features_.tolist()
    _require(fitted == cat["missing"], "categorical indicator columns do not rebuild")
    _require(
        [list(c) for c in encoder.categories_] == cat["categories"], "categories do not rebuild"
    )
    imputer.statistics_ = np.array(cat["most_frequent"], dtype=object)
    encoder.categories_ = [np.array(c, dtype=object) for c in cat["categories"]]


def _check_probe(preprocessor, probe: dict) -> None:
    frame = {}
    for name in preprocessor.plan.numeric:
        frame[name] = np.array(probe["input"][name], dtype=np.float64)
    for name in preprocessor.plan.categorical:
        values = [math.nan if v is None else v for v in probe["input"][name]]
        frame[name] = np.array(values, dtype=object)
    out = preprocessor.transformer.transform(pd.DataFrame(frame))
    expected = np.asarray(probe["output"], dtype=np.float64)
    _require(
        out.shape == expected.shape and bool(np.allclose(out, expected, rtol=1e-9, atol=1e-12)),
        "the rebuilt transformer does not reproduce the stored probe output (file "
        "tampered with, or written by an incompatible scikit-learn)",
    )
