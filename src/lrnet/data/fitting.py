"""Fit the tabular transformer in bounded memory: a column or a block of rows at a time.

``ColumnTransformer.fit`` on a whole table copies it five or six times over (the float64
frame, the imputer's sorted copy and output, the indicators, the scaler's temporaries
and output, the stacked result).  :func:`fit_transformer` gives the same fitted
transformer with at most one float64 column, or one block of rows, in flight:

1. numeric columns, one at a time: the median (``SimpleImputer(strategy='median')``'s
   statistic) and whether the column has missing values (its indicator);
2. the categorical pipeline is fitted by scikit-learn on the categorical columns, as
   before (text columns are held as Python strings anyway);
3. the ``ColumnTransformer`` is fitted on a few synthetic rows with the same columns,
   missing-value indicators and categories, so scikit-learn sets up its own structure;
   its numeric medians and its categorical pipeline are then replaced by the real ones;
4. the ``StandardScaler`` is fitted with ``partial_fit`` over blocks of imputed rows.

:mod:`lrnet.data.spec` rebuilds a transformer from a model file the same way (steps 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

from .columns import ColumnPlan
from .transform import (
    MIN_MISSING_ROWS,
    as_numeric,
    as_strings,
    binary_indicators,
    build_transformer,
)

#: the size of one block of float64 values when a transformer is fitted or applied in
#: blocks of rows (scikit-learn makes a few copies of it)
BLOCK_BYTES = 1 << 22


def block_rows(n_columns: int) -> int:
    """Rows per block for ``n_columns`` float64 columns: :data:`BLOCK_BYTES` of them."""
    return max(1, BLOCK_BYTES // (8 * max(n_columns, 1)))


def numeric_block(frame: pd.DataFrame, columns: list[str], source: str) -> np.ndarray:
    """The float64 values of ``columns`` of ``frame`` (a block of rows), checked."""
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        out[:, j] = as_numeric(frame[name], source)
    return out


def _medians(frame: pd.DataFrame, columns: list[str], source: str):
    """Each column's median over its present values, and the columns given an indicator.

    A column gets an indicator when it is missing in :data:`MIN_MISSING_ROWS` rows or more.
    """
    medians, missing = [], []
    for j, name in enumerate(columns):
        values = as_numeric(frame[name], source)  # one float64 column at a time
        gaps = np.isnan(values)
        if gaps.any():
            if gaps.sum() >= MIN_MISSING_ROWS:
                missing.append(j)
            values = values[~gaps]
        medians.append(float(np.median(values)))
        del values, gaps
    return np.array(medians), missing


def _fill_rare_gaps(strings: pd.DataFrame) -> None:
    """Fill the gaps of columns missing in fewer than :data:`MIN_MISSING_ROWS` rows.

    With the most frequent value (ties: the smallest, as ``SimpleImputer``), which they
    leave the most frequent: the imputer then fits the same fill value and no indicator.
    """
    for name in strings.columns:
        gaps = strings[name].isna()
        if 0 < gaps.sum() < MIN_MISSING_ROWS:
            counts = strings[name].value_counts()
            top = min(counts.index[counts == counts.max()])
            strings[name] = strings[name].where(~gaps, top)


def _structure(plan: ColumnPlan, medians, missing, cat_pipeline) -> pd.DataFrame:
    """Synthetic rows that fit to the same columns, indicators and categories."""
    data = {}
    n_rows = 2
    if cat_pipeline is not None:
        n_cat = len(plan.categorical)
        categories = cat_pipeline["onehot"].categories_[:n_cat]
        n_rows = max(2, max(len(c) for c in categories) + 1)
    for j, name in enumerate(plan.numeric):
        column = np.full(n_rows, medians[j])
        if j in missing:
            column[0] = np.nan
        data[name] = column
    if cat_pipeline is not None:
        indicator = cat_pipeline["impute"].indicator_
        gaps = set() if indicator is None else set(indicator.features_.tolist())
        for j, name in enumerate(plan.categorical):
            values = categories[j]
            column = np.array([values[k % len(values)] for k in range(-1, n_rows - 1)], object)
            if j in gaps:
                column[0] = np.nan
            data[name] = column
    return pd.DataFrame(data)


def _fit_scaler(frame: pd.DataFrame, plan: ColumnPlan, imputer, source: str) -> StandardScaler:
    """A ``StandardScaler`` fitted over blocks of imputed rows; the indicators stay 0/1."""
    scaler = StandardScaler()
    step = block_rows(2 * len(plan.numeric))  # the values and their indicators
    for start in range(0, len(frame), step):
        block = numeric_block(frame.iloc[start : start + step], plan.numeric, source)
        # with names, as the imputer was fitted through the ColumnTransformer
        scaler.partial_fit(imputer.transform(pd.DataFrame(block, columns=plan.numeric)))
    binary_indicators(scaler.mean_, scaler.var_, scaler.scale_, len(plan.numeric))
    return scaler


def fit_transformer(frame: pd.DataFrame, plan: ColumnPlan, source: str) -> ColumnTransformer:
    """The fitted ``ColumnTransformer`` of ``plan`` on ``frame``, in bounded memory.

    Parameters
    ----------
    frame : pandas.DataFrame
        The training table (at least one row).
    plan : ColumnPlan
        Which columns are numeric and which categorical.
    source : str
        Where the table came from, for error messages.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        As :func:`lrnet.data.transform.build_transformer` fitted on ``frame``: the same
        medians, indicators, categories and most frequent values; means and variances
        equal up to rounding (they are accumulated by blocks).
    """
    cat_pipeline = None
    if plan.categorical:
        cat_pipeline = build_transformer([], plan.categorical).transformers[0][1]
        strings = pd.DataFrame(
            {name: as_strings(frame[name]) for name in plan.categorical}, index=frame.index
        )
        _fill_rare_gaps(strings)
        cat_pipeline.fit(strings)
        del strings
    medians, missing = _medians(frame, plan.numeric, source) if plan.numeric else ([], [])
    transformer = build_transformer(plan.numeric, plan.categorical)
    transformer.fit(_structure(plan, medians, missing, cat_pipeline))
    fitted = transformer.named_transformers_
    if plan.numeric:
        numeric = fitted["num"]
        numeric["impute"].statistics_ = medians
        numeric.steps[-1] = ("scale", _fit_scaler(frame, plan, numeric["impute"], source))
    if cat_pipeline is not None:
        at = [name for name, *_ in transformer.transformers_].index("cat")
        _, _, columns = transformer.transformers_[at]
        transformer.transformers_[at] = ("cat", cat_pipeline, columns)
    return transformer
