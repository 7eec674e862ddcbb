"""Decide what each column of a table is: numeric, categorical, or dropped (and why)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types

from .readers import DataError

#: names that mark a column as an identifier, matched case-insensitively
ID_NAME = re.compile(
    r"^(id|ids|uuid|guid|index|idx|key|row|rowid|row_?(id|num|number|index)|unnamed: ?\d+)$"
    r"|^id[_\-. ]|[_\-. ]id$",
    re.IGNORECASE,
)
#: camelCase identifiers such as ``customerId``
CAMEL_ID = re.compile(r"[a-z0-9]I[dD]$")
#: below this many rows, all-unique values are not taken as evidence of an ID
MIN_ID_ROWS = 20
#: Python types of nested cell values (Parquet lists, structs and maps) -> their name
NESTED = {list: "lists", tuple: "lists", np.ndarray: "lists", dict: "structs", set: "sets"}


@dataclass
class ColumnPlan:
    """The feature columns by kind, in table order, and the dropped ones with reasons."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Every column the preprocessing reads: numeric first, then categorical."""
        return self.numeric + self.categorical


def nested_values(series: pd.Series) -> str | None:
    """``'lists'``, ``'structs'`` or ``'sets'`` when cells hold such values, else ``None``.

    Parquet list, struct and map columns reach pandas as object columns of arrays,
    dicts and lists of pairs, which can be neither counted nor encoded.
    """
    if series.dtype != object:
        return None
    nested = tuple(NESTED)
    for value in series:
        if isinstance(value, nested):
            return next(name for kind, name in NESTED.items() if isinstance(value, kind))
    return None


def column_kind(series: pd.Series) -> str:
    """``'numeric'``, ``'categorical'`` or ``'unsupported'``."""
    dtype = series.dtype
    if nested_values(series):
        return "unsupported"
    if types.is_bool_dtype(dtype):
        return "categorical"
    if types.is_complex_dtype(dtype):
        return "unsupported"
    if types.is_numeric_dtype(dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return "unsupported"
    return "categorical"


def looks_like_id_name(name: str) -> bool:
    """True for names such as ``id``, ``user_id``, ``customerId``, ``Unnamed: 0``."""
    return bool(ID_NAME.search(name) or CAMEL_ID.search(name))


def drop_reason(series: pd.Series, kind: str) -> str | None:
    """Why the column should not be a feature, or ``None`` to keep it."""
    if kind == "unsupported":
        nested = nested_values(series)
        return f"unsupported type ({nested})" if nested else f"unsupported type {series.dtype}"
    n_unique = series.nunique(dropna=False)
    if n_unique == 1:
        value = series.iloc[0]
        return f"constant (always {value.item() if hasattr(value, 'item') else value!r})"
    discrete = types.is_integer_dtype(series.dtype) or kind == "categorical"
    if not discrete or types.is_bool_dtype(series.dtype):
        return None
    if looks_like_id_name(str(series.name)):
        return "ID-like name"
    if len(series) >= MIN_ID_ROWS and n_unique == len(series) and not series.hasnans:
        return f"ID-like: all {len(series)} values are unique"
    return None


def plan_columns(frame: pd.DataFrame, target: str | None, source: str = "data") -> ColumnPlan:
    """Sort the feature columns of ``frame`` into numeric, categorical and dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training table.
    target : str or None
        The target column, left out of the features.
    source : str, default='data'
        Where the table came from, for error messages.

    Returns
    -------
    ColumnPlan
        The feature columns by kind and the dropped columns with the reason.

    Raises
    ------
    DataError
        When a column is empty in every row, when no feature column is left, or when
        the target holds lists or structs.
    """
    nested = nested_values(frame[target]) if target in frame.columns else None
    if nested:
        raise DataError(
            f"{source}: the target column {target!r} holds {nested}, not class labels; "
            "choose a column of plain values with --target."
        )
    features = [c for c in frame.columns if c != target]
    empty = [c for c in features if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, empty))} are empty in every row; "
            "there is nothing to learn from them. Remove them from the file."
        )
    plan = ColumnPlan()
    for name in features:
        kind = column_kind(frame[name])
        reason = drop_reason(frame[name], kind)
        if reason is not None:
            plan.dropped[name] = reason
        elif kind == "numeric":
            plan.numeric.append(name)
        else:
            plan.categorical.append(name)
    if not plan.columns:
        raise DataError(
            f"{source}: no feature column is left after dropping {len(plan.dropped)} "
            f"column(s) ({_reasons(plan.dropped)}); lrnet needs at least one feature."
        )
    return plan


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in dropped.items()) or "none"
