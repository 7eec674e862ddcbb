"""Tabular preprocessing: a scikit-learn ``ColumnTransformer`` and its plain-data form.

Numeric columns: ``SimpleImputer(strategy='median', add_indicator=True)`` then
``StandardScaler`` (the missing-value indicators are standardised with them).
Categorical and string columns: ``SimpleImputer(strategy='most_frequent',
add_indicator=True)`` then ``OneHotEncoder(handle_unknown='ignore')``, so a category
never seen in training encodes as all zeros.  Constant and ID-like columns are dropped
(:mod:`lrnet.data.columns`).

A model file stores the fitted transformer as plain data (:meth:`Preprocessor.to_dict`):
medians, means, scales, category lists, the columns with a missing-value indicator.
:meth:`Preprocessor.from_dict` rebuilds it without unpickling anything: it fits fresh
transformers on a few synthetic rows that have the same columns, categories and missing
values (so scikit-learn sets up its own structure), overwrites the fitted statistics
with the stored ones, and checks that the rebuilt transformer reproduces the stored
output of a probe table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .columns import ColumnPlan, plan_columns
from .readers import DataError

SPEC_VERSION = 1
UNSEEN = "\x00unseen category"


def build_transformer(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    """The unfitted ``ColumnTransformer`` for these columns."""
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


def prepare_frame(frame: pd.DataFrame, plan: ColumnPlan, source: str = "data") -> pd.DataFrame:
    """The columns of ``plan`` with uniform types: float64, or strings with NaN."""
    out = {}
    for name in plan.numeric:
        out[name] = _as_numeric(frame[name], source)
    for name in plan.categorical:
        out[name] = _as_strings(frame[name])
    return pd.DataFrame(out, index=frame.index)


def _as_numeric(series: pd.Series, source: str) -> np.ndarray:
    if not types.is_numeric_dtype(series.dtype) or types.is_bool_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            # the row's label: its number in the file, also when read in chunks
            raise DataError(
                f"{source}: column {series.name!r} must be numeric, as in training, but row "
                f"{series.index[position]} holds {series.iloc[position]!r}."
            )
        series = converted
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        position = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"{source}: column {series.name!r} holds {int(infinite.sum())} infinite "
            f"value(s), the first at row {series.index[position]}; lrnet needs finite numbers "
            "(an empty cell is fine: it is imputed). Replace or drop them."
        )
    return values


def _check_scales(transformer: ColumnTransformer, source: str) -> None:
    """Refuse numeric columns whose mean or spread overflows (values near 1e308)."""
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


def _as_strings(series: pd.Series) -> np.ndarray:
    if types.is_float_dtype(series.dtype):  # 3.0 read where training saw 3
        values = series.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        series = series.astype(object).where(~whole, values.astype(np.int64, copy=False))
    return series.astype("string").to_numpy(dtype=object, na_value=np.nan)


class Preprocessor:
    """Fitted tabular preprocessing: column plan, ``ColumnTransformer`` and target name.

    Build one with :meth:`fit` (from a training table) or :meth:`from_dict` (from a
    model file); :meth:`transform` turns a table into the network's float32 input.
    """

    def __init__(self, plan: ColumnPlan, transformer: ColumnTransformer, target: str | None):
        self.plan = plan
        self.transformer = transformer
        self.target = target

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls, frame: pd.DataFrame, target: str | None = None, source: str = "data"
    ) -> Preprocessor:
        """Plan the columns of ``frame`` and fit the transformer on them.

        Parameters
        ----------
        frame : pandas.DataFrame
            Training table; the ``target`` column, if any, is left out.
        target : str or None
            Name of the target column.
        source : str
            Where the table came from, for error messages.

        Returns
        -------
        Preprocessor
            The fitted preprocessing; checked to survive :meth:`to_dict` unchanged.
        """
        plan = plan_columns(frame, target, source)
        transformer = build_transformer(plan.numeric, plan.categorical)
        transformer.fit(prepare_frame(frame, plan, source))
        _check_scales(transformer, source)
        fitted = cls(plan, transformer, target)
        fitted._check_round_trip(frame.head(256), source)
        return fitted

    def _check_round_trip(self, sample: pd.DataFrame, source: str) -> None:
        rebuilt = Preprocessor.from_dict(self.to_dict())
        if not np.array_equal(rebuilt.transform(sample, source), self.transform(sample, source)):
            raise RuntimeError(
                "lrnet bug: the preprocessing rebuilt from plain data differs "
                "from the fitted one; please report it."
            )

    # ---------------------------------------------------------------- applying
    @property
    def columns(self) -> list[str]:
        """The input columns the transformer reads."""
        return self.plan.columns

    @property
    def feature_names_out(self) -> list[str]:
        """Names of the network's input features."""
        return [str(n) for n in self.transformer.get_feature_names_out()]

    def missing_columns(self, columns) -> list[str]:
        """Input columns absent from ``columns``."""
        present = {str(c) for c in columns}
        return [c for c in self.columns if c not in present]

    def extra_columns(self, columns) -> list[str]:
        """Columns of ``columns`` that the preprocessing ignores (target excluded)."""
        used = set(self.columns) | {self.target}
        return [str(c) for c in columns if str(c) not in used]

    def transform(self, frame: pd.DataFrame, source: str = "data", dtype=np.float32) -> np.ndarray:
        """The network input for ``frame``: shape (n_rows, n_features_out), ``dtype``."""
        missing = self.missing_columns(frame.columns)
        if missing:
            shown = ", ".join(map(repr, missing[:10]))
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(
                f"{source}: missing {len(missing)} feature column(s) the model was trained "
                f"on: {shown}{more}."
            )
        out = self.transformer.transform(prepare_frame(frame, self.plan, source))
        with np.errstate(over="ignore"):
            out = np.ascontiguousarray(out, dtype=dtype)
        if not np.isfinite(out).all():
            row, col = np.argwhere(~np.isfinite(out))[0]
            raise DataError(
                f"{source}: feature {self.feature_names_out[col]!r} of row "
                f"{frame.index[row]} overflows once standardised: the value is far outside "
                "the range seen in training. Check that column."
            )
        return out

    # ---------------------------------------------------------------- plain data
    def to_dict(self) -> dict:
        """The fitted preprocessing as JSON-compatible plain data."""
        spec = {
            "version": SPEC_VERSION,
            "target": self.target,
            "dropped": dict(self.plan.dropped),
            "feature_names_out": self.feature_names_out,
        }
        parts = self.transformer.named_transformers_
        if self.plan.numeric:
            imputer, scaler = parts["num"]["impute"], parts["num"]["scale"]
            spec["numeric"] = {
                "columns": list(self.plan.numeric),
                "medians": [float(v) for v in imputer.statistics_],
                "missing_indicator": _indicator_features(imputer),
                "mean": scaler.mean_.tolist(),
                "var": scaler.var_.tolist(),
                "scale": scaler.scale_.tolist(),
                "n_samples_seen": int(scaler.n_samples_seen_),
            }
        if self.plan.categorical:
            imputer, encoder = parts["cat"]["impute"], parts["cat"]["onehot"]
            spec["categorical"] = {
                "columns": list(self.plan.categorical),
                "most_frequent": [str(v) for v in imputer.statistics_],
                "missing_indicator": _indicator_features(imputer),
                "categories": [[_plain(v) for v in c] for c in encoder.categories_],
            }
        spec["probe"] = self._probe(spec)
        return spec

    def _probe(self, spec: dict) -> dict:
        """Synthetic input and the fitted transformer's output on it, to check a rebuild."""
        probe = probe_frame(spec)
        out = self.transformer.transform(probe)
        inputs = {c: [None if pd.isna(v) else _plain(v) for v in probe[c]] for c in probe}
        return {"input": inputs, "output": np.asarray(out, dtype=np.float64).tolist()}

    @classmethod
    def from_dict(cls, spec: dict, source: str = "model") -> Preprocessor:
        """Rebuild a fitted preprocessing from :meth:`to_dict` data; never runs code.

        Raises
        ------
        ValueError
            When the data is malformed, or the rebuilt transformer does not reproduce
            the stored probe output.
        """
        from .rebuild import rebuild_preprocessor

        return rebuild_preprocessor(cls, spec, source)

    def describe(self) -> list[dict]:
        """One plain dict per input column: kind, fill value, scaling or categories."""
        spec = self.to_dict()
        rows = []
        num = spec.get("numeric")
        if num:
            for i, name in enumerate(num["columns"]):
                rows.append(
                    {
                        "column": name,
                        "kind": "numeric",
                        "fill": num["medians"][i],
                        "indicator": i in num["missing_indicator"],
                        "mean": num["mean"][i],
                        "scale": num["scale"][i],
                    }
                )
        cat = spec.get("categorical")
        if cat:
            for i, name in enumerate(cat["columns"]):
                rows.append(
                    {
                        "column": name,
                        "kind": "categorical",
                        "fill": cat["most_frequent"][i],
                        "indicator": i in cat["missing_indicator"],
                        "categories": cat["categories"][i],
                    }
                )
        return rows


def _indicator_features(imputer: SimpleImputer) -> list[int]:
    indicator = imputer.indicator_
    return [] if indicator is None else [int(i) for i in indicator.features_]


def _plain(value):
    """A JSON-compatible Python scalar."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def probe_frame(spec: dict) -> pd.DataFrame:
    """Three synthetic rows: shifted values, missing values, unseen categories."""
    data = {}
    num = spec.get("numeric")
    if num:
        for name, median, scale in zip(
            num["columns"], num["medians"], num["scale"], strict=False
        ):  # scale also covers the indicators
            data[name] = np.array([median + scale, np.nan, median - 0.5 * scale])
    cat = spec.get("categorical")
    if cat:
        for name, cats in zip(cat["columns"], cat["categories"], strict=False):
            data[name] = np.array([cats[0], np.nan, UNSEEN], dtype=object)
    return pd.DataFrame(data)
