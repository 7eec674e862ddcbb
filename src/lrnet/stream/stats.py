"""The preprocessing of a table fitted in one streaming pass, in bounded memory.

What :meth:`lrnet.data.preprocessing.Preprocessor.fit` computes from a whole table,
computed block by block here (all in float64):

- **means and scales, exact.**  Per numeric column the count, mean and sum of squared
  deviations of the present values, merged block by block with Chan, Golub and
  LeVeque's pairwise update (Welford's for blocks).  The column the scaler sees is the
  imputed one (missing values replaced by the median), so at the end the missing rows
  join as one more block: ``n_missing`` values equal to the median, of zero spread.
  A missing-value indicator (a 0/1 column) has mean ``p`` and variance ``p (1 - p)``.
  These equal the in-memory ``StandardScaler``'s ``mean_`` and ``var_`` up to rounding.
- **categories, exact.**  Per categorical column the count of every value (and of the
  missing ones): the categories, the most frequent value (ties: the smallest, as
  ``SimpleImputer``) and the ``--max-categories`` grouping (the same choice as
  ``OneHotEncoder(max_categories=K + 1, min_frequency=m)``: the K most frequent with at
  least m rows).  A column with more than :data:`MAX_TRACKED` distinct values stops
  being counted and is dropped (noted): it is an identifier or free text.
- **medians, from a uniform sample.**  Each numeric column keeps a uniform random
  sample of at most :data:`MEDIAN_SAMPLE` of its present values (the values with the
  smallest of a random key each: reservoir sampling), fewer when many columns would
  make the samples exceed :data:`SAMPLE_BYTES` in all.  The median is that of the
  sample: exact when the column has no more present values than the sample size;
  otherwise its rank is off by about ``0.5 / sqrt(sample size)`` (0.16 percentage
  points for 100,000 values).  The median only fills missing values.

:func:`fitted_preprocessor` turns the statistics into the same fitted
:class:`~lrnet.data.preprocessing.Preprocessor` (and so the same model file) as the
in-memory run.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..data.categories import OTHER
from ..data.columns import ColumnOptions, ColumnPlan
from ..data.preprocessing import Preprocessor
from ..data.readers import DataError
from ..data.spec import _rebuild  # the rebuild of a model file: fitted from statistics
from ..data.transform import (
    MIN_MISSING_ROWS,
    as_numeric,
    as_strings,
    binary_indicators,
    check_scales,
)

#: values kept per numeric column for its median
MEDIAN_SAMPLE = 100_000
#: the median samples of all columns together hold at most this many bytes
SAMPLE_BYTES = 64 << 20
#: distinct values counted per categorical column; a column with more is dropped
MAX_TRACKED = 100_000


def sample_size(n_numeric: int) -> int:
    """Values kept per numeric column: :data:`MEDIAN_SAMPLE`, fewer for many columns."""
    per_column = SAMPLE_BYTES // (16 * max(n_numeric, 1))  # a float64 value and its key
    return int(max(1_000, min(MEDIAN_SAMPLE, per_column)))


class NumericStats:
    """Count, mean and squared deviations of present values, plus a median sample."""

    def __init__(self, columns: list[str], rng: np.random.Generator, sample: int | None = None):
        c = len(columns)
        self.columns = list(columns)
        self.rng = rng
        self.size = sample_size(c) if sample is None else int(sample)
        self.count = np.zeros(c, dtype=np.int64)
        self.missing = np.zeros(c, dtype=np.int64)
        self.mean = np.zeros(c, dtype=np.float64)
        self.m2 = np.zeros(c, dtype=np.float64)
        self.keys = [np.empty(0) for _ in range(c)]
        self.values = [np.empty(0) for _ in range(c)]

    def update(self, block: np.ndarray) -> None:
        """Add a block of rows (float64, NaN where missing; one column per column)."""
        present = ~np.isnan(block)
        nb = present.sum(axis=0)
        self.missing += block.shape[0] - nb
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(nb > 0, np.nansum(block, axis=0) / np.maximum(nb, 1), 0.0)
            m2_b = np.nansum((block - mean_b) ** 2, axis=0)
        n = self.count
        total = n + nb
        delta = mean_b - self.mean
        share = np.divide(nb, total, out=np.zeros(len(n)), where=total > 0)
        self.m2 += m2_b + delta**2 * n * share
        self.mean += delta * share
        self.count = total
        for j in range(block.shape[1]):
            if nb[j]:
                self._sample(j, block[present[:, j], j])

    def _sample(self, j: int, values: np.ndarray) -> None:
        """Keep the values of the ``size`` smallest random keys seen in column ``j``."""
        keys = np.concatenate((self.keys[j], self.rng.random(len(values))))
        values = np.concatenate((self.values[j], values))
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, values = keys[keep], values[keep]
        self.keys[j], self.values[j] = keys, values

    def merge(self, other: NumericStats) -> None:
        """Add the statistics of other rows of the same columns (Chan's pairwise update).

        The median samples merge exactly: the values of the ``size`` smallest keys of the
        two samples are a uniform sample of the union, as one pass would have drawn.
        """
        n, nb = self.count, other.count
        total = n + nb
        delta = other.mean - self.mean
        share = np.divide(nb, total, out=np.zeros(len(n)), where=total > 0)
        self.m2 = self.m2 + other.m2 + delta**2 * n * share
        self.mean = self.mean + delta * share
        self.count, self.missing = total, self.missing + other.missing
        for j in range(len(self.columns)):
            self.keys[j] = np.concatenate((self.keys[j], other.keys[j]))
            self.values[j] = np.concatenate((self.values[j], other.values[j]))
            if len(self.keys[j]) > self.size:
                keep = np.argpartition(self.keys[j], self.size - 1)[: self.size]
                self.keys[j], self.values[j] = self.keys[j][keep], self.values[j][keep]

    def medians(self) -> np.ndarray:
        """The median of each column's sample (of all its present values when it holds them)."""
        return np.array([float(np.median(v)) for v in self.values])

    def scaler_moments(self, medians: np.ndarray):
        """``(missing columns, mean, var, n)`` of the imputed columns, then the indicators.

        The order of ``SimpleImputer(add_indicator=True)``'s output: the columns, then an
        indicator per column missing in :data:`~lrnet.data.transform.MIN_MISSING_ROWS`
        rows or more.
        """
        n = self.count + self.missing
        gaps = np.flatnonzero(self.missing >= MIN_MISSING_ROWS)
        share = self.missing / n  # the imputed values: a block at the median, no spread
        delta = medians - self.mean
        mean = self.mean + delta * share
        var = (self.m2 + delta**2 * self.count * share) / n
        p = share[gaps]
        mean = np.concatenate((mean, p))
        var = np.concatenate((var, p * (1.0 - p)))
        return gaps.tolist(), mean, var, int(n[0]) if len(n) else 0


class CategoryCounts:
    """The count of every value of each categorical column, and of its missing values."""

    def __init__(self, columns: list[str], max_tracked: int = MAX_TRACKED):
        self.columns = list(columns)
        self.max_tracked = max_tracked
        self.counts = {name: Counter() for name in self.columns}
        self.missing = dict.fromkeys(self.columns, 0)
        self.overflow: dict[str, int] = {}

    def update(self, name: str, values: np.ndarray) -> None:
        """Add a block of one column's values (strings, NaN where missing)."""
        if name in self.overflow:
            return
        series = pd.Series(values, dtype=object)
        self.missing[name] += int(series.isna().sum())
        self.counts[name].update(series.value_counts(dropna=True).to_dict())
        if len(self.counts[name]) > self.max_tracked:
            self.overflow[name] = len(self.counts[name])
            self.counts[name] = Counter()  # freed: the column is dropped

    def merge(self, other: CategoryCounts) -> None:
        """Add the counts of other rows of the same columns."""
        for name in self.columns:
            self.missing[name] += other.missing[name]
            if name in self.overflow or name in other.overflow:
                seen = max(self.overflow.get(name, 0), other.overflow.get(name, 0))
                self.overflow[name] = max(seen, len(self.counts[name]))
                self.counts[name] = Counter()
                continue
            self.counts[name].update(other.counts[name])
            if len(self.counts[name]) > self.max_tracked:
                self.overflow[name] = len(self.counts[name])
                self.counts[name] = Counter()


class TableStats:
    """Both kinds of statistics of a table's feature columns, updated block by block."""

    def __init__(self, plan: ColumnPlan, rng: np.random.Generator, sample: int | None = None):
        self.plan = plan
        self.numeric = NumericStats(plan.numeric, rng, sample)
        self.categorical = CategoryCounts(plan.categorical)

    def update(self, table: pd.DataFrame, source: str) -> None:
        """Add a block of rows: ``plan.features`` read as the plan says (``read_values``)."""
        if self.plan.numeric:
            block = np.empty((len(table), len(self.plan.numeric)), dtype=np.float64)
            for j, name in enumerate(self.plan.numeric):
                block[:, j] = as_numeric(table[name], source)
            self.numeric.update(block)
        for name in self.plan.categorical:
            self.categorical.update(name, as_strings(table[name]))

    def merge(self, other: TableStats) -> None:
        """Add the statistics of other rows (another part of the table, same plan)."""
        self.numeric.merge(other.numeric)
        self.categorical.merge(other.categorical)


# ---------------------------------------------------------------------- the fitted result
def capped_categories(counts: Counter, max_categories: int, min_frequency: int) -> dict | None:
    """The categories kept of a column with more than ``max_categories`` values, or None.

    ``OneHotEncoder(max_categories=K + 1, min_frequency=m)``'s choice from the counts
    (:func:`lrnet.data.categories.kept_categories` on the whole column): values seen
    fewer than ``m`` times are rare; if more than ``K`` remain, the ``K`` with the
    largest counts are kept (a stable sort of the sorted categories by count, so a tie
    keeps the later category).
    """
    levels = len(counts)
    if levels <= max_categories:
        return None
    categories = sorted(counts)
    count = np.array([counts[c] for c in categories])
    rare = count < min_frequency
    if max_categories + 1 < len(categories) - int(rare.sum()) + 1:
        smallest = np.argsort(count, kind="mergesort")[:-max_categories]
        rare[smallest] = True
    kept = [c for c, r in zip(categories, rare, strict=True) if not r]
    other = OTHER
    while other in counts:
        other = other[:-1] + " " + ")"
    total = int(count.sum())
    share = sum(counts[c] for c in kept) / total if total else 0.0
    return {"kept": kept, "other": other, "levels": levels, "share": share}


def _most_frequent(counts: Counter) -> str:
    top = max(counts.values())
    return min(value for value, n in counts.items() if n == top)


def _cap(plan: ColumnPlan, cats: CategoryCounts, options: ColumnOptions) -> None:
    """Drop the overflowing columns; group the rare categories of the others (notes)."""
    for name, levels in cats.overflow.items():
        plan.categorical.remove(name)
        plan.dropped[name] = f"more than {levels - 1:,} distinct values (ID-like)"
    for name in list(plan.categorical):
        counts = cats.counts[name]
        how = capped_categories(counts, options.max_categories, options.min_frequency)
        if how is None:
            continue
        levels = how["levels"]
        if not how["kept"]:
            plan.categorical.remove(name)
            plan.dropped[name] = f"{levels:,} values, none in {options.min_frequency} rows or more"
            continue
        plan.capped[name] = {"kept": how["kept"], "other": how["other"]}
        grouped = Counter({v: counts[v] for v in how["kept"]})
        grouped[how["other"]] = sum(n for v, n in counts.items() if v not in set(how["kept"]))
        cats.counts[name] = grouped
        plan.notes.append(
            f"column {name!r}: {levels:,} distinct values; kept the {len(how['kept'])} most "
            f"frequent ({how['share']:.0%} of the rows), the other {levels - len(how['kept']):,} "
            f"grouped as {how['other']!r} (--max-categories)."
        )


def _scale(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """``StandardScaler``'s ``scale_``: the standard deviation, 1 for a constant column.

    A column is constant when its variance is within the rounding bound of a two-pass
    computation (Chan, Golub and LeVeque), scikit-learn's ``_is_constant_feature``.
    """
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return scale


def fitted_preprocessor(
    stats: TableStats, target: str | None, options: ColumnOptions, source: str
) -> Preprocessor:
    """The fitted preprocessing of the statistics: the in-memory run's, in plain data.

    Modifies ``stats.plan`` (dropped and capped columns, notes).

    Raises
    ------
    DataError
        When a column has no value in any training row, no feature is left, or a
        column's spread overflows.
    """
    plan, nums, cats = stats.plan, stats.numeric, stats.categorical
    _cap(plan, cats, options)
    empty = [name for j, name in enumerate(nums.columns) if nums.count[j] == 0]
    empty += [name for name in plan.categorical if not cats.counts[name]]
    if empty:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, empty))} are empty in every training "
            "row; there is nothing to learn from them. Remove them from the file."
        )
    if not plan.features:
        raise DataError(
            f"{source}: no feature column is left after dropping {len(plan.dropped)} "
            "column(s); lrnet needs at least one feature."
        )
    num = cat = None
    if plan.numeric:
        keep = [nums.columns.index(name) for name in plan.numeric]
        medians = nums.medians()[keep]
        missing, mean, var, n = _subset(nums, keep).scaler_moments(medians)
        scale = _scale(var, mean, n)
        binary_indicators(mean, var, scale, len(plan.numeric))
        num = {
            "columns": list(plan.numeric),
            "missing": missing,
            "n_samples_seen": n,
            "medians": medians,
            "mean": mean,
            "var": var,
            "scale": scale,
        }
    if plan.categorical:
        counts = [cats.counts[name] for name in plan.categorical]
        missing = [
            j for j, name in enumerate(plan.categorical) if cats.missing[name] >= MIN_MISSING_ROWS
        ]
        num_cat = [sorted(c) for c in counts] + [[False, True] for _ in missing]
        cat = {
            "columns": list(plan.categorical),
            "missing": missing,
            "categories": num_cat,
            "most_frequent": [_most_frequent(c) for c in counts],
        }
    transformer = _rebuild(plan, num, cat)
    check_scales(transformer, source)
    return Preprocessor(plan, transformer, target)


def _subset(nums: NumericStats, keep: list[int]) -> NumericStats:
    """The statistics of some of the columns (the plan may have dropped some)."""
    out = NumericStats([nums.columns[j] for j in keep], nums.rng, nums.size)
    out.count, out.missing = nums.count[keep], nums.missing[keep]
    out.mean, out.m2 = nums.mean[keep], nums.m2[keep]
    return out
