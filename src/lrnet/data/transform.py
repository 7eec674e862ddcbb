"""The tabular transformer: an unfitted scikit-learn ``ColumnTransformer`` and its input.

Numeric columns: ``SimpleImputer(strategy='median', add_indicator=True)`` then
``StandardScaler`` (the missing-value indicators are standardised with them).
Categorical and string columns: ``SimpleImputer(strategy='most_frequent',
add_indicator=True)`` then ``OneHotEncoder(handle_unknown='ignore')``, so a category
never seen in training encodes as all zeros.

A column gets a missing-value indicator only when it is missing in at least
:data:`MIN_MISSING_ROWS` training rows; rarer gaps are only filled (median, most
frequent value).  An indicator learned from one or two rows is memorised, not learned:
palmerpenguins has one training row missing every measurement, an Adelie, and a test
row missing every measurement, a Gentoo on Gentoo's island, was called Adelie at 0.98
through the indicators.  The same floor as a kept category's (``--max-categories``).

:func:`prepare_frame` gives the transformer uniform column types whatever the reader
produced (float64, or strings with NaN), and names the row of a bad value; first,
:func:`read_values` reads text numbers, dates and rare categories as the plan says.  Which
columns are numeric, categorical or dropped is decided in :mod:`lrnet.data.columns`;
fitting and applying live in :mod:`lrnet.data.preprocessing`, the plain-data form in
:mod:`lrnet.data.spec`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .categories import group_rare
from .columns import ColumnPlan
from .dates import date_features
from .numbers import parse_numbers
from .readers import DataError, row_name
from .skew import signed_log1p

#: a column missing in fewer training rows gets no missing-value indicator
MIN_MISSING_ROWS = 5


def build_transformer(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    """The unfitted ``ColumnTransformer`` for these columns.

    Parameters
    ----------
    numeric : list of str
        Columns imputed with their median (plus missing-value indicators) and standardised;
        once fitted, :func:`binary_indicators` leaves the indicators 0/1.
    categorical : list of str
        Columns imputed with their most frequent value (plus indicators) and one-hot encoded.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Parts ``'num'`` and ``'cat'`` (each only when it has columns), dense output.
    """
    parts = []
    if numeric:
        steps = [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
        ]
        parts.append(("num", Pipeline(steps), list(numeric)))
    if categorical:
        steps = [
            ("impute", SimpleImputer(strategy="most_frequent", add_indicator=True)),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
        parts.append(("cat", Pipeline(steps), list(categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def binary_indicators(mean: np.ndarray, var: np.ndarray, scale: np.ndarray, n_values: int):
    """Leave the missing-value indicators 0/1: the scaler's statistics past ``n_values``.

    The numeric imputer's output is the ``n_values`` columns, then one indicator per
    column that had gaps.  Standardising an indicator makes a rare gap huge: a column
    missing in 1 row of 275 scales to about 16.6 there, and one test row missing every
    measurement got a log-loss of 5.6 (palmerpenguins).  Like the one-hot columns, the
    indicators stay 0/1: mean 0, variance and scale 1.  Modifies the arrays in place.
    """
    mean[n_values:] = 0.0
    var[n_values:] = 1.0
    scale[n_values:] = 1.0


def prepare_frame(frame: pd.DataFrame, plan: ColumnPlan, source: str = "data") -> pd.DataFrame:
    """The columns of ``plan`` with uniform types: float64, or strings with NaN.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table holding at least the columns of ``plan``.
    plan : ColumnPlan
        Which columns are numeric and which categorical.
    source : str
        Where the table came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        Numeric columns first, then categorical ones, with ``frame``'s index.

    Raises
    ------
    DataError
        When a numeric column holds text or an infinite value.
    """
    frame = read_values(frame, plan, source)
    out = {}
    for name in plan.numeric:
        out[name] = as_numeric(frame[name], source)
    for name in plan.categorical:
        out[name] = as_strings(frame[name])
    return pd.DataFrame(out, index=frame.index)


def read_values(frame: pd.DataFrame, plan: ColumnPlan, source: str = "data") -> pd.DataFrame:
    """The transformer's columns of ``frame``, with values read as ``plan`` says.

    Numbers written as text are parsed (:mod:`lrnet.data.numbers`), date columns become
    their features (:mod:`lrnet.data.dates`), long-tailed columns are read on a log
    scale (:mod:`lrnet.data.skew`), and the rare categories of a capped column join
    "other" (:mod:`lrnet.data.categories`).  Without any of these the frame itself is
    returned.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table holding at least ``plan.columns``.
    plan : ColumnPlan
        How each column is read.
    source : str
        Where the table came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        The columns ``plan.features`` (``frame``'s index and ``attrs``).
    """
    if not (plan.numbers or plan.dates or plan.capped or plan.logged):
        return frame
    out = {}
    for name, how in plan.dates.items():
        out.update(date_features(frame[name], how, source))
    logged = set(plan.logged)
    for name in plan.numeric:
        if name in plan.numbers:
            out[name] = parse_numbers(frame[name], plan.numbers[name], source)
        elif name not in out:
            out[name] = frame[name]
        if name in logged:  # checked as numbers first: a bad value is named with its row
            values = out[name]
            if not isinstance(values, np.ndarray):
                values = as_numeric(values, source)
            out[name] = signed_log1p(values)
    for name in plan.categorical:
        capped = plan.capped.get(name)
        out[name] = frame[name] if capped is None else group_rare(as_strings(frame[name]), capped)
    table = pd.DataFrame(out, index=frame.index, copy=False)
    table.attrs.update(frame.attrs)
    return table


def check_scales(transformer: ColumnTransformer, source: str) -> None:
    """Refuse numeric columns whose mean or spread overflows (values near 1e308).

    Raises
    ------
    DataError
        Naming the columns of the fitted ``transformer`` that cannot be standardised.
    """
    if "num" not in transformer.named_transformers_:
        return
    steps = transformer.named_transformers_["num"].named_steps
    scaler = steps["scale"]
    bad = ~(np.isfinite(scaler.mean_) & np.isfinite(scaler.var_) & np.isfinite(scaler.scale_))
    if bad.any():
        names = [str(n) for n in steps["impute"].get_feature_names_out()[bad]]
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, names))} hold values too large to "
            "standardise (their variance overflows). Rescale them, e.g. take the log or "
            "divide by a large constant, or drop them."
        )


def as_numeric(series: pd.Series, source: str) -> np.ndarray:
    """A numeric column's float64 values; text or an infinity is an error naming its row."""
    if types.is_datetime64_any_dtype(series.dtype) or types.is_timedelta64_dtype(series.dtype):
        # pd.to_numeric would read them as nanosecond counts, and a missing one as -9.2e18
        what = "dates" if types.is_datetime64_any_dtype(series.dtype) else "durations"
        raise DataError(
            f"{source}: column {series.name!r} must be numeric, as in training, but it holds "
            f"{what} ({series.dtype}). Give the numbers the model was trained on, or train "
            "again on a file where this column holds these values."
        )
    if not types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            # the row's label: its line in the file, also when read in chunks
            where = row_name(series.index[position], series.attrs)
            raise DataError(
                f"{source}: column {series.name!r} must be numeric, as in training, but "
                f"{where} holds {series.iloc[position]!r}."
            )
        series = converted
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        position = int(np.flatnonzero(infinite)[0])
        where = row_name(series.index[position], series.attrs)
        raise DataError(
            f"{source}: column {series.name!r} holds {int(infinite.sum())} infinite "
            f"value(s), the first at {where}; lrnet needs finite numbers "
            "(an empty cell is fine: it is imputed). Replace or drop them."
        )
    return values


def as_strings(series: pd.Series) -> np.ndarray:
    """A categorical column as an object array of strings, NaN where missing."""
    if types.is_float_dtype(series.dtype):  # 3.0 read where training saw 3
        values = series.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        series = series.astype(object).where(~whole, values.astype(np.int64, copy=False))
    return series.astype("string").to_numpy(dtype=object, na_value=np.nan)
