"""High-cardinality categorical columns: the most frequent categories plus "other".

A categorical column with more than ``max_categories`` distinct values keeps the
categories that scikit-learn's ``OneHotEncoder(max_categories=K + 1,
min_frequency=m)`` keeps (the K most frequent, each seen in at least ``m`` rows; its
"+ 1" is the infrequent group); every other value, including one first seen at
predict time, becomes one category, :data:`OTHER`.

The grouping is applied to the values before the encoder (:func:`group_rare`), and the
kept categories are stored with the model as plain data: a model file holds K + 1
categories for the column, not all of them, and the ONNX export needs no private
scikit-learn state to reproduce it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

#: the category that stands for every value not kept
OTHER = "(other)"
#: default: categories kept per column (plus "other")
MAX_CATEGORIES = 30
#: default: a kept category is seen in at least this many training rows
MIN_FREQUENCY = 5


def kept_categories(
    values: np.ndarray, max_categories: int = MAX_CATEGORIES, min_frequency: int = MIN_FREQUENCY
) -> dict | None:
    """What to keep of a categorical column with too many values, or ``None``.

    Parameters
    ----------
    values : numpy.ndarray
        The column as strings, NaN where missing (as the encoder sees it).
    max_categories : int
        Most categories kept; a column with at most this many is left alone.
    min_frequency : int
        Fewest training rows of a kept category.

    Returns
    -------
    dict or None
        ``{'kept': sorted list, 'other': str, 'levels': int, 'share': float}``: the
        kept categories, the name of the group of the others (``'(other)'`` unless a
        value has that name), the number of distinct values and the share of the
        present rows that keep their category.
    """
    present = pd.Series(values, dtype=object).dropna()
    levels = int(present.nunique())
    if levels <= max_categories:
        return None
    encoder = OneHotEncoder(
        max_categories=max_categories + 1,
        min_frequency=min_frequency,
        handle_unknown="infrequent_if_exist",
    ).fit(present.to_numpy(dtype=object).reshape(-1, 1))
    rare = encoder.infrequent_categories_[0]
    rare = set() if rare is None else set(rare.tolist())
    kept = sorted(str(c) for c in encoder.categories_[0] if c not in rare)
    other = OTHER
    while other in set(present.unique().tolist()):
        other = other[:-1] + " " + ")"  # '(other )': a name no value has
    share = float(present.isin(kept).mean())
    return {"kept": kept, "other": other, "levels": levels, "share": share}


def group_rare(values: np.ndarray, how: dict) -> np.ndarray:
    """``values`` (strings, NaN where missing) with those not kept replaced by the group."""
    series = pd.Series(values, dtype=object)
    grouped = series.where(series.isna() | series.isin(how["kept"]), how["other"])
    return grouped.to_numpy(dtype=object)
